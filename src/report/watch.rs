//! How `ofrep watch` shows its work: a timestamped block per change on stdout and connection
//! states on stderr for people; one JSON object per line for programs (shapes in
//! `schemas/watch.schema.json`).

use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use super::{Palette, millis};
use crate::diff::{ChangeKind, FlagChange, member_changes};
use crate::protocol::etag::EtagVerdict;
use crate::redact::Redactor;
use crate::watch::{ConnectionState, StreamInfo, Trigger, WatchEvent};

/// Where a rendered line goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    Out(String),
    Err(String),
}

/// Human lines for one event. `verbose` adds events, comments and unchanged refetches.
pub fn human(
    event: &WatchEvent,
    at: SystemTime,
    p: &Palette,
    e: &Palette,
    r: &Redactor,
    verbose: bool,
) -> Vec<Line> {
    let time = clock(at);
    match event {
        WatchEvent::Snapshot {
            etag,
            flags,
            streams,
            polling,
            ..
        } => {
            let verdict = EtagVerdict::of(etag.as_deref());
            let etag = etag
                .as_deref()
                .map_or_else(|| "none".to_owned(), |t| format!("{t} ({verdict})"));
            let mut lines = vec![Line::Out(format!(
                "{} {} flags, etag {etag}",
                p.paint(p.dim, &time),
                p.paint(p.strong, flags.len())
            ))];
            for stream in streams {
                lines.push(Line::Out(format!("  {}", stream_line(stream, r))));
            }
            if streams.is_empty() {
                lines.push(Line::Out("  no event streams advertised".to_owned()));
            }
            if let Some(interval) = polling {
                lines.push(Line::Out(format!(
                    "  polling every {}",
                    humantime::format_duration(*interval)
                )));
            }
            lines
        }
        WatchEvent::Connection { stream, url, state } => {
            let name = match (stream, url) {
                (Some(i), Some(url)) => format!("stream [{i}] {}", r.url(url.as_str())),
                (Some(i), None) => format!("stream [{i}]"),
                _ => String::new(),
            };
            let text = match state {
                ConnectionState::Connected => e.paint(e.good, format!("connected: {name}")),
                ConnectionState::Reconnecting { delay, reason } => e.paint(
                    e.warn,
                    format!(
                        "{name}: {}; reconnecting in {:.1} s",
                        r.url(reason),
                        delay.as_secs_f64()
                    ),
                ),
                ConnectionState::Stopped { reason } => {
                    e.paint(e.bad, format!("{name} stopped: {}", r.url(reason)))
                }
                ConnectionState::FellBackToPolling { interval: Some(i) } => e.paint(
                    e.warn,
                    format!(
                        "no stream connected: polling every {}",
                        humantime::format_duration(*i)
                    ),
                ),
                ConnectionState::FellBackToPolling { interval: None } => e.paint(
                    e.warn,
                    "no stream connected and polling is off (--poll-interval 0)",
                ),
                ConnectionState::Recovered => {
                    e.paint(e.good, "a stream is connected again: polling stopped")
                }
            };
            vec![Line::Err(format!("{} {text}", e.paint(e.dim, &time)))]
        }
        WatchEvent::Event {
            stream,
            id,
            event_type,
            ..
        } if verbose => {
            let id = id
                .as_deref()
                .map_or_else(|| "(no id)".to_owned(), |id| format!("id {id}"));
            vec![Line::Err(format!(
                "{} event on stream [{stream}]: {id}, type {event_type:?}",
                e.paint(e.dim, &time)
            ))]
        }
        WatchEvent::Comment { stream, text } if verbose => {
            vec![Line::Err(format!(
                "{} comment on stream [{stream}]: {text:?}",
                e.paint(e.dim, &time)
            ))]
        }
        WatchEvent::Unchanged {
            trigger,
            status,
            latency,
        } if verbose => vec![Line::Err(format!(
            "{} {} refetch: {status}, nothing changed ({})",
            e.paint(e.dim, &time),
            trigger_text(trigger),
            millis(*latency)
        ))],
        WatchEvent::Event { .. } | WatchEvent::Comment { .. } | WatchEvent::Unchanged { .. } => {
            vec![]
        }
        WatchEvent::Warning { id, message } => {
            let id = id.map(|id| format!("[{id}] ")).unwrap_or_default();
            vec![Line::Err(format!(
                "{} {}{id}{}",
                e.paint(e.dim, &time),
                e.paint(e.warn, "warning: "),
                r.url(message)
            ))]
        }
        WatchEvent::Change {
            trigger,
            etag,
            latency,
            changes,
            ..
        } => {
            let etag = etag.as_deref().unwrap_or("none");
            let mut lines = vec![Line::Out(format!(
                "{} {} → refetched in {}, etag {etag}",
                p.paint(p.dim, &time),
                p.paint(p.strong, trigger_text(trigger)),
                millis(*latency)
            ))];
            for change in changes {
                lines.extend(change_lines(change, p).into_iter().map(Line::Out));
            }
            lines
        }
    }
}

fn stream_line(stream: &StreamInfo, r: &Redactor) -> String {
    let kind = stream.kind.as_deref().unwrap_or("(no type)");
    let url = match &stream.url {
        Ok(url) => r.url(url.as_str()).into_owned(),
        Err(why) => format!("(unresolvable: {why})"),
    };
    match &stream.followed {
        Ok(_) => format!("event stream [{}] {kind} {url}: following", stream.index),
        Err(why) => format!(
            "event stream [{}] {kind} {url}: ignored ({why})",
            stream.index
        ),
    }
}

fn trigger_text(trigger: &Trigger) -> String {
    match trigger {
        Trigger::Sse {
            event_id: Some(id), ..
        } => format!("sse event {id}"),
        Trigger::Sse { event_id: None, .. } => "sse event (no id)".to_owned(),
        Trigger::Poll => "poll".to_owned(),
        Trigger::Reconnect { stream } => format!("reconnect of stream [{stream}]"),
        Trigger::Retry => "retry".to_owned(),
    }
}

fn short(value: Option<&impl std::fmt::Display>) -> String {
    match value {
        None => "—".to_owned(),
        Some(v) => super::ellipsize(&v.to_string(), 60),
    }
}

/// `~ key: old → new (variant a → b, reason X → Y)`, `+ key: value`, `- key (was value)`, with
/// object values broken down member by member.
pub fn change_lines(change: &FlagChange, p: &Palette) -> Vec<String> {
    let key = &change.key;
    let before = change.before.as_ref();
    let after = change.after.as_ref();
    match change.kind {
        ChangeKind::Added => {
            let state = after.map(state_text).unwrap_or_default();
            vec![p.paint(p.good, format!("  + {key}: {state}"))]
        }
        ChangeKind::Removed => {
            let state = before.map(state_text).unwrap_or_default();
            vec![p.paint(p.bad, format!("  - {key} (was {state})"))]
        }
        ChangeKind::Changed => {
            let (Some(old), Some(new)) = (before, after) else {
                return vec![];
            };
            let mut extras = Vec::new();
            if old.variant != new.variant {
                extras.push(format!(
                    "variant {} → {}",
                    short(old.variant.as_ref()),
                    short(new.variant.as_ref())
                ));
            }
            if old.reason != new.reason {
                extras.push(format!(
                    "reason {} → {}",
                    short(old.reason.as_ref()),
                    short(new.reason.as_ref())
                ));
            }
            if old.error_code != new.error_code {
                extras.push(format!(
                    "error {} → {}",
                    short(old.error_code.as_ref()),
                    short(new.error_code.as_ref())
                ));
            }
            let extras = if extras.is_empty() {
                String::new()
            } else {
                format!("  ({})", extras.join(", "))
            };
            let members = match (&old.value, &new.value) {
                (Some(a), Some(b)) => match (a.parse(), b.parse()) {
                    (Some(a), Some(b)) => member_changes(&a, &b),
                    _ => vec![],
                },
                _ => vec![],
            };
            let mut lines = if old.value == new.value || !members.is_empty() {
                vec![p.paint(p.warn, format!("  ~ {key}{extras}"))]
            } else {
                vec![p.paint(
                    p.warn,
                    format!(
                        "  ~ {key}: {} → {}{extras}",
                        short(old.value.as_ref()),
                        short(new.value.as_ref())
                    ),
                )]
            };
            for member in members {
                lines.push(p.paint(
                    p.warn,
                    format!(
                        "    ~ {key}.{}: {} → {}",
                        member.path,
                        short(member.before.as_ref()),
                        short(member.after.as_ref())
                    ),
                ));
            }
            lines
        }
    }
}

fn state_text(state: &crate::diff::FlagState) -> String {
    match (&state.value, &state.error_code) {
        (Some(value), _) => short(Some(value)),
        (None, Some(code)) => format!("error {}", short(Some(code))),
        (None, None) => "code default".to_owned(),
    }
}

/// Writes one JSON Lines line for an event; `false` for what only `-v` shows.
pub fn write_json_line(
    event: &WatchEvent,
    at: SystemTime,
    r: &Redactor,
    verbose: bool,
    out: &mut dyn std::io::Write,
) -> std::io::Result<bool> {
    let Some(value) = json(event, at, r, verbose) else {
        return Ok(false);
    };
    let line = value.to_string();
    match event {
        WatchEvent::Snapshot {
            body, flags_span, ..
        } => {
            // The `flags` array goes out exactly as received, straight from the body: no JSON
            // tree, no copy of what may be thousands of flags.
            let flags = body.get(flags_span.clone()).unwrap_or(b"null");
            let open = line.strip_suffix('}').unwrap_or(&line);
            out.write_all(open.as_bytes())?;
            out.write_all(b",\"flags\":")?;
            out.write_all(flags)?;
            out.write_all(b"}\n")?;
        }
        _ => writeln!(out, "{line}")?,
    }
    Ok(true)
}

/// One JSON Lines line for an event as a string (tests and small events).
pub fn json_line(
    event: &WatchEvent,
    at: SystemTime,
    r: &Redactor,
    verbose: bool,
) -> Option<String> {
    let mut out = Vec::new();
    match write_json_line(event, at, r, verbose, &mut out) {
        Ok(true) => String::from_utf8(out)
            .ok()
            .map(|line| line.trim_end().to_owned()),
        _ => None,
    }
}

/// One JSON Lines object for an event (the snapshot without its `flags`, which
/// [`json_line`] adds), or `None` for what only `-v` shows.
fn json(event: &WatchEvent, at: SystemTime, r: &Redactor, verbose: bool) -> Option<Value> {
    let ts = humantime::format_rfc3339_millis(at).to_string();
    let ms = |d: &Duration| (d.as_secs_f64() * 1e6).round() / 1e3;
    let value = match event {
        WatchEvent::Snapshot {
            etag,
            flags,
            streams,
            polling,
            ..
        } => json!({
            "type": "snapshot",
            "ts": ts,
            "etag": etag,
            "flagCount": flags.len(),
            "streams": streams.iter().map(|s| json!({
                "index": s.index,
                "type": s.kind,
                "url": s.url.as_ref().ok().map(|u| r.url(u.as_str()).into_owned()),
                "following": s.followed.is_ok(),
                "reason": s.followed.as_ref().err(),
            })).collect::<Vec<_>>(),
            "pollingMs": polling.as_ref().map(|d| d.as_millis() as u64),
        }),
        WatchEvent::Connection { stream, url, state } => {
            let (name, delay, reason) = match state {
                ConnectionState::Connected => ("connected", None, None),
                ConnectionState::Reconnecting { delay, reason } => (
                    "reconnecting",
                    Some(ms(delay)),
                    Some(r.url(reason).into_owned()),
                ),
                ConnectionState::Stopped { reason } => {
                    ("stopped", None, Some(r.url(reason).into_owned()))
                }
                ConnectionState::FellBackToPolling { interval } => {
                    ("polling", interval.as_ref().map(ms), None)
                }
                ConnectionState::Recovered => ("recovered", None, None),
            };
            json!({
                "type": "connection",
                "ts": ts,
                "stream": stream,
                "url": url.as_ref().map(|u| r.url(u.as_str()).into_owned()),
                "state": name,
                "delayMs": delay,
                "reason": reason,
            })
        }
        WatchEvent::Event {
            stream,
            id,
            event_type,
            data,
        } => {
            json!({"type": "event", "ts": ts, "stream": stream, "id": id, "eventType": event_type, "data": data})
        }
        WatchEvent::Change {
            trigger,
            etag,
            latency,
            changes,
            ..
        } => json!({
            "type": "change",
            "ts": ts,
            "trigger": trigger.name(),
            "eventId": match trigger { Trigger::Sse { event_id, .. } => event_id.clone(), _ => None },
            "etag": etag,
            "latencyMs": ms(latency),
            "changes": changes,
        }),
        WatchEvent::Unchanged {
            trigger,
            status,
            latency,
        } => json!({
            "type": "unchanged", "ts": ts, "trigger": trigger.name(), "status": status, "latencyMs": ms(latency),
        }),
        WatchEvent::Warning { id, message } => {
            json!({"type": "warning", "ts": ts, "id": id, "message": r.url(message)})
        }
        WatchEvent::Comment { stream, text } if verbose => {
            json!({"type": "comment", "ts": ts, "stream": stream, "text": text})
        }
        WatchEvent::Comment { .. } => return None,
    };
    Some(value)
}

/// `HH:MM:SS.mmm` in UTC, the start of every human line.
fn clock(at: SystemTime) -> String {
    let stamp = humantime::format_rfc3339_millis(at).to_string();
    stamp.get(11..23).unwrap_or(&stamp).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::{diff, flag_set};

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
}
