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
    // From here on a drop closes this stream; earlier drops were meant for the streams open then.
    let stop = state.stream_generation.subscribe();
    let subscription = state.store.subscribe(last_event_id);
    let silent = state.faults.has(&Fault::SseSilent);

    let mut pending = VecDeque::new();
    pending.push_back(sse_frame::retry(RETRY_MILLIS));
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
    let content_type = if state.faults.has(&Fault::SseWrongContentType) {
        "text/plain; charset=utf-8"
    } else {
        "text/event-stream"
    };
    let stream = Stream {
        pending,
        live: subscription.live,
        stop,
        keepalive,
        silent,
        guard,
    };
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
    pending: VecDeque<String>,
    live: broadcast::Receiver<ChangeEvent>,
    stop: watch::Receiver<u64>,
    keepalive: Interval,
    silent: bool,
    guard: StreamGuard,
}

impl Stream {
    async fn next(mut self) -> Option<(Result<Bytes, Infallible>, Self)> {
        if let Some(frame) = self.pending.pop_front() {
            return Some((Ok(Bytes::from(frame)), self));
        }
        loop {
            let text = tokio::select! {
                // A drop, or the server going away, ends the stream.
                _ = self.stop.changed() => return None,
                received = self.live.recv() => match received {
                    Ok(_) if self.silent => continue,
                    Ok(event) => frame(&self.guard.state.faults, &event),
                    // Too far behind to get every event: one for the newest configuration says
                    // all a client needs ("refetch").
                    Err(broadcast::error::RecvError::Lagged(_)) => match self.guard.state.store.latest_event() {
                        Some(event) if !self.silent => frame(&self.guard.state.faults, &event),
                        _ => continue,
                    },
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
                _ = self.keepalive.tick() => sse_frame::comment("keepalive"),
            };
            return Some((Ok(Bytes::from(text)), self));
        }
    }
}

/// One change event as a frame, bent by the SSE fault modes.
fn frame(faults: &Faults, event: &ChangeEvent) -> String {
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
