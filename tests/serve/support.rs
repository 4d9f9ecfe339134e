//! Shared helpers for the serve tests: an in-process server on 127.0.0.1:0, a reqwest client, and
//! a small SSE reader. Every wait is bounded.

#![allow(dead_code)]

use std::time::Duration;

use futures_util::StreamExt;
use ofrep::serve::{Fault, ServeConfig, ServeEvent, Server};
use serde_json::Value;
use tokio::sync::mpsc::UnboundedReceiver;

/// How long to wait for something that must not happen.
pub const SHORT: Duration = Duration::from_millis(300);
/// The bound on every wait for something that must happen.
pub const LONG: Duration = Duration::from_secs(3);

pub const BULK: &str = "ofrep/v1/evaluate/flags";
pub const EVENTS: &str = "ofrep/v1/events";

pub struct TestServer {
    pub server: Server,
    pub events: UnboundedReceiver<ServeEvent>,
    pub client: reqwest::Client,
}

pub async fn start(config: ServeConfig) -> TestServer {
    let (server, events) = Server::start(config).await.expect("the server starts");
    TestServer {
        server,
        events,
        client: client(),
    }
}

pub async fn start_default() -> TestServer {
    start(ServeConfig::embedded()).await
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("a client")
}

impl TestServer {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.base_url())
    }

    /// `POST` bulk with `{"context": context}` and extra headers.
    pub async fn bulk(&self, context: Value, headers: &[(&str, &str)]) -> reqwest::Response {
        self.bulk_at(BULK, context, headers).await
    }

    pub async fn bulk_at(
        &self,
        path: &str,
        context: Value,
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut request = self
            .client
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(serde_json::json!({ "context": context }).to_string());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.expect("the server answers")
    }

    /// The current bulk ETag for `context`.
    pub async fn etag(&self, context: Value) -> String {
        let response = self.bulk(context, &[]).await;
        assert_eq!(response.status(), 200);
        header(&response, "etag").expect("an ETag")
    }

    pub async fn stream(&self, headers: &[(&str, &str)]) -> Sse {
        let mut request = self
            .client
            .get(self.url(EVENTS))
            .header("accept", "text/event-stream");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        // The client timeout would cut a long-lived stream; this one has none.
        let response = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("a client")
            .execute(request.build().expect("a request"))
            .await
            .expect("the stream answers");
        Sse::new(response)
    }

    /// Waits (bounded) for a log event that `pick` accepts, skipping others.
    pub async fn wait_for<T>(
        &mut self,
        within: Duration,
        mut pick: impl FnMut(&ServeEvent) -> Option<T>,
    ) -> Option<T> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let event = tokio::time::timeout_at(deadline, self.events.recv())
                .await
                .ok()??;
            if let Some(found) = pick(&event) {
                return Some(found);
            }
        }
    }

    pub async fn control_change(&self, body: &str) -> reqwest::Response {
        self.client
            .post(self.url("control/change"))
            .body(body.to_owned())
            .send()
            .await
            .expect("control answers")
    }
}

impl TestServer {
    /// `POST` to the launchpad (`ServeConfig::launchpad`), e.g. `"start?config=default"`.
    pub async fn launchpad(&self, path: &str) -> reqwest::Response {
        self.launchpad_with(reqwest::Method::POST, path, &[]).await
    }

    pub async fn launchpad_with(
        &self,
        method: reqwest::Method,
        path: &str,
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let addr = self.server.launchpad_addr().expect("a launchpad");
        let mut request = self.client.request(method, format!("http://{addr}/{path}"));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.expect("the launchpad answers")
    }

    /// Whether a connection to the OFREP port is refused right now.
    pub async fn refuses(&self) -> bool {
        match tokio::net::TcpStream::connect(self.server.addr()).await {
            Ok(_) => false,
            Err(e) => e.kind() == std::io::ErrorKind::ConnectionRefused,
        }
    }
}

pub fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

pub async fn json(response: reqwest::Response) -> Value {
    let bytes = response.bytes().await.expect("a body");
    serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&bytes)))
}

/// One SSE block: fields as sent, data lines joined with LF.
#[derive(Debug, Default, Clone)]
pub struct Frame {
    pub id: Option<String>,
    pub event: Option<String>,
    pub data: Option<String>,
    pub retry: Option<String>,
    pub comments: Vec<String>,
}

pub struct Sse {
    pub status: u16,
    pub content_type: Option<String>,
    body: futures_util::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    buffer: String,
    pub ended: bool,
}

impl Sse {
    fn new(response: reqwest::Response) -> Self {
        Self {
            status: response.status().as_u16(),
            content_type: header(&response, "content-type"),
            body: response.bytes_stream().boxed(),
            buffer: String::new(),
            ended: false,
        }
    }

    /// The next block, or `None` on timeout or end of stream.
    pub async fn next(&mut self, within: Duration) -> Option<Frame> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                return Some(parse_block(&block));
            }
            match tokio::time::timeout_at(deadline, self.body.next()).await {
                Ok(Some(Ok(chunk))) => self.buffer.push_str(&String::from_utf8_lossy(&chunk)),
                Ok(Some(Err(_)) | None) => {
                    self.ended = true;
                    return None;
                }
                Err(_) => return None,
            }
        }
    }

    /// The next block that carries data (skipping `retry:` and comments).
    pub async fn next_event(&mut self, within: Duration) -> Option<Frame> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let frame = self.next(left).await?;
            if frame.data.is_some() {
                return Some(frame);
            }
        }
    }

    /// True if the stream ends within `within` (comments and events are skipped).
    pub async fn ends_within(&mut self, within: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        for _ in 0..10_000 {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if self.next(left).await.is_none() {
                return self.ended;
            }
        }
        false
    }
}

fn parse_block(block: &str) -> Frame {
    let mut frame = Frame::default();
    let mut data: Vec<&str> = Vec::new();
    for line in block.lines() {
        if let Some(comment) = line.strip_prefix(':') {
            frame.comments.push(comment.trim().to_owned());
            continue;
        }
        let (field, value) = line
            .split_once(':')
            .map_or((line, ""), |(f, v)| (f, v.strip_prefix(' ').unwrap_or(v)));
        match field {
            "id" => frame.id = Some(value.to_owned()),
            "event" => frame.event = Some(value.to_owned()),
            "data" => data.push(value),
            "retry" => frame.retry = Some(value.to_owned()),
            _ => {}
        }
    }
    if !data.is_empty() {
        frame.data = Some(data.join("\n"));
    }
    frame
}

pub fn with_faults(faults: &[&str]) -> ServeConfig {
    let mut config = ServeConfig::embedded();
    config.faults = faults.iter().map(|f| Fault::parse(f).unwrap()).collect();
    config
}

/// A configuration serving `text` from `flags.json` in `dir`.
pub fn with_file(dir: &tempfile::TempDir, text: &str) -> ServeConfig {
    let path = dir.path().join("flags.json");
    std::fs::write(&path, text).unwrap();
    let mut config = ServeConfig::embedded();
    config.flags_file = Some(path);
    config
}

/// A raw connection to `server`, for tests about the bytes on the wire.
pub async fn socket(server: &TestServer) -> tokio::net::TcpStream {
    tokio::net::TcpStream::connect(server.server.addr())
        .await
        .expect("the server accepts")
}

/// Sends `request` as written on a fresh connection and reads the answer until the server
/// closes (send `Connection: close`), within [`LONG`]. Returns the whole answer as text.
pub async fn raw(addr: std::net::SocketAddr, request: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut socket = tokio::net::TcpStream::connect(addr)
        .await
        .expect("the server accepts");
    socket.write_all(request.as_bytes()).await.expect("sent");
    let mut answer = Vec::new();
    tokio::time::timeout(LONG, socket.read_to_end(&mut answer))
        .await
        .expect("the server answers and closes in time")
        .expect("the answer is read");
    String::from_utf8_lossy(&answer).into_owned()
}
