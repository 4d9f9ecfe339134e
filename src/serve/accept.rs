//! The accept loop: every connection is handed to hyper with the router, except one whose first
//! request is `GET /ofrep/v1/events`, which [`stream_connection`] answers. The launchpad's
//! listener uses the same loop with plain hyper connections ([`Protocol::Launchpad`]).
//!
//! Why not hand every connection to hyper: hyper keeps an 8 KiB read buffer and an 8 KiB header
//! buffer for as long as a connection lives, and an event stream is one response that lives for
//! hours. At 10,000 open streams those buffers were most of the server's memory (see the serve
//! section of `bench/RESULTS.md`). The router still answers the stream request, so auth, CORS,
//! faults and the request log stay in one place; only the bytes on the wire are written by hand.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use bytes::{Buf, Bytes};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use super::ServeEvent;
use super::faults::Fault;
use super::state::State;
use super::stray_body::{Slot, StrayBodyIo};
use super::stream_connection::{self, Opening};

/// A client that opens a connection and sends no complete request head in this time is cut off.
const HEAD_TIMEOUT: Duration = Duration::from_secs(30);

/// What a listener speaks.
#[derive(Clone)]
pub enum Protocol {
    /// OFREP, over TLS with `--tls-cert`: event streams answered outside hyper, faults applied.
    Ofrep(Option<TlsAcceptor>),
    /// The launchpad's control API: plain HTTP/1.1, every connection to hyper.
    Launchpad,
}

/// Accepts until `stop` fires, then lets hyper finish the requests in flight. Aborting the task
/// that runs this drops every connection with it.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    state: Arc<State>,
    stop: oneshot::Receiver<()>,
    protocol: Protocol,
) {
    let stray_body = state.faults.has(&Fault::NotModifiedWithBody);
    let (closing, closed) = watch::channel(());
    let mut connections = JoinSet::new();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => break,
            // Reaps finished connections so the set does not grow with every one ever served.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((socket, _)) => {
                    // Event frames are small writes; Nagle's algorithm would hold them back.
                    let _ = socket.set_nodelay(true);
                    let router = router.clone();
                    let closed = closed.clone();
                    match &protocol {
                        Protocol::Launchpad => connections.spawn(with_hyper(socket, router, None, closed)),
                        Protocol::Ofrep(Some(tls)) => connections.spawn(over_tls(tls.clone(), socket, router, stray_body, closed)),
                        Protocol::Ofrep(None) if stray_body => connections.spawn(with_stray_body(socket, router, closed)),
                        Protocol::Ofrep(None) => connections.spawn(connection(socket, router, None, closed)),
                    };
                }
                Err(e) if is_per_connection(&e) => {}
                Err(e) => {
                    // Out of file descriptors and the like: say so, and give the system a moment
                    // rather than spin.
                    state.log(ServeEvent::Warning {
                        message: format!("cannot accept a connection: {e}"),
                    });
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            },
        }
    }
    drop(listener);
    drop(closing);
    while connections.join_next().await.is_some() {}
}

/// `serve --tls-cert`: the handshake (bounded like a request head), then the same connection in
/// TLS. A client that fails the handshake has heard why in the alert rustls sent.
async fn over_tls(
    tls: TlsAcceptor,
    socket: TcpStream,
    router: Router,
    stray_body: bool,
    mut closed: watch::Receiver<()>,
) {
    let handshake = tokio::select! {
        handshake = tokio::time::timeout(HEAD_TIMEOUT, tls.accept(socket)) => handshake,
        _ = closed.changed() => return,
    };
    let Ok(Ok(stream)) = handshake else { return };
    if stray_body {
        with_stray_body(stream, router, closed).await;
    } else {
        connection(stream, router, None, closed).await;
    }
}

/// A connection under the `304-with-body` fault: its socket is wrapped (see stray_body.rs).
async fn with_stray_body<IO>(socket: IO, router: Router, closed: watch::Receiver<()>)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let io = StrayBodyIo::new(socket);
    let slot = io.slot();
    connection(io, router, Some(slot), closed).await;
}

async fn connection<IO>(
    mut io: IO,
    router: Router,
    slot: Option<Slot>,
    mut closed: watch::Receiver<()>,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let opening = tokio::select! {
        opening = tokio::time::timeout(HEAD_TIMEOUT, stream_connection::open(&mut io)) => match opening {
            Ok(opening) => opening,
            Err(_) => return,
        },
        _ = closed.changed() => return,
    };
    match opening {
        Opening::Stream(request) => stream_connection::answer(io, router, request).await,
        Opening::Other(read) => with_hyper(Rewind { read, io }, router, slot, closed).await,
        Opening::Gone => {}
    }
}

/// Serves HTTP/1.1 on `io` until the client leaves or the server shuts down.
async fn with_hyper<IO>(io: IO, router: Router, slot: Option<Slot>, mut closed: watch::Receiver<()>)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let mut request = request.map(Body::new);
        if let Some(slot) = &slot {
            request.extensions_mut().insert(slot.clone());
        }
        let mut router = router.clone();
        async move { tower_service::Service::call(&mut router, request).await }
    });
    let mut builder = http1::Builder::new();
    // With a timer, hyper cuts off a client that is slow to send a request head (30 s).
    builder.timer(TokioTimer::new());
    // A client may shut down its write side once its request is sent; without this hyper takes
    // the EOF it reads while the handler runs for a dropped client, and never answers.
    builder.half_close(true);
    // hyper's read buffer grows to about 400 KiB on a connection that streams a body, and keeps
    // it while the body stalls; 64 KiB is plenty for a head (an event stream's is under 8 KiB)
    // and bounds what 300 stalled uploads pin (the bodies themselves share body.rs's budget).
    builder.max_buf_size(64 * 1024);
    let connection = builder.serve_connection(TokioIo::new(io), service);
    tokio::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => return,
        _ = closed.changed() => connection.as_mut().graceful_shutdown(),
    }
    let _ = connection.await;
}

/// Errors that concern one connection only; the listener is fine.
fn is_per_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// A socket with the bytes already read from it put back in front, for hyper to read again.
struct Rewind<IO> {
    read: Bytes,
    io: IO,
}

impl<IO: AsyncRead + Unpin> AsyncRead for Rewind<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.read.is_empty() {
            return Pin::new(&mut self.io).poll_read(cx, buf);
        }
        let n = self.read.len().min(buf.remaining());
        buf.put_slice(&self.read[..n]);
        self.read.advance(n);
        if self.read.is_empty() {
            // Frees the buffer now rather than with the connection.
            self.read = Bytes::new();
        }
        Poll::Ready(Ok(()))
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Rewind<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[tokio::test]
    async fn rewind_reads_the_put_back_bytes_first() {
        let (client, mut server) = tokio::io::duplex(64);
        drop(client);
        let mut rewind = Rewind {
            read: Bytes::from_static(b"GET / HTTP/1.1\r\n"),
            io: &mut server,
        };
        let mut all = Vec::new();
        rewind.read_to_end(&mut all).await.unwrap();
        assert_eq!(all, b"GET / HTTP/1.1\r\n");
    }
}
