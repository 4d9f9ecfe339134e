//! One module per subcommand: glue between the resolved options, the core and the reporters.

pub mod conform;
pub mod fetch;
pub mod serve;
pub mod shell;
pub mod watch;

use url::Url;

use crate::cli::TargetArgs;
use crate::embedded::Embedded;
use crate::error::Error;
use crate::report::Ui;
use crate::target::{self, OfrepEnv, Resolved};

/// A future that resolves on Ctrl-C, or SIGTERM on Unix (what `kill` and container runtimes
/// send). The handlers are installed when this is called, not when the future is first polled:
/// `serve` calls it before it binds, so a SIGTERM sent the moment the listening line appears
/// stops it cleanly instead of killing it.
pub fn stop_signal() -> impl std::future::Future<Output = ()> + Send {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let handlers = signal(SignalKind::interrupt()).and_then(|interrupt| {
            signal(SignalKind::terminate()).map(|terminate| (interrupt, terminate))
        });
        async move {
            match handlers {
                Ok((mut interrupt, mut terminate)) => {
                    tokio::select! {
                        _ = interrupt.recv() => {}
                        _ = terminate.recv() => {}
                    }
                }
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// An error from the shared client and target code, with its hint naming the command that was
/// run: those hints are phrased for `fetch` (`ofrep fetch --embedded`), and a user who ran
/// `ofrep watch` should be told to try `ofrep watch --embedded`.
pub fn for_command(error: Error, command: &str) -> Error {
    let phrased_for_fetch = [
        crate::protocol::client::CONNECT_HINT,
        target::NO_SERVER_HINT,
    ];
    match error.hint() {
        Some(hint) if phrased_for_fetch.contains(&hint) => {
            let hint = hint.replace("`ofrep fetch ", &format!("`ofrep {command} "));
            error.with_hint(hint)
        }
        _ => error,
    }
}

/// The server a client command talks to, resolved; with `--embedded`, the server it started.
pub struct Target {
    pub resolved: Resolved,
    pub base: Url,
    pub embedded: Option<Embedded>,
}

impl Target {
    /// Resolves the shared options (flags over environment), reports skipped OFREP_HEADERS
    /// entries, and starts the embedded server when asked (changing a flag every `demo`).
    pub async fn open(
        args: &TargetArgs,
        ui: &Ui,
        demo: Option<std::time::Duration>,
    ) -> Result<Self, Error> {
        let resolved = target::resolve(args, &OfrepEnv::capture())?;
        for warning in &resolved.warnings {
            ui.warn(warning);
        }
        let (base, embedded) = match resolved.base.clone() {
            Some(base) => (base, None),
            None => {
                let server = Embedded::start(demo).await?;
                (server.base_url(), Some(server))
            }
        };
        Ok(Self {
            resolved,
            base,
            embedded,
        })
    }

    /// Stops the embedded server, if there is one.
    pub async fn close(self) {
        if let Some(server) = self.embedded {
            server.shutdown().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_written_for_fetch_name_the_command_that_was_run() {
        let refused =
            Error::network("could not connect").with_hint(crate::protocol::client::CONNECT_HINT);
        assert_eq!(
            for_command(refused, "watch").hint(),
            Some("is the server running there? Try `ofrep watch --embedded` to see a working one")
        );
        let none = Error::usage("no server").with_hint(target::NO_SERVER_HINT);
        let hint = for_command(none, "conform")
            .hint()
            .unwrap_or_default()
            .to_owned();
        assert!(
            hint.contains("`ofrep conform https://flags.example.com`")
                && hint.contains("`ofrep conform --embedded`")
                && !hint.contains("fetch"),
            "{hint}"
        );
        // Other hints that mention fetch on purpose are left alone.
        let other = Error::answer("x").with_hint("run `ofrep fetch` against the same URL");
        assert_eq!(
            for_command(other, "watch").hint(),
            Some("run `ofrep fetch` against the same URL")
        );
    }
}
