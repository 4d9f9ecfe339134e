//! Checks on one evaluation object, shared by the single-flag answer and every bulk item:
//! single-value-type, reason-known, metadata-values.

use serde_json::Value;

use crate::protocol::context::kind_of;
use crate::protocol::finding::Finding;

/// The reasons OpenFeature defines. The OpenAPI enum is narrower, so an unknown one only warns.
pub const KNOWN_REASONS: &[&str] = &[
    "STATIC",
    "TARGETING_MATCH",
    "SPLIT",
    "DISABLED",
    "UNKNOWN",
    "DEFAULT",
    "CACHED",
    "ERROR",
];

/// All three checks on a successful evaluation; `label` names it in messages.
pub fn all(evaluation: &Value, label: &str) -> Vec<Finding> {
    let mut findings = value_type(evaluation, label);
    findings.extend(reason_known(evaluation, label));
    findings.extend(metadata_values(evaluation.get("metadata"), label));
    findings
}

/// single-value-type: `value` is boolean, string, number or object, or absent (code default);
/// never null or an array.
pub fn value_type(evaluation: &Value, label: &str) -> Vec<Finding> {
    match evaluation.get("value") {
        Some(v @ (Value::Null | Value::Array(_))) => vec![Finding::new(
            "single-value-type",
            format!(
                "{label}: `value` is {}; it must be a boolean, string, number or object, or absent",
                kind_of(v)
            ),
        )],
        _ => vec![],
    }
}

/// reason-known: `reason` is one of OpenFeature's reasons.
pub fn reason_known(evaluation: &Value, label: &str) -> Vec<Finding> {
    match evaluation.get("reason").and_then(Value::as_str) {
        Some(reason) if !KNOWN_REASONS.contains(&reason) => vec![Finding::new(
            "reason-known",
            format!(
                "{label}: reason `{reason}` is not one of {}",
                KNOWN_REASONS.join(", ")
            ),
        )],
        _ => vec![],
    }
}

/// metadata-values: `metadata`, if present, is an object whose values are booleans, strings or
/// numbers.
pub fn metadata_values(metadata: Option<&Value>, label: &str) -> Vec<Finding> {
    let Some(metadata) = metadata else {
        return vec![];
    };
    let Some(object) = metadata.as_object() else {
        return vec![Finding::new(
            "metadata-values",
            format!(
                "{label}: `metadata` is {}, not an object",
                kind_of(metadata)
            ),
        )];
    };
    object
        .iter()
        .filter(|(_, v)| !(v.is_boolean() || v.is_string() || v.is_number()))
        .map(|(k, v)| {
            Finding::new(
                "metadata-values",
                format!(
                    "{label}: metadata `{k}` is {}; only booleans, strings and numbers are allowed",
                    kind_of(v)
                ),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ids(findings: &[Finding]) -> Vec<&'static str> {
        findings.iter().map(|f| f.id).collect()
    }

    #[test]
    fn values_may_be_scalars_objects_or_absent() {
        for ok in [
            json!({"value": true}),
            json!({"value": "s"}),
            json!({"value": 1.5}),
            json!({"value": {}}),
            json!({}),
        ] {
            assert!(value_type(&ok, "x").is_empty(), "{ok}");
        }
        assert_eq!(
            ids(&value_type(&json!({"value": null}), "x")),
            ["single-value-type"]
        );
        assert_eq!(
            ids(&value_type(&json!({"value": [1]}), "x")),
            ["single-value-type"]
        );
    }

    #[test]
    fn unknown_reasons_warn() {
        assert!(reason_known(&json!({"reason": "DEFAULT"}), "x").is_empty());
        let findings = reason_known(&json!({"reason": "MAGIC"}), "x");
        assert_eq!(ids(&findings), ["reason-known"]);
        assert_eq!(findings[0].level, crate::protocol::finding::Level::Should);
    }

    #[test]
    fn metadata_holds_only_scalars() {
        assert!(metadata_values(Some(&json!({"a": 1, "b": "x", "c": false})), "x").is_empty());
        assert!(metadata_values(None, "x").is_empty());
        assert_eq!(
            metadata_values(Some(&json!({"a": null, "b": [1], "c": {}})), "x").len(),
            3
        );
        assert_eq!(
            ids(&metadata_values(Some(&json!([])), "x")),
            ["metadata-values"]
        );
    }
}
