//! `watch` for people: a timestamped block per change on stdout, connection states, warnings
//! and (with `-v`) events on stderr.

use std::time::SystemTime;

use super::Line;
use crate::diff::{ChangeKind, FlagChange, member_changes};
use crate::protocol::etag::EtagVerdict;
use crate::redact::Redactor;
use crate::report::{Palette, ellipsize, millis, shown};
use crate::watch::{ConnectionState, StreamInfo, Trigger, WatchEvent};

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
            let etag = etag.as_deref().map_or_else(
                || "none".to_owned(),
                |t| format!("{} ({verdict})", shown(t)),
            );
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
                        shown(&r.url(reason)),
                        delay.as_secs_f64()
                    ),
                ),
                ConnectionState::Stopped { reason } => {
                    e.paint(e.bad, format!("{name} stopped: {}", shown(&r.url(reason))))
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
                .map_or_else(|| "(no id)".to_owned(), |id| format!("id {}", shown(id)));
            // Debug quoting escapes control characters; `shown` the rest (a `##[`).
            let event_type = format!("{event_type:?}");
            vec![Line::Err(format!(
                "{} event on stream [{stream}]: {id}, type {}",
                e.paint(e.dim, &time),
                shown(&event_type)
            ))]
        }
        WatchEvent::Comment { stream, text } if verbose => {
            let text = format!("{text:?}");
            vec![Line::Err(format!(
                "{} comment on stream [{stream}]: {}",
                e.paint(e.dim, &time),
                shown(&text)
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
                shown(&r.url(message))
            ))]
        }
        WatchEvent::Change {
            trigger,
            etag,
            latency,
            changes,
            ..
        } => {
            let etag = shown(etag.as_deref().unwrap_or("none"));
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
    let kind = shown(stream.kind.as_deref().unwrap_or("(no type)"));
    let url = match &stream.url {
        Ok(url) => shown(&r.url(url.as_str())).into_owned(),
        Err(why) => format!("(unresolvable: {})", shown(why)),
    };
    match &stream.followed {
        Ok(_) => format!("event stream [{}] {kind} {url}: following", stream.index),
        Err(why) => format!(
            "event stream [{}] {kind} {url}: ignored ({})",
            stream.index,
            shown(why)
        ),
    }
}

fn trigger_text(trigger: &Trigger) -> String {
    match trigger {
        Trigger::Sse {
            event_id: Some(id), ..
        } => format!("sse event {}", shown(id)),
        Trigger::Sse { event_id: None, .. } => "sse event (no id)".to_owned(),
        Trigger::Poll => "poll".to_owned(),
        Trigger::Reconnect { stream } => format!("reconnect of stream [{stream}]"),
        Trigger::Retry => "retry".to_owned(),
    }
}

fn short(value: Option<&impl std::fmt::Display>) -> String {
    match value {
        None => "—".to_owned(),
        Some(v) => ellipsize(&shown(&v.to_string()), 60),
    }
}

/// `~ key: old → new (variant a → b, reason X → Y)`, `+ key: value`, `- key (was value)`, with
/// object values broken down member by member.
pub fn change_lines(change: &FlagChange, p: &Palette) -> Vec<String> {
    let key = shown(&change.key);
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
                        shown(&member.path),
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

/// `HH:MM:SS.mmm` in UTC, the start of every human line.
fn clock(at: SystemTime) -> String {
    let stamp = humantime::format_rfc3339_millis(at).to_string();
    stamp.get(11..23).unwrap_or(&stamp).to_owned()
}
