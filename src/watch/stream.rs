//! One reconnecting event stream, following ADR-0008 and the checklist's client rules: keep
//! `Last-Event-ID` across events and connections (never sent while empty), honour `retry:`,
//! back off exponentially with jitter and a cap, and reset the backoff only after a connection
//! has been healthy for a while. It reports to the coordinator and never prints.
//!
//! The queue to the coordinator is bounded: when it is full the task waits, and while it waits
//! it reads nothing from the socket, so a flooding server is read only as fast as `watch` handles
//! what it sends (TCP holds the rest on the server's side). Nothing is dropped; a burst of
//! `refetchEvaluation` events still costs one refetch, as the coordinator merges them.

use std::time::{Duration, Instant};

use tokio::sync::mpsc::Sender;
use tokio::sync::mpsc::error::TrySendError;
use url::Url;

use crate::protocol::headers::Header;
use crate::sse::connection::{self, ConnectRequest, Opened, Policy};
use crate::sse::parser::{Event, Item, Limits, Problem};
use crate::sse::tally::{Tally, Verdict};

/// The first reconnection delay when the server sent no `retry:`.
pub const DEFAULT_RETRY: Duration = Duration::from_secs(1);
/// The shortest reconnection time: a `retry:` below it (`retry: 0`) counts as this much, so a
/// stream that closes at once cannot make `watch` reconnect more than twice a second.
pub const MIN_RETRY: Duration = Duration::from_millis(500);
/// The longest wait between two attempts, before jitter (which adds up to half).
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// A connection that lasted this long resets the backoff.
pub const HEALTHY_AFTER: Duration = Duration::from_secs(10);
/// How many messages may wait for the coordinator; past that the stream is not read.
pub const QUEUE: usize = 16;
/// After this many messages of one connection found the queue full, the stream counts as
/// throttled and the coordinator is told, once per connection. An ordinary burst (a few dozen
/// events in one read) fills the queue for a moment and is not worth a warning.
const THROTTLED_AFTER: u32 = 1000;

/// What a stream task tells the coordinator.
#[derive(Debug)]
pub enum StreamMsg {
    Connected {
        stream: usize,
    },
    Event {
        stream: usize,
        event: Event,
        arrived: Instant,
    },
    Comment {
        stream: usize,
        text: String,
    },
    Problem {
        stream: usize,
        problem: Problem,
        /// This connection had enough of this kind: later ones are not sent.
        last_shown: bool,
    },
    /// The connection ended or could not be made; the next attempt is in `delay`.
    Retrying {
        stream: usize,
        delay: Duration,
        reason: String,
    },
    /// The stream gave up for good (204, wrong Content-Type, a 4xx other than 408/429).
    Stopped {
        stream: usize,
        reason: String,
    },
    /// The stream sends faster than the coordinator handles it: it is now read only as fast as
    /// that (once per connection).
    Throttled {
        stream: usize,
    },
}

/// The sending side of one connection: counts the messages that had to wait for room.
struct Queue<'a> {
    tx: &'a Sender<StreamMsg>,
    stream: usize,
    waited: u32,
}

impl Queue<'_> {
    /// Hands a message over, waiting for room; `false` once the coordinator is gone.
    async fn send(&mut self, msg: StreamMsg) -> bool {
        let msg = match self.tx.try_send(msg) {
            Ok(()) => return true,
            Err(TrySendError::Closed(_)) => return false,
            Err(TrySendError::Full(msg)) => msg,
        };
        self.waited = self.waited.saturating_add(1);
        if self.waited == THROTTLED_AFTER {
            let stream = self.stream;
            if self.tx.send(StreamMsg::Throttled { stream }).await.is_err() {
                return false;
            }
        }
        self.tx.send(msg).await.is_ok()
    }
}

pub struct StreamTask {
    pub stream: usize,
    pub url: Url,
    pub http: reqwest::Client,
    pub headers: Vec<Header>,
    pub connect_timeout: Duration,
}

impl StreamTask {
    /// Runs until the stream stops for good or the coordinator goes away.
    pub async fn run(self, tx: Sender<StreamMsg>) {
        let stream = self.stream;
        let mut last_event_id = String::new();
        let mut retry = DEFAULT_RETRY;
        let mut attempt: u32 = 0;
        loop {
            let request = ConnectRequest {
                url: self.url.clone(),
                headers: self
                    .headers
                    .iter()
                    .map(|h| (h.name.clone(), h.value.clone()))
                    .collect(),
                last_event_id: Some(last_event_id.clone()).filter(|id| !id.is_empty()),
                connect_timeout: self.connect_timeout,
                limits: Limits::SIGNALS,
            };
            let mut server_wait = None;
            let reason = match connection::open(&self.http, &request).await {
                Ok(Opened::Stream(mut conn)) => {
                    let connected_at = Instant::now();
                    let mut queue = Queue {
                        tx: &tx,
                        stream,
                        waited: 0,
                    };
                    if !queue.send(StreamMsg::Connected { stream }).await {
                        return;
                    }
                    let mut tally = Tally::default();
                    let ended = loop {
                        match conn.next().await {
                            None => break "the server closed the stream".to_owned(),
                            Some(Err(e)) => break e.to_string(),
                            Some(Ok(item)) => {
                                let msg = match item {
                                    Item::Event(event) => {
                                        last_event_id.clone_from(&event.last_event_id);
                                        StreamMsg::Event {
                                            stream,
                                            event,
                                            arrived: Instant::now(),
                                        }
                                    }
                                    Item::Retry(ms) => {
                                        retry =
                                            Duration::from_millis(ms).clamp(MIN_RETRY, MAX_BACKOFF);
                                        continue;
                                    }
                                    Item::Comment(text) => StreamMsg::Comment { stream, text },
                                    Item::Problem(problem) => match tally.judge(&problem) {
                                        Verdict::Hide => continue,
                                        verdict => StreamMsg::Problem {
                                            stream,
                                            problem,
                                            last_shown: verdict == Verdict::ShowLast,
                                        },
                                    },
                                };
                                if !queue.send(msg).await {
                                    return;
                                }
                            }
                        }
                    };
                    if connected_at.elapsed() >= HEALTHY_AFTER {
                        attempt = 0;
                    }
                    ended
                }
                Ok(Opened::Refused(refusal)) => {
                    let reason = refusal_text(&refusal);
                    server_wait = super::retry_after(refusal.retry_after.as_deref());
                    if connection::refusal_policy(&refusal) == Policy::Stop {
                        let _ = tx.send(StreamMsg::Stopped { stream, reason }).await;
                        return;
                    }
                    reason
                }
                Err(e) => e.to_string(),
            };
            // A Retry-After from the server is a floor under our own backoff.
            let delay =
                backoff(retry, attempt, fastrand::f64()).max(server_wait.unwrap_or_default());
            attempt = attempt.saturating_add(1);
            if tx
                .send(StreamMsg::Retrying {
                    stream,
                    delay,
                    reason,
                })
                .await
                .is_err()
            {
                return;
            }
            tokio::time::sleep(delay).await;
        }
    }
}

fn refusal_text(refusal: &connection::Refusal) -> String {
    match &refusal.content_type {
        Some(ct) if refusal.status == 200 => {
            format!("the stream answered 200 with Content-Type `{ct}`, not text/event-stream")
        }
        None if refusal.status == 200 => {
            "the stream answered 200 without a Content-Type".to_owned()
        }
        _ => format!("the stream answered {}", refusal.status),
    }
}

/// The wait before attempt `attempt + 1`: `retry · 2^attempt` (`retry` at least [`MIN_RETRY`]),
/// capped, then scaled by a jitter factor in [1.0, 1.5] so that many clients dropped together do
/// not return together. Jitter only ever adds: `retry:` is the server's minimum (client-backoff;
/// `watch` once came back 0.37 s after `retry: 600`).
pub fn backoff(retry: Duration, attempt: u32, jitter: f64) -> Duration {
    let floor = retry.max(MIN_RETRY);
    let exponential = floor.saturating_mul(2u32.saturating_pow(attempt.min(16)));
    exponential
        .min(MAX_BACKOFF.max(floor))
        .mul_f64(1.0 + 0.5 * jitter.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_retry_value_up_to_the_cap() {
        let retry = Duration::from_millis(500);
        assert_eq!(backoff(retry, 0, 0.0), Duration::from_millis(500));
        assert_eq!(backoff(retry, 1, 0.0), Duration::from_secs(1));
        assert_eq!(backoff(retry, 3, 0.0), Duration::from_secs(4));
        assert_eq!(backoff(retry, 30, 0.0), MAX_BACKOFF);
        // A server that asks for more than the cap is obeyed.
        let long = Duration::from_secs(60);
        assert_eq!(backoff(long, 3, 0.0), long);
    }

    #[test]
    fn a_zero_retry_still_waits_and_backs_off() {
        assert_eq!(backoff(Duration::ZERO, 0, 0.0), MIN_RETRY);
        assert_eq!(backoff(Duration::ZERO, 0, 1.0), Duration::from_millis(750));
        assert_eq!(
            backoff(Duration::from_millis(1), 2, 0.0),
            Duration::from_secs(2)
        );
    }

    #[test]
    fn jitter_adds_at_most_half_and_never_comes_back_before_retry() {
        let retry = Duration::from_millis(600);
        for jitter in [0.0, 0.25, 0.5, 0.99, 1.0, -3.0, 7.0] {
            let wait = backoff(retry, 0, jitter);
            assert!(wait >= retry, "{jitter}: {wait:?}");
            assert!(wait <= retry.mul_f64(1.5), "{jitter}: {wait:?}");
        }
        assert_eq!(
            backoff(Duration::from_secs(2), 0, 0.5),
            Duration::from_millis(2500)
        );
    }
}
