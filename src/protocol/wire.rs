//! A look at the bytes on the wire, for the one rule an HTTP client cannot check: "a 304 has no
//! body". Clients (hyper included) stop reading after a 304's head and drop whatever follows, so
//! the request is replayed over a plain TCP connection and the bytes after the head are counted.
//! Only `http://` targets can be checked this way.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use url::Url;

/// The largest response head read before giving up.
const MAX_HEAD: usize = 64 * 1024;

/// What came back: the status line and how many bytes followed the head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replay {
    pub status_line: String,
    pub bytes_after_head: usize,
}

/// Sends one HTTP/1.1 request with `Connection: close` and reads until the server closes or
/// `linger` passes with nothing more. `None` for URLs that are not `http://`.
pub async fn replay(
    url: &Url,
    method: &str,
    headers: &[(String, String)],
    body: &[u8],
    linger: Duration,
) -> Option<Result<Replay, String>> {
    if url.scheme() != "http" {
        return None;
    }
    Some(exchange(url, method, headers, body, linger).await)
}

async fn exchange(
    url: &Url,
    method: &str,
    headers: &[(String, String)],
    body: &[u8],
    linger: Duration,
) -> Result<Replay, String> {
    let host = url.host_str().ok_or("the URL has no host")?;
    let port = url.port_or_known_default().unwrap_or(80);
    let mut stream = tokio::time::timeout(linger * 10, TcpStream::connect((host, port)))
        .await
        .map_err(|_| "connecting timed out".to_owned())?
        .map_err(|e| format!("could not connect: {e}"))?;
    let target = match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    };
    let mut request = format!(
        "{method} {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
        url.authority()
    );
    for (name, value) in headers
        .iter()
        .filter(|(n, _)| !matches!(n.as_str(), "host" | "connection" | "content-length"))
    {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(body);
    stream
        .write_all(&bytes)
        .await
        .map_err(|e| format!("could not send: {e}"))?;

    let mut received = Vec::new();
    let mut chunk = [0u8; 8192];
    let mut head_end = None;
    loop {
        let read = tokio::time::timeout(linger, stream.read(&mut chunk)).await;
        match read {
            Err(_) if head_end.is_some() => break,
            Err(_) => return Err("no complete response head arrived".into()),
            Ok(Err(e)) if head_end.is_some() => {
                // A reset after the head: what arrived before it still counts.
                let _ = e;
                break;
            }
            Ok(Err(e)) => return Err(format!("reading failed: {e}")),
            Ok(Ok(0)) => break,
            Ok(Ok(n)) => received.extend_from_slice(&chunk[..n]),
        }
        if head_end.is_none() {
            head_end = received
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .map(|i| i + 4);
            if head_end.is_none() && received.len() > MAX_HEAD {
                return Err("the response head is too large".into());
            }
        }
    }
    let head_end = head_end.ok_or("the connection closed before a complete response head")?;
    let status_line = String::from_utf8_lossy(&received[..head_end])
        .lines()
        .next()
        .unwrap_or("")
        .to_owned();
    Ok(Replay {
        status_line,
        bytes_after_head: received.len() - head_end,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    async fn serve_once(answer: &'static [u8]) -> Url {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            if let Ok((mut socket, _)) = listener.accept().await {
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                let _ = socket.write_all(answer).await;
            }
        });
        Url::parse(&format!("http://{addr}/ofrep/v1/evaluate/flags")).unwrap()
    }

    #[tokio::test]
    async fn bytes_after_a_304_head_are_counted() {
        let url =
            serve_once(b"HTTP/1.1 304 Not Modified\r\nETag: \"a\"\r\n\r\n{\"flags\":[]}").await;
        let replay = replay(&url, "POST", &[], b"{}", Duration::from_millis(300))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(replay.status_line, "HTTP/1.1 304 Not Modified");
        assert_eq!(replay.bytes_after_head, 12);
    }

    #[tokio::test]
    async fn a_clean_304_has_nothing_after_its_head() {
        let url = serve_once(b"HTTP/1.1 304 Not Modified\r\nETag: \"a\"\r\n\r\n").await;
        let replay = replay(&url, "POST", &[], b"{}", Duration::from_millis(300))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(replay.bytes_after_head, 0);
    }

    #[tokio::test]
    async fn https_is_not_replayed() {
        let url = Url::parse("https://127.0.0.1:1/").unwrap();
        assert!(
            replay(&url, "POST", &[], b"", Duration::from_millis(10))
                .await
                .is_none()
        );
    }
}
