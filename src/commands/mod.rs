//! One module per subcommand: glue between the resolved options, the core and the reporters.

pub mod conform;
pub mod fetch;
pub mod serve;
pub mod watch;

use url::Url;

use crate::cli::TargetArgs;
use crate::embedded::Embedded;
use crate::error::Error;
use crate::report::Ui;
use crate::target::{self, OfrepEnv, Resolved};

/// Resolves on Ctrl-C, or SIGTERM on Unix (what `kill` and container runtimes send).
pub async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
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
