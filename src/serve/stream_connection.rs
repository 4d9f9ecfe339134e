//! A connection whose first request is `GET /ofrep/v1/events`, answered without hyper: the
//! request head is read into a small buffer, the router answers it as it answers any request, and
//! the response is written here, the body chunk by chunk as the stream yields events. One request
//! per such connection (`Connection: close`): an event stream is the last thing a connection does.
//! accept.rs says why.

use std::time::SystemTime;

use axum::Router;
use axum::body::{Body, HttpBody};
use axum::http::{HeaderName, HeaderValue, Method, Request, StatusCode, Uri, Version};
use bytes::Bytes;
use futures_util::StreamExt;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::http::EVENTS_PATH;

/// A stream request's head is a few hundred bytes; one longer than this goes to hyper.
const MAX_HEAD: usize = 8 * 1024;
/// More headers than this and hyper answers the request instead.
const MAX_HEADERS: usize = 64;

/// What the first bytes of a connection turned out to be.
pub enum Opening {
    /// A complete `GET /ofrep/v1/events` request with no body.
    Stream(Box<Request<Body>>),
    /// Anything else, with the bytes read so far, which hyper must read again.
    Other(Bytes),
    /// The client left before sending anything.
    Gone,
}

/// Reads until the bytes cannot be a stream request, or are a whole one. Decides on the first
/// read for anything but a `GET` of the stream path, so other requests wait for nothing.
pub async fn open<IO: AsyncRead + Unpin>(io: &mut IO) -> Opening {
    let mut read = Vec::with_capacity(1024);
    loop {
        match io.read_buf(&mut read).await {
            Ok(0) | Err(_) if read.is_empty() => return Opening::Gone,
            Ok(0) | Err(_) => return Opening::Other(read.into()),
            Ok(_) => {}
        }
        if !may_be_stream_request(&read) || read.len() > MAX_HEAD {
            return Opening::Other(read.into());
        }
        match parse(&read) {
            Parsed::Partial => {}
            Parsed::Stream(request) => return Opening::Stream(request),
            Parsed::Other => return Opening::Other(read.into()),
        }
    }
}

/// Whether `read` is the start of `GET /ofrep/v1/events` (or the start of something longer).
fn may_be_stream_request(read: &[u8]) -> bool {
    let line = b"GET ".iter().chain(EVENTS_PATH.as_bytes());
    read.iter().zip(line).all(|(got, want)| got == want)
}

enum Parsed {
    Partial,
    Stream(Box<Request<Body>>),
    Other,
}

/// A complete head that is an HTTP/1.1 `GET` of exactly the stream path, without a body and with
/// nothing after it, becomes a request; anything odd is left to hyper, which answers it properly.
fn parse(read: &[u8]) -> Parsed {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut head = httparse::Request::new(&mut headers);
    let length = match head.parse(read) {
        Ok(httparse::Status::Partial) => return Parsed::Partial,
        Ok(httparse::Status::Complete(length)) => length,
        Err(_) => return Parsed::Other,
    };
    let (Some("GET"), Some(target), Some(1)) = (head.method, head.path, head.version) else {
        return Parsed::Other;
    };
    let path = target.split_once('?').map_or(target, |(path, _)| path);
    if path != EVENTS_PATH || length != read.len() {
        return Parsed::Other;
    }
    let Ok(uri) = target.parse::<Uri>() else {
        return Parsed::Other;
    };
    let mut request = Request::new(Body::empty());
    *request.method_mut() = Method::GET;
    *request.uri_mut() = uri;
    *request.version_mut() = Version::HTTP_11;
    for header in head.headers.iter() {
        let name = HeaderName::from_bytes(header.name.as_bytes());
        let value = HeaderValue::from_bytes(header.value);
        let (Ok(name), Ok(value)) = (name, value) else {
            return Parsed::Other;
        };
        // A body on a GET is legal but odd; hyper knows how to read it.
        let has_body = name == "transfer-encoding" || (name == "content-length" && value != "0");
        if has_body {
            return Parsed::Other;
        }
        request.headers_mut().append(name, value);
    }
    Parsed::Stream(Box::new(request))
}

/// Lets the router answer `request` and writes the response to `io`. The client closing its end
/// ends the response; bytes it sends after the request are read and ignored.
pub async fn answer<IO>(mut io: IO, mut router: Router, request: Box<Request<Body>>)
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let Ok(response) = tower_service::Service::call(&mut router, *request).await;
    let (parts, body) = response.into_parts();
    let framing = Framing::of(parts.status, body.size_hint().exact());
    let head = head(parts.status, &parts.headers, framing);
    // Flushed: over TLS the head could otherwise wait in the session for the first event.
    if io.write_all(&head).await.and(io.flush().await).is_err() {
        return;
    }
    let mut body = body.into_data_stream();
    let mut ignored = [0u8; 256];
    loop {
        let data = tokio::select! {
            data = body.next() => data,
            read = io.read(&mut ignored) => match read {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            },
        };
        let data = match data {
            Some(Ok(data)) => data,
            // A body that fails mid-way: end without the last chunk, so the client sees a cut.
            Some(Err(_)) => return,
            None => break,
        };
        if data.is_empty() || framing == Framing::None {
            continue;
        }
        let written = match framing {
            Framing::Chunked => io.write_all(&chunk(&data)).await,
            _ => io.write_all(&data).await,
        };
        if written.and(io.flush().await).is_err() {
            return;
        }
    }
    if framing == Framing::Chunked {
        let _ = io.write_all(b"0\r\n\r\n").await;
    }
    let _ = io.shutdown().await;
}

/// How the body is delimited.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// No body at all (204, 304).
    None,
    Length(u64),
    Chunked,
}

impl Framing {
    fn of(status: StatusCode, exact: Option<u64>) -> Self {
        if status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED {
            return Self::None;
        }
        exact.map_or(Self::Chunked, Self::Length)
    }
}

fn head(status: StatusCode, headers: &axum::http::HeaderMap, framing: Framing) -> Vec<u8> {
    let mut head = Vec::with_capacity(512);
    head.extend_from_slice(b"HTTP/1.1 ");
    head.extend_from_slice(status.as_str().as_bytes());
    head.push(b' ');
    head.extend_from_slice(status.canonical_reason().unwrap_or("").as_bytes());
    head.extend_from_slice(b"\r\n");
    for (name, value) in headers {
        // The framing is this writer's to decide, whatever a handler set.
        if matches!(
            name.as_str(),
            "content-length" | "transfer-encoding" | "connection"
        ) {
            continue;
        }
        head.extend_from_slice(name.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    if !headers.contains_key("date") {
        head.extend_from_slice(b"date: ");
        head.extend_from_slice(httpdate::fmt_http_date(SystemTime::now()).as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    match framing {
        Framing::None => {}
        Framing::Length(length) => {
            head.extend_from_slice(format!("content-length: {length}\r\n").as_bytes());
        }
        Framing::Chunked => head.extend_from_slice(b"transfer-encoding: chunked\r\n"),
    }
    head.extend_from_slice(b"connection: close\r\n\r\n");
    head
}

/// `data` as one HTTP/1.1 chunk.
fn chunk(data: &Bytes) -> Vec<u8> {
    let size = format!("{:x}\r\n", data.len());
    let mut chunk = Vec::with_capacity(size.len() + data.len() + 2);
    chunk.extend_from_slice(size.as_bytes());
    chunk.extend_from_slice(data);
    chunk.extend_from_slice(b"\r\n");
    chunk
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_request_is_recognised_with_its_headers_and_query() {
        let Parsed::Stream(request) =
            parse(b"GET /ofrep/v1/events?x=1 HTTP/1.1\r\nHost: a\r\nLast-Event-ID: 7\r\n\r\n")
        else {
            panic!("not recognised");
        };
        assert_eq!(request.uri().path(), EVENTS_PATH);
        assert_eq!(request.uri().query(), Some("x=1"));
        assert_eq!(request.headers()["last-event-id"], "7");
    }

    #[test]
    fn anything_else_goes_to_hyper() {
        let others: [&[u8]; 6] = [
            b"GET /ofrep/v1/eventsx HTTP/1.1\r\n\r\n",
            b"GET /ofrep/v1/events HTTP/1.0\r\n\r\n",
            b"GET /ofrep/v1/events HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc",
            b"GET /ofrep/v1/events HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"GET /ofrep/v1/events HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n",
            b"GET /ofrep/v1/events HTTP/1.1\r\nbad header\r\n\r\n",
        ];
        for bytes in others {
            assert!(
                matches!(parse(bytes), Parsed::Other),
                "{}",
                String::from_utf8_lossy(bytes)
            );
        }
        assert!(matches!(
            parse(b"GET /ofrep/v1/events HTTP/1.1\r\nHost"),
            Parsed::Partial
        ));
    }

    #[test]
    fn only_a_get_of_the_stream_path_is_waited_for() {
        assert!(may_be_stream_request(b"GE"));
        assert!(may_be_stream_request(b"GET /ofrep/v1/events?a HTTP/1.1"));
        assert!(!may_be_stream_request(b"POST /ofrep/v1/evaluate/flags"));
        assert!(!may_be_stream_request(b"GET /ofrep/v1/evaluate"));
    }

    #[test]
    fn the_head_sets_its_own_framing_and_closes() {
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(
            "content-type",
            HeaderValue::from_static("text/event-stream"),
        );
        headers.insert("content-length", HeaderValue::from_static("99"));
        let text = String::from_utf8(head(StatusCode::OK, &headers, Framing::Chunked)).unwrap();
        assert!(text.starts_with("HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"));
        assert!(text.contains("transfer-encoding: chunked\r\n"));
        assert!(!text.contains("content-length"));
        assert!(text.ends_with("connection: close\r\n\r\n"));
        assert_eq!(
            chunk(&Bytes::from_static(b"data: x\n\n")),
            b"9\r\ndata: x\n\n\r\n"
        );
    }
}
