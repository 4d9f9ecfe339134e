//! `watch -o json`: one JSON object per line (shapes in `schemas/watch.schema.json`). Every
//! line `watch` writes in this mode is built here, the command's own `deadline` and `error`
//! lines included, so the JSON Lines shape lives in one file.

use std::io::Write;
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use crate::redact::Redactor;
use crate::report::{JsonOut, json_text};
use crate::watch::{ConnectionState, Trigger, WatchEvent};

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
    let mut out = JsonOut::new(out);
    match event {
        WatchEvent::Snapshot {
            body, flags_span, ..
        } => {
            // The `flags` array goes out as received, straight from the body: no JSON tree, no
            // copy of what may be thousands of flags (only a `##[` in it is written otherwise).
            let flags = body.get(flags_span.clone()).unwrap_or(b"null");
            let open = line.strip_suffix('}').unwrap_or(&line);
            out.write_all(open.as_bytes())?;
            out.write_all(b",\"flags\":")?;
            // A pretty-printed answer has line breaks between tokens, which would split the
            // line. In JSON that parsed, a raw CR or LF can only be whitespace (inside a string
            // it must be escaped), so each becomes a space.
            for (n, piece) in flags.split(|b| matches!(b, b'\n' | b'\r')).enumerate() {
                if n > 0 {
                    out.write_all(b" ")?;
                }
                out.write_all(piece)?;
            }
            out.write_all(b"}\n")?;
        }
        _ => writeln!(out, "{line}")?,
    }
    out.finish()?;
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
    let ts = rfc3339(at);
    let ms = |d: &Duration| crate::units::millis(*d);
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

/// `{"type":"deadline",...}`: `--deadline` passed with these conditions unmet.
pub fn deadline_line(at: SystemTime, summary: &str, unmet: &[String]) -> String {
    json_text(&json!({"type": "deadline", "ts": rfc3339(at), "message": summary, "unmet": unmet}))
}

/// `{"type":"error",...}`: the error `watch` stopped on (also on stderr as `error: ...`).
pub fn error_line(at: SystemTime, message: &str) -> String {
    json_text(&json!({"type": "error", "ts": rfc3339(at), "message": message}))
}

fn rfc3339(at: SystemTime) -> String {
    humantime::format_rfc3339_millis(at).to_string()
}
