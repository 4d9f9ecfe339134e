//! How `ofrep serve` shows its log. Human output goes to stderr (`listening on URL`, one line
//! per request). With `-o json` every log event is a JSON Lines object on stdout, the first
//! `{"type":"listening",...}`, so a script can read the bound address from a pipe. Tokens and
//! header values are never logged: the events do not carry them.

use std::io::Write;

use serde_json::{Value, json};

use super::Ui;
use crate::cli::OutputFormat;
use crate::serve::ServeEvent;

/// Writes each [`ServeEvent`] in the format chosen once. It is `Copy` and holds no lock, so the
/// command can run it on a thread of its own.
#[derive(Debug, Clone, Copy)]
pub struct Reporter {
    format: OutputFormat,
}

impl Reporter {
    pub fn new(ui: &Ui) -> Self {
        Self { format: ui.format }
    }

    pub fn event(&self, event: &ServeEvent) {
        // A closed pipe must not stop the server, so write errors are ignored.
        match self.format {
            OutputFormat::Human => {
                let _ = writeln!(std::io::stderr().lock(), "{}", human(event));
            }
            OutputFormat::Json => {
                let mut stdout = std::io::stdout().lock();
                let _ = writeln!(stdout, "{}", to_json(event));
                let _ = stdout.flush();
            }
        }
    }
}

pub fn human(event: &ServeEvent) -> String {
    match event {
        ServeEvent::Listening { url, .. } => {
            format!("listening on {}", url.as_str().trim_end_matches('/'))
        }
        ServeEvent::Request {
            method,
            path,
            status,
            elapsed,
        } => format!(
            "{method} {path} {status} {:.1}ms",
            crate::units::millis(*elapsed)
        ),
        ServeEvent::Reloaded {
            path,
            etag,
            event_id,
        } => {
            format!(
                "reloaded {} (configuration {etag}, event {event_id})",
                path.display()
            )
        }
        ServeEvent::ReloadFailed { message, .. } => {
            format!("reload failed, still serving the last good flags: {message}")
        }
        ServeEvent::Changed {
            flag,
            variant,
            etag,
            event_id,
        } => {
            format!("changed {flag} to {variant} (configuration {etag}, event {event_id})")
        }
        ServeEvent::StreamsDropped { count } => format!("dropped {count} event stream(s)"),
        ServeEvent::Warning { message } => format!("warning: {message}"),
    }
}

pub fn to_json(event: &ServeEvent) -> Value {
    match event {
        ServeEvent::Listening { addr, url } => json!({
            "type": "listening",
            "address": addr.to_string(),
            "url": url.as_str().trim_end_matches('/'),
        }),
        ServeEvent::Request {
            method,
            path,
            status,
            elapsed,
        } => json!({
            "type": "request",
            "method": method,
            "path": path,
            "status": status,
            "ms": crate::units::millis(*elapsed),
        }),
        ServeEvent::Reloaded {
            path,
            etag,
            event_id,
        } => json!({
            "type": "reloaded", "path": path.display().to_string(), "etag": etag, "eventId": event_id,
        }),
        ServeEvent::ReloadFailed { path, message } => json!({
            "type": "reloadFailed", "path": path.display().to_string(), "message": message,
        }),
        ServeEvent::Changed {
            flag,
            variant,
            etag,
            event_id,
        } => json!({
            "type": "changed", "flag": flag, "variant": variant, "etag": etag, "eventId": event_id,
        }),
        ServeEvent::StreamsDropped { count } => json!({"type": "streamsDropped", "count": count}),
        ServeEvent::Warning { message } => json!({"type": "warning", "message": message}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;
    use std::time::Duration;

    #[test]
    fn requests_render_as_one_line_each() {
        let event = ServeEvent::Request {
            method: "POST".into(),
            path: "/ofrep/v1/evaluate/flags".into(),
            status: 200,
            elapsed: Duration::from_micros(420),
        };
        assert_eq!(human(&event), "POST /ofrep/v1/evaluate/flags 200 0.4ms");
        assert_eq!(to_json(&event)["type"], "request");
    }

    #[test]
    fn the_listening_line_has_address_and_url() {
        let addr: SocketAddr = "127.0.0.1:8016".parse().unwrap();
        let event = ServeEvent::Listening {
            addr,
            url: url::Url::parse("http://127.0.0.1:8016/").unwrap(),
        };
        assert_eq!(human(&event), "listening on http://127.0.0.1:8016");
        assert_eq!(
            to_json(&event),
            json!({"type": "listening", "address": "127.0.0.1:8016", "url": "http://127.0.0.1:8016"})
        );
    }
}
