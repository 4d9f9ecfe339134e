//! `watch` as a pipeline: stream tasks and a poll timer feed one coordinator, which owns the
//! flag state, runs refetches (at most one in flight and one queued) and sends [`WatchEvent`]s
//! to a renderer. An SSE event only says "something changed"; the refetch says what.
//!
//! This file is the setup: the configuration, the first answer, and opening the streams it
//! advertises. `events` is the vocabulary a renderer sees, `signal` reads one SSE event,
//! `coordinator` schedules the refetches, `stream` is one reconnecting stream and `until` the
//! `--until` conditions.

mod coordinator;
mod events;
mod signal;
pub mod stream;
pub mod until;

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc::{self, Receiver, Sender};
use tokio::task::JoinHandle;
use url::Url;

use crate::diff::{self, BulkAnswer};
use crate::error::Error;
use crate::protocol::answer::Endpoint;
use crate::protocol::checks::transport::is_retry_after;
use crate::protocol::client::{Client, RawExchange, Request};
use crate::protocol::event_streams;
use crate::protocol::redirect;
use coordinator::{Coordinator, State};
pub use events::{ConnectionState, StreamInfo, Trigger, WatchEvent};
use stream::{StreamMsg, StreamTask};

/// `--change-detection`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeDetection {
    /// Follow `eventStreams`; poll only while no stream is connected.
    Sse,
    /// Ignore `eventStreams`; poll.
    Polling,
}

pub struct WatchConfig {
    pub client: Client,
    pub base: Url,
    pub context: serde_json::Map<String, Value>,
    pub mode: ChangeDetection,
    /// `None` disables polling.
    pub poll_interval: Option<Duration>,
}

/// How many events wait for the renderer; past that the pipeline waits (and stops reading the
/// streams), so a renderer behind a slow terminal or pipe costs no memory.
pub const RENDER_QUEUE: usize = 16;

/// The queue from [`run`] to the renderer.
pub fn channel() -> (Sender<WatchEvent>, Receiver<WatchEvent>) {
    mpsc::channel(RENDER_QUEUE)
}

/// Runs until a fatal error (401/403, unusable first answer) or until the receiver is dropped.
pub async fn run(config: WatchConfig, out: Sender<WatchEvent>) -> Result<(), Error> {
    let (first, answer) = initial(&config, &out).await?;
    let BulkAnswer {
        flags,
        flags_span,
        event_streams,
    } = answer;
    let flags = Arc::new(flags);
    // Only `eventStreams` is needed to find the streams; the rest of the answer is not kept.
    let body = serde_json::json!({ "eventStreams": event_streams });
    let state = State {
        flags,
        etag: first.header("etag").map(str::to_owned),
    };
    let first_body = Arc::new(first.bytes);

    let (tx, mut rx) = mpsc::channel::<StreamMsg>(stream::QUEUE);
    let mut streams = Vec::new();
    let mut warnings = Vec::new();
    let mut tasks: Vec<JoinHandle<()>> = Vec::new();
    if config.mode == ChangeDetection::Sse {
        let mut seen: Vec<Url> = Vec::new();
        for entry in event_streams::entries(&body, &config.base) {
            let followed = match (&entry.kind, &entry.resolved) {
                (None, _) => Err("no `type`".to_owned()),
                (Some(kind), _) if kind != "sse" => {
                    Err(format!("type `{kind}` is not one ofrep follows"))
                }
                (_, Err(why)) => Err(why.clone()),
                (Some(_), Ok(url)) => match seen.iter().position(|u| u == url) {
                    Some(first) => Err(format!("same URL as entry {first}")),
                    None => {
                        seen.push(url.clone());
                        let (headers, warning) = stream_headers(&config, entry.index, url);
                        warnings.extend(warning);
                        let task = StreamTask {
                            stream: entry.index,
                            url: url.clone(),
                            http: config.client.stream_http().clone(),
                            headers,
                            connect_timeout: config.client.config().timeout,
                        };
                        tasks.push(tokio::spawn(task.run(tx.clone())));
                        Ok(entry.index)
                    }
                },
            };
            streams.push(StreamInfo {
                index: entry.index,
                kind: entry.kind,
                url: entry.resolved,
                followed,
            });
        }
    }
    drop(tx);
    let following = streams.iter().filter(|s| s.followed.is_ok()).count();
    let polling_at_start = if following == 0 || config.mode == ChangeDetection::Polling {
        config.poll_interval
    } else {
        None
    };
    send(
        &out,
        WatchEvent::Snapshot {
            etag: state.etag.clone(),
            flags: Arc::clone(&state.flags),
            body: first_body,
            flags_span,
            streams: streams.clone(),
            polling: polling_at_start,
        },
    )
    .await;
    for warning in warnings {
        send(&out, warning).await;
    }

    let mut coordinator = Coordinator::new(&config, &out, state, &streams, following == 0);
    coordinator.schedule_poll();
    let result = coordinator.run(&mut rx).await;
    for task in tasks {
        task.abort();
    }
    result
}

/// Hands an event to the renderer, waiting for room. A closed receiver means the command is
/// done watching; the coordinator notices through `closed()` and stops.
async fn send(out: &Sender<WatchEvent>, event: WatchEvent) {
    let _ = out.send(event).await;
}

/// The headers a stream is opened with: the configured ones (`-H`, `OFREP_HEADERS`) only on the
/// OFREP base URL's origin. An `eventStreams` URL elsewhere is opaque and may carry its own
/// token (ADR-0008), and browser EventSource never sends custom headers; a warning says so when
/// there were headers to hold back.
fn stream_headers(
    config: &WatchConfig,
    index: usize,
    url: &Url,
) -> (Vec<crate::protocol::headers::Header>, Option<WatchEvent>) {
    let client = config.client.config();
    let warning = client.withholds_from(url).then(|| WatchEvent::Warning {
        id: None,
        message: format!(
            "stream {index} is on another origin ({}) than the OFREP base URL ({}): it is opened without the -H/OFREP_HEADERS headers",
            url.origin().ascii_serialization(),
            config.base.origin().ascii_serialization()
        ),
    });
    (client.headers_for(url).to_vec(), warning)
}

/// The first answer. Transport errors and 4xx are fatal (exit 2); 5xx and 429 are waited out.
async fn initial(
    config: &WatchConfig,
    out: &Sender<WatchEvent>,
) -> Result<(RawExchange, BulkAnswer), Error> {
    let request = Request::new(Endpoint::Bulk, config.context.clone());
    let mut failures = 0;
    loop {
        let exchange = config.client.send_raw(&request).await?;
        let status = exchange.status;
        match status {
            200 => {
                return match diff::parse_bulk(&exchange.bytes) {
                    Ok(answer) => Ok((exchange, answer)),
                    Err(problem) => Err(Error::answer(format!(
                        "the first answer is not a usable bulk evaluation: {problem}"
                    ))
                    .with_hint(
                        "run `ofrep fetch` against the same URL to see every problem with it",
                    )),
                };
            }
            401 | 403 => return Err(fatal_auth(status)),
            408 | 429 | 500..=599 => {
                let delay = wait_for(&exchange, failures);
                failures += 1;
                send(
                    out,
                    WatchEvent::Warning {
                        id: None,
                        message: format!(
                            "the first evaluation answered {status}; trying again in {}",
                            seconds(delay)
                        ),
                    },
                )
                .await;
                tokio::time::sleep(delay).await;
            }
            _ => {
                // A redirect it did not follow says where it points and why it stopped there.
                let url = exchange.redirected_to.as_ref().unwrap_or(&exchange.url);
                if let Some(error) = redirect::unfollowed_error(
                    status,
                    exchange.reason,
                    exchange.header("location"),
                    url,
                    config.client.config().follow_redirects,
                ) {
                    return Err(error);
                }
                return Err(
                    Error::answer(format!("the first evaluation answered {status}"))
                        .with_hint("run `ofrep fetch` against the same URL to see the answer"),
                );
            }
        }
    }
}

fn fatal_auth(status: u16) -> Error {
    Error::answer(format!(
        "the server answered {status}: the credentials are missing or not accepted"
    ))
    .with_hint(
        "pass them with -H 'Authorization: Bearer TOKEN' or -H 'X-API-Key: KEY' (or OFREP_HEADERS)",
    )
}

/// How long to wait after a failed request: exponential backoff, or `Retry-After` when it is
/// longer (`Retry-After: 0` must not turn into a loop of requests).
fn wait_for(exchange: &RawExchange, failures: u32) -> Duration {
    // A failed request first waits half a second (plus jitter), then backs off.
    let ours = stream::backoff(stream::MIN_RETRY, failures, fastrand::f64());
    retry_after(exchange.header("retry-after"))
        .unwrap_or_default()
        .max(ours)
}

/// `Retry-After` as delay-seconds or an HTTP date, as a duration from now (never above an hour).
pub fn retry_after(header: Option<&str>) -> Option<Duration> {
    let value = header?.trim();
    if !is_retry_after(value) {
        return None;
    }
    let delay = match value.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => httpdate::parse_http_date(value)
            .ok()?
            .duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    };
    Some(delay.min(Duration::from_secs(3600)))
}

fn seconds(delay: Duration) -> String {
    format!("{:.1} s", delay.as_secs_f64())
}
