//! `ofrep serve`: resolve the arguments, start the server, hand its log to the reporter, stop on
//! Ctrl-C or SIGTERM.

use std::ffi::OsStr;
use std::time::Duration;

use crate::cli::ServeArgs;
use crate::commands::stop_signal;
use crate::error::Error;
use crate::exit::Outcome;
use crate::report::Ui;
use crate::report::serve::Reporter;
use crate::serve::{Fault, ServeConfig, Server};

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
    let require_auth = token(
        args.require_auth.as_deref(),
        std::env::var_os(TOKEN_ENV).as_deref(),
    )?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(crate::serve::tls::server_config(
            cert,
            key,
            args.tls_client_ca.as_deref(),
        )?),
        _ => None,
    };
    if args
        .launchpad
        .is_some_and(|port| port != 0 && port == args.port)
    {
        return Err(Error::usage(format!(
            "--launchpad {} is the OFREP port too; the launchpad needs a port of its own",
            args.port
        ))
        .with_hint(
            "flagd-testbed serves OFREP on 8016 and its launchpad on 8080: `--launchpad 8080`",
        ));
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
        require_auth,
        control: args.control,
        faults,
        max_body_size,
        body_timeout: crate::serve::BODY_TIMEOUT,
        max_streams: crate::serve::DEFAULT_MAX_STREAMS,
        tls,
        log_headers: false,
        launchpad: args.launchpad,
    })
}

/// The environment variable `--require-auth` falls back to (cli.rs names it too).
const TOKEN_ENV: &str = "OFREP_SERVE_TOKEN";

/// The `--require-auth` token, trimmed as header values are. A blank one is refused rather than
/// taken for "no auth": clap drops an empty environment variable silently, so `env` is looked at
/// here too, and an unset secret in a deployment must not start an open server.
fn token(flag: Option<&str>, env: Option<&OsStr>) -> Result<Option<String>, Error> {
    let hint =
        "give a token, or leave out --require-auth and OFREP_SERVE_TOKEN to serve without auth";
    match (flag, env) {
        (Some(token), _) if token.trim().is_empty() => Err(Error::usage(
            "--require-auth is empty or blank: no request could ever carry it",
        )
        .with_hint(hint)),
        (Some(token), _) => Ok(Some(token.trim().to_owned())),
        (None, Some(env)) if env.to_string_lossy().trim().is_empty() => Err(Error::usage(format!(
            "{TOKEN_ENV} is set but empty or blank: no request could ever carry it"
        ))
        .with_hint(hint)),
        (None, _) => Ok(None),
    }
}

/// Runs the server until Ctrl-C or SIGTERM.
pub async fn run(args: &ServeArgs, ui: &Ui) -> Result<Outcome, Error> {
    let config = ServeConfig {
        log_headers: ui.verbose,
        ..resolve(args)?
    };
    let reporter = Reporter::new(ui);
    // Installed before the server says it is listening: see `stop_signal`.
    let stop = stop_signal();
    let (server, mut events) = Server::start(config).await?;
    // Rendering writes to stdout or stderr, which may be a pipe nobody drains. It runs on its own
    // thread so a blocked write can never keep the server from stopping on a signal.
    let (rendered, all_rendered) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        while let Some(event) = events.blocking_recv() {
            reporter.event(&event);
        }
        let _ = rendered.send(());
    });
    stop.await;
    server.shutdown().await;
    // The log closes once the server is gone; show its last lines unless output is stuck.
    let _ = tokio::time::timeout(Duration::from_secs(1), all_rendered).await;
    Ok(Outcome::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(
            resolved(&["--launchpad", "8080"]).unwrap().launchpad,
            Some(8080)
        );
        assert_eq!(
            resolved(&["--port", "0", "--launchpad", "0"])
                .unwrap()
                .launchpad,
            Some(0)
        );
    }

    #[test]
    fn a_blank_token_is_refused_from_the_flag_or_the_environment() {
        for (flag, env) in [
            (Some(""), None),
            (Some(" \t "), None),
            (None, Some("")),
            (None, Some("  ")),
        ] {
            let error = token(flag, env.map(OsStr::new)).unwrap_err();
            assert!(matches!(error, Error::Usage { .. }), "{flag:?} {env:?}");
            assert!(error.to_string().contains("blank"), "{error}");
        }
        assert_eq!(token(Some(" s3 "), None).unwrap().as_deref(), Some("s3"));
        assert_eq!(token(None, None).unwrap(), None);
        assert_eq!(
            token(Some("a"), Some(OsStr::new(""))).unwrap().as_deref(),
            Some("a")
        );
    }

    #[test]
    fn bad_options_are_usage_errors() {
        for args in [
            &["--fault", "nope"][..],
            &["--public-url", "not a url"],
            &["--public-url", "ftp://x/"],
            &["--keepalive", "0s"],
            &["--launchpad", "8016"],
            &["--port", "9000", "--launchpad", "9000"],
        ] {
            let error = resolved(args).unwrap_err();
            assert!(matches!(error, Error::Usage { .. }), "{args:?}: {error}");
        }
    }
}
