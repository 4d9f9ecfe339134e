//! How `ofrep serve` shows its log. Human output goes to stderr (`listening on URL`, one line
//! per request). With `-o json` every log event is a JSON Lines object on stdout, the first
//! `{"type":"listening",...}`, so a script can read the bound address from a pipe. With `-v`
//! each request also shows its request (`> `) and response (`< `) headers, credentials
//! redacted and control characters escaped; without it no header value is logged.

use std::io::Write;

use serde_json::{Value, json};

use super::{Ui, json_text, shown};
use crate::cli::OutputFormat;
use crate::redact::Redactor;
use crate::serve::ServeEvent;

/// Writes each [`ServeEvent`] in the format chosen once. It is `Copy` and holds no lock, so the
/// command can run it on a thread of its own.
#[derive(Debug, Clone, Copy)]
pub struct Reporter {
    format: OutputFormat,
    redactor: Redactor,
}

impl Reporter {
    pub fn new(ui: &Ui) -> Self {
        Self {
            format: ui.format,
            redactor: ui.redactor,
        }
    }

    pub fn event(&self, event: &ServeEvent) {
        // A closed pipe must not stop the server, so write errors are ignored.
        match self.format {
            OutputFormat::Human => {
                let _ = writeln!(std::io::stderr().lock(), "{}", human(event, &self.redactor));
            }
            OutputFormat::Json => {
                let mut stdout = std::io::stdout().lock();
                let _ = writeln!(stdout, "{}", json_text(&to_json(event, &self.redactor)));
                let _ = stdout.flush();
            }
        }
    }
}

pub fn human(event: &ServeEvent, redactor: &Redactor) -> String {
    match event {
        ServeEvent::Listening { url, .. } => {
            format!("listening on {}", url.as_str().trim_end_matches('/'))
        }
        ServeEvent::Request {
            method,
            path,
            status,
            elapsed,
            request_headers,
            response_headers,
        } => {
            let mut text = format!(
                "{method} {path} {status} {:.1}ms",
                crate::units::millis(*elapsed)
            );
            let sent = request_headers.iter().map(|h| ('>', h));
            for (arrow, (name, value)) in sent.chain(response_headers.iter().map(|h| ('<', h))) {
                text.push_str(&format!(
                    "\n  {arrow} {name}: {}",
                    shown(&redactor.header(name, value))
                ));
            }
            text
        }
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
        ServeEvent::LaunchpadListening { url, .. } => {
            format!("launchpad on {}", url.as_str().trim_end_matches('/'))
        }
        ServeEvent::Started { config, etag } => format!(
            "launchpad: started with config {} (configuration {etag}, event ids from 1)",
            shown(config)
        ),
        ServeEvent::Stopped { was_running: true } => "launchpad: stopped".to_owned(),
        ServeEvent::Stopped { was_running: false } => {
            "launchpad: stop asked, but nothing was listening".to_owned()
        }
        ServeEvent::Restarting { seconds } => {
            format!("launchpad: restarting, back in {seconds} s")
        }
        ServeEvent::Back { config, etag } => format!(
            "launchpad: back with config {} (configuration {etag}, event ids from 1)",
            shown(config)
        ),
        ServeEvent::StartFailed { config, message } => format!(
            "launchpad: cannot start config {}, not listening: {}",
            shown(config),
            shown(message)
        ),
    }
}

pub fn to_json(event: &ServeEvent, redactor: &Redactor) -> Value {
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
            request_headers,
            response_headers,
        } => {
            let mut line = json!({
                "type": "request",
                "method": method,
                "path": path,
                "status": status,
                "ms": crate::units::millis(*elapsed),
            });
            // Only with -v, so the line without it keeps its shape.
            let pairs = |headers: &[(String, String)]| -> Value {
                headers
                    .iter()
                    .map(|(name, value)| json!([name, redactor.header(name, value)]))
                    .collect()
            };
            if !request_headers.is_empty() || !response_headers.is_empty() {
                line["requestHeaders"] = pairs(request_headers);
                line["responseHeaders"] = pairs(response_headers);
            }
            line
        }
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
        ServeEvent::LaunchpadListening { addr, url } => json!({
            "type": "launchpadListening",
            "address": addr.to_string(),
            "url": url.as_str().trim_end_matches('/'),
        }),
        ServeEvent::Started { config, etag } => {
            json!({"type": "started", "config": config, "etag": etag})
        }
        ServeEvent::Stopped { was_running } => {
            json!({"type": "stopped", "wasRunning": was_running})
        }
        ServeEvent::Restarting { seconds } => json!({"type": "restarting", "seconds": seconds}),
        ServeEvent::Back { config, etag } => {
            json!({"type": "back", "config": config, "etag": etag})
        }
        ServeEvent::StartFailed { config, message } => {
            json!({"type": "startFailed", "config": config, "message": message})
        }
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
            request_headers: Vec::new(),
            response_headers: Vec::new(),
        };
        assert_eq!(
            human(&event, &Redactor::default()),
            "POST /ofrep/v1/evaluate/flags 200 0.4ms"
        );
        assert_eq!(to_json(&event, &Redactor::default())["type"], "request");
    }

    #[test]
    fn the_listening_line_has_address_and_url() {
        let addr: SocketAddr = "127.0.0.1:8016".parse().unwrap();
        let event = ServeEvent::Listening {
            addr,
            url: url::Url::parse("http://127.0.0.1:8016/").unwrap(),
        };
        assert_eq!(
            human(&event, &Redactor::default()),
            "listening on http://127.0.0.1:8016"
        );
        assert_eq!(
            to_json(&event, &Redactor::default()),
            json!({"type": "listening", "address": "127.0.0.1:8016", "url": "http://127.0.0.1:8016"})
        );
    }

    #[test]
    fn launchpad_actions_render_as_lines_and_typed_objects() {
        let r = Redactor::default();
        let etag = "\"00000000000000ab\"".to_owned();
        let cases = [
            (
                ServeEvent::LaunchpadListening {
                    addr: "127.0.0.1:8080".parse().unwrap(),
                    url: url::Url::parse("http://127.0.0.1:8080/").unwrap(),
                },
                "launchpad on http://127.0.0.1:8080",
                json!({"type": "launchpadListening", "address": "127.0.0.1:8080", "url": "http://127.0.0.1:8080"}),
            ),
            (
                ServeEvent::Started {
                    config: "default".into(),
                    etag: etag.clone(),
                },
                "launchpad: started with config default (configuration \"00000000000000ab\", event ids from 1)",
                json!({"type": "started", "config": "default", "etag": etag}),
            ),
            (
                ServeEvent::Stopped { was_running: true },
                "launchpad: stopped",
                json!({"type": "stopped", "wasRunning": true}),
            ),
            (
                ServeEvent::Stopped { was_running: false },
                "launchpad: stop asked, but nothing was listening",
                json!({"type": "stopped", "wasRunning": false}),
            ),
            (
                ServeEvent::Restarting { seconds: 5 },
                "launchpad: restarting, back in 5 s",
                json!({"type": "restarting", "seconds": 5}),
            ),
            (
                ServeEvent::Back {
                    config: "default".into(),
                    etag: etag.clone(),
                },
                "launchpad: back with config default (configuration \"00000000000000ab\", event ids from 1)",
                json!({"type": "back", "config": "default", "etag": etag}),
            ),
            (
                ServeEvent::StartFailed {
                    config: "x\u{1b}[2J".into(),
                    message: "no config `x`".into(),
                },
                "launchpad: cannot start config x\\u{1b}[2J, not listening: no config `x`",
                json!({"type": "startFailed", "config": "x\u{1b}[2J", "message": "no config `x`"}),
            ),
        ];
        for (event, line, object) in cases {
            assert_eq!(human(&event, &r), line);
            assert_eq!(to_json(&event, &r), object);
        }
    }

    #[test]
    fn with_headers_a_request_shows_them_redacted_and_escaped() {
        let event = ServeEvent::Request {
            method: "POST".into(),
            path: "/ofrep/v1/evaluate/flags".into(),
            status: 200,
            elapsed: Duration::from_micros(420),
            request_headers: vec![
                ("authorization".into(), "Bearer s3cret".into()),
                ("x-note".into(), "a\u{1b}[31mb".into()),
            ],
            response_headers: vec![("etag".into(), "\"v1\"".into())],
        };
        let r = Redactor::default();
        let text = human(&event, &r);
        assert!(
            !text.contains("s3cret") && !text.contains('\u{1b}'),
            "{text}"
        );
        assert!(text.contains("\n  > x-note: a\\u{1b}[31mb"), "{text}");
        assert!(text.contains("\n  < etag: \"v1\""), "{text}");
        let line = to_json(&event, &r);
        assert_eq!(line["responseHeaders"], json!([["etag", "\"v1\""]]));
        assert!(!line.to_string().contains("s3cret"));
        let quiet = ServeEvent::Request {
            method: "POST".into(),
            path: "/".into(),
            status: 200,
            elapsed: Duration::ZERO,
            request_headers: Vec::new(),
            response_headers: Vec::new(),
        };
        assert!(to_json(&quiet, &r).get("requestHeaders").is_none());
    }
}
