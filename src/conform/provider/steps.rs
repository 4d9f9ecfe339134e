//! The provider suite's step vocabulary: what the scripted server does (set up before the
//! provider starts, or act while it runs) and what the provider is seen to send. Every
//! observation is graded from the requests the server saw, so any provider in any language can
//! be graded without instrumenting it. Times are measured from the server's last action (the
//! step before that acted: an event sent, streams dropped, a refusal set up).

use crate::conform::steps::{StepDef, int, status, step, text};

/// What the server advertises in `eventStreams`, in the order the steps give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Advertised {
    /// `{type: "sse", url}`, the URL with a query string (a token, as real servers do).
    Url,
    /// `{type: "sse", endpoint: {requestUri}}`, no origin: the base URL's is meant.
    Endpoint,
    /// An entry of a type no provider knows, with a `url` on this server.
    Unknown(String),
}

/// A matched provider step, ready to run.
#[derive(Debug, Clone, PartialEq)]
pub enum ProviderAction {
    Advertise(Advertised),
    /// `retry:` (milliseconds) at the start of every stream.
    Retry(u64),
    /// Stream requests are answered with this status from now on (a drop ends the open ones).
    RefuseStreams(u16),
    /// Every request is answered with this status from now on.
    AnswerEvery(u16),
    /// The next bulk request is answered `status` with `Retry-After: seconds`.
    NextBulk {
        status: u16,
        retry_after: u64,
    },
    /// Start the provider and wait for its first bulk request.
    Running,
    /// Start the provider.
    Start,
    /// Wait for an accepted stream connection, then half a second for the provider to settle.
    Connected,
    Event {
        etag: String,
        last_modified: Option<u64>,
    },
    EventOfType(String),
    Burst(u64),
    DropStreams,
    ChangeWithoutEvent,
    Wait(u64),
    FirstBulkContext,
    BulkWithin {
        seconds: u64,
        etag: Option<String>,
        last_modified: Option<u64>,
    },
    InmChain,
    ConnectsWithin(u64),
    ConnectsAsAdvertised {
        seconds: u64,
        form: Advertised,
    },
    NoUnknownStream,
    QuietBulk(u64),
    ReconnectsWithin(u64),
    BulkAfterReconnect(u64),
    LastEventId,
    Backoff(u64),
    Fallback(u64),
    AtMostBulk {
        count: u64,
        seconds: u64,
    },
    AtMostAfterRefusal {
        count: u64,
        seconds: u64,
    },
    RetryAfterHonoured,
    ParamsOnlyOnEvent,
    SseAccept,
}

/// The provider vocabulary, in the order `--provider CMD --list-steps` prints it.
pub const PROVIDER_VOCABULARY: &[StepDef<ProviderAction>] = &[
    step!(
        "server set-up",
        "the server advertises an event stream in url form",
        "the server advertises an event stream in url form",
        "Bulk answers carry an `eventStreams` entry `{type: \"sse\", url}`; the URL has a query string.",
        |_, _| Ok(ProviderAction::Advertise(Advertised::Url))
    ),
    step!(
        "server set-up",
        "the server advertises an event stream in endpoint form",
        "the server advertises an event stream in endpoint form",
        "Bulk answers carry `{type: \"sse\", endpoint: {requestUri}}` without an origin.",
        |_, _| Ok(ProviderAction::Advertise(Advertised::Endpoint))
    ),
    step!(
        "server set-up",
        "the server advertises a stream of unknown type {string}",
        "the server advertises a stream of unknown type \"websocket\"",
        "Bulk answers also carry an entry of this type, with a `url` on the server.",
        |a, _| Ok(ProviderAction::Advertise(Advertised::Unknown(text(a, 0))))
    ),
    step!(
        "server set-up",
        "the server sends retry {int} on every stream",
        "the server sends retry 1000 on every stream",
        "Every stream starts with `retry: N` (milliseconds).",
        |a, _| Ok(ProviderAction::Retry(int(a, 0)))
    ),
    step!(
        "server set-up",
        "the server refuses every stream with {int}",
        "the server refuses every stream with 503",
        "From now on stream requests are answered with this status (open streams stay open until dropped).",
        |a, _| Ok(ProviderAction::RefuseStreams(status(a, 0)?))
    ),
    step!(
        "server set-up",
        "the server answers every request {int}",
        "the server answers every request 401",
        "From now on every request is answered with this status.",
        |a, _| Ok(ProviderAction::AnswerEvery(status(a, 0)?))
    ),
    step!(
        "server set-up",
        "the server answers the next bulk request {int} with Retry-After {int}",
        "the server answers the next bulk request 429 with Retry-After 2",
        "The next bulk request gets this status and `Retry-After: N` (seconds).",
        |a, _| Ok(ProviderAction::NextBulk {
            status: status(a, 0)?,
            retry_after: int(a, 1)
        })
    ),
    step!(
        "provider",
        "the provider is running",
        "the provider is running",
        "Starts CMD and waits (--provider-timeout) for its first bulk request.",
        |_, _| Ok(ProviderAction::Running)
    ),
    step!(
        "provider",
        "the provider starts",
        "the provider starts",
        "Starts CMD without waiting for anything.",
        |_, _| Ok(ProviderAction::Start)
    ),
    step!(
        "provider",
        "the provider is connected to the event stream",
        "the provider is connected to the event stream",
        "Waits (--provider-timeout) for an accepted stream connection, then half a second for the provider to settle.",
        |_, _| Ok(ProviderAction::Connected)
    ),
    step!(
        "server actions",
        "the server sends a refetchEvaluation event with etag {string}",
        "the server sends a refetchEvaluation event with etag \"e2\"",
        "Changes a flag and sends `{\"type\": \"refetchEvaluation\", \"etag\": …}` with the next id on every open stream.",
        |a, _| Ok(ProviderAction::Event {
            etag: text(a, 0),
            last_modified: None
        })
    ),
    step!(
        "server actions",
        "the server sends a refetchEvaluation event with etag {string} and lastModified {int}",
        "the server sends a refetchEvaluation event with etag \"e2\" and lastModified 1767225600",
        "The same, with `lastModified` (seconds since the epoch).",
        |a, _| Ok(ProviderAction::Event {
            etag: text(a, 0),
            last_modified: Some(int(a, 1))
        })
    ),
    step!(
        "server actions",
        "the server sends an event of type {string}",
        "the server sends an event of type \"flagsArchived\"",
        "Sends `{\"type\": …}` with a type no provider knows; nothing changes.",
        |a, _| Ok(ProviderAction::EventOfType(text(a, 0)))
    ),
    step!(
        "server actions",
        "the server sends {int} refetchEvaluation events at once",
        "the server sends 100 refetchEvaluation events at once",
        "Changes a flag and sends N events in one write, etags `b1`…`bN`.",
        |a, _| Ok(ProviderAction::Burst(int(a, 0).max(1)))
    ),
    step!(
        "server actions",
        "the server drops every stream",
        "the server drops every stream",
        "Ends every open stream response (the connection stays usable).",
        |_, _| Ok(ProviderAction::DropStreams)
    ),
    step!(
        "server actions",
        "the server changes a flag without an event",
        "the server changes a flag without an event",
        "The next bulk answer has a new ETag; no stream hears of it.",
        |_, _| Ok(ProviderAction::ChangeWithoutEvent)
    ),
    step!(
        "server actions",
        "{int} seconds pass",
        "2 seconds pass",
        "Waits, watching what the provider sends.",
        |a, _| Ok(ProviderAction::Wait(int(a, 0)))
    ),
    step!(
        "observations",
        "the provider's first bulk request carries a JSON context",
        "the provider's first bulk request carries a JSON context",
        "Waits (--provider-timeout) for POST /ofrep/v1/evaluate/flags; its body must be a JSON object with a `context` object.",
        |_, _| Ok(ProviderAction::FirstBulkContext)
    ),
    step!(
        "observations",
        "within {int} seconds the provider requests the bulk endpoint",
        "within 5 seconds the provider requests the bulk endpoint",
        "A bulk request arrives within N seconds of the server's last action.",
        |a, _| Ok(ProviderAction::BulkWithin {
            seconds: int(a, 0),
            etag: None,
            last_modified: None
        })
    ),
    step!(
        "observations",
        "within {int} seconds the provider requests the bulk endpoint with flagConfigEtag {string}",
        "within 5 seconds the provider requests the bulk endpoint with flagConfigEtag \"e2\"",
        "The same, and it carries `flagConfigEtag=…`.",
        |a, _| Ok(ProviderAction::BulkWithin {
            seconds: int(a, 0),
            etag: Some(text(a, 1)),
            last_modified: None
        })
    ),
    step!(
        "observations",
        "within {int} seconds the provider requests the bulk endpoint with flagConfigEtag {string} and flagConfigLastModified {int}",
        "within 5 seconds the provider requests the bulk endpoint with flagConfigEtag \"e2\" and flagConfigLastModified 1767225600",
        "The same, with both parameters.",
        |a, _| Ok(ProviderAction::BulkWithin {
            seconds: int(a, 0),
            etag: Some(text(a, 1)),
            last_modified: Some(int(a, 2))
        })
    ),
    step!(
        "observations",
        "every bulk request after the first carries If-None-Match with the ETag last received",
        "every bulk request after the first carries If-None-Match with the ETag last received",
        "Each later bulk request's If-None-Match is the ETag of the last 200 or 304 before it.",
        |_, _| Ok(ProviderAction::InmChain)
    ),
    step!(
        "observations",
        "within {int} seconds the provider connects to the event stream",
        "within 5 seconds the provider connects to the event stream",
        "A stream connection is accepted within N seconds of the server's last action.",
        |a, _| Ok(ProviderAction::ConnectsWithin(int(a, 0)))
    ),
    step!(
        "observations",
        "within {int} seconds the provider connects to the url as advertised, query string included",
        "within 5 seconds the provider connects to the url as advertised, query string included",
        "Its first GET is the advertised `url`, path and query exactly.",
        |a, _| Ok(ProviderAction::ConnectsAsAdvertised {
            seconds: int(a, 0),
            form: Advertised::Url
        })
    ),
    step!(
        "observations",
        "within {int} seconds the provider connects to the endpoint on the base URL's origin",
        "within 5 seconds the provider connects to the endpoint on the base URL's origin",
        "Its first GET is the advertised `requestUri`, on the OFREP base URL's origin.",
        |a, _| Ok(ProviderAction::ConnectsAsAdvertised {
            seconds: int(a, 0),
            form: Advertised::Endpoint
        })
    ),
    step!(
        "observations",
        "the provider opened no connection to the unknown stream",
        "the provider opened no connection to the unknown stream",
        "No request went to the entry of unknown type.",
        |_, _| Ok(ProviderAction::NoUnknownStream)
    ),
    step!(
        "observations",
        "the provider sends no bulk request for {int} seconds",
        "the provider sends no bulk request for 2 seconds",
        "No bulk request in the N seconds after the server's last action.",
        |a, _| Ok(ProviderAction::QuietBulk(int(a, 0)))
    ),
    step!(
        "observations",
        "within {int} seconds the provider reconnects to the event stream",
        "within 10 seconds the provider reconnects to the event stream",
        "A stream connection is accepted again within N seconds of the server's last action.",
        |a, _| Ok(ProviderAction::ReconnectsWithin(int(a, 0)))
    ),
    step!(
        "observations",
        "within {int} seconds of reconnecting the provider requests the bulk endpoint",
        "within 1 second of reconnecting the provider requests the bulk endpoint",
        "A bulk request follows the accepted reconnect within N seconds.",
        |a, _| Ok(ProviderAction::BulkAfterReconnect(int(a, 0)))
    ),
    step!(
        "observations",
        "the reconnect carries Last-Event-ID of the last event sent",
        "the reconnect carries Last-Event-ID of the last event sent",
        "The reconnect's `Last-Event-ID` is the id of the last event the server sent before it.",
        |_, _| Ok(ProviderAction::LastEventId)
    ),
    step!(
        "observations",
        "over {int} seconds the provider's stream attempts back off",
        "over 8 seconds the provider's stream attempts back off",
        "Watches N seconds of failing stream attempts: none sooner than 90% of `retry:`, and the gaps grow.",
        |a, _| Ok(ProviderAction::Backoff(int(a, 0)))
    ),
    step!(
        "observations",
        "over {int} seconds the provider keeps working without the stream",
        "over 8 seconds the provider keeps working without the stream",
        "Watches N seconds: it polls with If-None-Match, or keeps retrying the stream; either passes.",
        |a, _| Ok(ProviderAction::Fallback(int(a, 0)))
    ),
    step!(
        "observations",
        "at most {int} bulk requests follow within {int} seconds",
        "at most 3 bulk requests follow within 3 seconds",
        "At least one and at most N bulk requests in the window after the server's last action.",
        |a, _| Ok(ProviderAction::AtMostBulk {
            count: int(a, 0),
            seconds: int(a, 1)
        })
    ),
    step!(
        "observations",
        "the provider sends at most {int} requests in the {int} seconds after the first refusal",
        "the provider sends at most 2 requests in the 3 seconds after the first refusal",
        "Waits for the first 401/403 answered, then counts every request in the window after it.",
        |a, _| Ok(ProviderAction::AtMostAfterRefusal {
            count: int(a, 0),
            seconds: int(a, 1)
        })
    ),
    step!(
        "observations",
        "the provider sends nothing to the bulk endpoint before the Retry-After time",
        "the provider sends nothing to the bulk endpoint before the Retry-After time",
        "Waits for the 429 to be answered, then for its Retry-After: no bulk request may come sooner.",
        |_, _| Ok(ProviderAction::RetryAfterHonoured)
    ),
    step!(
        "observations",
        "requests that no event triggered carry no flagConfig parameters",
        "requests that no event triggered carry no flagConfig parameters",
        "Bulk requests whose flagConfigEtag is no etag an event sent carry neither parameter.",
        |_, _| Ok(ProviderAction::ParamsOnlyOnEvent)
    ),
    step!(
        "observations",
        "the stream requests carry Accept: text/event-stream",
        "the stream requests carry Accept: text/event-stream",
        "Every stream request has `Accept: text/event-stream`.",
        |_, _| Ok(ProviderAction::SseAccept)
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conform::steps::{match_pattern, plural_units, resolve_in};

    #[test]
    fn every_example_resolves_to_its_own_pattern() {
        for def in PROVIDER_VOCABULARY {
            let first = PROVIDER_VOCABULARY
                .iter()
                .find(|d| match_pattern(d.pattern, &plural_units(def.example)).is_some())
                .map(|d| d.pattern);
            assert_eq!(first, Some(def.pattern), "example `{}`", def.example);
            assert!(resolve_in(PROVIDER_VOCABULARY, def.example, None).is_ok());
        }
    }

    #[test]
    fn a_misspelt_step_names_the_closest_provider_step() {
        let error = resolve_in(PROVIDER_VOCABULARY, "the server drop every stream", None)
            .unwrap_err()
            .to_string();
        assert!(error.contains("`the server drops every stream`"), "{error}");
    }
}
