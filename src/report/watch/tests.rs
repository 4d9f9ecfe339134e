use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use super::*;
use crate::diff::FlagChange;
use crate::diff::{diff, flag_set};
use crate::redact::Redactor;
use crate::report::Palette;
use crate::watch::{ConnectionState, Trigger};

fn changes(before: Value, after: Value) -> Vec<FlagChange> {
    diff(
        &flag_set(before.as_array().unwrap()),
        &flag_set(after.as_array().unwrap()),
    )
}

#[test]
fn changed_values_show_old_and_new_with_variant_and_reason() {
    let c = changes(
        json!([{"key": "a", "value": false, "variant": "off", "reason": "STATIC"}]),
        json!([{"key": "a", "value": true, "variant": "on", "reason": "TARGETING_MATCH"}]),
    );
    let lines = change_lines(&c[0], &Palette::new(false));
    assert_eq!(
        lines,
        [
            "  ~ a: false → true  (variant \"off\" → \"on\", reason \"STATIC\" → \"TARGETING_MATCH\")"
        ]
    );
}

#[test]
fn objects_are_shown_member_by_member() {
    let c = changes(
        json!([{"key": "theme", "value": {"accent": "#05f", "bg": "#fff"}, "reason": "STATIC"}]),
        json!([{"key": "theme", "value": {"accent": "#f50", "bg": "#fff"}, "reason": "STATIC"}]),
    );
    assert_eq!(
        change_lines(&c[0], &Palette::new(false)),
        ["  ~ theme", "    ~ theme.accent: \"#05f\" → \"#f50\""]
    );
}

#[test]
fn added_and_removed_flags_say_so() {
    let c = changes(
        json!([{"key": "old", "value": 1}]),
        json!([{"key": "new", "errorCode": "GENERAL"}]),
    );
    let p = Palette::new(false);
    assert_eq!(change_lines(&c[0], &p), ["  + new: error \"GENERAL\""]);
    assert_eq!(change_lines(&c[1], &p), ["  - old (was 1)"]);
}

#[test]
fn json_change_lines_carry_trigger_etag_latency_and_changes() {
    let c = changes(
        json!([{"key": "a", "value": 1}]),
        json!([{"key": "a", "value": 2}]),
    );
    let event = WatchEvent::Change {
        trigger: Trigger::Sse {
            stream: 0,
            event_id: Some("7".into()),
            etag: None,
            last_modified: None,
        },
        etag: Some("\"e\"".into()),
        latency: Duration::from_micros(1500),
        changes: c,
    };
    let line = json_line(&event, SystemTime::UNIX_EPOCH, &Redactor::default(), false).unwrap();
    let value: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(value["type"], "change");
    assert_eq!(value["ts"], "1970-01-01T00:00:00.000Z");
    assert_eq!(value["trigger"], "sse");
    assert_eq!(value["eventId"], "7");
    assert_eq!(value["latencyMs"], 1.5);
    assert_eq!(
        value["changes"][0],
        json!({"key": "a", "kind": "changed", "before": {"value": 1}, "after": {"value": 2}})
    );
}

#[test]
fn stream_urls_are_redacted_in_both_modes() {
    let url = url::Url::parse("https://sse.example.com/s?token=sekrit").unwrap();
    let event = WatchEvent::Connection {
        stream: Some(0),
        url: Some(url),
        state: ConnectionState::Connected,
    };
    let r = Redactor::default();
    let p = Palette::new(false);
    let human_text = format!(
        "{:?}",
        human(&event, SystemTime::UNIX_EPOCH, &p, &p, &r, true)
    );
    assert!(!human_text.contains("sekrit"), "{human_text}");
    let json_text = json_line(&event, SystemTime::UNIX_EPOCH, &r, true).unwrap();
    assert!(!json_text.contains("sekrit"), "{json_text}");
}
