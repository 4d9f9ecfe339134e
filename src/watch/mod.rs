//! `watch` as a pipeline: stream tasks and a poll timer feed one coordinator, which owns the
//! flag state, runs refetches (at most one in flight and one queued) and sends [`WatchEvent`]s
//! to a renderer. An SSE event only says "something changed"; the refetch says what.

pub mod stream;
pub mod until;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::mpsc::{self, UnboundedSender};
use tokio::task::JoinHandle;
use url::Url;

use crate::diff::{self, BulkAnswer, FlagChange, FlagSet};
use crate::error::Error;
use crate::protocol::answer::Endpoint;
use crate::protocol::checks::transport::is_retry_after;
use crate::protocol::client::{Client, RawExchange, Request};
use crate::protocol::event_streams;
use crate::sse::parser::{Event, Problem};
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

/// What started a refetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// A `refetchEvaluation` event: carries its metadata to the bulk endpoint.
    Sse {
        stream: usize,
        event_id: Option<String>,
        etag: Option<String>,
        last_modified: Option<String>,
    },
    Poll,
    /// A stream (re)connected: refetch at once, unconditionally of events.
    Reconnect {
        stream: usize,
    },
    /// A failed refetch being tried again.
    Retry,
}

impl Trigger {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Sse { .. } => "sse",
            Self::Poll => "poll",
            Self::Reconnect { .. } => "reconnect",
            Self::Retry => "retry",
        }
    }

    /// SSE metadata travels as query parameters, and only on refetches an event triggered.
    fn query(&self) -> Vec<(String, String)> {
        let Self::Sse {
            etag,
            last_modified,
            ..
        } = self
        else {
            return vec![];
        };
        let mut query = Vec::new();
        if let Some(etag) = etag {
            query.push(("flagConfigEtag".to_owned(), etag.clone()));
        }
        if let Some(last_modified) = last_modified {
            query.push(("flagConfigLastModified".to_owned(), last_modified.clone()));
        }
        query
    }
}

/// A stream's state change, for the renderer.
#[derive(Debug, Clone, PartialEq)]
pub enum ConnectionState {
    Connected,
    Reconnecting {
        delay: Duration,
        reason: String,
    },
    Stopped {
        reason: String,
    },
    /// No stream is connected: polling every `interval` (or not at all when `None`).
    FellBackToPolling {
        interval: Option<Duration>,
    },
    /// A stream connected again after a fallback: polling stopped.
    Recovered,
}

/// Everything `watch` shows, in order. The renderer decides how.
#[derive(Debug, Clone)]
pub enum WatchEvent {
    Snapshot {
        etag: Option<String>,
        /// The flags, keyed, for conditions; shared with the pipeline, not copied.
        flags: Arc<FlagSet>,
        /// The first answer's body and where its `flags` array sits in it, for the JSON
        /// snapshot line, which shows the array exactly as received.
        body: Arc<Vec<u8>>,
        flags_span: std::ops::Range<usize>,
        streams: Vec<StreamInfo>,
        polling: Option<Duration>,
    },
    Connection {
        stream: Option<usize>,
        url: Option<Url>,
        state: ConnectionState,
    },
    /// An SSE event arrived (any type).
    Event {
        stream: usize,
        id: Option<String>,
        event_type: String,
        data: String,
    },
    Change {
        trigger: Trigger,
        etag: Option<String>,
        latency: Duration,
        /// Only what changed: a renderer or a condition keeps its own flag set up to date with
        /// [`diff::apply`], so no event ever carries a whole (possibly huge) flag set.
        changes: Vec<FlagChange>,
    },
    /// A refetch that changed nothing (304 or an identical 200), shown with `-v`.
    Unchanged {
        trigger: Trigger,
        status: u16,
        latency: Duration,
    },
    /// Something is wrong but `watch` goes on; `id` is the checklist id when there is one.
    Warning {
        id: Option<&'static str>,
        message: String,
    },
    Comment {
        stream: usize,
        text: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct StreamInfo {
    pub index: usize,
    pub kind: Option<String>,
    pub url: Result<Url, String>,
    /// Followed (a known type with a new URL), or why not.
    pub followed: Result<usize, String>,
}

/// The flag state as of the last good answer.
struct State {
    flags: Arc<FlagSet>,
    etag: Option<String>,
}

/// One refetch being made, and when its trigger arrived (latency is measured from then).
struct Pending {
    trigger: Trigger,
    since: Instant,
}

/// Runs until a fatal error (401/403, unusable first answer) or until the receiver is dropped.
pub async fn run(config: WatchConfig, out: UnboundedSender<WatchEvent>) -> Result<(), Error> {
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

    let (tx, mut rx) = mpsc::unbounded_channel::<StreamMsg>();
    let mut streams = Vec::new();
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
                        let task = StreamTask {
                            stream: entry.index,
                            url: url.clone(),
                            http: config.client.stream_http().clone(),
                            headers: config.client.config().headers.clone(),
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
    );

    let mut coordinator = Coordinator {
        config: &config,
        out: &out,
        state,
        streams: &streams,
        in_flight: None,
        queued: None,
        not_before: None,
        failures: 0,
        connected: HashSet::new(),
        fell_back: following == 0,
        next_poll: None,
        holding: false,
    };
    coordinator.schedule_poll();
    let result = coordinator.run(&mut rx).await;
    for task in tasks {
        task.abort();
    }
    result
}

/// Hands an event to the renderer. A closed receiver means the command is done watching; the
/// coordinator notices through `closed()` and stops.
fn send(out: &UnboundedSender<WatchEvent>, event: WatchEvent) {
    let _ = out.send(event);
}

/// The first answer. Transport errors and 4xx are fatal (exit 2); 5xx and 429 are waited out.
async fn initial(
    config: &WatchConfig,
    out: &UnboundedSender<WatchEvent>,
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
                    Err(problem) => Err(Error::network(format!(
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
                );
                tokio::time::sleep(delay).await;
            }
            _ => {
                return Err(
                    Error::network(format!("the first evaluation answered {status}"))
                        .with_hint("run `ofrep fetch` against the same URL to see the answer"),
                );
            }
        }
    }
}

fn fatal_auth(status: u16) -> Error {
    Error::network(format!(
        "the server answered {status}: the credentials are missing or not accepted"
    ))
    .with_hint(
        "pass them with -H 'Authorization: Bearer TOKEN' or -H 'X-API-Key: KEY' (or OFREP_HEADERS)",
    )
}

/// How long to wait after a failed request: `Retry-After` when given, else exponential backoff.
fn wait_for(exchange: &RawExchange, failures: u32) -> Duration {
    retry_after(exchange.header("retry-after"))
        .unwrap_or_else(|| stream::backoff(stream::DEFAULT_RETRY, failures, fastrand::f64()))
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

struct Coordinator<'a> {
    config: &'a WatchConfig,
    out: &'a UnboundedSender<WatchEvent>,
    state: State,
    streams: &'a [StreamInfo],
    in_flight: Option<(Pending, JoinHandle<Result<RawExchange, Error>>)>,
    /// At most one refetch waits behind the one in flight; later triggers merge into it.
    queued: Option<Pending>,
    /// No refetch before this instant (429 Retry-After, or backoff after failures).
    not_before: Option<Instant>,
    failures: u32,
    connected: HashSet<usize>,
    /// Whether we are in the polling fallback (no stream connected).
    fell_back: bool,
    next_poll: Option<Instant>,
    /// While already-arrived events are being merged into the queued refetch, it waits.
    holding: bool,
}

impl Coordinator<'_> {
    async fn run(&mut self, rx: &mut mpsc::UnboundedReceiver<StreamMsg>) -> Result<(), Error> {
        let mut streams_open = true;
        loop {
            let poll_at = self.next_poll;
            let wake_at = self
                .not_before
                .filter(|_| self.queued.is_some() && self.in_flight.is_none());
            let refetching = self.in_flight.is_some();
            let in_flight = self.in_flight.as_mut().map(|(_, handle)| handle);
            tokio::select! {
                done = async { in_flight?.await.ok() }, if refetching => {
                    if let Some((pending, _)) = self.in_flight.take() {
                        let result = done.unwrap_or_else(|| Err(Error::network("the refetch task ended unexpectedly")));
                        self.finish(pending, result)?;
                    }
                    if self.queued.is_some() {
                        // Events of a burst may be in the socket already, not yet read: let the
                        // stream tasks run once (a scheduling point, not a debounce delay) and
                        // merge what they deliver into the queued refetch before starting it.
                        tokio::task::yield_now().await;
                        self.holding = true;
                        while let Ok(msg) = rx.try_recv() {
                            self.on_stream(msg);
                        }
                        self.holding = false;
                    }
                    self.start_queued();
                }
                msg = rx.recv(), if streams_open => match msg {
                    Some(msg) => self.on_stream(msg),
                    None => streams_open = false,
                },
                _ = sleep_until(poll_at), if poll_at.is_some() => {
                    self.next_poll = None;
                    self.request(Trigger::Poll, Instant::now());
                    self.schedule_poll();
                }
                _ = sleep_until(wake_at), if wake_at.is_some() => {
                    self.not_before = None;
                    self.start_queued();
                }
                _ = self.out.closed() => return Ok(()),
            }
        }
    }

    /// Polling runs in `polling` mode, and in `sse` mode only in the fallback: no stream to
    /// follow, or every stream lost. Streams still making their first connection are not a
    /// reason to poll.
    fn polling_active(&self) -> bool {
        self.config.mode == ChangeDetection::Polling || self.fell_back
    }

    fn schedule_poll(&mut self) {
        self.next_poll = match (self.config.poll_interval, self.polling_active()) {
            (Some(interval), true) => Some(Instant::now() + interval),
            _ => None,
        };
    }

    fn url(&self, stream: usize) -> Option<Url> {
        self.streams
            .iter()
            .find(|s| s.index == stream)
            .and_then(|s| s.url.clone().ok())
    }

    fn connection(&self, stream: usize, state: ConnectionState) {
        send(
            self.out,
            WatchEvent::Connection {
                stream: Some(stream),
                url: self.url(stream),
                state,
            },
        );
    }

    fn on_stream(&mut self, msg: StreamMsg) {
        match msg {
            StreamMsg::Connected { stream } => {
                self.connected.insert(stream);
                self.connection(stream, ConnectionState::Connected);
                if self.fell_back {
                    self.fell_back = false;
                    self.next_poll = None;
                    send(
                        self.out,
                        WatchEvent::Connection {
                            stream: None,
                            url: None,
                            state: ConnectionState::Recovered,
                        },
                    );
                }
                // ADR-0008: refetch at once after every (re)connect; events may have been missed.
                self.request(Trigger::Reconnect { stream }, Instant::now());
            }
            StreamMsg::Event {
                stream,
                event,
                arrived,
            } => self.on_event(stream, event, arrived),
            StreamMsg::Comment { stream, text } => {
                send(self.out, WatchEvent::Comment { stream, text })
            }
            StreamMsg::Problem { problem, .. } => {
                send(
                    self.out,
                    WatchEvent::Warning {
                        id: problem_check_id(&problem),
                        message: problem.to_string(),
                    },
                );
            }
            StreamMsg::Retrying {
                stream,
                delay,
                reason,
            } => {
                self.lost(stream);
                self.connection(stream, ConnectionState::Reconnecting { delay, reason });
            }
            StreamMsg::Stopped { stream, reason } => {
                self.lost(stream);
                self.connection(stream, ConnectionState::Stopped { reason });
            }
        }
    }

    /// A stream is no longer connected; with none left, fall back to polling.
    fn lost(&mut self, stream: usize) {
        self.connected.remove(&stream);
        if self.connected.is_empty() && !self.fell_back {
            self.fell_back = true;
            self.schedule_poll();
            send(
                self.out,
                WatchEvent::Connection {
                    stream: None,
                    url: None,
                    state: ConnectionState::FellBackToPolling {
                        interval: self.config.poll_interval,
                    },
                },
            );
        }
    }

    fn warn(&self, id: Option<&'static str>, message: String) {
        send(self.out, WatchEvent::Warning { id, message });
    }

    fn on_event(&mut self, stream: usize, event: Event, arrived: Instant) {
        let data: Option<Value> = serde_json::from_str(&event.data).ok();
        let event_type = data
            .as_ref()
            .and_then(|d| d.get("type"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        send(
            self.out,
            WatchEvent::Event {
                stream,
                id: event.id.clone(),
                event_type: event_type.clone().unwrap_or_default(),
                data: event.data.clone(),
            },
        );
        let Some(data) = data.filter(Value::is_object) else {
            let label = event_label(&event);
            return self.warn(
                Some("sse-data-json"),
                format!("event {label} has data that is not a JSON object; ignored"),
            );
        };
        let Some(kind) = event_type else {
            return self.warn(
                Some("sse-type"),
                format!(
                    "event {} has no string `type`; ignored",
                    event_label(&event)
                ),
            );
        };
        if event.event_type != "message" {
            self.warn(
                Some("sse-event-message"),
                format!(
                    "event {} is named `{}`: browser providers never see named events (acted on anyway, by data.type)",
                    event_label(&event),
                    event.event_type
                ),
            );
        }
        if kind != "refetchEvaluation" {
            return; // Unknown types are legal and ignored.
        }
        let etag = data.get("etag").and_then(Value::as_str).map(str::to_owned);
        let last_modified = match data.get("lastModified") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        self.request(
            Trigger::Sse {
                stream,
                event_id: event.id,
                etag,
                last_modified,
            },
            arrived,
        );
    }

    /// Asks for a refetch: start it now, or merge it into the one queued behind the refetch in
    /// flight. A queued refetch keeps the newest event's metadata and the oldest arrival
    /// (latency is measured from the first event it answers).
    fn request(&mut self, trigger: Trigger, since: Instant) {
        let merged = match self.queued.take() {
            None => Pending { trigger, since },
            Some(queued) => {
                let newest = match (&trigger, &queued.trigger) {
                    (Trigger::Sse { .. }, _) | (_, Trigger::Retry | Trigger::Poll) => trigger,
                    _ => queued.trigger,
                };
                Pending {
                    trigger: newest,
                    since: queued.since.min(since),
                }
            }
        };
        self.queued = Some(merged);
        self.start_queued();
    }

    fn start_queued(&mut self) {
        if self.holding
            || self.in_flight.is_some()
            || self.not_before.is_some_and(|t| Instant::now() < t)
        {
            return;
        }
        let Some(pending) = self.queued.take() else {
            return;
        };
        self.not_before = None;
        let mut request = Request::new(Endpoint::Bulk, self.config.context.clone());
        request.query = pending.trigger.query();
        request.if_none_match = self.state.etag.clone();
        let client = self.config.client.clone();
        let handle = tokio::spawn(async move { client.send_raw(&request).await });
        self.in_flight = Some((pending, handle));
    }

    /// Handles a refetch's answer. Only 401/403 end the watch.
    fn finish(
        &mut self,
        pending: Pending,
        result: Result<RawExchange, Error>,
    ) -> Result<(), Error> {
        let latency = pending.since.elapsed();
        let exchange = match result {
            Ok(exchange) => exchange,
            Err(error) => {
                self.retry_later(pending, None, format!("the refetch failed: {error}"));
                return Ok(());
            }
        };
        let status = exchange.status;
        match status {
            304 => {
                self.failures = 0;
                send(
                    self.out,
                    WatchEvent::Unchanged {
                        trigger: pending.trigger,
                        status,
                        latency,
                    },
                );
            }
            200 => {
                let flags = match diff::parse_flags(&exchange.bytes) {
                    Ok(flags) => flags,
                    Err(problem) => {
                        self.warn(
                            Some("bulk-shape"),
                            format!("a refetch answered 200 but {problem}; keeping the last flags"),
                        );
                        self.retry_later(pending, None, "the refetch was unusable".into());
                        return Ok(());
                    }
                };
                self.failures = 0;
                let changes = diff::diff(&self.state.flags, &flags);
                self.state.flags = Arc::new(flags);
                self.state.etag = exchange.header("etag").map(str::to_owned);
                if changes.is_empty() {
                    send(
                        self.out,
                        WatchEvent::Unchanged {
                            trigger: pending.trigger,
                            status,
                            latency,
                        },
                    );
                } else {
                    send(
                        self.out,
                        WatchEvent::Change {
                            trigger: pending.trigger,
                            etag: self.state.etag.clone(),
                            latency,
                            changes,
                        },
                    );
                }
            }
            401 | 403 => return Err(fatal_auth(status)),
            429 => {
                let delay = retry_after(exchange.header("retry-after"));
                self.retry_later(pending, delay, "rate limited (429)".into());
            }
            400 if !pending.trigger.query().is_empty() => {
                self.warn(
                    Some("bulk-query-accepted"),
                    "an event-triggered refetch with flagConfigEtag/flagConfigLastModified answered 400".into(),
                );
                self.retry_later(pending, None, "the refetch answered 400".into());
            }
            _ => self.retry_later(pending, None, format!("the refetch answered {status}")),
        }
        Ok(())
    }

    /// Puts a failed refetch back in the queue behind a delay: `Retry-After` when the server gave
    /// one, else exponential backoff. A newer trigger that arrives meanwhile merges into it.
    fn retry_later(&mut self, pending: Pending, delay: Option<Duration>, reason: String) {
        let delay = delay.unwrap_or_else(|| {
            stream::backoff(stream::DEFAULT_RETRY, self.failures, fastrand::f64())
        });
        self.failures = self.failures.saturating_add(1);
        self.not_before = Some(Instant::now() + delay);
        self.warn(
            None,
            format!("{reason}; waiting {} before refetching", seconds(delay)),
        );
        let since = pending.since;
        let trigger = match pending.trigger {
            Trigger::Poll => Trigger::Retry,
            other => other,
        };
        self.request(trigger, since);
    }
}

/// The checklist requirement a stream problem breaks, when it breaks one.
pub fn problem_check_id(problem: &Problem) -> Option<&'static str> {
    match problem {
        Problem::InvalidUtf8 { .. } => Some("sse-utf8"),
        Problem::InvalidRetry { .. } => Some("sse-retry"),
        Problem::IdWithNul { .. } => Some("sse-id"),
        Problem::DataTooLarge { .. } | Problem::LineTooLong { .. } | Problem::UnterminatedEvent => {
            None
        }
    }
}

fn event_label(event: &Event) -> String {
    match &event.id {
        Some(id) => format!("`{id}`"),
        None => "(no id)".to_owned(),
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}
