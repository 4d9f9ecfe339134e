//! How `ofrep watch` shows its work: a timestamped block per change on stdout and connection
//! states on stderr for people; one JSON object per line for programs (shapes in
//! `schemas/watch.schema.json`).
//!
//! [`Reporter`] is the one door: the command hands it every pipeline event and how the watch
//! ended (a met condition, a passed deadline, an error), and it decides once where each goes.

mod human;
mod json;
#[cfg(test)]
mod tests;

use std::io::{self, Write};
use std::time::{Duration, SystemTime};

use super::Ui;
use crate::cli::OutputFormat;
use crate::watch::WatchEvent;
pub use human::{change_lines, human};
pub use json::{json_line, write_json_line};

/// Where a rendered line goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    Out(String),
    Err(String),
}

/// Everything `watch` writes, for one run. Each stdout line is flushed at once, so a CI log or
/// a pipe sees each change as it happens.
pub struct Reporter<'a> {
    ui: &'a Ui,
}

impl<'a> Reporter<'a> {
    pub fn new(ui: &'a Ui) -> Self {
        Self { ui }
    }

    pub fn event(&self, event: &WatchEvent) -> io::Result<()> {
        let at = SystemTime::now();
        let ui = self.ui;
        match ui.format {
            OutputFormat::Json => {
                let mut out = io::stdout().lock();
                if write_json_line(event, at, &ui.redactor, ui.verbose, &mut out)? {
                    out.flush()?;
                }
            }
            OutputFormat::Human => {
                for line in human(event, at, &ui.out, &ui.err, &ui.redactor, ui.verbose) {
                    match line {
                        Line::Out(text) => out_line(&text)?,
                        Line::Err(text) => eprintln!("{text}"),
                    }
                }
            }
        }
        Ok(())
    }

    /// Why `watch` stopped successfully (`every --until condition holds`); people only.
    pub fn stopped(&self, why: &str) {
        if self.ui.format == OutputFormat::Human {
            eprintln!("{}", self.ui.err.paint(self.ui.err.good, why));
        }
    }

    /// `--deadline` passed with `unmet` still true.
    pub fn deadline_passed(&self, deadline: Duration, unmet: &[String]) -> io::Result<()> {
        let summary = format!(
            "the deadline of {} passed",
            humantime::format_duration(deadline)
        );
        match self.ui.format {
            OutputFormat::Json => {
                out_line(&json::deadline_line(SystemTime::now(), &summary, unmet))
            }
            OutputFormat::Human => {
                let e = &self.ui.err;
                eprintln!("{}: {summary}", e.paint(e.bad, "failed"));
                for reason in unmet {
                    eprintln!("  {reason}");
                }
                Ok(())
            }
        }
    }

    /// The error `watch` stopped on, as a JSON line for programs reading stdout; `main` prints
    /// it on stderr in every format.
    pub fn error(&self, message: &str) -> io::Result<()> {
        match self.ui.format {
            OutputFormat::Json => out_line(&json::error_line(SystemTime::now(), message)),
            OutputFormat::Human => Ok(()),
        }
    }
}

/// One line on stdout, flushed at once.
fn out_line(text: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "{text}")?;
    out.flush()
}
