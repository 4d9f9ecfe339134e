//! A small static-context OFREP provider for `conform --provider`'s own tests: it follows every
//! ADR-0008 rule the provider suite grades, except the one its [`Mutation`] breaks, so a test
//! can show that each rule's scenario, and only that one, catches the break.
//!
//! What the honest provider does: a bulk POST with a JSON context, later ones with
//! `If-None-Match`; it opens the first advertised `sse` entry (`url` as given, `endpoint` on the
//! base URL's origin) with `Accept: text/event-stream`; on `refetchEvaluation` it refetches with
//! `flagConfigEtag`/`flagConfigLastModified`, one refetch for all the events one read brought;
//! it ignores other event types; when the stream ends it reconnects with `Last-Event-ID` after
//! its reconnection time (`retry:`, else 1 s), doubling it while attempts fail, and refetches
//! after each reconnect; a 401 or 403 ends all requests; a 429 with `Retry-After` holds the bulk
//! endpoint until then; a refused stream is retried.
//!
//! It lives at most [`LIFETIME`], each of its loops is bounded in count, and SIGTERM ends it at
//! once (it keeps the default disposition).
#![allow(dead_code)]

use std::time::Duration;

use ofrep::sse::parser::{Item, Limits, Parser};
use serde_json::{Value, json};
use tokio::time::{Instant, sleep, sleep_until};

/// The longest a provider process lives, whatever happens.
pub const LIFETIME: Duration = Duration::from_secs(120);
/// The reconnection time before the server sends `retry:`.
const DEFAULT_RETRY: Duration = Duration::from_secs(1);
/// The longest backoff between failing stream attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Stream attempts per process.
const MAX_STREAM_ATTEMPTS: usize = 200;
/// Reads of one stream.
const MAX_READS: usize = 100_000;
/// Attempts at one bulk request that fails or is rate limited.
const MAX_BULK_ATTEMPTS: usize = 5;

/// The one rule a provider breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutation {
    /// Breaks nothing.
    Honest,
    /// Does not refetch after its stream reconnects (client-refetch-on-reconnect).
    NoRefetchOnReconnect,
    /// Refetches on an event without flagConfigEtag/flagConfigLastModified (client-refetch-params).
    NoRefetchParams,
    /// Refetches once per event, however many one read brought (client-coalesce).
    NoCoalescing,
    /// Reconnects every second while the stream keeps failing (client-backoff).
    FixedReconnect,
    /// Sends no If-None-Match (client-inm).
    NoIfNoneMatch,
    /// Refetches on events of a type it does not know (client-ignore-unknown-event).
    RefetchOnUnknownEvent,
    /// Sends no Last-Event-ID when it reconnects (client-last-event-id).
    NoLastEventId,
    /// After a 401 or 403 it tries again every 300 ms (client-auth-fatal).
    RetryAfterAuthRefusal,
    /// After a 429 it asks again after 100 ms, whatever Retry-After said (client-retry-after).
    IgnoreRetryAfter,
    /// Opens the stream without Accept: text/event-stream (client-sse-accept).
    NoAccept,
    /// Opens an advertised `url` without its query string (client-url-as-is); an `endpoint`'s
    /// `requestUri` it keeps whole.
    DropQueryString,
    /// Gives up on the stream once an attempt to reconnect fails, and does not poll
    /// (client-fallback).
    GiveUpOnFailingStream,
    /// Never uses the bulk endpoint: evaluates one flag at a time, as a dynamic-context
    /// provider does (client-bulk, and nothing else applies).
    SingleFlagOnly,
}

impl Mutation {
    pub const ALL: &[Mutation] = &[
        Self::Honest,
        Self::NoRefetchOnReconnect,
        Self::NoRefetchParams,
        Self::NoCoalescing,
        Self::FixedReconnect,
        Self::NoIfNoneMatch,
        Self::RefetchOnUnknownEvent,
        Self::NoLastEventId,
        Self::RetryAfterAuthRefusal,
        Self::IgnoreRetryAfter,
        Self::NoAccept,
        Self::DropQueryString,
        Self::GiveUpOnFailingStream,
        Self::SingleFlagOnly,
    ];

    pub fn name(self) -> String {
        format!("{self:?}")
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|m| m.name() == name)
    }
}

/// Runs the provider against `endpoint` until it is killed or [`LIFETIME`] passes.
pub fn run(mutation: Mutation, endpoint: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async {
        let provider = Provider::new(mutation, endpoint);
        let _ = tokio::time::timeout(LIFETIME, provider.run()).await;
    });
}

/// What a bulk request came to.
enum Bulk {
    /// 200: the `eventStreams` of the answer.
    Fetched(Vec<Value>),
    NotModified,
    /// 401 or 403: nothing more is sent.
    Refused,
    /// 429, or a failure worth another try.
    Again,
}

/// How one stream connection ended.
enum Stream {
    /// It was open and ended.
    Ended,
    /// It was answered with another status than 200, or could not be made.
    Failed,
    /// 401 or 403.
    Refused,
}

/// The parameters of an event-triggered refetch.
#[derive(Debug, Clone, Default)]
struct Trigger {
    etag: Option<String>,
    last_modified: Option<i64>,
}

struct Provider {
    mutation: Mutation,
    http: reqwest::Client,
    base: url::Url,
    /// The last ETag received.
    etag: Option<String>,
    /// No bulk request before this (the last 429's Retry-After).
    not_before: Option<Instant>,
    last_event_id: String,
    retry: Duration,
}

impl Provider {
    fn new(mutation: Mutation, endpoint: &str) -> Self {
        Self {
            mutation,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .expect("a reqwest client"),
            base: url::Url::parse(endpoint).expect("OFREP_ENDPOINT is a URL"),
            etag: None,
            not_before: None,
            last_event_id: String::new(),
            retry: DEFAULT_RETRY,
        }
    }

    async fn run(mut self) {
        if self.mutation == Mutation::SingleFlagOnly {
            return self.evaluate_one_at_a_time().await;
        }
        let mut streams = None;
        for _ in 0..MAX_BULK_ATTEMPTS * 4 {
            match self.bulk(None).await {
                Bulk::Fetched(advertised) => {
                    streams = Some(advertised);
                    break;
                }
                Bulk::Refused => return idle().await,
                Bulk::NotModified | Bulk::Again => sleep(Duration::from_millis(500)).await,
            }
        }
        let Some(url) = streams.and_then(|s| self.stream_url(&s)) else {
            return idle().await;
        };
        let mut failures: u32 = 0;
        let mut connected_before = false;
        for _ in 0..MAX_STREAM_ATTEMPTS {
            match self.follow(&url, connected_before).await {
                Stream::Ended => {
                    connected_before = true;
                    failures = 0;
                }
                Stream::Failed if self.mutation == Mutation::GiveUpOnFailingStream => {
                    return idle().await;
                }
                Stream::Failed => failures = failures.saturating_add(1),
                Stream::Refused if self.mutation == Mutation::RetryAfterAuthRefusal => {
                    sleep(Duration::from_millis(300)).await;
                    continue;
                }
                Stream::Refused => return idle().await,
            }
            let delay = match self.mutation {
                Mutation::FixedReconnect => Duration::from_secs(1),
                _ => self
                    .retry
                    .saturating_mul(2u32.saturating_pow(failures.min(16)))
                    .min(MAX_BACKOFF),
            };
            sleep(delay).await;
        }
    }

    /// The first `sse` entry's URL: a `url` as given, an `endpoint` on the base URL's origin.
    fn stream_url(&self, advertised: &[Value]) -> Option<url::Url> {
        let entry = advertised.iter().find(|e| e["type"] == "sse")?;
        let url = if let Some(url) = entry["url"].as_str() {
            let mut url = url::Url::parse(url).ok()?;
            if self.mutation == Mutation::DropQueryString {
                url.set_query(None);
            }
            url
        } else {
            let uri = entry["endpoint"]["requestUri"].as_str()?;
            let origin = entry["endpoint"]["origin"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| self.base.origin().ascii_serialization());
            url::Url::parse(&format!("{origin}{uri}")).ok()?
        };
        Some(url)
    }

    /// One bulk request, after the Retry-After time if one holds.
    async fn bulk(&mut self, trigger: Option<&Trigger>) -> Bulk {
        if let Some(at) = self.not_before {
            sleep_until(at).await;
        }
        let mut url = self.base.clone();
        url.set_path("/ofrep/v1/evaluate/flags");
        if let Some(trigger) = trigger
            && self.mutation != Mutation::NoRefetchParams
        {
            let mut query = url.query_pairs_mut();
            if let Some(etag) = &trigger.etag {
                query.append_pair("flagConfigEtag", etag);
            }
            if let Some(seconds) = trigger.last_modified {
                query.append_pair("flagConfigLastModified", &seconds.to_string());
            }
        }
        let mut request = self
            .http
            .post(url.as_str())
            .header("content-type", "application/json")
            .body(json!({"context": {"targetingKey": "conform-mutant"}}).to_string());
        if let Some(etag) = &self.etag
            && self.mutation != Mutation::NoIfNoneMatch
        {
            request = request.header("if-none-match", etag);
        }
        let Ok(response) = request.send().await else {
            return Bulk::Again;
        };
        let status = response.status().as_u16();
        if let Some(etag) = response.headers().get("etag").and_then(|v| v.to_str().ok())
            && matches!(status, 200 | 304)
        {
            self.etag = Some(etag.to_owned());
        }
        match status {
            200 => {
                let body: Value = match response.text().await {
                    Ok(text) => serde_json::from_str(&text).unwrap_or(Value::Null),
                    Err(_) => return Bulk::Again,
                };
                let streams = body["eventStreams"].as_array().cloned().unwrap_or_default();
                Bulk::Fetched(streams)
            }
            304 => Bulk::NotModified,
            401 | 403 if self.mutation != Mutation::RetryAfterAuthRefusal => Bulk::Refused,
            429 => {
                let seconds = response
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .unwrap_or(1);
                let wait = match self.mutation {
                    Mutation::IgnoreRetryAfter => Duration::from_millis(100),
                    _ => Duration::from_secs(seconds),
                };
                self.not_before = Some(Instant::now() + wait);
                Bulk::Again
            }
            _ => Bulk::Again,
        }
    }

    /// A refetch, tried again while it is rate limited or fails (a bounded number of times).
    /// Whether the provider should go on.
    async fn refetch(&mut self, trigger: Option<&Trigger>) -> bool {
        for _ in 0..MAX_BULK_ATTEMPTS {
            match self.bulk(trigger).await {
                Bulk::Fetched(_) | Bulk::NotModified => return true,
                Bulk::Refused => return false,
                Bulk::Again => {
                    if self.not_before.is_none() {
                        sleep(Duration::from_millis(200)).await;
                    }
                }
            }
        }
        true
    }

    /// One stream connection, followed until it ends.
    async fn follow(&mut self, url: &url::Url, reconnect: bool) -> Stream {
        let mut request = self
            .http
            .get(url.as_str())
            .header("cache-control", "no-cache")
            // The stream lives as long as the server keeps it.
            .timeout(LIFETIME);
        if self.mutation != Mutation::NoAccept {
            request = request.header("accept", "text/event-stream");
        }
        if !self.last_event_id.is_empty() && self.mutation != Mutation::NoLastEventId {
            request = request.header("last-event-id", &self.last_event_id);
        }
        let Ok(mut response) = request.send().await else {
            return Stream::Failed;
        };
        match response.status().as_u16() {
            200 => {}
            401 | 403 => return Stream::Refused,
            _ => return Stream::Failed,
        }
        // It may have missed events while it was away.
        if reconnect && self.mutation != Mutation::NoRefetchOnReconnect && !self.refetch(None).await
        {
            return Stream::Refused;
        }
        let mut parser = Parser::resume(Limits::SIGNALS, self.last_event_id.clone());
        for _ in 0..MAX_READS {
            let chunk = match response.chunk().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) | Err(_) => return Stream::Ended,
            };
            let mut pending: Option<Trigger> = None;
            for item in parser.feed(&chunk) {
                let event = match item {
                    Item::Retry(ms) => {
                        self.retry = Duration::from_millis(ms);
                        continue;
                    }
                    Item::Event(event) => event,
                    Item::Comment(_) | Item::Problem(_) => continue,
                };
                self.last_event_id = event.last_event_id.clone();
                let data: Value = serde_json::from_str(&event.data).unwrap_or(Value::Null);
                if data["type"] == "refetchEvaluation" {
                    let trigger = Trigger {
                        etag: data["etag"].as_str().map(str::to_owned),
                        last_modified: data["lastModified"].as_i64(),
                    };
                    if self.mutation == Mutation::NoCoalescing {
                        if !self.refetch(Some(&trigger)).await {
                            return Stream::Refused;
                        }
                    } else {
                        pending = Some(trigger);
                    }
                } else if self.mutation == Mutation::RefetchOnUnknownEvent
                    && !self.refetch(None).await
                {
                    return Stream::Refused;
                }
            }
            if let Some(trigger) = pending
                && !self.refetch(Some(&trigger)).await
            {
                return Stream::Refused;
            }
        }
        Stream::Ended
    }

    /// The dynamic-context provider: one flag at a time, every half second.
    async fn evaluate_one_at_a_time(self) {
        let mut url = self.base.clone();
        url.set_path("/ofrep/v1/evaluate/flags/conform-enabled");
        for _ in 0..(LIFETIME.as_millis() / 500) {
            let _ = self
                .http
                .post(url.as_str())
                .header("content-type", "application/json")
                .body(json!({"context": {"targetingKey": "conform-mutant"}}).to_string())
                .send()
                .await;
            sleep(Duration::from_millis(500)).await;
        }
    }
}

/// Stops making requests, and stays up as a provider would, until killed.
async fn idle() {
    sleep(LIFETIME).await;
}
