//! The difference between two bulk answers, flag by flag (pure).
//!
//! A flag changed when its value, variant, reason or error changed. Object values are also
//! compared member by member so a person sees which member moved.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

/// The parts of one flag's evaluation that `watch` reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlagState {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<Value>,
    #[serde(rename = "errorCode", skip_serializing_if = "Option::is_none")]
    pub error_code: Option<Value>,
    #[serde(rename = "errorDetails", skip_serializing_if = "Option::is_none")]
    pub error_details: Option<Value>,
}

impl FlagState {
    pub fn of(item: &Value) -> Self {
        let field = |name: &str| item.get(name).cloned();
        Self {
            value: field("value"),
            variant: field("variant"),
            reason: field("reason"),
            error_code: field("errorCode"),
            error_details: field("errorDetails"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    Added,
    Removed,
    Changed,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlagChange {
    pub key: String,
    pub kind: ChangeKind,
    pub before: Option<FlagState>,
    pub after: Option<FlagState>,
}

/// A flag set keyed by flag key. Items without a string key cannot be followed and are skipped.
pub type FlagSet = BTreeMap<String, FlagState>;

/// Reads the `flags` array of a bulk answer into a keyed set.
pub fn flag_set(flags: &[Value]) -> FlagSet {
    flags
        .iter()
        .filter_map(|item| Some((item.get("key")?.as_str()?.to_owned(), FlagState::of(item))))
        .collect()
}

/// Every flag that was added, removed or changed, sorted by key.
pub fn diff(before: &FlagSet, after: &FlagSet) -> Vec<FlagChange> {
    let mut changes = Vec::new();
    for (key, old) in before {
        match after.get(key) {
            None => changes.push(FlagChange {
                key: key.clone(),
                kind: ChangeKind::Removed,
                before: Some(old.clone()),
                after: None,
            }),
            Some(new) if new != old => changes.push(FlagChange {
                key: key.clone(),
                kind: ChangeKind::Changed,
                before: Some(old.clone()),
                after: Some(new.clone()),
            }),
            Some(_) => {}
        }
    }
    for (key, new) in after {
        if !before.contains_key(key) {
            changes.push(FlagChange {
                key: key.clone(),
                kind: ChangeKind::Added,
                before: None,
                after: Some(new.clone()),
            });
        }
    }
    changes.sort_by(|a, b| a.key.cmp(&b.key));
    changes
}

/// One member of an object value that differs: its dotted path, old and new (absent = `None`).
#[derive(Debug, Clone, PartialEq)]
pub struct MemberChange {
    pub path: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// Member-by-member differences of two object values, recursing into nested objects. Returns
/// nothing unless both are objects.
pub fn member_changes(before: &Value, after: &Value) -> Vec<MemberChange> {
    let mut out = Vec::new();
    if let (Value::Object(a), Value::Object(b)) = (before, after) {
        walk("", a, b, &mut out);
    }
    out
}

fn walk(
    prefix: &str,
    before: &Map<String, Value>,
    after: &Map<String, Value>,
    out: &mut Vec<MemberChange>,
) {
    let mut keys: Vec<&String> = before.keys().chain(after.keys()).collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match (before.get(key), after.get(key)) {
            (Some(Value::Object(a)), Some(Value::Object(b))) => walk(&path, a, b, out),
            (a, b) if a != b => out.push(MemberChange {
                path,
                before: a.cloned(),
                after: b.cloned(),
            }),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn set(flags: Value) -> FlagSet {
        flag_set(flags.as_array().unwrap())
    }

    #[test]
    fn identical_sets_have_no_changes() {
        let a = set(json!([{"key": "a", "value": 1, "reason": "STATIC"}]));
        assert!(diff(&a, &a.clone()).is_empty());
    }

    #[test]
    fn added_removed_and_changed_are_told_apart_and_sorted() {
        let before = set(json!([
            {"key": "gone", "value": true, "reason": "STATIC"},
            {"key": "same", "value": 1, "reason": "STATIC"},
            {"key": "moved", "value": "a", "variant": "a", "reason": "STATIC"},
        ]));
        let after = set(json!([
            {"key": "same", "value": 1, "reason": "STATIC"},
            {"key": "moved", "value": "b", "variant": "b", "reason": "TARGETING_MATCH"},
            {"key": "fresh", "value": 2, "reason": "STATIC"},
        ]));
        let changes = diff(&before, &after);
        let summary: Vec<(&str, ChangeKind)> =
            changes.iter().map(|c| (c.key.as_str(), c.kind)).collect();
        assert_eq!(
            summary,
            [
                ("fresh", ChangeKind::Added),
                ("gone", ChangeKind::Removed),
                ("moved", ChangeKind::Changed)
            ]
        );
        assert_eq!(
            changes[2].after.as_ref().unwrap().reason,
            Some(json!("TARGETING_MATCH"))
        );
    }

    #[test]
    fn a_change_of_only_the_reason_or_error_counts() {
        let before = set(json!([{"key": "a", "value": 1, "reason": "STATIC"}]));
        let reason = set(json!([{"key": "a", "value": 1, "reason": "DEFAULT"}]));
        let error = set(json!([{"key": "a", "errorCode": "GENERAL"}]));
        assert_eq!(diff(&before, &reason).len(), 1);
        assert_eq!(diff(&before, &error).len(), 1);
    }

    #[test]
    fn flag_metadata_alone_is_not_a_change() {
        let before = set(json!([{"key": "a", "value": 1, "metadata": {"v": 1}}]));
        let after = set(json!([{"key": "a", "value": 1, "metadata": {"v": 2}}]));
        assert!(diff(&before, &after).is_empty());
    }

    #[test]
    fn items_without_a_key_are_skipped() {
        assert_eq!(
            set(json!([{"value": 1}, {"key": 5}, {"key": "a"}])).len(),
            1
        );
    }

    #[test]
    fn objects_are_compared_member_by_member() {
        let before = json!({"accent": "#05f", "size": {"w": 1, "h": 2}, "old": true});
        let after = json!({"accent": "#f50", "size": {"w": 1, "h": 3}, "new": 1});
        let paths: Vec<String> = member_changes(&before, &after)
            .into_iter()
            .map(|m| m.path)
            .collect();
        assert_eq!(paths, ["accent", "new", "old", "size.h"]);
        assert!(member_changes(&json!(1), &json!({})).is_empty());
    }
}
