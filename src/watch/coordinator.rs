//! The coordinator: it owns the flag state and decides when to refetch. At most one refetch is
//! in flight and one queued behind it; triggers that arrive meanwhile (a burst of events, a poll,
//! a reconnect) merge into the queued one. It schedules polls while polling is active, and after a
//! failed refetch waits out `Retry-After` (at least an exponential backoff) before the next.
//!
//! What it sends waits in an outbox until the renderer's bounded queue has room. The outbox is
//! bounded in events and bytes; while it is full the coordinator takes nothing from the streams,
//! so a slow renderer slows the reading of the streams instead of growing a queue. It is large
//! enough that the events of an ordinary burst all reach the coordinator (and merge into one
//! refetch) while the renderer catches up.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::{self, Sender};
use tokio::task::JoinHandle;
use url::Url;

use super::events::{ConnectionState, StreamInfo, Trigger, WatchEvent};
use super::stream::{self, StreamMsg};
use super::{ChangeDetection, WatchConfig, fatal_auth, retry_after, seconds, signal};
use crate::diff::{self, FlagSet};
use crate::error::Error;
use crate::protocol::answer::Endpoint;
use crate::protocol::checks::sse;
use crate::protocol::client::{RawExchange, Request};
use crate::sse::parser::Event;

/// How many events the outbox holds before the coordinator stops taking stream messages.
const OUTBOX_EVENTS: usize = 4096;
/// How many bytes (by [`weight`]) the outbox holds before the coordinator stops taking them.
const OUTBOX_BYTES: usize = 4 << 20;

/// The flag state as of the last good answer.
pub struct State {
    pub flags: Arc<FlagSet>,
    pub etag: Option<String>,
}

/// One refetch being made, and when its trigger arrived (latency is measured from then).
#[derive(Debug, Clone, PartialEq)]
struct Pending {
    trigger: Trigger,
    since: Instant,
}

impl Pending {
    /// Merges a newer request into this queued refetch. It keeps the oldest arrival (latency is
    /// measured from the first event it answers) and the newest event's metadata: an SSE trigger
    /// replaces whatever was queued, anything replaces a queued poll or retry, and a reconnect
    /// or poll does not replace a queued SSE trigger or reconnect.
    fn absorb(self, trigger: Trigger, since: Instant) -> Pending {
        let newest = match (&trigger, &self.trigger) {
            (Trigger::Sse { .. }, _) | (_, Trigger::Retry | Trigger::Poll) => trigger,
            _ => self.trigger,
        };
        Pending {
            trigger: newest,
            since: self.since.min(since),
        }
    }
}

pub struct Coordinator<'a> {
    config: &'a WatchConfig,
    out: &'a Sender<WatchEvent>,
    /// Events made and not yet handed to the renderer; see [`Coordinator::has_room`].
    outbox: VecDeque<WatchEvent>,
    /// The [`weight`] of the outbox.
    outbox_bytes: usize,
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

impl<'a> Coordinator<'a> {
    /// `fell_back` says the watch starts in the polling fallback: no stream to follow.
    pub fn new(
        config: &'a WatchConfig,
        out: &'a Sender<WatchEvent>,
        state: State,
        streams: &'a [StreamInfo],
        fell_back: bool,
    ) -> Self {
        Self {
            config,
            out,
            outbox: VecDeque::new(),
            outbox_bytes: 0,
            state,
            streams,
            in_flight: None,
            queued: None,
            not_before: None,
            failures: 0,
            connected: HashSet::new(),
            fell_back,
            next_poll: None,
            holding: false,
        }
    }

    pub async fn run(&mut self, rx: &mut mpsc::Receiver<StreamMsg>) -> Result<(), Error> {
        let mut streams_open = true;
        let out = self.out;
        loop {
            let room = self.has_room();
            let unsent = !self.outbox.is_empty();
            let poll_at = self.next_poll;
            let wake_at = self
                .not_before
                .filter(|_| self.queued.is_some() && self.in_flight.is_none());
            let refetching = self.in_flight.is_some();
            let in_flight = self.in_flight.as_mut().map(|(_, handle)| handle);
            tokio::select! {
                done = async { in_flight?.await.ok() }, if refetching => {
                    if let Some((pending, _)) = self.in_flight.take() {
                        let result = done.unwrap_or_else(|| Err(Error::internal("the refetch task ended unexpectedly")));
                        self.finish(pending, result)?;
                    }
                    if self.queued.is_some() {
                        // Events of a burst may be in the socket already, not yet read: let the
                        // stream tasks run once (a scheduling point, not a debounce delay) and
                        // merge what they deliver into the queued refetch before starting it.
                        tokio::task::yield_now().await;
                        self.holding = true;
                        while self.has_room() {
                            let Ok(msg) = rx.try_recv() else { break };
                            self.on_stream(msg);
                        }
                        self.holding = false;
                    }
                    self.start_queued();
                }
                permit = out.reserve(), if unsent => match permit {
                    Ok(permit) => {
                        if let Some(event) = self.outbox.pop_front() {
                            self.outbox_bytes = self.outbox_bytes.saturating_sub(weight(&event));
                            permit.send(event);
                        }
                    }
                    Err(_) => return Ok(()),
                },
                msg = rx.recv(), if streams_open && room => match msg {
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
                _ = out.closed() => return Ok(()),
            }
        }
    }

    /// Polling runs in `polling` mode, and in `sse` mode only in the fallback: no stream to
    /// follow, or every stream lost. Streams still making their first connection are not a
    /// reason to poll.
    fn polling_active(&self) -> bool {
        self.config.mode == ChangeDetection::Polling || self.fell_back
    }

    pub fn schedule_poll(&mut self) {
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

    /// Queues an event for the renderer.
    fn emit(&mut self, event: WatchEvent) {
        self.outbox_bytes = self.outbox_bytes.saturating_add(weight(&event));
        self.outbox.push_back(event);
    }

    /// Whether the outbox can take what one more stream message makes (a few events).
    fn has_room(&self) -> bool {
        self.outbox.len() < OUTBOX_EVENTS && self.outbox_bytes < OUTBOX_BYTES
    }

    fn connection(&mut self, stream: usize, state: ConnectionState) {
        let url = self.url(stream);
        self.emit(WatchEvent::Connection {
            stream: Some(stream),
            url,
            state,
        });
    }

    fn on_stream(&mut self, msg: StreamMsg) {
        match msg {
            StreamMsg::Connected { stream } => {
                self.connected.insert(stream);
                self.connection(stream, ConnectionState::Connected);
                if self.fell_back {
                    self.fell_back = false;
                    self.next_poll = None;
                    self.emit(WatchEvent::Connection {
                        stream: None,
                        url: None,
                        state: ConnectionState::Recovered,
                    });
                }
                // ADR-0008: refetch at once after every (re)connect; events may have been missed.
                self.request(Trigger::Reconnect { stream }, Instant::now());
            }
            StreamMsg::Event {
                stream,
                event,
                arrived,
            } => self.on_event(stream, event, arrived),
            StreamMsg::Comment { stream, text } => self.emit(WatchEvent::Comment { stream, text }),
            StreamMsg::Problem {
                problem,
                last_shown,
                ..
            } => {
                let more = if last_shown {
                    " (further problems like this one on this connection are not shown)"
                } else {
                    ""
                };
                self.warn(sse::problem_check_id(&problem), format!("{problem}{more}"));
            }
            StreamMsg::Throttled { stream } => self.warn(
                None,
                format!(
                    "stream {stream} sends faster than watch handles it; it is now read only as fast as that (no event is dropped; refetches merge)"
                ),
            ),
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
            self.emit(WatchEvent::Connection {
                stream: None,
                url: None,
                state: ConnectionState::FellBackToPolling {
                    interval: self.config.poll_interval,
                },
            });
        }
    }

    fn warn(&mut self, id: Option<&'static str>, message: String) {
        self.emit(WatchEvent::Warning { id, message });
    }

    fn on_event(&mut self, stream: usize, event: Event, arrived: Instant) {
        let signal = signal::read(stream, event);
        for event in signal.events {
            self.emit(event);
        }
        if let Some(trigger) = signal.refetch {
            self.request(trigger, arrived);
        }
    }

    /// Asks for a refetch: start it now, or merge it into the one queued behind the refetch in
    /// flight (see [`Pending::absorb`]).
    fn request(&mut self, trigger: Trigger, since: Instant) {
        let merged = match self.queued.take() {
            None => Pending { trigger, since },
            Some(queued) => queued.absorb(trigger, since),
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
                self.emit(WatchEvent::Unchanged {
                    trigger: pending.trigger,
                    status,
                    latency,
                });
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
                let event = if changes.is_empty() {
                    WatchEvent::Unchanged {
                        trigger: pending.trigger,
                        status,
                        latency,
                    }
                } else {
                    WatchEvent::Change {
                        trigger: pending.trigger,
                        etag: self.state.etag.clone(),
                        latency,
                        changes,
                    }
                };
                self.emit(event);
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

    /// Puts a failed refetch back in the queue behind a delay: exponential backoff, or
    /// `Retry-After` when the server gave a longer one (`Retry-After: 0` is no reason to hammer
    /// it). A newer trigger that arrives meanwhile merges into it.
    fn retry_later(&mut self, pending: Pending, delay: Option<Duration>, reason: String) {
        // A failed request first waits half a second (plus jitter), then backs off.
        let ours = stream::backoff(stream::MIN_RETRY, self.failures, fastrand::f64());
        let delay = delay.unwrap_or_default().max(ours);
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

/// About what an event costs in memory while it waits: its text, plus the rest as a constant.
fn weight(event: &WatchEvent) -> usize {
    const REST: usize = 256;
    REST + match event {
        WatchEvent::Event {
            id,
            event_type,
            data,
            ..
        } => data.len() + event_type.len() + id.as_ref().map_or(0, String::len),
        WatchEvent::Comment { text, .. } => text.len(),
        WatchEvent::Warning { message, .. } => message.len(),
        _ => 0,
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests;
