//! The scripted server a provider under test talks to: it answers the bulk endpoint with an
//! ETag and the `eventStreams` the scenario set up, holds event streams open and writes the
//! events the scenario sends, answers refusals when told to, and records every request with its
//! time, so the steps can grade the provider by what it sent.
//!
//! One server per scenario, on 127.0.0.1 and a free port, so scenarios share nothing. The
//! provider is the user's own program, but it may be broken: the log, the request bodies and the
//! connections are bounded.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, Response, StatusCode, header};
use bytes::Bytes;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};

use super::steps::Advertised;

/// The paths the server answers, besides the bulk and single-flag endpoints.
pub const URL_STREAM_PATH: &str = "/ofrep/v1/events/url";
/// The query string of the advertised `url`: a provider must keep it.
/// Not a credential (nothing is secret on this server), so the evidence can show it whole.
pub const URL_STREAM_QUERY: &str = "channel=flags&client=ofrep-conform";
pub const ENDPOINT_STREAM_PATH: &str = "/ofrep/v1/events/endpoint";
pub const ENDPOINT_STREAM_QUERY: &str = "channel=flags";
pub const UNKNOWN_STREAM_PATH: &str = "/ofrep/v1/events/unknown";
const BULK_PATH: &str = "/ofrep/v1/evaluate/flags";

/// Requests recorded per scenario; a provider in a tight loop is counted past this, not kept.
const MAX_LOGGED: usize = 20_000;
/// The largest request body read (an evaluation context is small).
const MAX_BODY: usize = 256 * 1024;
/// Open connections at once; a provider that opens more is refused at accept.
const MAX_CONNECTIONS: usize = 256;
/// Events buffered per stream before the server stops writing to a reader that does not read.
const STREAM_BUFFER: usize = 1024;

/// Which endpoint a request went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Bulk,
    Single,
    UrlStream,
    EndpointStream,
    UnknownStream,
    Other,
}

impl Route {
    pub fn is_stream(self) -> bool {
        matches!(self, Self::UrlStream | Self::EndpointStream)
    }
}

/// One request as the server saw it, and what it answered.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Since the server started (the scenario's clock).
    pub at: Duration,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub route: Route,
    pub host: Option<String>,
    pub accept: Option<String>,
    pub if_none_match: Option<String>,
    pub last_event_id: Option<String>,
    /// For bulk and single-flag requests: whether the body was a JSON object with a `context`
    /// object, or what it was instead.
    pub context: Result<(), String>,
    pub status: u16,
    /// The ETag a 200 or 304 carried.
    pub etag: Option<String>,
    /// The `Retry-After` seconds a refusal carried.
    pub retry_after: Option<u64>,
}

impl Seen {
    /// A query parameter, decoded.
    pub fn param(&self, name: &str) -> Option<String> {
        let query = self.query.as_deref()?;
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    }

    /// `GET /path?query`, as sent.
    pub fn target(&self) -> String {
        match &self.query {
            Some(query) => format!("{} {}?{query}", self.method, self.path),
            None => format!("{} {}", self.method, self.path),
        }
    }
}

/// An event the server sent, for attributing refetches and checking `Last-Event-ID`.
#[derive(Debug, Clone)]
pub struct Sent {
    pub at: Duration,
    pub id: String,
    /// `None` for an event of another type than `refetchEvaluation`.
    pub etag: Option<String>,
}

/// What the scenario has set up; every field is read by the request handlers.
#[derive(Debug, Default)]
struct Script {
    /// The flag configuration's version: the ETag is `"v{version}"`.
    version: u64,
    advertised: Vec<Advertised>,
    retry_ms: Option<u64>,
    refuse_streams: Option<u16>,
    answer_every: Option<u16>,
    next_bulk: Option<(u16, u64)>,
    next_event_id: u64,
    open: Vec<mpsc::Sender<Bytes>>,
    log: Vec<Seen>,
    /// Requests past `MAX_LOGGED`.
    unlogged: usize,
    sent: Vec<Sent>,
}

struct Shared {
    started: Instant,
    addr: SocketAddr,
    script: Mutex<Script>,
}

impl Shared {
    fn script(&self) -> MutexGuard<'_, Script> {
        // A handler that panicked mid-update leaves a script that is still consistent enough
        // to grade: take it rather than fail every later step.
        self.script
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

pub struct ScriptedServer {
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl Drop for ScriptedServer {
    fn drop(&mut self) {
        // The accept task owns every connection: aborting it closes them all.
        self.task.abort();
    }
}

impl ScriptedServer {
    pub async fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            started: Instant::now(),
            addr,
            script: Mutex::new(Script {
                version: 1,
                ..Script::default()
            }),
        });
        let task = tokio::spawn(accept(listener, Arc::clone(&shared)));
        Ok(Self { shared, task })
    }

    /// The OFREP base URL the provider is given.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.shared.addr)
    }

    /// The scenario's clock: time since the server started.
    pub fn now(&self) -> Duration {
        self.shared.started.elapsed()
    }

    pub fn advertise(&self, entry: Advertised) {
        self.shared.script().advertised.push(entry);
    }

    pub fn set_retry(&self, ms: u64) {
        self.shared.script().retry_ms = Some(ms);
    }

    pub fn retry_ms(&self) -> Option<u64> {
        self.shared.script().retry_ms
    }

    pub fn refuse_streams(&self, status: u16) {
        self.shared.script().refuse_streams = Some(status);
    }

    pub fn answer_every(&self, status: u16) {
        self.shared.script().answer_every = Some(status);
    }

    pub fn answer_next_bulk(&self, status: u16, retry_after: u64) {
        self.shared.script().next_bulk = Some((status, retry_after));
    }

    pub fn change(&self) {
        self.shared.script().version += 1;
    }

    /// Changes a flag and writes one `refetchEvaluation` event per etag, in one write, on every
    /// open stream. Returns how many streams it was written to.
    pub fn send_refetch(&self, etags: &[String], last_modified: Option<u64>) -> usize {
        let mut script = self.shared.script();
        script.version += 1;
        let now = self.now();
        let mut frames = String::new();
        for etag in etags {
            let mut data = json!({"type": "refetchEvaluation", "etag": etag});
            if let Some(seconds) = last_modified {
                data["lastModified"] = seconds.into();
            }
            let id = next_id(&mut script);
            frames.push_str(&format!("id: {id}\ndata: {data}\n\n"));
            script.sent.push(Sent {
                at: now,
                id,
                etag: Some(etag.clone()),
            });
        }
        broadcast(&mut script, frames)
    }

    /// Writes an event whose `data.type` is `kind` on every open stream; nothing changes.
    pub fn send_other(&self, kind: &str) -> usize {
        let mut script = self.shared.script();
        let id = next_id(&mut script);
        let data = json!({"type": kind});
        let frame = format!("id: {id}\ndata: {data}\n\n");
        let at = self.now();
        script.sent.push(Sent { at, id, etag: None });
        broadcast(&mut script, frame)
    }

    /// Ends every open stream response. Returns how many there were.
    pub fn drop_streams(&self) -> usize {
        let mut script = self.shared.script();
        let open = script.open.iter().filter(|s| !s.is_closed()).count();
        script.open.clear();
        open
    }

    /// Every request so far, and how many more were not kept.
    pub fn requests(&self) -> (Vec<Seen>, usize) {
        let script = self.shared.script();
        (script.log.clone(), script.unlogged)
    }

    /// Runs `look` over the log without copying it.
    pub fn with_log<T>(&self, look: impl FnOnce(&[Seen]) -> T) -> T {
        look(&self.shared.script().log)
    }

    pub fn sent(&self) -> Vec<Sent> {
        self.shared.script().sent.clone()
    }
}

fn next_id(script: &mut Script) -> String {
    script.next_event_id += 1;
    script.next_event_id.to_string()
}

fn broadcast(script: &mut Script, frames: String) -> usize {
    let bytes = Bytes::from(frames);
    // A stream whose reader is gone, or that reads nothing while its buffer is full, is dropped.
    script
        .open
        .retain(|stream| stream.try_send(bytes.clone()).is_ok());
    script.open.len()
}

async fn accept(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => {
                let Ok((socket, _)) = accepted else {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                if connections.len() >= MAX_CONNECTIONS {
                    drop(socket);
                    continue;
                }
                let _ = socket.set_nodelay(true);
                let shared = Arc::clone(&shared);
                connections.spawn(async move {
                    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                        let shared = Arc::clone(&shared);
                        async move { Ok::<_, Infallible>(answer(&shared, request).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(socket), service)
                        .await;
                });
            }
        }
    }
}

fn header_value(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

async fn answer(shared: &Shared, request: Request<Incoming>) -> Response<Body> {
    let at = shared.started.elapsed();
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    let route = match (&parts.method, path.as_str()) {
        (&Method::POST, BULK_PATH) => Route::Bulk,
        (&Method::POST, p) if p.starts_with("/ofrep/v1/evaluate/flags/") => Route::Single,
        (&Method::GET, URL_STREAM_PATH) => Route::UrlStream,
        (&Method::GET, ENDPOINT_STREAM_PATH) => Route::EndpointStream,
        (_, UNKNOWN_STREAM_PATH) => Route::UnknownStream,
        _ => Route::Other,
    };
    let context = if matches!(route, Route::Bulk | Route::Single) {
        read_context(body).await
    } else {
        Ok(())
    };
    let mut seen = Seen {
        at,
        method: parts.method.to_string(),
        path,
        query: parts.uri.query().map(str::to_owned),
        route,
        host: header_value(&parts.headers, header::HOST),
        accept: header_value(&parts.headers, header::ACCEPT),
        if_none_match: header_value(&parts.headers, header::IF_NONE_MATCH),
        last_event_id: parts
            .headers
            .get("last-event-id")
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
        context,
        status: 0,
        etag: None,
        retry_after: None,
    };
    let mut script = shared.script();
    let response = respond(&mut script, shared.addr, &mut seen);
    if script.log.len() < MAX_LOGGED {
        script.log.push(seen);
    } else {
        script.unlogged += 1;
    }
    response
}

/// Decides the answer under the script's lock, so a request and the log entry that records
/// it see the same state.
fn respond(script: &mut Script, addr: SocketAddr, seen: &mut Seen) -> Response<Body> {
    if let Some(status) = script.answer_every {
        seen.status = status;
        return refusal(status, None);
    }
    match seen.route {
        Route::Bulk => {
            if let Some((status, seconds)) = script.next_bulk.take() {
                seen.status = status;
                seen.retry_after = Some(seconds);
                return refusal(status, Some(seconds));
            }
            let etag = format!("\"v{}\"", script.version);
            seen.etag = Some(etag.clone());
            if let Err(why) = &seen.context {
                seen.status = 400;
                return json_response(
                    StatusCode::BAD_REQUEST,
                    &json!({"errorCode": "INVALID_CONTEXT", "errorDetails": why}),
                    None,
                );
            }
            if seen.if_none_match.as_deref() == Some(etag.as_str()) {
                seen.status = 304;
                return Response::builder()
                    .status(StatusCode::NOT_MODIFIED)
                    .header(header::ETAG, etag)
                    .body(Body::empty())
                    .unwrap_or_default();
            }
            seen.status = 200;
            json_response(StatusCode::OK, &bulk_body(script, addr), Some(&etag))
        }
        Route::Single => {
            seen.status = 200;
            let key = seen.path.rsplit('/').next().unwrap_or_default().to_owned();
            json_response(
                StatusCode::OK,
                &json!({"key": key, "value": script.version.is_multiple_of(2), "reason": "STATIC", "variant": "on"}),
                None,
            )
        }
        Route::UrlStream | Route::EndpointStream => match script.refuse_streams {
            Some(status) => {
                seen.status = status;
                refusal(status, None)
            }
            None => {
                seen.status = 200;
                open_stream(script)
            }
        },
        Route::UnknownStream | Route::Other => {
            seen.status = 404;
            json_response(
                StatusCode::NOT_FOUND,
                &json!({"errorCode": "NOT_FOUND", "errorDetails": "no such endpoint"}),
                None,
            )
        }
    }
}

/// The bulk answer: two flags whose values follow the configuration's version, and the
/// advertised streams in the order the scenario gave them.
fn bulk_body(script: &Script, addr: SocketAddr) -> Value {
    let version = script.version;
    let streams: Vec<Value> = script
        .advertised
        .iter()
        .map(|entry| match entry {
            Advertised::Url => json!({
                "type": "sse",
                "url": format!("http://{addr}{URL_STREAM_PATH}?{URL_STREAM_QUERY}"),
                "inactivityDelaySec": 120,
            }),
            Advertised::Endpoint => json!({
                "type": "sse",
                "endpoint": {"requestUri": format!("{ENDPOINT_STREAM_PATH}?{ENDPOINT_STREAM_QUERY}")},
                "inactivityDelaySec": 120,
            }),
            Advertised::Unknown(kind) => json!({
                "type": kind,
                "url": format!("http://{addr}{UNKNOWN_STREAM_PATH}"),
            }),
        })
        .collect();
    let mut body = json!({
        "flags": [
            {"key": "conform-version", "value": format!("v{version}"), "reason": "STATIC", "variant": format!("v{version}")},
            {"key": "conform-enabled", "value": version.is_multiple_of(2), "reason": "STATIC", "variant": if version.is_multiple_of(2) { "on" } else { "off" }},
        ],
    });
    if !streams.is_empty() {
        body["eventStreams"] = Value::Array(streams);
    }
    body
}

fn open_stream(script: &mut Script) -> Response<Body> {
    let (sender, receiver) = mpsc::channel::<Bytes>(STREAM_BUFFER);
    let mut opening = String::new();
    if let Some(ms) = script.retry_ms {
        opening.push_str(&format!("retry: {ms}\n"));
    }
    opening.push_str(": connected\n\n");
    let _ = sender.try_send(Bytes::from(opening));
    script.open.push(sender);
    let frames = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver
            .recv()
            .await
            .map(|frame| (Ok::<_, Infallible>(frame), receiver))
    });
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Body::from_stream(frames))
        .unwrap_or_default()
}

fn refusal(status: u16, retry_after: Option<u64>) -> Response<Body> {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    let mut response = json_response(
        code,
        &json!({"errorCode": "GENERAL", "errorDetails": "refused by the scenario"}),
        None,
    );
    if let Some(seconds) = retry_after
        && let Ok(value) = header::HeaderValue::from_str(&seconds.to_string())
    {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

fn json_response(status: StatusCode, body: &Value, etag: Option<&str>) -> Response<Body> {
    let mut builder = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(etag) = etag {
        builder = builder.header(header::ETAG, etag);
    }
    builder
        .body(Body::from(body.to_string()))
        .unwrap_or_default()
}

/// Whether a request body is a JSON object with a `context` object, read up to `MAX_BODY`.
async fn read_context(body: Incoming) -> Result<(), String> {
    let bytes = axum::body::to_bytes(Body::new(body), MAX_BODY)
        .await
        .map_err(|_| {
            format!("the body could not be read in full (the limit is {MAX_BODY} bytes)")
        })?;
    let value: Value =
        serde_json::from_slice(&bytes).map_err(|e| format!("the body is not JSON ({e})"))?;
    match value.get("context") {
        Some(Value::Object(_)) => Ok(()),
        Some(_) => Err("`context` is not a JSON object".into()),
        None => Err("the body has no `context`".into()),
    }
}
