//! Whether a check has anything to look at. A check whose subject is absent (no `eventStreams`
//! for `streams-url`, no `metadata` for `metadata-values`, no `lastModified` in an event for
//! `sse-last-modified`) would find no violation and so "pass" having checked nothing; these
//! functions say why there is nothing to check, so the step can say so instead.

use serde_json::Value;

use crate::protocol::answer::{Answer, Body, Endpoint};
use crate::protocol::checks;
use crate::sse::parser::Event;

/// Why check `id` has nothing to look at in this answer, or `None` when it has something.
pub(super) fn in_answer(id: &str, answer: &Answer) -> Option<String> {
    let single = matches!(answer.endpoint, Endpoint::Single { .. });
    let status = answer.status;
    let needs = |holds: bool, what: &str| (!holds).then(|| format!("the answer is not {what}"));
    match id {
        "bulk-shape" | "bulk-etag-present" | "streams-optional" | "streams-legacy-sse" => {
            needs(!single && status == 200, "a bulk 200")
        }
        "bulk-400-shape" => needs(!single && status == 400, "a bulk 400"),
        "bulk-304-no-body" | "bulk-304-etag" => needs(!single && status == 304, "a bulk 304"),
        "bulk-etag-syntax" => answer
            .etag()
            .is_none()
            .then(|| "the answer has no ETag".into()),
        "single-shape" => needs(single && status == 200, "a single-flag 200"),
        "single-not-found" => needs(single && status == 404, "a single-flag 404"),
        "single-400-shape" => needs(single && status == 400, "a single-flag 400"),
        "rate-limit-retry-after" => needs(status == 429, "a 429"),
        "error-500-shape" => needs(
            status == 500 && answer.body != Body::Empty,
            "a 500 with a body",
        ),
        "single-value-type" => in_evaluations(answer, "value", "no evaluation has a `value`"),
        "reason-known" => in_evaluations(answer, "reason", "no evaluation has a `reason`"),
        "metadata-values" => metadata(answer),
        "streams-shape"
        | "streams-one-of"
        | "streams-url"
        | "streams-request-uri"
        | "streams-inactivity"
        | "streams-unknown-type" => streams(id, answer),
        _ => None,
    }
}

/// Whether any evaluation in the answer (the body of a single-flag 200, an item of a bulk 200's
/// `flags`) passes `test`. Bulk items are parsed one at a time, never all at once.
fn any_evaluation(answer: &Answer, test: impl Fn(&Value) -> bool) -> bool {
    if answer.status != 200 {
        return false;
    }
    let Some(body) = answer.body.json() else {
        return false;
    };
    match answer.endpoint {
        Endpoint::Single { .. } => test(&body.tree()),
        Endpoint::Bulk => body
            .flags()
            .is_some_and(|mut items| items.any(|item| test(&item))),
    }
}

fn in_evaluations(answer: &Answer, field: &str, otherwise: &str) -> Option<String> {
    let found = any_evaluation(answer, |evaluation| evaluation.get(field).is_some());
    (!found).then(|| otherwise.to_owned())
}

/// `metadata` on the flag set (bulk) or on any evaluation.
fn metadata(answer: &Answer) -> Option<String> {
    let on_the_set = answer.endpoint == Endpoint::Bulk
        && answer.status == 200
        && answer
            .body
            .json()
            .is_some_and(|body| body.get("metadata").is_some());
    let on_an_evaluation =
        any_evaluation(answer, |evaluation| evaluation.get("metadata").is_some());
    (!on_the_set && !on_an_evaluation).then(|| "the answer has no `metadata`".into())
}

fn streams(id: &str, answer: &Answer) -> Option<String> {
    let body = answer
        .body
        .json()
        .filter(|_| answer.endpoint == Endpoint::Bulk && answer.status == 200);
    let Some(streams) = body.and_then(|b| b.get("eventStreams")) else {
        return Some("the answer has no `eventStreams` (clients poll)".into());
    };
    if id == "streams-shape" {
        return None;
    }
    let Some(list) = streams.as_array() else {
        return Some("`eventStreams` is not an array (see streams-shape)".into());
    };
    let entries: Vec<&serde_json::Map<String, Value>> =
        list.iter().filter_map(Value::as_object).collect();
    let any = |field: &str| entries.iter().any(|entry| entry.contains_key(field));
    match id {
        "streams-url" if !any("url") => Some("no `eventStreams` entry has a `url`".into()),
        "streams-request-uri" if !any("endpoint") => {
            Some("no `eventStreams` entry has an `endpoint`".into())
        }
        "streams-inactivity" if !any("inactivityDelaySec") => {
            Some("no `eventStreams` entry sets `inactivityDelaySec` (clients use 120 s)".into())
        }
        _ if entries.is_empty() => Some("`eventStreams` has no entries".into()),
        _ => None,
    }
}

/// Why event check `id` has nothing to look at in this event, or `None`.
pub(super) fn in_event(id: &str, event: &Event) -> Option<String> {
    let field = match id {
        "sse-type" => None,
        "sse-etag-type" => Some("etag"),
        "sse-last-modified" | "sse-last-modified-seconds" => Some("lastModified"),
        _ => return None,
    };
    let Ok(data) = checks::sse::data_object(event) else {
        return Some("the event's data is not a JSON object (see sse-data-json)".into());
    };
    let field = field?;
    (!data.contains_key(field)).then(|| format!("the event's data has no `{field}`"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::checks::sse::test_support::event;
    use crate::protocol::checks::test_support::{JSON, bulk, single};

    /// (check, answer body of a bulk 200, what is missing or `None`).
    #[test]
    fn bulk_checks_without_their_subject_say_what_is_missing() {
        let table: &[(&str, &str, Option<&str>)] = &[
            (
                "streams-shape",
                r#"{"flags":[]}"#,
                Some("no `eventStreams`"),
            ),
            (
                "streams-one-of",
                r#"{"flags":[]}"#,
                Some("no `eventStreams`"),
            ),
            ("streams-url", r#"{"flags":[]}"#, Some("no `eventStreams`")),
            (
                "streams-request-uri",
                r#"{"flags":[]}"#,
                Some("no `eventStreams`"),
            ),
            (
                "streams-inactivity",
                r#"{"flags":[]}"#,
                Some("no `eventStreams`"),
            ),
            (
                "streams-unknown-type",
                r#"{"flags":[]}"#,
                Some("no `eventStreams`"),
            ),
            ("streams-shape", r#"{"flags":[],"eventStreams":5}"#, None),
            (
                "streams-url",
                r#"{"flags":[],"eventStreams":5}"#,
                Some("not an array"),
            ),
            (
                "streams-one-of",
                r#"{"flags":[],"eventStreams":[]}"#,
                Some("no entries"),
            ),
            (
                "streams-url",
                r#"{"flags":[],"eventStreams":[{"type":"sse","endpoint":{"requestUri":"/e"}}]}"#,
                Some("no `eventStreams` entry has a `url`"),
            ),
            (
                "streams-request-uri",
                r#"{"flags":[],"eventStreams":[{"type":"sse","endpoint":{"requestUri":"/e"}}]}"#,
                None,
            ),
            (
                "streams-inactivity",
                r#"{"flags":[],"eventStreams":[{"type":"sse","url":"https://a/"}]}"#,
                Some("`inactivityDelaySec`"),
            ),
            (
                "metadata-values",
                r#"{"flags":[{"key":"a","reason":"STATIC"}]}"#,
                Some("no `metadata`"),
            ),
            ("metadata-values", r#"{"flags":[],"metadata":{}}"#, None),
            (
                "metadata-values",
                r#"{"flags":[{"key":"a","reason":"STATIC","metadata":{"v":1}}]}"#,
                None,
            ),
            (
                "reason-known",
                r#"{"flags":[{"key":"a","errorCode":"GENERAL"}]}"#,
                Some("no evaluation has a `reason`"),
            ),
            (
                "single-value-type",
                r#"{"flags":[{"key":"a","reason":"DEFAULT"}]}"#,
                Some("no evaluation has a `value`"),
            ),
            (
                "single-value-type",
                r#"{"flags":[{"key":"a","value":1,"reason":"STATIC"}]}"#,
                None,
            ),
            ("bulk-shape", r#"{"flags":[]}"#, None),
            ("core-json", r#"{"flags":[]}"#, None),
        ];
        for (id, body, missing) in table {
            let reason = in_answer(id, &bulk(200, &[JSON], body));
            match missing {
                None => assert_eq!(reason, None, "{id} on {body}"),
                Some(part) => assert!(
                    reason.as_deref().is_some_and(|r| r.contains(part)),
                    "{id} on {body}: {reason:?}"
                ),
            }
        }
    }

    #[test]
    fn status_bound_checks_need_that_status_and_endpoint() {
        let not_found = single(404, &[JSON], r#"{"key":"x","errorCode":"FLAG_NOT_FOUND"}"#);
        assert_eq!(in_answer("single-not-found", &not_found), None);
        assert!(in_answer("single-shape", &not_found).is_some());
        assert!(in_answer("bulk-400-shape", &not_found).is_some());
        assert!(in_answer("rate-limit-retry-after", &not_found).is_some());
        assert!(in_answer("metadata-values", &not_found).is_some());
        let ok = single(
            200,
            &[JSON],
            r#"{"key":"x","reason":"STATIC","metadata":{"a":1}}"#,
        );
        assert_eq!(in_answer("metadata-values", &ok), None);
        assert_eq!(in_answer("single-shape", &ok), None);
    }

    #[test]
    fn event_checks_need_the_field_they_judge() {
        let table: &[(&str, &str, Option<&str>)] = &[
            ("sse-etag-type", r#"{"type":"x"}"#, Some("no `etag`")),
            ("sse-etag-type", r#"{"type":"x","etag":5}"#, None),
            (
                "sse-last-modified",
                r#"{"type":"x"}"#,
                Some("no `lastModified`"),
            ),
            (
                "sse-last-modified-seconds",
                r#"{"type":"x","lastModified":1}"#,
                None,
            ),
            ("sse-type", "refresh", Some("not a JSON object")),
            ("sse-type", r#"{"etag":"a"}"#, None),
            ("sse-data-json", "refresh", None),
            ("sse-id", r#"{"type":"x"}"#, None),
        ];
        for (id, data, missing) in table {
            let reason = in_event(id, &event("message", None, data));
            match missing {
                None => assert_eq!(reason, None, "{id} on {data}"),
                Some(part) => assert!(
                    reason.as_deref().is_some_and(|r| r.contains(part)),
                    "{id} on {data}: {reason:?}"
                ),
            }
        }
    }
}
