//! One module per subcommand: glue between the resolved options, the core and the reporters.

pub mod conform;
pub mod fetch;
pub mod serve;
pub mod watch;

use std::io::IsTerminal;

use url::Url;

use crate::cli::{GlobalArgs, OutputFormat, TargetArgs};
use crate::embedded::Embedded;
use crate::error::Error;
use crate::redact::Redactor;
use crate::report::Palette;
use crate::target::{self, OfrepEnv, Resolved};
use crate::term::{self, Environment};

/// How this run presents itself, decided once from the global options and the terminal.
#[derive(Debug, Clone)]
pub struct Ui {
    pub format: OutputFormat,
    /// Styles for stdout (the result); plain for JSON.
    pub out: Palette,
    /// Styles for stderr (progress, warnings).
    pub err: Palette,
    pub redactor: Redactor,
    pub verbose: bool,
    pub env: Environment,
}

impl Ui {
    pub fn new(global: &GlobalArgs) -> Self {
        let env = Environment::capture();
        let stdout_colour = global.output == OutputFormat::Human
            && term::use_color(global.color, std::io::stdout().is_terminal(), &env);
        let stderr_colour = term::use_color(global.color, std::io::stderr().is_terminal(), &env);
        Self {
            format: global.output,
            out: Palette::new(stdout_colour),
            err: Palette::new(stderr_colour),
            redactor: Redactor::new(global.show_secrets),
            verbose: global.verbose,
            env,
        }
    }

    /// `warning: ...` on stderr.
    pub fn warn(&self, message: &str) {
        eprintln!("{} {message}", self.err.paint(self.err.warn, "warning:"));
    }

    /// A verbose line on stderr, only with `-v`.
    pub fn trace(&self, line: &str) {
        if self.verbose {
            eprintln!("{}", self.err.paint(self.err.dim, line));
        }
    }
}

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
