//! The `304-with-body` fault, on the wire.
//!
//! hyper refuses to write a body after a 304 (RFC 9110 says there is none), so a server built on
//! it cannot break `bulk-304-no-body` through the normal response path. Under this fault each
//! connection's socket is wrapped: a handler leaves the body in the connection's [`Slot`] (a
//! request extension), and when hyper writes a `304` head the wrapper appends those bytes after
//! it. The response also
//! says `Connection: close`, so a client that (rightly) reads no body does not parse the stray
//! bytes as its next response.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Bytes to send after the next 304 head on this connection.
#[derive(Clone, Default)]
pub struct Slot(Arc<Mutex<Option<Bytes>>>);

impl Slot {
    pub fn put(&self, body: Bytes) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(body);
    }

    fn take(&self) -> Option<Bytes> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

pub struct StrayBodyIo<IO = TcpStream> {
    inner: IO,
    slot: Slot,
    /// A 304 head with the injected body, accepted from hyper but not yet on the socket.
    pending: Vec<u8>,
}

impl<IO: AsyncWrite + Unpin> StrayBodyIo<IO> {
    pub fn new(inner: IO) -> Self {
        Self {
            inner,
            slot: Slot::default(),
            pending: Vec::new(),
        }
    }

    /// Where this connection's handler leaves a 304's body.
    pub fn slot(&self) -> Slot {
        self.slot.clone()
    }

    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.pending.is_empty() {
            let written = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.pending))?;
            if written == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.pending.drain(..written);
        }
        Poll::Ready(Ok(()))
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for StrayBodyIo<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for StrayBodyIo<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        ready!(this.poll_drain(cx))?;
        // hyper writes a whole head in one buffer when the IO is not vectored (the default here).
        if buf.starts_with(b"HTTP/1.1 304 ")
            && buf.ends_with(b"\r\n\r\n")
            && let Some(body) = this.slot.take()
        {
            // hyper also drops a Content-Length on a 304, so it goes in here, before the blank
            // line that ends the head.
            let head = &buf[..buf.len() - 2];
            this.pending.extend_from_slice(head);
            this.pending
                .extend_from_slice(format!("content-length: {}\r\n\r\n", body.len()).as_bytes());
            this.pending.extend_from_slice(&body);
            // The bytes are ours now; a Pending here is resumed by the next flush.
            if let Poll::Ready(Err(e)) = this.poll_drain(cx) {
                return Poll::Ready(Err(e));
            }
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_drain(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_drain(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
