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
    /// The width human output on stdout is laid out for: the terminal's, when stdout is one;
    /// `None` when it is piped or redirected, which is never truncated.
    pub width: Option<usize>,
}

impl Ui {
    pub fn new(global: &GlobalArgs) -> Self {
        let env = Environment::capture();
        let stdout_colour = global.output == OutputFormat::Human
            && term::use_color(global.color, std::io::stdout().is_terminal(), &env);
        let stderr_is_tty = std::io::stderr().is_terminal();
        let stdout_is_tty = std::io::stdout().is_terminal();
        let measured = terminal_size::terminal_size_of(std::io::stdout())
            .map(|(terminal_size::Width(w), _)| usize::from(w));
        let columns = std::env::var("COLUMNS").ok();
        Self {
            format: global.output,
            out: Palette::new(stdout_colour),
            err: Palette::new(term::use_color(global.color, stderr_is_tty, &env)),
            redactor: Redactor::new(global.show_secrets),
            verbose: global.verbose,
            progress: term::use_progress(stderr_is_tty, &env),
            width: width(stdout_is_tty, measured, columns.as_deref()),
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

/// The width to lay human output out for: on a terminal its measured width, else `COLUMNS`, else
/// 80 (a terminal too small to be useful counts as 20); piped output is never laid out to a
/// width, so nothing a script reads is cut.
fn width(stdout_is_tty: bool, measured: Option<usize>, columns: Option<&str>) -> Option<usize> {
    if !stdout_is_tty {
        return None;
    }
    let columns = columns.and_then(|c| c.trim().parse::<usize>().ok());
    Some(measured.or(columns).unwrap_or(80).max(20))
}

#[cfg(test)]
mod tests {
    use super::width;

    #[test]
    fn only_a_terminal_gets_a_width_measured_or_from_columns() {
        assert_eq!(width(false, Some(120), Some("100")), None);
        assert_eq!(width(true, Some(120), Some("100")), Some(120));
        assert_eq!(width(true, None, Some("100")), Some(100));
        assert_eq!(width(true, None, Some("wide")), Some(80));
        assert_eq!(width(true, None, None), Some(80));
        assert_eq!(width(true, Some(3), None), Some(20));
    }
}
