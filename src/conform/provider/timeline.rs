//! The evidence of a provider scenario: the server's actions and the provider's requests on
//! one clock, each request with its time after the action before it, then the provider's last
//! lines of output.

use std::time::Duration;

use super::server::{Route, ScriptedServer, Seen};

/// Lines kept at each end of a long timeline (a provider in a loop sends thousands).
const KEPT: usize = 40;

/// One line per action and request, in time order.
pub fn render(
    actions: &[(Duration, String)],
    log: &[Seen],
    unlogged: usize,
    output: &[String],
) -> Vec<String> {
    let mut lines = Vec::new();
    let (mut a, mut r) = (0, 0);
    let mut last_action: Option<Duration> = None;
    while a < actions.len() || r < log.len() {
        let action_first = match (actions.get(a), log.get(r)) {
            (Some((when, _)), Some(seen)) => *when <= seen.at,
            (Some(_), None) => true,
            _ => false,
        };
        if action_first {
            let (when, what) = &actions[a];
            lines.push(format!("{}  server {what}", clock(*when)));
            last_action = Some(*when);
            a += 1;
        } else {
            let seen = &log[r];
            let after = last_action
                .map(|t| format!(" (+{} ms)", (seen.at.saturating_sub(t)).as_millis()))
                .unwrap_or_default();
            lines.push(format!(
                "{}  > {}{after}{}",
                clock(seen.at),
                seen.target(),
                details(seen)
            ));
            r += 1;
        }
    }
    if unlogged > 0 {
        lines.push(format!("… and {unlogged} more request(s), not kept"));
    }
    if lines.len() > 2 * KEPT {
        let dropped = lines.len() - 2 * KEPT;
        lines.drain(KEPT..lines.len() - KEPT);
        lines.insert(KEPT, format!("… {dropped} line(s) left out …"));
    }
    if !output.is_empty() {
        lines.push("provider output (last lines):".into());
        lines.extend(output.iter().map(|line| format!("  {line}")));
    }
    lines
}

fn clock(time: Duration) -> String {
    format!("{:>8.3}s", time.as_secs_f64())
}

/// The headers that grading looks at, and the answer.
fn details(seen: &Seen) -> String {
    let mut parts = Vec::new();
    if let Some(inm) = &seen.if_none_match {
        parts.push(format!("If-None-Match: {inm}"));
    }
    if seen.route.is_stream() || seen.route == Route::UnknownStream {
        if let Some(id) = &seen.last_event_id {
            parts.push(format!("Last-Event-ID: {id}"));
        }
        match &seen.accept {
            Some(accept) => parts.push(format!("Accept: {accept}")),
            None => parts.push("no Accept".into()),
        }
    }
    let mut answer = format!("< {}", seen.status);
    if let Some(etag) = &seen.etag {
        answer.push_str(&format!(" ETag {etag}"));
    }
    if let Some(seconds) = seen.retry_after {
        answer.push_str(&format!(" Retry-After: {seconds}"));
    }
    if seen.route.is_stream() && seen.status == 200 {
        answer.push_str(" event stream");
    }
    if let Err(why) = &seen.context {
        answer.push_str(&format!(" ({why})"));
    }
    if parts.is_empty() {
        format!("  {answer}")
    } else {
        format!("  [{}]  {answer}", parts.join(", "))
    }
}

/// `1.234 s`.
pub(super) fn at(time: Duration) -> String {
    format!("{:.3} s", time.as_secs_f64())
}

pub(super) fn listed(requests: &[&Seen]) -> String {
    const SHOWN: usize = 4;
    let mut parts: Vec<String> = requests
        .iter()
        .take(SHOWN)
        .map(|s| format!("{} at {} → {}", s.target(), at(s.at), s.status))
        .collect();
    if requests.len() > SHOWN {
        parts.push(format!("and {} more", requests.len() - SHOWN));
    }
    parts.join("; ")
}

/// What the provider's stream attempts came to, for a failed wait for a connection.
pub(super) fn stream_attempts(server: &ScriptedServer) -> String {
    server.with_log(|log| {
        let gets: Vec<&Seen> = log
            .iter()
            .filter(|s| s.method == "GET" || s.route.is_stream())
            .collect();
        if gets.is_empty() {
            "no stream request at all".to_owned()
        } else {
            listed(&gets)
        }
    })
}
