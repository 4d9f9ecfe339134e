//! `GET /ofrep/v1/events`: the ADR-0008 event stream.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::body::Body;
use axum::extract::State as Shared;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::json;
use tokio::sync::{broadcast, watch};
use tokio::time::{Instant, Interval, MissedTickBehavior, interval_at};

use super::body::general_error;
use super::faults::{Fault, Faults};
use super::sse_frame;
use super::state::State;
use super::store::ChangeEvent;

/// What clients should wait before reconnecting, sent as `retry:` on connect.
const RETRY_MILLIS: u64 = 2000;

pub async fn events(Shared(state): Shared<Arc<State>>, headers: HeaderMap) -> Response {
    if state.faults.has(&Fault::SseDown) {
        return general_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the event stream is down on purpose (fault sse-down)",
        );
    }
    // Count first, then check, so a flood cannot overshoot the bound between the two.
    let guard = StreamGuard::new(Arc::clone(&state));
    if state.streams.load(Ordering::Relaxed) > state.max_streams {
        drop(guard);
        let mut response = general_error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "too many open event streams (at most {})",
                state.max_streams
            ),
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        return response;
    }
    let last_event_id = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let content_type = if state.faults.has(&Fault::SseWrongContentType) {
        "text/plain; charset=utf-8"
    } else {
        "text/event-stream"
    };
    let stream = Stream::open(guard, last_event_id);
    let body = Body::from_stream(futures_util::stream::unfold(stream, Stream::next));
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            // Tells nginx-style proxies not to buffer the stream.
            (
                header::HeaderName::from_static("x-accel-buffering"),
                HeaderValue::from_static("no"),
            ),
        ],
        body,
    )
        .into_response()
}

struct Stream {
    pending: VecDeque<Bytes>,
    live: broadcast::Receiver<Arc<ChangeEvent>>,
    stop: watch::Receiver<u64>,
    keepalive: Interval,
    silent: bool,
    /// The newest event this stream has passed (sent, replayed or skipped), for re-subscribing.
    last_id: u64,
    guard: StreamGuard,
}

impl Stream {
    /// A new stream: `retry:`, the events after `last_event_id`, then live events.
    fn open(guard: StreamGuard, last_event_id: Option<u64>) -> Self {
        let state = &guard.state;
        // From here on a drop closes this stream; earlier drops were for the streams open then.
        let stop = state.stream_generation.subscribe();
        let subscription = state.store.subscribe(last_event_id);
        let silent = state.faults.has(&Fault::SseSilent);

        let mut pending = VecDeque::new();
        pending.push_back(Bytes::from(sse_frame::retry(RETRY_MILLIS)));
        if !silent {
            pending.extend(
                subscription
                    .replay
                    .iter()
                    .map(|event| frame(&state.faults, event)),
            );
        }
        let mut keepalive = interval_at(Instant::now() + state.keepalive, state.keepalive);
        // A stream that fell behind needs one keep-alive, not a burst of them.
        keepalive.set_missed_tick_behavior(MissedTickBehavior::Delay);
        Self {
            pending,
            live: subscription.live,
            stop,
            keepalive,
            silent,
            last_id: subscription.newest,
            guard,
        }
    }

    async fn next(mut self) -> Option<(Result<Bytes, Infallible>, Self)> {
        if let Some(frame) = self.pending.pop_front() {
            return Some((Ok(frame), self));
        }
        loop {
            let event = tokio::select! {
                // A drop, or the server going away, ends the stream.
                _ = self.stop.changed() => return None,
                received = self.live.recv() => match received {
                    Ok(event) => event,
                    // Too far behind for every event: subscribe again after the last one seen
                    // and send only the newest missed one. One "refetch" says all a client
                    // needs, and ids keep increasing (the old receiver would go back in time).
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        let again = self.guard.state.store.subscribe(Some(self.last_id));
                        self.live = again.live;
                        match again.replay.last() {
                            Some(event) => Arc::clone(event),
                            None => continue,
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
                _ = self.keepalive.tick() => {
                    return Some((Ok(Bytes::from(sse_frame::comment("keepalive"))), self));
                }
            };
            self.last_id = event.id;
            if self.silent {
                continue;
            }
            let frame = frame(&self.guard.state.faults, &event);
            return Some((Ok(frame), self));
        }
    }
}

/// One change event as a frame, bent by the SSE fault modes; rendered once per event.
fn frame(faults: &Faults, event: &ChangeEvent) -> Bytes {
    let rendered = event
        .frame
        .get_or_init(|| Bytes::from(render(faults, event)));
    rendered.clone()
}

fn render(faults: &Faults, event: &ChangeEvent) -> String {
    let data = if faults.has(&Fault::SseNotJson) {
        format!(
            "refetchEvaluation etag={} lastModified={}",
            event.etag, event.last_modified
        )
    } else {
        json!({"type": "refetchEvaluation", "etag": event.etag, "lastModified": event.last_modified}).to_string()
    };
    let name = if faults.has(&Fault::SseNamedEvents) {
        "refetchEvaluation"
    } else {
        "message"
    };
    sse_frame::event(Some(event.id), Some(name), &data)
}

/// Counts an open stream for as long as it lives.
struct StreamGuard {
    state: Arc<State>,
}

impl StreamGuard {
    fn new(state: Arc<State>) -> Self {
        state.streams.fetch_add(1, Ordering::Relaxed);
        Self { state }
    }
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.state.streams.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serve::ServeConfig;
    use crate::serve::demo::demo_flags;
    use crate::serve::store::HISTORY;

    fn state() -> Arc<State> {
        let (events, _) = tokio::sync::mpsc::unbounded_channel();
        Arc::new(State::new(
            &ServeConfig::embedded(),
            ([127, 0, 0, 1], 0).into(),
            demo_flags(),
            events,
        ))
    }

    /// The ids of the event frames `stream` yields before it goes quiet.
    async fn ids(mut stream: Stream) -> Vec<u64> {
        let mut ids = Vec::new();
        for _ in 0..HISTORY * 3 {
            let next =
                tokio::time::timeout(std::time::Duration::from_millis(50), stream.next()).await;
            let Ok(Some((Ok(bytes), rest))) = next else {
                break;
            };
            stream = rest;
            let text = String::from_utf8_lossy(&bytes).into_owned();
            if let Some(id) = text.strip_prefix("id: ").and_then(|t| t.lines().next()) {
                ids.push(id.parse().unwrap());
            }
        }
        ids
    }

    #[tokio::test]
    async fn a_stream_that_lags_gets_the_newest_event_and_ids_never_go_back() {
        let state = state();
        let stream = Stream::open(StreamGuard::new(Arc::clone(&state)), None);
        // More changes than the broadcast holds, before the stream reads any.
        for _ in 0..1100 {
            state.change(None).unwrap();
        }
        let ids = ids(stream).await;
        assert_eq!(ids.last(), Some(&1100), "{ids:?}");
        assert!(
            ids.windows(2).all(|w| w[0] < w[1]),
            "ids went back: {ids:?}"
        );
        assert!(ids.len() < 1100, "a lagging stream is not sent every event");
    }

    #[tokio::test]
    async fn replay_and_live_events_meet_without_a_gap_or_a_repeat() {
        let state = state();
        for _ in 0..3 {
            state.change(None).unwrap();
        }
        let stream = Stream::open(StreamGuard::new(Arc::clone(&state)), Some(1));
        state.change(None).unwrap();
        assert_eq!(ids(stream).await, [2, 3, 4]);
        assert_eq!(
            state.streams.load(Ordering::Relaxed),
            0,
            "the guard counted the stream out"
        );
    }
}
