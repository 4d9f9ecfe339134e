//! The table of every step sentence: its group, pattern, example and help (what `--list-steps`
//! prints and the README documents), and how each builds its [`Action`].

use super::{Action, ResolveError, StepDef, int, status, step, text};
use crate::protocol::checklist;

fn known_check(id: String) -> Result<String, ResolveError> {
    match checklist::level_of(&id) {
        Some(_) => Ok(id),
        None => Err(ResolveError::NotACheckId(id)),
    }
}

/// The whole vocabulary, in the order `--list-steps` prints it.
pub const VOCABULARY: &[StepDef] = &[
    step!(
        "requests",
        "the context is {string}",
        "the context is \"{\\\"targetingKey\\\": \\\"user-2\\\", \\\"plan\\\": \\\"premium\\\"}\"",
        "Sets the evaluation context (a JSON object) for the scenario's later requests.",
        |a, _| Ok(Action::SetContext(text(a, 0)))
    ),
    step!(
        "requests",
        "the context is:",
        "the context is:\n  \"\"\"\n  {\"targetingKey\": \"user-2\"}\n  \"\"\"",
        "The same, with the JSON object in a doc string.",
        |_, doc| doc
            .map(|d| Action::SetContext(d.to_owned()))
            .ok_or(ResolveError::NeedsDocString)
    ),
    step!(
        "requests",
        "the request header {string} is {string}",
        "the request header \"X-Tenant\" is \"eu\"",
        "Adds a header to the scenario's later requests.",
        |a, _| Ok(Action::SetHeader(text(a, 0), text(a, 1)))
    ),
    step!(
        "requests",
        "requests carry no credentials",
        "requests carry no credentials",
        "Later requests leave out the configured headers (-H, OFREP_HEADERS), credentials included.",
        |_, _| Ok(Action::NoCredentials)
    ),
    step!(
        "requests",
        "I request a bulk evaluation",
        "I request a bulk evaluation",
        "POST /ofrep/v1/evaluate/flags with the context.",
        |_, _| Ok(Action::Bulk {
            if_none_match: None,
            query: None,
            raw_body: None,
            origin: None
        })
    ),
    step!(
        "requests",
        "I request a bulk evaluation with If-None-Match {string}",
        "I request a bulk evaluation with If-None-Match \"W/{etag}\"",
        "The same, conditional. `{etag}` stands for the value remembered as `etag`.",
        |a, _| Ok(Action::Bulk {
            if_none_match: Some(text(a, 0)),
            query: None,
            raw_body: None,
            origin: None
        })
    ),
    step!(
        "requests",
        "I request a bulk evaluation with query {string}",
        "I request a bulk evaluation with query \"flagConfigEtag=abc&flagConfigLastModified=1771622898\"",
        "The same, with query parameters (already URL-encoded).",
        |a, _| Ok(Action::Bulk {
            if_none_match: None,
            query: Some(text(a, 0)),
            raw_body: None,
            origin: None
        })
    ),
    step!(
        "requests",
        "I request a bulk evaluation with If-None-Match {string} and query {string}",
        "I request a bulk evaluation with If-None-Match \"{etag}\" and query \"flagConfigEtag=other\"",
        "Both.",
        |a, _| Ok(Action::Bulk {
            if_none_match: Some(text(a, 0)),
            query: Some(text(a, 1)),
            raw_body: None,
            origin: None
        })
    ),
    step!(
        "requests",
        "I request a bulk evaluation with the raw body {string}",
        "I request a bulk evaluation with the raw body \"{\\\"context\\\": 42}\"",
        "POST this exact body instead of the context.",
        |a, _| Ok(Action::Bulk {
            if_none_match: None,
            query: None,
            raw_body: Some(text(a, 0)),
            origin: None
        })
    ),
    step!(
        "requests",
        "I request a bulk evaluation from origin {string}",
        "I request a bulk evaluation from origin \"https://app.example.com\"",
        "The same, as a browser would send it, with an Origin header.",
        |a, _| Ok(Action::Bulk {
            if_none_match: None,
            query: None,
            raw_body: None,
            origin: Some(text(a, 0))
        })
    ),
    step!(
        "requests",
        "I request the flag {string}",
        "I request the flag \"{flag}\"",
        "POST /ofrep/v1/evaluate/flags/{key} with the context.",
        |a, _| Ok(Action::Single {
            key: text(a, 0),
            raw_body: None
        })
    ),
    step!(
        "requests",
        "I request the flag {string} with the raw body {string}",
        "I request the flag \"{flag}\" with the raw body \"not json\"",
        "The same, with this exact body.",
        |a, _| Ok(Action::Single {
            key: text(a, 0),
            raw_body: Some(text(a, 1))
        })
    ),
    step!(
        "requests",
        "I send a CORS preflight from origin {string} for headers {string}",
        "I send a CORS preflight from origin \"https://app.example.com\" for headers \"content-type, if-none-match\"",
        "OPTIONS on the bulk endpoint with Origin, Access-Control-Request-Method: POST and these request headers.",
        |a, _| Ok(Action::Preflight {
            origin: text(a, 0),
            headers: text(a, 1)
        })
    ),
    step!(
        "remembering",
        "I remember the ETag as {name}",
        "I remember the ETag as etag",
        "Keeps the last answer's ETag header for `{etag}` in later strings.",
        |a, _| Ok(Action::RememberEtag(text(a, 0)))
    ),
    step!(
        "remembering",
        "I remember the flags as {name}",
        "I remember the flags as first",
        "Keeps the last bulk answer's flags (for comparing answers).",
        |a, _| Ok(Action::RememberFlags(text(a, 0)))
    ),
    step!(
        "remembering",
        "I remember the first flag key as {name}",
        "I remember the first flag key as flag",
        "Keeps the key of the first flag in the last bulk answer.",
        |a, _| Ok(Action::RememberFirstFlagKey(text(a, 0)))
    ),
    step!(
        "remembering",
        "I remember the event id as {name}",
        "I remember the event id as before",
        "Keeps the last event's id.",
        |a, _| Ok(Action::RememberEventId(text(a, 0)))
    ),
    step!(
        "assertions",
        "the status is {int}",
        "the status is 304",
        "The last answer's status.",
        |a, _| Ok(Action::StatusIs(status(a, 0)?))
    ),
    step!(
        "assertions",
        "the status is not {int}",
        "the status is not 304",
        "The last answer's status is anything else.",
        |a, _| Ok(Action::StatusIsNot(status(a, 0)?))
    ),
    step!(
        "assertions",
        "the status is one of {string}",
        "the status is one of \"401, 403\"",
        "The last answer's status is in the comma-separated list.",
        |a, _| {
            let list = text(a, 0);
            let codes: Result<Vec<u16>, ResolveError> = list
                .split(',')
                .map(|c| {
                    c.trim()
                        .parse::<u16>()
                        .map_err(|_| ResolveError::NotAStatus(c.trim().to_owned()))
                })
                .collect();
            Ok(Action::StatusOneOf(codes?))
        }
    ),
    step!(
        "assertions",
        "the response has no body",
        "the response has no body",
        "No body bytes arrived and none were announced.",
        |_, _| Ok(Action::NoBody)
    ),
    step!(
        "assertions",
        "the response has an ETag",
        "the response has an ETag",
        "The last answer carries an ETag header.",
        |_, _| Ok(Action::HasEtag)
    ),
    step!(
        "assertions",
        "the ETag is a valid entity-tag",
        "the ETag is a valid entity-tag",
        "The ETag is `\"opaque\"` or `W/\"opaque\"` (RFC 9110).",
        |_, _| Ok(Action::EtagValid)
    ),
    step!(
        "assertions",
        "the ETag is {string}",
        "the ETag is \"{etag}\"",
        "The ETag equals this value.",
        |a, _| Ok(Action::EtagIs(text(a, 0)))
    ),
    step!(
        "assertions",
        "the ETag is not {string}",
        "the ETag is not \"{etag}\"",
        "The ETag differs from this value.",
        |a, _| Ok(Action::EtagIsNot(text(a, 0)))
    ),
    step!(
        "assertions",
        "the response header {string} includes {string}",
        "the response header \"Access-Control-Expose-Headers\" includes \"ETag\"",
        "A comma-separated header lists this value (case-insensitive), or is `*`.",
        |a, _| Ok(Action::HeaderIncludes(text(a, 0), text(a, 1)))
    ),
    step!(
        "assertions",
        "the answer passes check {id}",
        "the answer passes check bulk-shape",
        "The last answer has no finding with this checklist id (the same checks `ofrep fetch` runs).",
        |a, _| Ok(Action::PassesCheck(known_check(text(a, 0))?))
    ),
    step!(
        "assertions",
        "the answer advertises event streams",
        "the answer advertises event streams",
        "The last bulk answer has an `eventStreams` entry of type sse.",
        |_, _| Ok(Action::AdvertisesStreams)
    ),
    step!(
        "assertions",
        "the body field {string} is {string}",
        "the body field \"errorCode\" is \"FLAG_NOT_FOUND\"",
        "A top-level field of the JSON body (dotted for nested) equals the value (compared as JSON when it parses, else as a string).",
        |a, _| Ok(Action::BodyField(text(a, 0), text(a, 1)))
    ),
    step!(
        "assertions",
        "the status is 200 unless the flags equal {name}",
        "the status is 200 unless the flags equal first",
        "A 304 is only right when the answer would have been the remembered flags.",
        |a, _| Ok(Action::StatusOkUnlessFlagsEqual(text(a, 0)))
    ),
    step!(
        "streams",
        "I connect to the advertised event stream",
        "I connect to the advertised event stream",
        "Opens the first sse entry of the last bulk answer's `eventStreams` (GET, Accept: text/event-stream).",
        |_, _| Ok(Action::Connect {
            last_event_id: None
        })
    ),
    step!(
        "streams",
        "I connect to the advertised event stream with Last-Event-ID {string}",
        "I connect to the advertised event stream with Last-Event-ID \"{before}\"",
        "The same, resuming after an event id.",
        |a, _| Ok(Action::Connect {
            last_event_id: Some(text(a, 0))
        })
    ),
    step!(
        "streams",
        "I disconnect from the event stream",
        "I disconnect from the event stream",
        "Closes the stream.",
        |_, _| Ok(Action::Disconnect)
    ),
    step!(
        "streams",
        "the stream answers 200 with Content-Type text/event-stream",
        "the stream answers 200 with Content-Type text/event-stream",
        "The stream opened as an event stream.",
        |_, _| Ok(Action::StreamIsEventStream)
    ),
    step!(
        "streams",
        "an event arrives within {int} seconds",
        "an event arrives within 5 seconds",
        "Waits for the next event on the stream.",
        |a, _| Ok(Action::EventWithin(int(a, 0)))
    ),
    step!(
        "streams",
        "a comment or event arrives within {int} seconds",
        "a comment or event arrives within 35 seconds",
        "Waits for any sign of life (a keep-alive comment or an event).",
        |a, _| Ok(Action::ActivityWithin(int(a, 0)))
    ),
    step!(
        "streams",
        "the event passes check {id}",
        "the event passes check sse-data-json",
        "The last event meets this checklist requirement.",
        |a, _| Ok(Action::EventPassesCheck(known_check(text(a, 0))?))
    ),
    step!(
        "streams",
        "the stream passes check {id}",
        "the stream passes check sse-retry",
        "Everything read from the stream so far meets this requirement (sse-utf8, sse-retry).",
        |a, _| Ok(Action::StreamPassesCheck(known_check(text(a, 0))?))
    ),
    step!(
        "changes",
        "a flag changes",
        "a flag changes",
        "Runs the trigger (--trigger-url, --trigger-cmd, or the embedded server's own).",
        |_, _| Ok(Action::ChangeFlag)
    ),
    step!(
        "changes",
        "within {int} seconds a bulk evaluation with If-None-Match {string} answers {int}",
        "within 5 seconds a bulk evaluation with If-None-Match \"{etag}\" answers 200",
        "Polls (every 100 ms) until the status is reached, or fails at the deadline.",
        |a, _| Ok(Action::PollAnswers {
            seconds: int(a, 0),
            if_none_match: text(a, 1),
            status: status(a, 2)?
        })
    ),
    step!(
        "changes",
        "within {int} seconds a refetch with the event's metadata and If-None-Match {string} returns a new ETag",
        "within 3 seconds a refetch with the event's metadata and If-None-Match \"{etag}\" returns a new ETag",
        "Refetches as a provider does after an event (flagConfigEtag / flagConfigLastModified from it), retrying until a 200 with another ETag.",
        |a, _| Ok(Action::NewEtagWithin {
            seconds: int(a, 0),
            if_none_match: text(a, 1),
            event_metadata: true
        })
    ),
    step!(
        "changes",
        "within {int} seconds a bulk evaluation with If-None-Match {string} returns a new ETag",
        "within 5 seconds a bulk evaluation with If-None-Match \"{etag}\" returns a new ETag",
        "Polls (every 100 ms) until a 200 with an ETag other than this one, as a polling provider would see a change.",
        |a, _| Ok(Action::NewEtagWithin {
            seconds: int(a, 0),
            if_none_match: text(a, 1),
            event_metadata: false
        })
    ),
    step!(
        "waits",
        "I wait {int} milliseconds",
        "I wait 500 milliseconds",
        "Sleeps.",
        |a, _| Ok(Action::Wait(int(a, 0)))
    ),
];
