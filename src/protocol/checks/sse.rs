//! Checks on what an event stream sent (ADR-0008 and the WHATWG format): the event envelope and
//! its JSON data, and the stream's own lines.

use serde_json::{Map, Value};

use crate::protocol::context::kind_of;
use crate::protocol::finding::Finding;
use crate::sse::parser::{Event, Problem};

/// Every check one event can reveal.
pub fn event(event: &Event) -> Vec<Finding> {
    let mut findings = Vec::new();
    findings.extend(envelope(event));
    let label = label(event);
    if event.id.is_none() {
        findings.push(Finding::new(
            "sse-id",
            format!("{label}: no `id`, so clients cannot resume with Last-Event-ID"),
        ));
    }
    let data = match data_object(event) {
        Ok(data) => data,
        Err(broken) => {
            findings.push(broken);
            return findings;
        }
    };
    if let Err(broken) = data_type(event, &data) {
        findings.push(broken);
    }
    if let Some(etag) = data.get("etag").filter(|e| !e.is_string()) {
        findings.push(Finding::new(
            "sse-etag-type",
            format!("{label}: `etag` is {}, not a string", kind_of(etag)),
        ));
    }
    match data.get("lastModified") {
        None => {}
        Some(Value::Number(n)) if n.is_u64() => findings.extend(
            n.as_u64()
                .and_then(implausible_seconds)
                .map(|why| Finding::new("sse-last-modified-seconds", format!("{label}: {why}"))),
        ),
        Some(Value::String(s)) if is_iso8601_date_time(s) => findings.push(Finding::new(
            "sse-last-modified-seconds",
            format!("{label}: `lastModified` is a date string; Unix seconds are preferred"),
        )),
        Some(other) => findings.push(Finding::new(
            "sse-last-modified",
            format!("{label}: `lastModified` is `{other}`; it must be Unix seconds (an integer ≥ 0) or an ISO 8601 date-time"),
        )),
    }
    findings
}

/// Unix seconds at or above this are more than 3000 years from now: not a time a flag
/// configuration was modified, but a value in a smaller unit.
const IMPLAUSIBLE_SECONDS: u64 = 100_000_000_000;

/// Why an integer `lastModified` cannot be Unix seconds, when it cannot.
fn implausible_seconds(value: u64) -> Option<String> {
    if value < IMPLAUSIBLE_SECONDS {
        return None;
    }
    // 12 to 14 digits: milliseconds of the last few millennia.
    let unit = if value < 100_000_000_000_000 {
        format!("it looks like milliseconds ({} in seconds)", value / 1000)
    } else {
        "it looks like a finer unit than seconds".to_owned()
    };
    Some(format!(
        "`lastModified` is {value}, which as Unix seconds is thousands of years from now; {unit}"
    ))
}

/// `sse-event-message`: the envelope event is `message`.
pub fn envelope(event: &Event) -> Option<Finding> {
    (event.event_type != "message").then(|| {
        Finding::new(
            "sse-event-message",
            format!(
                "{} is named `{}`; OFREP events are `message`, or browser providers never see them",
                label(event),
                event.event_type
            ),
        )
    })
}

/// `sse-data-json`: the data parses as a JSON object, which is returned so that a caller acting on
/// the event reads it from here rather than parsing it again.
pub fn data_object(event: &Event) -> Result<Map<String, Value>, Finding> {
    match serde_json::from_str(&event.data) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(Finding::new(
            "sse-data-json",
            format!(
                "{}: data is {}, not a JSON object",
                label(event),
                kind_of(&other)
            ),
        )),
        Err(e) => Err(Finding::new(
            "sse-data-json",
            format!("{}: data is not JSON ({e})", label(event)),
        )),
    }
}

/// `sse-type`: the data object has a string `type`, returned.
pub fn data_type<'a>(event: &Event, data: &'a Map<String, Value>) -> Result<&'a str, Finding> {
    match data.get("type") {
        Some(Value::String(kind)) => Ok(kind),
        Some(other) => Err(Finding::new(
            "sse-type",
            format!(
                "{}: `type` is {}, not a string",
                label(event),
                kind_of(other)
            ),
        )),
        None => Err(Finding::new(
            "sse-type",
            format!(
                "{}: data has no `type`; providers using the default payload format only refetch on `refetchEvaluation`, so they will never refetch on this event",
                label(event)
            ),
        )),
    }
}

fn label(event: &Event) -> String {
    match &event.id {
        Some(id) => format!("event `{id}`"),
        None => "an event without id".to_owned(),
    }
}

/// Checks on the stream as a whole, from the problems its parser reported.
pub fn stream(problems: &[Problem]) -> Vec<Finding> {
    problems
        .iter()
        .filter_map(|problem| {
            let id = problem_check_id(problem)?;
            // `sse-id` is graded on each event by [`event`]: an id the parser ignored leaves the
            // event without one. The stream's own lines break only MUST rules.
            (id != "sse-id").then(|| Finding::new(id, problem.to_string()))
        })
        .collect()
}

/// The checklist requirement a stream problem breaks, when it breaks one.
pub fn problem_check_id(problem: &Problem) -> Option<&'static str> {
    match problem {
        Problem::InvalidUtf8 { .. } => Some("sse-utf8"),
        Problem::InvalidRetry { .. } => Some("sse-retry"),
        Problem::IdWithNul { .. } | Problem::IdNotAHeader { .. } => Some("sse-id"),
        Problem::DataTooLarge { .. } | Problem::LineTooLong { .. } | Problem::UnterminatedEvent => {
            None
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`, the ISO 8601 profile of RFC 3339.
pub fn is_iso8601_date_time(text: &str) -> bool {
    let bytes = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        bytes
            .get(range)
            .is_some_and(|b| b.iter().all(u8::is_ascii_digit))
    };
    let fixed = bytes.len() >= 20
        && digits(0..4)
        && bytes[4] == b'-'
        && digits(5..7)
        && bytes[7] == b'-'
        && digits(8..10)
        && matches!(bytes[10], b'T' | b't')
        && digits(11..13)
        && bytes[13] == b':'
        && digits(14..16)
        && bytes[16] == b':'
        && digits(17..19);
    if !fixed {
        return false;
    }
    let mut rest = &text[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let end = fraction
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(fraction.len());
        if end == 0 {
            return false;
        }
        rest = &fraction[end..];
    }
    match rest.as_bytes() {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => [h1, h2, m1, m2].iter().all(|b| b.is_ascii_digit()),
        _ => false,
    }
}

/// Events as the parser hands them over, for the tests of whatever reads them.
#[cfg(test)]
pub(crate) mod test_support {
    use crate::sse::parser::Event;

    pub fn event(event_type: &str, id: Option<&str>, data: &str) -> Event {
        Event {
            event_type: event_type.into(),
            named: None,
            data: data.into(),
            id: id.map(str::to_owned),
            last_event_id: id.unwrap_or_default().into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::event as ev;
    use super::*;

    fn ids(findings: &[Finding]) -> Vec<&'static str> {
        findings.iter().map(|f| f.id).collect()
    }

    #[test]
    fn a_well_formed_event_passes() {
        let good = ev(
            "message",
            Some("7"),
            r#"{"type":"refetchEvaluation","etag":"\"a\"","lastModified":1771622898}"#,
        );
        assert!(event(&good).is_empty(), "{:?}", event(&good));
    }

    #[test]
    fn each_rule_is_reported_by_its_id() {
        assert_eq!(
            ids(&event(&ev(
                "refetchEvaluation",
                Some("1"),
                r#"{"type":"x"}"#
            ))),
            ["sse-event-message"]
        );
        assert_eq!(
            ids(&event(&ev("message", None, r#"{"type":"x"}"#))),
            ["sse-id"]
        );
        assert_eq!(
            ids(&event(&ev("message", Some("1"), "nope"))),
            ["sse-data-json"]
        );
        assert_eq!(
            ids(&event(&ev("message", Some("1"), "[1]"))),
            ["sse-data-json"]
        );
        assert_eq!(
            ids(&event(&ev("message", Some("1"), r#"{"etag":"a"}"#))),
            ["sse-type"]
        );
        assert_eq!(
            ids(&event(&ev("message", Some("1"), r#"{"type":1}"#))),
            ["sse-type"]
        );
        assert_eq!(
            ids(&event(&ev(
                "message",
                Some("1"),
                r#"{"type":"x","etag":5}"#
            ))),
            ["sse-etag-type"]
        );
        assert_eq!(
            ids(&event(&ev(
                "message",
                Some("1"),
                r#"{"type":"x","lastModified":-1}"#
            ))),
            ["sse-last-modified"]
        );
        assert_eq!(
            ids(&event(&ev(
                "message",
                Some("1"),
                r#"{"type":"x","lastModified":"yesterday"}"#
            ))),
            ["sse-last-modified"]
        );
        assert_eq!(
            ids(&event(&ev(
                "message",
                Some("1"),
                r#"{"type":"x","lastModified":"2026-02-20T21:28:18Z"}"#
            ))),
            ["sse-last-modified-seconds"]
        );
    }

    /// (lastModified, whether it warns, what the warning says).
    #[test]
    fn a_last_modified_that_cannot_be_seconds_warns_that_it_looks_like_milliseconds() {
        let table: &[(u64, Option<&str>)] = &[
            (0, None),
            (1_771_622_898, None),
            (32_503_680_000, None),
            (
                1_771_622_898_123,
                Some("it looks like milliseconds (1771622898 in seconds)"),
            ),
            (100_000_000_000, Some("looks like milliseconds")),
            (1_771_622_898_123_456, Some("a finer unit than seconds")),
        ];
        for (value, warning) in table {
            let data = format!(r#"{{"type":"x","lastModified":{value}}}"#);
            let findings = event(&ev("message", Some("1"), &data));
            match warning {
                None => assert!(findings.is_empty(), "{value}: {findings:?}"),
                Some(part) => {
                    assert_eq!(ids(&findings), ["sse-last-modified-seconds"], "{value}");
                    assert!(
                        findings[0].message.contains(part),
                        "{}",
                        findings[0].message
                    );
                }
            }
        }
    }

    #[test]
    fn data_without_a_type_says_providers_will_never_refetch() {
        let findings = event(&ev("message", Some("1"), r#"{"flags":{"a":{"value":1}}}"#));
        assert_eq!(ids(&findings), ["sse-type"]);
        assert!(
            findings[0]
                .message
                .contains("providers using the default payload format")
                && findings[0].message.contains("never refetch"),
            "{}",
            findings[0].message
        );
    }

    #[test]
    fn stream_problems_map_to_their_checks() {
        let problems = [
            Problem::InvalidUtf8 { line: 1 },
            Problem::InvalidRetry {
                line: 2,
                value: "abc".into(),
            },
            Problem::UnterminatedEvent,
        ];
        assert_eq!(ids(&stream(&problems)), ["sse-utf8", "sse-retry"]);
    }

    #[test]
    fn an_id_with_nul_breaks_sse_id_but_is_graded_on_the_event() {
        let problem = Problem::IdWithNul { line: 3 };
        assert_eq!(problem_check_id(&problem), Some("sse-id"));
        assert!(stream(&[problem]).is_empty());
        assert_eq!(problem_check_id(&Problem::UnterminatedEvent), None);
    }

    #[test]
    fn iso_dates_follow_rfc_3339() {
        for ok in [
            "2026-02-20T21:28:18Z",
            "2026-02-20T21:28:18.123+01:00",
            "2026-02-20t21:28:18z",
        ] {
            assert!(is_iso8601_date_time(ok), "{ok}");
        }
        for bad in [
            "2026-02-20",
            "2026-02-20 21:28:18Z",
            "2026-02-20T21:28:18",
            "2026-02-20T21:28:18.Z",
            "1771622898",
        ] {
            assert!(!is_iso8601_date_time(bad), "{bad}");
        }
    }
}
