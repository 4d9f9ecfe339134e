//! `fetch -o json`: one document (its shape is `schemas/fetch.schema.json`), written as it is
//! serialised.

use std::borrow::Cow;

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::{FetchReport, NOTABLE_HEADERS};
use crate::protocol::answer::{Body, Endpoint};
use crate::protocol::document::{Document, ItemsOut};
use crate::protocol::etag::EtagVerdict;
use crate::protocol::event_streams::EventStream;
use crate::protocol::finding::Finding;
use crate::redact::Redactor;

/// The JSON document. Shapes only ever gain fields. Written as it is serialised: a large
/// answer's flags are never held as one tree.
pub fn json<'a>(report: &'a FetchReport, redactor: &Redactor) -> impl Serialize + 'a {
    let exchange = &report.exchange;
    let answer = &exchange.answer;
    let body = report.body();
    let (endpoint, flag) = match &answer.endpoint {
        Endpoint::Bulk => ("bulk", None),
        Endpoint::Single { key } => ("single", Some(key.as_str())),
    };
    let request_headers: Map<String, Value> = exchange
        .request_headers
        .iter()
        .map(|(n, v)| (n.clone(), Value::String(redactor.header(n, v).into_owned())))
        .collect();
    let headers: Map<String, Value> = answer
        .headers
        .iter()
        .filter(|(n, _)| NOTABLE_HEADERS.contains(&n.as_str()))
        .map(|(n, v)| (n.clone(), Value::String(redactor.header(n, v).into_owned())))
        .collect();
    let flags = match (&answer.endpoint, answer.status, body) {
        (Endpoint::Bulk, 200, Some(b)) => match b.flags() {
            Some(items) => Flags::Items(ItemsOut(items)),
            None => Flags::Value(b.get("flags").map(Cow::into_owned).unwrap_or(Value::Null)),
        },
        (Endpoint::Single { .. }, 200, Some(b)) => Flags::One([b]),
        _ => Flags::Value(Value::Null),
    };
    let event_streams = match body.and_then(|b| b.get("eventStreams")).as_deref() {
        Some(Value::Array(list)) => Value::Array(
            list.iter()
                .enumerate()
                .map(|(index, entry)| stream_json(entry, report.streams.get(index), redactor))
                .collect(),
        ),
        Some(other) => other.clone(),
        None => Value::Null,
    };
    let metadata = match (answer.status, body) {
        (200, Some(b)) => b
            .get("metadata")
            .map(Cow::into_owned)
            .unwrap_or(Value::Null),
        _ => Value::Null,
    };
    let error = match (answer.status, body) {
        (200 | 304, _) | (_, None) => None,
        (_, Some(b)) => Some(b),
    };
    FetchJson {
        url: redactor.url(exchange.url.as_str()).into_owned(),
        request: RequestJson {
            method: &exchange.method,
            endpoint,
            flag,
            context: &report.context,
            headers: request_headers,
        },
        status: answer.status,
        reason: exchange.reason,
        elapsed_ms: crate::units::millis(exchange.elapsed),
        etag: answer.etag(),
        etag_verdict: etag_verdict_id(EtagVerdict::of(answer.etag())),
        headers,
        body: body_json(&answer.body),
        flags,
        event_streams,
        metadata,
        error,
        findings: &report.findings,
        passed: report.passed(),
        redirected_to: exchange
            .redirected_to
            .as_ref()
            .map(|to| redactor.url(to.as_str()).into_owned()),
    }
}

/// The fields in the order they have always been written.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FetchJson<'a> {
    url: String,
    request: RequestJson<'a>,
    status: u16,
    reason: &'a str,
    elapsed_ms: f64,
    etag: Option<&'a str>,
    etag_verdict: &'static str,
    headers: Map<String, Value>,
    body: Value,
    flags: Flags<'a>,
    event_streams: Value,
    metadata: Value,
    error: Option<&'a Document>,
    findings: &'a [Finding],
    passed: bool,
    /// Only when `-L` followed a redirect: normal documents keep their bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    redirected_to: Option<String>,
}

#[derive(Serialize)]
struct RequestJson<'a> {
    method: &'a str,
    endpoint: &'static str,
    flag: Option<&'a str>,
    context: &'a Map<String, Value>,
    headers: Map<String, Value>,
}

/// `flags`: the bulk items as received, the single answer as a list of one, or what was there.
#[derive(Serialize)]
#[serde(untagged)]
enum Flags<'a> {
    Items(ItemsOut<'a>),
    One([&'a Document; 1]),
    Value(Value),
}

fn etag_verdict_id(verdict: EtagVerdict) -> &'static str {
    match verdict {
        EtagVerdict::Strong => "strong",
        EtagVerdict::Weak => "weak",
        EtagVerdict::Invalid => "invalid",
        EtagVerdict::Missing => "missing",
    }
}

fn body_json(body: &Body) -> Value {
    let kind = match body {
        Body::Empty => "empty",
        Body::Json(_) => "json",
        Body::NotJson { .. } => "notJson",
        Body::NotUtf8 { .. } => "notUtf8",
        Body::Truncated { .. } => "truncated",
    };
    json!({ "kind": kind, "problem": body.problem().filter(|_| !matches!(body, Body::Empty)) })
}

/// One `eventStreams` entry as received, its URL fields redacted, plus `resolvedUrl`.
fn stream_json(entry: &Value, resolved: Option<&EventStream>, redactor: &Redactor) -> Value {
    let mut entry = entry.clone();
    if let Some(object) = entry.as_object_mut() {
        redact_string_field(object, "url", redactor);
        if let Some(endpoint) = object.get_mut("endpoint").and_then(Value::as_object_mut) {
            redact_string_field(endpoint, "requestUri", redactor);
            redact_string_field(endpoint, "origin", redactor);
        }
        let resolved_url = resolved
            .and_then(|s| s.resolved.as_ref().ok())
            .map(|url| Value::String(redactor.url(url.as_str()).into_owned()))
            .unwrap_or(Value::Null);
        object.insert("resolvedUrl".to_owned(), resolved_url);
    }
    entry
}

fn redact_string_field(object: &mut Map<String, Value>, field: &str, redactor: &Redactor) {
    if let Some(Value::String(text)) = object.get_mut(field) {
        *text = redactor.url(text).into_owned();
    }
}
