//! `ofrep serve`: resolve the arguments, start the server, render its log, stop on Ctrl-C or
//! SIGTERM.
//!
//! Human output goes to stderr (`listening on URL`, one line per request). With `-o json` every
//! log event is a JSON Lines object on stdout, the first `{"type":"listening",...}`, so a script
//! can read the bound address from a pipe. Tokens and header values are never logged.

use std::io::Write;
use std::time::Duration;

use serde_json::{Value, json};

use crate::Error;
use crate::Outcome;
use crate::cli::{OutputFormat, ServeArgs};
use crate::commands::{Ui, stop_signal};
use crate::serve::{Fault, ServeConfig, ServeEvent, Server};

/// Turns raw arguments into a configuration, before any I/O.
pub fn resolve(args: &ServeArgs) -> Result<ServeConfig, Error> {
    let faults = args
        .faults
        .iter()
        .map(|text| {
            Fault::parse(text).map_err(|e| {
                Error::usage(e.to_string())
                    .with_hint("see `ofrep serve --help` for the fault modes")
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let public_url = args
        .public_url
        .as_deref()
        .map(|text| {
            url::Url::parse(text)
                .ok()
                .filter(|url| matches!(url.scheme(), "http" | "https"))
                .ok_or_else(|| {
                    Error::usage(format!(
                        "--public-url `{text}` is not an absolute http(s) URL"
                    ))
                })
        })
        .transpose()?;
    if args.keepalive.is_zero() {
        return Err(Error::usage("--keepalive must be above zero"));
    }
    if args.demo.is_some_and(|d| d.is_zero()) {
        return Err(Error::usage("--demo must be above zero"));
    }
    let max_body_size = usize::try_from(args.max_body_size)
        .map_err(|_| Error::usage("--max-body-size is larger than this machine can address"))?;
    Ok(ServeConfig {
        host: args.host.clone(),
        port: args.port,
        flags_file: args.flags.clone(),
        demo: args.demo,
        public_url,
        inactivity_delay: args.inactivity_delay,
        keepalive: args.keepalive,
        require_auth: args.require_auth.clone(),
        control: args.control,
        faults,
        max_body_size,
        max_streams: crate::serve::DEFAULT_MAX_STREAMS,
    })
}

/// Runs the server until Ctrl-C or SIGTERM.
pub async fn run(args: &ServeArgs, ui: &Ui) -> Result<Outcome, Error> {
    let config = resolve(args)?;
    let output = ui.format;
    let (server, mut events) = Server::start(config).await?;
    // Rendering writes to stdout or stderr, which may be a pipe nobody drains. It runs on its own
    // thread so a blocked write can never keep the server from stopping on a signal.
    let (rendered, all_rendered) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        while let Some(event) = events.blocking_recv() {
            render(&event, output);
        }
        let _ = rendered.send(());
    });
    stop_signal().await;
    server.shutdown().await;
    // The log closes once the server is gone; show its last lines unless output is stuck.
    let _ = tokio::time::timeout(Duration::from_secs(1), all_rendered).await;
    Ok(Outcome::Success)
}

fn render(event: &ServeEvent, output: OutputFormat) {
    // A closed pipe must not stop the server, so write errors are ignored.
    match output {
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
        } => format!("{method} {path} {status} {}", millis(*elapsed)),
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
            "ms": (elapsed.as_secs_f64() * 1e6).round() / 1e3,
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

fn millis(elapsed: Duration) -> String {
    format!("{:.1}ms", elapsed.as_secs_f64() * 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;

    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn resolved(args: &[&str]) -> Result<ServeConfig, Error> {
        let cli =
            Cli::try_parse_from([&["ofrep", "serve"], args].concat()).expect("the arguments parse");
        let Command::Serve(args) = cli.command else {
            panic!("not serve")
        };
        resolve(&args)
    }

    #[test]
    fn arguments_resolve_into_a_configuration() {
        let config = resolved(&[
            "--port",
            "0",
            "--fault",
            "slow=1s",
            "--fault",
            "no-etag",
            "--public-url",
            "https://x.example/",
        ])
        .unwrap();
        assert_eq!(config.port, 0);
        assert_eq!(
            config.faults,
            [Fault::Slow(Duration::from_secs(1)), Fault::NoEtag]
        );
        assert_eq!(config.public_url.unwrap().as_str(), "https://x.example/");
        assert_eq!(config.max_body_size, 1 << 20);
        assert!(resolved(&["--demo"]).unwrap().demo == Some(Duration::from_secs(5)));
    }

    #[test]
    fn bad_options_are_usage_errors() {
        for args in [
            &["--fault", "nope"][..],
            &["--public-url", "not a url"],
            &["--public-url", "ftp://x/"],
            &["--keepalive", "0s"],
        ] {
            let error = resolved(args).unwrap_err();
            assert!(matches!(error, Error::Usage { .. }), "{args:?}: {error}");
        }
    }

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
