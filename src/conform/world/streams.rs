//! Steps on the advertised event stream: connecting and disconnecting, waiting for events and
//! comments, draining what arrived, and the SSE checks on it.

use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use url::Url;

use super::{Outcome, StepError, World, fail, passes_if_present, subjects};
use crate::protocol::answer::Endpoint;
use crate::protocol::checks;
use crate::protocol::event_streams;
use crate::sse::connection::{self, ConnectRequest, Opened};
use crate::sse::parser::{Event, Item, Limits, Problem};
use crate::sse::tally::{Tally, Verdict};

/// How long `the stream passes check` reads before judging what arrived.
const DRAIN_WINDOW: Duration = Duration::from_millis(200);

/// How long marking the stream's position before a change reads what is already on its way
/// (an event a server sends on connect may still be in flight when the trigger is fired).
const MARK_WINDOW: Duration = Duration::from_millis(100);

/// How many items the reader holds for the steps; past that it stops reading the socket, so a
/// flooding stream costs no memory (TCP holds the rest on the server's side).
const READ_AHEAD: usize = 32;

pub(super) struct OpenStream {
    status: u16,
    content_type: Option<String>,
    items: mpsc::Receiver<Result<Item, String>>,
    task: JoinHandle<()>,
    problems: Vec<Problem>,
    ended: Option<String>,
    /// Valid `retry` fields read so far: with none (and no invalid one), sse-retry has
    /// nothing to check.
    retries: usize,
}

/// Why there is no stream to connect to: a reason to skip, or the actual side of a failure.
#[derive(Debug, thiserror::Error)]
pub(super) enum NoStreamUrl {
    #[error("no bulk answer yet")]
    BeforeAnyBulkAnswer,
    #[error("the answer has no `eventStreams`")]
    EventStreamsMissing,
    #[error("no `eventStreams` entry of type sse resolves to a URL")]
    NoSseEntry,
}

/// How the last connection attempt went.
pub(super) enum StreamState {
    None,
    Open(OpenStream),
    Refused {
        status: u16,
        content_type: Option<String>,
    },
    Failed(String),
}

impl StreamState {
    /// Stops reading an open stream; the reader task would otherwise outlive the scenario.
    pub(super) fn close(&mut self) {
        if let Self::Open(stream) = self {
            stream.task.abort();
        }
        *self = Self::None;
    }

    pub(super) fn is_open(&self) -> bool {
        matches!(self, Self::Open(_))
    }
}

impl World<'_> {
    pub(super) async fn connect(
        &mut self,
        last_event_id: Option<String>,
    ) -> Result<Outcome, StepError> {
        if self.last_bulk.is_none() {
            let body = self.context_body();
            self.send(
                reqwest::Method::POST,
                Endpoint::Bulk,
                vec![],
                vec![],
                Some(body),
            )
            .await?;
        }
        let url = match self.stream_url() {
            Ok(url) => url,
            Err(why) => {
                return Ok(Outcome::Skip(format!(
                    "the server advertises no event stream ({why})"
                )));
            }
        };
        self.stream.close();
        self.changed_while_open = false;
        let config = self.env.client.config();
        let headers = if self.credentials {
            config
                .headers_for(&url)
                .iter()
                .map(|h| (h.name.clone(), h.value.clone()))
                .collect()
        } else {
            Vec::new()
        };
        let request = ConnectRequest {
            url: url.clone(),
            headers,
            last_event_id: last_event_id.clone(),
            connect_timeout: self.env.client.config().timeout,
            limits: Limits::SIGNALS,
        };
        let shown = self.env.redactor.url(url.as_str()).into_owned();
        let resume = last_event_id
            .map(|id| format!(" (Last-Event-ID: {id})"))
            .unwrap_or_default();
        if self.credentials && config.withholds_from(&url) {
            // Headers go to the base URL's origin only; an event-stream URL may carry its own
            // token (ADR-0008).
            self.evidence.push(format!(
                "  the stream is on another origin ({}) than the base URL: opened without the -H/OFREP_HEADERS headers",
                url.origin().ascii_serialization()
            ));
        }
        self.evidence.push(format!("> GET {shown}{resume}"));
        Ok(
            match connection::open(self.env.client.stream_http(), &request).await {
                Ok(Opened::Stream(mut conn)) => {
                    let (status, content_type) = (conn.status, conn.content_type.clone());
                    self.evidence.push(format!(
                        "< {status} {}",
                        content_type.as_deref().unwrap_or("")
                    ));
                    let (tx, items) = mpsc::channel(READ_AHEAD);
                    let task = tokio::spawn(async move {
                        // A few problems of each kind grade a check; a stream of broken lines
                        // must not fill the scenario with one per line.
                        let mut tally = Tally::default();
                        while let Some(item) = conn.next().await {
                            if let Ok(Item::Problem(problem)) = &item
                                && tally.judge(problem) == Verdict::Hide
                            {
                                continue;
                            }
                            if tx.send(item.map_err(|e| e.to_string())).await.is_err() {
                                break;
                            }
                        }
                    });
                    self.stream = StreamState::Open(OpenStream {
                        status,
                        content_type,
                        items,
                        task,
                        problems: vec![],
                        ended: None,
                        retries: 0,
                    });
                    Outcome::Pass
                }
                Ok(Opened::Refused(refusal)) => {
                    self.evidence.push(format!(
                        "< {} {}",
                        refusal.status,
                        refusal.content_type.as_deref().unwrap_or("")
                    ));
                    let actual = format!(
                        "{} with Content-Type {}",
                        refusal.status,
                        refusal.content_type.as_deref().unwrap_or("(none)")
                    );
                    self.stream = StreamState::Refused {
                        status: refusal.status,
                        content_type: refusal.content_type,
                    };
                    fail("200 with Content-Type text/event-stream", actual)
                }
                Err(e) => {
                    self.evidence.push(format!("< {e}"));
                    self.stream = StreamState::Failed(e.to_string());
                    fail("an open event stream", e.to_string())
                }
            },
        )
    }

    pub(super) fn disconnect(&mut self) -> Outcome {
        self.stream.close();
        Outcome::Pass
    }

    pub(super) fn stream_is_event_stream(&mut self) -> Result<Outcome, StepError> {
        Ok(match &self.stream {
            StreamState::Open(s) => {
                self.evidence.push(format!(
                    "< stream {} {}",
                    s.status,
                    s.content_type.as_deref().unwrap_or("")
                ));
                Outcome::Pass
            }
            StreamState::Refused {
                status,
                content_type,
            } => fail(
                "200 with Content-Type text/event-stream",
                format!(
                    "{status} with Content-Type {}",
                    content_type.as_deref().unwrap_or("(none)")
                ),
            ),
            StreamState::Failed(why) => {
                fail("200 with Content-Type text/event-stream", why.clone())
            }
            StreamState::None => {
                return Err(StepError::NoStream);
            }
        })
    }

    pub(super) fn event_passes_check(&self, id: &str) -> Result<Outcome, StepError> {
        let event = self.event.as_ref().ok_or(StepError::NoEventYet)?;
        Ok(passes_if_present(
            id,
            subjects::in_event(id, event),
            checks::sse::event(event),
        ))
    }

    pub(super) async fn stream_passes_check(&mut self, id: &str) -> Outcome {
        self.drain(DRAIN_WINDOW).await;
        let StreamState::Open(stream) = &self.stream else {
            return Outcome::Skip("the event stream is not open".into());
        };
        let findings = checks::sse::stream(&stream.problems);
        let retry_seen = stream.retries > 0 || findings.iter().any(|f| f.id == "sse-retry");
        let absent = (id == "sse-retry" && !retry_seen)
            .then(|| "the stream sent no `retry` field".to_owned());
        passes_if_present(id, absent, findings)
    }

    /// The first sse entry of the last bulk answer's `eventStreams`, or why there is none.
    pub(super) fn stream_url(&self) -> Result<Url, NoStreamUrl> {
        let body = self
            .last_bulk
            .as_ref()
            .ok_or(NoStreamUrl::BeforeAnyBulkAnswer)?;
        let entries =
            event_streams::entries_of(body.get("eventStreams").as_deref(), &self.env.base);
        if entries.is_empty() {
            return Err(NoStreamUrl::EventStreamsMissing);
        }
        entries
            .into_iter()
            .filter(|e| e.kind.as_deref() == Some("sse"))
            .find_map(|e| e.resolved.ok())
            .ok_or(NoStreamUrl::NoSseEntry)
    }

    /// Waits for the next event (or, with `events_only` false, any comment or event).
    pub(super) async fn wait_for(
        &mut self,
        seconds: u64,
        events_only: bool,
    ) -> Result<Outcome, StepError> {
        let after_change = self.changed_while_open && events_only;
        if after_change && self.env.silent_after_change.load(Ordering::Relaxed) {
            return Ok(fail(
                format!("an event within {seconds} s of a change"),
                "none arrived after an earlier scenario's change either (see sse-notify)",
            ));
        }
        let outcome = self.wait_for_item(seconds, events_only).await;
        if after_change && matches!(outcome, Outcome::Fail { .. }) {
            self.env.silent_after_change.store(true, Ordering::Relaxed);
        }
        Ok(outcome)
    }

    async fn wait_for_item(&mut self, seconds: u64, events_only: bool) -> Outcome {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
        let StreamState::Open(stream) = &mut self.stream else {
            return Outcome::Skip("the event stream is not open".into());
        };
        let what = if events_only {
            "an event"
        } else {
            "a comment or an event"
        };
        loop {
            if let Some(why) = &stream.ended {
                return fail(
                    format!("{what} within {seconds} s"),
                    format!("the stream ended: {why}"),
                );
            }
            match tokio::time::timeout_at(deadline, stream.items.recv()).await {
                Err(_) => return fail(format!("{what} within {seconds} s"), "nothing arrived"),
                Ok(None) => stream.ended = Some("the server closed it".into()),
                Ok(Some(Err(e))) => stream.ended = Some(e),
                Ok(Some(Ok(item))) => match item {
                    Item::Event(event) => {
                        self.evidence.push(format!(
                            "< event id={:?} event={} data={}",
                            event.id, event.event_type, event.data
                        ));
                        self.event = Some(event);
                        return Outcome::Pass;
                    }
                    Item::Comment(text) if !events_only => {
                        self.evidence.push(format!("< comment {text:?}"));
                        return Outcome::Pass;
                    }
                    Item::Problem(problem) => stream.problems.push(problem),
                    Item::Retry(_) => stream.retries += 1,
                    Item::Comment(_) => {}
                },
            }
        }
    }

    /// Marks the stream's position just before a change is triggered: whatever it sent until
    /// now (an event on connect, say) is read and set aside, so that only what arrives after
    /// the change can prove the change was notified (`sse-notify` and the event checks).
    pub(super) async fn mark_position(&mut self) {
        let StreamState::Open(stream) = &mut self.stream else {
            return;
        };
        self.event = None;
        let deadline = tokio::time::Instant::now() + MARK_WINDOW;
        loop {
            match tokio::time::timeout_at(deadline, stream.items.recv()).await {
                Err(_) => return,
                Ok(None) => stream.ended = Some("the server closed it".into()),
                Ok(Some(Err(e))) => stream.ended = Some(e),
                Ok(Some(Ok(Item::Event(event)))) => self.evidence.push(format!(
                    "< event before the change, not counted: id={:?} event={} data={}",
                    event.id, event.event_type, event.data
                )),
                Ok(Some(Ok(Item::Problem(problem)))) => stream.problems.push(problem),
                Ok(Some(Ok(Item::Retry(_)))) => stream.retries += 1,
                Ok(Some(Ok(Item::Comment(_)))) => {}
            }
            if stream.ended.is_some() {
                return;
            }
        }
    }

    /// Reads whatever the stream has sent within `window`, keeping its problems.
    async fn drain(&mut self, window: Duration) {
        let StreamState::Open(stream) = &mut self.stream else {
            return;
        };
        let deadline = tokio::time::Instant::now() + window;
        while let Ok(Some(Ok(item))) = tokio::time::timeout_at(deadline, stream.items.recv()).await
        {
            match item {
                Item::Problem(problem) => stream.problems.push(problem),
                Item::Event(event) => self.event = Some(event),
                Item::Retry(_) => stream.retries += 1,
                Item::Comment(_) => {}
            }
        }
    }
}

/// `flagConfigEtag` / `flagConfigLastModified` from an event's data, as a provider sends them.
pub fn event_metadata(event: &Event) -> Vec<(String, String)> {
    let Ok(data) = serde_json::from_str::<Value>(&event.data) else {
        return vec![];
    };
    let mut query = Vec::new();
    if let Some(etag) = data.get("etag").and_then(Value::as_str) {
        query.push(("flagConfigEtag".to_owned(), etag.to_owned()));
    }
    match data.get("lastModified") {
        Some(Value::String(s)) => query.push(("flagConfigLastModified".to_owned(), s.clone())),
        Some(Value::Number(n)) => query.push(("flagConfigLastModified".to_owned(), n.to_string())),
        _ => {}
    }
    query
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(data: &str) -> Event {
        Event {
            event_type: "message".to_owned(),
            named: None,
            data: data.to_owned(),
            id: None,
            last_event_id: String::new(),
        }
    }

    fn pair(name: &str, value: &str) -> (String, String) {
        (name.to_owned(), value.to_owned())
    }

    #[test]
    fn the_etag_becomes_flag_config_etag() {
        assert_eq!(
            event_metadata(&event(r#"{"etag": "\"v2\""}"#)),
            [pair("flagConfigEtag", "\"v2\"")]
        );
    }

    #[test]
    fn last_modified_is_taken_as_a_string_or_as_a_number() {
        assert_eq!(
            event_metadata(&event(r#"{"lastModified": "2026-02-20T21:28:18Z"}"#)),
            [pair("flagConfigLastModified", "2026-02-20T21:28:18Z")]
        );
        assert_eq!(
            event_metadata(&event(r#"{"lastModified": 1771622898}"#)),
            [pair("flagConfigLastModified", "1771622898")]
        );
    }

    #[test]
    fn data_that_is_not_json_gives_no_metadata() {
        assert!(event_metadata(&event("refresh")).is_empty());
        assert!(event_metadata(&event("")).is_empty());
    }

    #[test]
    fn missing_or_mistyped_fields_give_no_metadata() {
        assert!(event_metadata(&event(r#"{"type": "refresh"}"#)).is_empty());
        assert!(event_metadata(&event(r#"{"etag": 7, "lastModified": true}"#)).is_empty());
        assert!(event_metadata(&event(r#"["etag"]"#)).is_empty());
    }

    #[test]
    fn both_fields_become_both_query_parameters_etag_first() {
        assert_eq!(
            event_metadata(&event(r#"{"lastModified": 1771622898, "etag": "abc"}"#)),
            [
                pair("flagConfigEtag", "abc"),
                pair("flagConfigLastModified", "1771622898")
            ]
        );
    }
}
