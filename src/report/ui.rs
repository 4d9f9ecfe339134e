//! How this run presents itself, decided once from the global options and the terminal, and
//! the two kinds of stderr line every command may write: warnings and `-v` traces.

use std::io::IsTerminal;

use super::{Palette, shown};
use crate::cli::{GlobalArgs, OutputFormat};
use crate::redact::Redactor;
use crate::term::{self, Environment};

/// The resolved UI settings each command's reporter is built from.
#[derive(Debug, Clone)]
pub struct Ui {
    pub format: OutputFormat,
    /// Styles for stdout (the result); plain for JSON.
    pub out: Palette,
    /// Styles for stderr (progress, warnings).
    pub err: Palette,
    pub redactor: Redactor,
    pub verbose: bool,
    /// Whether a progress bar may be drawn on stderr (a TTY, not CI).
    pub progress: bool,
}

impl Ui {
    pub fn new(global: &GlobalArgs) -> Self {
        let env = Environment::capture();
        let stdout_colour = global.output == OutputFormat::Human
            && term::use_color(global.color, std::io::stdout().is_terminal(), &env);
        let stderr_is_tty = std::io::stderr().is_terminal();
        Self {
            format: global.output,
            out: Palette::new(stdout_colour),
            err: Palette::new(term::use_color(global.color, stderr_is_tty, &env)),
            redactor: Redactor::new(global.show_secrets),
            verbose: global.verbose,
            progress: term::use_progress(stderr_is_tty, &env),
        }
    }

    /// `warning: ...` on stderr; control characters in it are escaped (it may quote a server).
    pub fn warn(&self, message: &str) {
        eprintln!(
            "{} {}",
            self.err.paint(self.err.warn, "warning:"),
            shown(message)
        );
    }

    /// A verbose line on stderr, only with `-v`. Its control characters are escaped: request and
    /// response lines carry the server's header values.
    pub fn trace(&self, line: &str) {
        if self.verbose {
            eprintln!("{}", self.err.paint(self.err.dim, shown(line)));
        }
    }
}
