//! Checks on the bulk endpoint: its shape, its errors, and its ETag/304 behaviour as one answer
//! shows it.

use serde_json::Value;

use super::evaluation;
use crate::protocol::answer::Answer;
use crate::protocol::document::Document;
use crate::protocol::etag::EtagVerdict;
use crate::protocol::finding::Finding;

/// bulk-shape: a 200 is an object with a `flags` array; each item has a string `key` and either
/// a `reason` (success) or an `errorCode` (failure).
pub fn shape(answer: &Answer) -> Vec<Finding> {
    if answer.status != 200 {
        return vec![];
    }
    let Some(body) = answer.body.json() else {
        return vec![];
    };
    if !body.is_object() {
        return vec![Finding::new("bulk-shape", "200 body is not a JSON object")];
    }
    let Some(items) = body.flags() else {
        return match body.get("flags") {
            None => vec![Finding::new("bulk-shape", "200 body has no `flags` array")],
            Some(_) => vec![Finding::new("bulk-shape", "`flags` is not an array")],
        };
    };
    let mut findings = Vec::new();
    for (index, item) in items.enumerate() {
        let label = item_label(index, &item);
        if !item.is_object() {
            findings.push(Finding::new(
                "bulk-shape",
                format!("{label} is not an object"),
            ));
            continue;
        }
        if !item.get("key").is_some_and(Value::is_string) {
            findings.push(Finding::new(
                "bulk-shape",
                format!("{label} has no string `key`"),
            ));
        }
        match (item.get("reason"), item.get("errorCode")) {
            (None, None) => findings.push(Finding::new(
                "bulk-shape",
                format!("{label} has neither `reason` (success) nor `errorCode` (failure)"),
            )),
            (Some(reason), _) if !reason.is_string() => findings.push(Finding::new(
                "bulk-shape",
                format!("{label}: `reason` is not a string"),
            )),
            (_, Some(code)) if !code.is_string() => findings.push(Finding::new(
                "bulk-shape",
                format!("{label}: `errorCode` is not a string"),
            )),
            _ => {}
        }
    }
    findings
}

/// `flags[2] (`beta`)`: how messages name an item.
pub fn item_label(index: usize, item: &Value) -> String {
    match item.get("key").and_then(Value::as_str) {
        Some(key) => format!("flags[{index}] (`{key}`)"),
        None => format!("flags[{index}]"),
    }
}

/// single-value-type, reason-known and metadata-values on every bulk item.
pub fn items_evaluations(answer: &Answer) -> Vec<Finding> {
    if answer.status != 200 {
        return vec![];
    }
    let Some(items) = answer.body.json().and_then(Document::flags) else {
        return vec![];
    };
    let mut findings = Vec::new();
    for (index, item) in items.enumerate().filter(|(_, item)| item.is_object()) {
        let label = item_label(index, &item);
        if item.get("errorCode").is_some() && item.get("reason").is_none() {
            findings.extend(evaluation::metadata_values(item.get("metadata"), &label));
        } else {
            findings.extend(evaluation::all(&item, &label));
        }
    }
    findings
}

/// metadata-values on the flag set's own `metadata`.
pub fn metadata_values(answer: &Answer) -> Vec<Finding> {
    if answer.status != 200 {
        return vec![];
    }
    let metadata = answer.body.json().and_then(|b| b.get("metadata"));
    evaluation::metadata_values(metadata.as_deref(), "the flag set")
}

/// bulk-400-shape: a whole-request 400 has a string `errorCode`.
pub fn error_400_shape(answer: &Answer) -> Vec<Finding> {
    if answer.status != 400 {
        return vec![];
    }
    let Some(body) = answer.body.json() else {
        return vec![];
    };
    if body.get("errorCode").is_some_and(|code| code.is_string()) {
        return vec![];
    }
    vec![Finding::new(
        "bulk-400-shape",
        "400 body has no string `errorCode`",
    )]
}

/// bulk-etag-present: a 200 carries an ETag, or clients can never get a 304.
pub fn etag_present(answer: &Answer) -> Vec<Finding> {
    if answer.status == 200 && answer.etag().is_none() {
        return vec![Finding::new(
            "bulk-etag-present",
            "200 without an ETag: polling clients re-download every flag every time",
        )];
    }
    vec![]
}

/// bulk-etag-syntax: the ETag is `"opaque"` or `W/"opaque"`.
pub fn etag_syntax(answer: &Answer) -> Vec<Finding> {
    let Some(etag) = answer.etag() else {
        return vec![];
    };
    if !matches!(answer.status, 200 | 304) || EtagVerdict::of(Some(etag)) != EtagVerdict::Invalid {
        return vec![];
    }
    vec![Finding::new(
        "bulk-etag-syntax",
        format!(
            "ETag `{etag}` is not an RFC 9110 entity-tag; quote it: `\"{}\"`",
            etag.trim_matches('"')
        ),
    )]
}

/// bulk-304-no-body: a 304 has no body.
pub fn no_body_on_304(answer: &Answer) -> Vec<Finding> {
    if answer.status != 304 {
        return vec![];
    }
    body_evidence(answer)
        .map(|e| vec![Finding::new("bulk-304-no-body", e)])
        .unwrap_or_default()
}

/// Why an answer has (or announces) a body, or `None` when it has none. HTTP clients drop the
/// bytes of a 304 body, so what can be seen is a body that arrived anyway or one the headers
/// announce (chunked, or a length > 0 together with a content type).
pub fn body_evidence(answer: &Answer) -> Option<String> {
    let announced_length = answer
        .header("content-length")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|&n| n > 0 && answer.header("content-type").is_some());
    let chunked = answer
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    if answer.body.is_present() {
        Some(format!("a body arrived with the {}", answer.status))
    } else if chunked {
        Some(format!(
            "the {} is sent with Transfer-Encoding: chunked",
            answer.status
        ))
    } else {
        announced_length.map(|n| {
            format!(
                "the {} announces a {n}-byte body with a Content-Type",
                answer.status
            )
        })
    }
}

/// bulk-304-etag: a 304 repeats the ETag (RFC 9110 §15.4.5).
pub fn etag_on_304(answer: &Answer) -> Vec<Finding> {
    if answer.status == 304 && answer.etag().is_none() {
        return vec![Finding::new("bulk-304-etag", "304 without an ETag header")];
    }
    vec![]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::checks::test_support::*;

    const GOOD: &str = r#"{"flags":[{"key":"a","value":true,"reason":"STATIC","variant":"on"},
        {"key":"b","errorCode":"FLAG_NOT_FOUND"}],"metadata":{"version":"v1"}}"#;

    #[test]
    fn a_good_answer_passes_every_bulk_check() {
        let a = bulk(200, &[JSON, ("etag", "\"v1\"")], GOOD);
        let findings = crate::protocol::checks::all(&a);
        assert_eq!(ids(&findings), ["streams-optional"], "{findings:?}");
    }

    #[test]
    fn shape_wants_a_flags_array_of_keyed_items() {
        assert_eq!(ids(&shape(&bulk(200, &[JSON], "[]"))), ["bulk-shape"]);
        assert_eq!(ids(&shape(&bulk(200, &[JSON], "{}"))), ["bulk-shape"]);
        assert_eq!(
            ids(&shape(&bulk(200, &[JSON], r#"{"flags":{}}"#))),
            ["bulk-shape"]
        );
        assert_eq!(
            ids(&shape(&bulk(200, &[JSON], r#"{"flags":[{"key":"a"}]}"#))),
            ["bulk-shape"]
        );
        assert_eq!(
            ids(&shape(&bulk(
                200,
                &[JSON],
                r#"{"flags":[{"reason":"STATIC"}]}"#
            ))),
            ["bulk-shape"]
        );
        assert_eq!(
            ids(&shape(&bulk(200, &[JSON], r#"{"flags":[1]}"#))),
            ["bulk-shape"]
        );
        assert!(shape(&bulk(200, &[JSON], r#"{"flags":[]}"#)).is_empty());
    }

    #[test]
    fn items_are_graded_like_single_answers() {
        let a = bulk(
            200,
            &[JSON],
            r#"{"flags":[{"key":"a","value":null,"reason":"NEW","metadata":{"x":[]}}]}"#,
        );
        assert_eq!(
            ids(&items_evaluations(&a)),
            ["single-value-type", "reason-known", "metadata-values"]
        );
        let b = bulk(200, &[JSON], r#"{"flags":[],"metadata":{"x":null}}"#);
        assert_eq!(ids(&metadata_values(&b)), ["metadata-values"]);
    }

    #[test]
    fn a_400_needs_an_error_code() {
        assert!(
            error_400_shape(&bulk(400, &[JSON], r#"{"errorCode":"INVALID_CONTEXT"}"#)).is_empty()
        );
        assert_eq!(
            ids(&error_400_shape(&bulk(
                400,
                &[JSON],
                r#"{"errorDetails":"x"}"#
            ))),
            ["bulk-400-shape"]
        );
    }

    #[test]
    fn etags_should_be_present_and_quoted() {
        assert_eq!(
            ids(&etag_present(&bulk(200, &[JSON], GOOD))),
            ["bulk-etag-present"]
        );
        assert!(etag_present(&bulk(304, &[], "")).is_empty());
        assert_eq!(
            ids(&etag_syntax(&bulk(200, &[("etag", "abc")], GOOD))),
            ["bulk-etag-syntax"]
        );
        assert!(etag_syntax(&bulk(200, &[("etag", "W/\"abc\"")], GOOD)).is_empty());
        assert_eq!(
            ids(&etag_syntax(&bulk(304, &[("etag", "abc")], ""))),
            ["bulk-etag-syntax"]
        );
    }

    #[test]
    fn a_304_has_no_body_and_repeats_the_etag() {
        assert!(no_body_on_304(&bulk(304, &[("etag", "\"a\"")], "")).is_empty());
        assert!(no_body_on_304(&bulk(304, &[("content-length", "0")], "")).is_empty());
        assert_eq!(
            ids(&no_body_on_304(&bulk(304, &[], "{}"))),
            ["bulk-304-no-body"]
        );
        assert_eq!(
            ids(&no_body_on_304(&bulk(
                304,
                &[("transfer-encoding", "chunked")],
                ""
            ))),
            ["bulk-304-no-body"]
        );
        assert_eq!(
            ids(&no_body_on_304(&bulk(
                304,
                &[("content-length", "12"), JSON],
                ""
            ))),
            ["bulk-304-no-body"]
        );
        assert_eq!(ids(&etag_on_304(&bulk(304, &[], ""))), ["bulk-304-etag"]);
        assert!(etag_on_304(&bulk(304, &[("etag", "\"a\"")], "")).is_empty());
    }
}
