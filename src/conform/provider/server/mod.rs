//! The scripted server a provider under test talks to: it answers the bulk endpoint with an
//! ETag and the `eventStreams` the scenario set up, holds event streams open and writes the
//! events the scenario sends, answers refusals when told to, and records every request with its
//! time, so the steps can grade the provider by what it sent.
//!
//! One server per scenario, on 127.0.0.1 and a free port, so scenarios share nothing. The
//! provider is the user's own program, but it may be broken: the log, the request bodies and the
//! connections are bounded.

mod answer;
mod record;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::http::Request;
use bytes::Bytes;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};

use super::steps::Advertised;
use crate::serve::sse_frame;
pub use record::{Route, Seen, Sent};

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
            frames.push_str(&event(&mut script, now, &data, Some(etag)));
        }
        broadcast(&mut script, frames)
    }

    /// Writes an event whose `data.type` is `kind` on every open stream; nothing changes.
    pub fn send_other(&self, kind: &str) -> usize {
        let now = self.now();
        let mut script = self.shared.script();
        let frame = event(&mut script, now, &json!({"type": kind}), None);
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

/// The frame of an event with the next id, recorded as sent (with its `etag`, for a
/// `refetchEvaluation`).
fn event(
    script: &mut Script,
    at: Duration,
    data: &serde_json::Value,
    etag: Option<&str>,
) -> String {
    script.next_event_id += 1;
    let id = script.next_event_id;
    script.sent.push(Sent {
        at,
        id: id.to_string(),
        etag: etag.map(str::to_owned),
    });
    sse_frame::event(Some(id), None, &data.to_string())
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
                        async move { Ok::<_, Infallible>(answer::answer(&shared, request).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(socket), service)
                        .await;
                });
            }
        }
    }
}
