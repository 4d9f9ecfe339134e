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
        Some(Json::of(&json!("TARGETING_MATCH")))
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
fn applying_the_changes_gives_the_new_set() {
    let before = set(json!([{"key": "gone", "value": 1}, {"key": "moved", "value": "a"}]));
    let after = set(json!([{"key": "moved", "value": "b"}, {"key": "fresh", "value": 2}]));
    let mut kept = before.clone();
    apply(&mut kept, &diff(&before, &after));
    assert_eq!(kept, after);
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
fn parse_bulk_reads_what_a_diff_needs_and_keeps_the_flags_as_received() {
    let body = br#"{"flags":[{"key":"a","value":{"x":1},"variant":"v","reason":"STATIC","metadata":{"big":"ignored"}},
            {"key":"b","errorCode":"GENERAL","errorDetails":"boom"},{"value":1},7,{"key":3}],
            "eventStreams":[{"type":"sse","url":"https://s/"}],"metadata":{"v":1}}"#;
    let answer = parse_bulk(body).unwrap();
    let flags_json = std::str::from_utf8(&body[answer.flags_span.clone()]).unwrap();
    assert!(
        flags_json.starts_with("[{\"key\":\"a\"") && flags_json.ends_with("{\"key\":3}]"),
        "{flags_json}"
    );
    assert_eq!(answer.flags.len(), 2);
    assert_eq!(
        answer.flags["a"],
        FlagState::of(&json!({"value": {"x": 1}, "variant": "v", "reason": "STATIC"}))
    );
    assert_eq!(
        answer.flags["b"].error_code,
        Some(Json::of(&json!("GENERAL")))
    );
    assert!(flags_json.contains("\"big\":\"ignored\""), "as received");
    assert_eq!(answer.event_streams.unwrap()[0]["type"], "sse");
}

#[test]
fn parse_bulk_says_why_an_answer_is_unusable() {
    assert!(
        parse_bulk(b"<html>")
            .unwrap_err()
            .to_string()
            .contains("not a JSON object")
    );
    assert!(
        parse_bulk(b"{}")
            .unwrap_err()
            .to_string()
            .contains("no `flags`")
    );
    assert!(
        parse_bulk(br#"{"flags":{}}"#)
            .unwrap_err()
            .to_string()
            .contains("expected a `flags` array")
    );
    assert!(
        parse_flags(br#"{"flags":{}}"#)
            .unwrap_err()
            .to_string()
            .contains("expected a `flags` array")
    );
    assert!(
        parse_flags(b"{}")
            .unwrap_err()
            .to_string()
            .contains("no `flags`")
    );
    let only = parse_flags(
        br#"{"metadata":{},"flags":[{"key":"a","value":1},"junk",{"key":"b","value":null}]}"#,
    )
    .unwrap();
    assert_eq!(only.len(), 2);
    assert_eq!(only["b"].value, None, "null is no value");
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
