//! Checks on `eventStreams` in a bulk 200 (ADR-0008). Messages never quote a URL's query string:
//! it may hold a token.

use serde_json::Value;
use url::Url;

use crate::protocol::answer::Answer;
use crate::protocol::context::kind_of;
use crate::protocol::document::Document;
use crate::protocol::finding::Finding;

/// The stream types `ofrep` knows; others are legal and ignored by clients.
pub const KNOWN_TYPES: &[&str] = &["sse"];

pub fn all(answer: &Answer) -> Vec<Finding> {
    if answer.status != 200 {
        return vec![];
    }
    let Some(body) = answer.body.json().filter(|b| b.is_object()) else {
        return vec![];
    };
    let mut findings = legacy_sse(body);
    let streams = body.get("eventStreams");
    let Some(streams) = streams.as_deref() else {
        findings.push(Finding::new(
            "streams-optional",
            "no `eventStreams`: clients poll for changes",
        ));
        return findings;
    };
    let Some(list) = streams.as_array() else {
        findings.push(Finding::new(
            "streams-shape",
            format!("`eventStreams` is {}, not an array", kind_of(streams)),
        ));
        return findings;
    };
    findings.push(Finding::new(
        "streams-optional",
        format!(
            "{} event stream(s) advertised: clients are notified of changes",
            list.len()
        ),
    ));
    for (index, entry) in list.iter().enumerate() {
        findings.extend(entry_checks(index, entry));
    }
    findings
}

/// streams-legacy-sse: a draft-era `sse` field instead of `eventStreams`.
fn legacy_sse(body: &Document) -> Vec<Finding> {
    if body.get("sse").is_some() && body.get("eventStreams").is_none() {
        return vec![Finding::new(
            "streams-legacy-sse",
            "the answer has a draft-era `sse` field; ADR-0008 names it `eventStreams`, which clients look for",
        )];
    }
    vec![]
}

/// Every shape rule for one entry.
pub fn entry_checks(index: usize, entry: &Value) -> Vec<Finding> {
    let label = format!("eventStreams[{index}]");
    let Some(object) = entry.as_object() else {
        return vec![Finding::new(
            "streams-shape",
            format!("{label} is {}, not an object", kind_of(entry)),
        )];
    };
    let mut findings = Vec::new();
    match object.get("type") {
        Some(Value::String(kind)) if !KNOWN_TYPES.contains(&kind.as_str()) => {
            findings.push(Finding::new(
                "streams-unknown-type",
                format!("{label} has type `{kind}`, which clients ignore"),
            ))
        }
        Some(Value::String(_)) => {}
        Some(other) => findings.push(Finding::new(
            "streams-shape",
            format!("{label}: `type` is {}, not a string", kind_of(other)),
        )),
        None => findings.push(Finding::new(
            "streams-shape",
            format!("{label} has no `type`"),
        )),
    }
    match (object.get("url"), object.get("endpoint")) {
        (Some(_), Some(_)) => findings.push(Finding::new(
            "streams-one-of",
            format!("{label} has both `url` and `endpoint`"),
        )),
        (None, None) => findings.push(Finding::new(
            "streams-one-of",
            format!("{label} has neither `url` nor `endpoint`"),
        )),
        (Some(url), None) => findings.extend(url_check(&label, url)),
        (None, Some(endpoint)) => findings.extend(endpoint_check(&label, endpoint)),
    }
    if let Some(delay) = object.get("inactivityDelaySec")
        && delay.as_u64().is_none_or(|n| n < 1)
    {
        findings.push(Finding::new(
            "streams-inactivity",
            format!("{label}: `inactivityDelaySec` is `{delay}`; it must be an integer ≥ 1"),
        ));
    }
    findings
}

/// streams-url: `url` is an absolute URI.
fn url_check(label: &str, url: &Value) -> Vec<Finding> {
    let problem = match url.as_str() {
        None => Some(format!("`url` is {}, not a string", kind_of(url))),
        Some(text) => match Url::parse(text) {
            Ok(_) => None,
            Err(e) => Some(format!("`url` is not an absolute URI ({e})")),
        },
    };
    problem
        .map(|p| vec![Finding::new("streams-url", format!("{label}: {p}"))])
        .unwrap_or_default()
}

/// streams-request-uri: `endpoint.requestUri` starts with `/`; `origin`, if present, is a
/// non-empty absolute origin.
fn endpoint_check(label: &str, endpoint: &Value) -> Vec<Finding> {
    let Some(object) = endpoint.as_object() else {
        return vec![Finding::new(
            "streams-request-uri",
            format!(
                "{label}: `endpoint` is {}, not an object",
                kind_of(endpoint)
            ),
        )];
    };
    let mut findings = Vec::new();
    match object.get("requestUri") {
        Some(Value::String(uri)) if uri.starts_with('/') => {}
        Some(Value::String(_)) => findings.push(Finding::new(
            "streams-request-uri",
            format!("{label}: `endpoint.requestUri` does not start with `/`"),
        )),
        Some(other) => findings.push(Finding::new(
            "streams-request-uri",
            format!(
                "{label}: `endpoint.requestUri` is {}, not a string",
                kind_of(other)
            ),
        )),
        None => findings.push(Finding::new(
            "streams-request-uri",
            format!("{label}: `endpoint.requestUri` is missing"),
        )),
    }
    if let Some(origin) = object.get("origin")
        && let Some(problem) = origin_problem(origin)
    {
        findings.push(Finding::new(
            "streams-request-uri",
            format!("{label}: `endpoint.origin` {problem}"),
        ));
    }
    findings
}

/// Why a value is not a usable absolute origin (scheme, host, optional port, nothing else).
fn origin_problem(origin: &Value) -> Option<String> {
    let Some(text) = origin.as_str() else {
        return Some(format!("is {}, not a string", kind_of(origin)));
    };
    if text.is_empty() {
        return Some("is empty".into());
    }
    match Url::parse(text) {
        Err(e) => Some(format!("is not an absolute URI ({e})")),
        Ok(url) if !url.has_host() => Some("has no host".into()),
        Ok(url) if url.path() != "/" || url.query().is_some() || url.fragment().is_some() => {
            Some("has a path, query or fragment; it must be scheme://host[:port]".into())
        }
        Ok(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::checks::test_support::*;
    use serde_json::json;

    fn check(entry: Value) -> Vec<&'static str> {
        ids(&entry_checks(0, &entry))
    }

    #[test]
    fn well_formed_entries_pass() {
        assert!(check(json!({"type": "sse", "url": "https://sse.example.com/s?t=1", "inactivityDelaySec": 120})).is_empty());
        assert!(check(json!({"type": "sse", "endpoint": {"requestUri": "/e"}})).is_empty());
        assert!(check(json!({"type": "sse", "endpoint": {"origin": "https://o.example:8443", "requestUri": "/e"}})).is_empty());
    }

    #[test]
    fn shape_wants_objects_with_a_string_type() {
        assert_eq!(check(json!("sse")), ["streams-shape"]);
        assert_eq!(check(json!({"url": "https://a/"})), ["streams-shape"]);
        assert_eq!(
            check(json!({"type": 1, "url": "https://a/"})),
            ["streams-shape"]
        );
        let a = bulk(200, &[JSON], r#"{"flags":[],"eventStreams":{}}"#);
        assert!(ids(&all(&a)).contains(&"streams-shape"));
    }

    #[test]
    fn exactly_one_of_url_and_endpoint() {
        assert_eq!(check(json!({"type": "sse"})), ["streams-one-of"]);
        assert_eq!(
            check(json!({"type": "sse", "url": "https://a/", "endpoint": {"requestUri": "/"}})),
            ["streams-one-of"]
        );
    }

    #[test]
    fn urls_are_absolute() {
        assert_eq!(
            check(json!({"type": "sse", "url": "/relative"})),
            ["streams-url"]
        );
        assert_eq!(check(json!({"type": "sse", "url": 5})), ["streams-url"]);
    }

    #[test]
    fn request_uris_start_with_a_slash_and_origins_are_origins() {
        assert_eq!(
            check(json!({"type": "sse", "endpoint": {"requestUri": "e"}})),
            ["streams-request-uri"]
        );
        assert_eq!(
            check(json!({"type": "sse", "endpoint": {}})),
            ["streams-request-uri"]
        );
        assert_eq!(
            check(json!({"type": "sse", "endpoint": {"origin": "", "requestUri": "/e"}})),
            ["streams-request-uri"]
        );
        assert_eq!(
            check(
                json!({"type": "sse", "endpoint": {"origin": "https://o/x", "requestUri": "/e"}})
            ),
            ["streams-request-uri"]
        );
        assert_eq!(
            check(json!({"type": "sse", "endpoint": "/e"})),
            ["streams-request-uri"]
        );
    }

    #[test]
    fn inactivity_is_an_integer_of_at_least_one() {
        for bad in [json!(0), json!(-5), json!(1.5), json!("120")] {
            assert_eq!(
                check(json!({"type": "sse", "url": "https://a/", "inactivityDelaySec": bad})),
                ["streams-inactivity"]
            );
        }
    }

    #[test]
    fn unknown_types_are_information() {
        assert_eq!(
            check(json!({"type": "websocket", "url": "wss://a/"})),
            ["streams-unknown-type"]
        );
    }

    #[test]
    fn a_draft_sse_field_is_reported() {
        let a = bulk(200, &[JSON], r#"{"flags":[],"sse":{"url":"https://a/"}}"#);
        assert_eq!(ids(&all(&a)), ["streams-legacy-sse", "streams-optional"]);
    }

    #[test]
    fn messages_never_quote_a_query_string() {
        let findings = entry_checks(0, &json!({"type": "sse", "url": "not a url?token=sekrit"}));
        assert!(
            findings.iter().all(|f| !f.message.contains("sekrit")),
            "{findings:?}"
        );
    }
}
