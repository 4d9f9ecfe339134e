//! Checks on the single-flag endpoint: single-shape, single-not-found, single-400-shape.

use serde_json::Value;

use crate::protocol::answer::Answer;
use crate::protocol::document::Document;
use crate::protocol::finding::Finding;

/// The error codes a single-flag 400 may carry.
const SINGLE_400_CODES: &[&str] = &[
    "PARSE_ERROR",
    "TARGETING_KEY_MISSING",
    "INVALID_CONTEXT",
    "GENERAL",
];

/// single-shape: a 200 has a string `key` and a string `reason`; `variant`, if present, a string.
pub fn shape(answer: &Answer) -> Vec<Finding> {
    if answer.status != 200 {
        return vec![];
    }
    let Some(body) = answer.body.json().map(Document::tree) else {
        return vec![];
    };
    if !body.is_object() {
        return vec![Finding::new(
            "single-shape",
            "200 body is not a JSON object",
        )];
    }
    let mut findings = Vec::new();
    for field in ["key", "reason"] {
        if !body.get(field).is_some_and(Value::is_string) {
            findings.push(Finding::new(
                "single-shape",
                format!("200 body has no string `{field}`"),
            ));
        }
    }
    if body.get("variant").is_some_and(|v| !v.is_string()) {
        findings.push(Finding::new(
            "single-shape",
            "`variant` is present but not a string",
        ));
    }
    findings
}

/// single-not-found: an unknown key gives 404 with `key` and `errorCode: FLAG_NOT_FOUND`.
pub fn not_found(answer: &Answer) -> Vec<Finding> {
    error_shape(answer, 404, "single-not-found", &["FLAG_NOT_FOUND"])
}

/// single-400-shape: a 400 has `key` and an `errorCode` from the OpenAPI enum.
pub fn error_400_shape(answer: &Answer) -> Vec<Finding> {
    error_shape(answer, 400, "single-400-shape", SINGLE_400_CODES)
}

/// The rule both single-flag error answers share: a string `key`, and an `errorCode` from
/// `allowed`.
fn error_shape(answer: &Answer, status: u16, id: &'static str, allowed: &[&str]) -> Vec<Finding> {
    if answer.status != status {
        return vec![];
    }
    let Some(body) = answer.body.json().map(Document::tree) else {
        return vec![];
    };
    let mut findings = Vec::new();
    if !body.get("key").is_some_and(Value::is_string) {
        findings.push(Finding::new(
            id,
            format!("{status} body has no string `key`"),
        ));
    }
    match body.get("errorCode").and_then(Value::as_str) {
        Some(code) if allowed.contains(&code) => {}
        Some(code) => findings.push(Finding::new(
            id,
            format!(
                "{status} errorCode `{code}` is not {}",
                allowed.join(" or ")
            ),
        )),
        None => findings.push(Finding::new(
            id,
            format!("{status} body has no string `errorCode`"),
        )),
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::checks::test_support::*;

    #[test]
    fn a_success_has_key_and_reason() {
        assert!(
            shape(&single(
                200,
                &[JSON],
                r#"{"key":"k","reason":"STATIC","variant":"on","value":true}"#
            ))
            .is_empty()
        );
        assert_eq!(
            ids(&shape(&single(200, &[JSON], r#"{"key":"k"}"#))),
            ["single-shape"]
        );
        assert_eq!(
            ids(&shape(&single(
                200,
                &[JSON],
                r#"{"reason":"STATIC","variant":1}"#
            )))
            .len(),
            2
        );
        assert_eq!(ids(&shape(&single(200, &[JSON], "[]"))), ["single-shape"]);
        assert!(shape(&single(404, &[JSON], "{}")).is_empty());
    }

    #[test]
    fn not_found_names_the_key_and_flag_not_found() {
        assert!(
            not_found(&single(
                404,
                &[JSON],
                r#"{"key":"k","errorCode":"FLAG_NOT_FOUND"}"#
            ))
            .is_empty()
        );
        assert_eq!(
            ids(&not_found(&single(
                404,
                &[JSON],
                r#"{"key":"k","errorCode":"GENERAL"}"#
            ))),
            ["single-not-found"]
        );
        assert_eq!(not_found(&single(404, &[JSON], "{}")).len(), 2);
    }

    #[test]
    fn a_400_has_key_and_a_known_error_code() {
        assert!(
            error_400_shape(&single(
                400,
                &[JSON],
                r#"{"key":"k","errorCode":"INVALID_CONTEXT"}"#
            ))
            .is_empty()
        );
        assert_eq!(
            ids(&error_400_shape(&single(
                400,
                &[JSON],
                r#"{"key":"k","errorCode":"NOPE"}"#
            ))),
            ["single-400-shape"]
        );
        assert_eq!(
            ids(&error_400_shape(&single(
                400,
                &[JSON],
                r#"{"errorCode":"GENERAL"}"#
            ))),
            ["single-400-shape"]
        );
    }
}
