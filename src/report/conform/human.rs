//! The human screen for `conform`: a heading per feature, a row per scenario, details under the
//! rows that did not pass, then the closing count.

use std::io::{self, Write};
use std::time::Duration;

use anstyle::Style;

use super::{by_feature, comparison};
use crate::conform::model::{ConformReport, ScenarioResult, Status, Summary};
use crate::report::{Palette, ellipsize, millis, pad, shown};

/// Detail lines (message, expected/actual, location) start under the check id.
const DETAIL_INDENT: &str = "         ";

/// Evidence sits two columns further in, so a request/response block reads as a quotation.
const EVIDENCE_INDENT: &str = "           ";

/// What a row has besides the id and the name: indent, status, the gaps and the time column.
const ROW_FIXED: usize = 2 + 5 + 2 + 2 + 2 + DURATION_COLUMN;
const DURATION_COLUMN: usize = 8;

/// How result rows are laid out: the id and name columns, and the width they must fit in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    id: usize,
    name: usize,
}

impl Layout {
    /// Columns wide enough for every `(id, name)`; with a terminal `width`, the name column (and,
    /// on a very narrow terminal, the id column) shrinks so that a row never wraps. Without one
    /// (piped output) nothing is cut, and the time column still lines up on every row.
    pub fn new<'a>(rows: impl Iterator<Item = (&'a str, &'a str)>, width: Option<usize>) -> Self {
        let (mut id, mut name) = (0, 0);
        for (i, n) in rows {
            id = id.max(i.chars().count());
            name = name.max(n.chars().count());
        }
        if let Some(width) = width {
            let room = width.saturating_sub(ROW_FIXED);
            id = id.min(room);
            name = name.min(room - id);
        }
        Self { id, name }
    }

    /// One result row: status, id, name, time, each column cut with `…` to its width.
    pub fn row(&self, p: &Palette, status: Status, id: &str, name: &str, time: &str) -> String {
        let word = p.paint(status_style(p, status), pad(status_word(status), 5));
        let row = format!(
            "  {word}  {}  {}  {time:>DURATION_COLUMN$}",
            pad(&fit(id, self.id), self.id),
            pad(&fit(name, self.name), self.name),
        );
        row.trim_end().to_owned()
    }
}

/// `text` in at most `width` characters, the last of them `…` when it had to be cut.
fn fit(text: &str, width: usize) -> String {
    if width == 0 {
        String::new()
    } else {
        ellipsize(text, width)
    }
}

/// The human screen at once: the heading, a block per feature, then the closing count. A live
/// run prints the same pieces as they become known (`super::live`).
pub fn human(report: &ConformReport, out: &mut dyn Write, p: &Palette) -> io::Result<()> {
    heading(out, p, &report.target, report.strict, report.fail_on_skip)?;
    let layout = Layout::new(
        report
            .results
            .iter()
            .map(|r| (r.id.as_str(), r.scenario.as_str())),
        None,
    );
    for (feature, results) in by_feature(&report.results) {
        block(out, p, &layout, feature, &results)?;
    }
    closing(out, p, report)
}

/// `conform TARGET`, and how the run is graded when that is not the default.
pub(super) fn heading(
    out: &mut dyn Write,
    p: &Palette,
    target: &str,
    strict: bool,
    fail_on_skip: bool,
) -> io::Result<()> {
    let strict = match (strict, fail_on_skip) {
        (false, false) => String::new(),
        (true, false) => p.paint(p.dim, "  (strict: warnings count as failures)"),
        (false, true) => p.paint(
            p.dim,
            "  (fail-on-skip: skipped MUST checks count as failures)",
        ),
        (true, true) => p.paint(
            p.dim,
            "  (strict, fail-on-skip: warnings and skipped MUST checks count as failures)",
        ),
    };
    writeln!(out, "{} {}{strict}", p.paint(p.strong, "conform"), target)
}

/// One feature: its name, then a row per scenario with the details of those that did not pass.
pub(super) fn block(
    out: &mut dyn Write,
    p: &Palette,
    layout: &Layout,
    feature: &str,
    results: &[&ScenarioResult],
) -> io::Result<()> {
    writeln!(out)?;
    writeln!(out, "{}", p.paint(p.strong, feature))?;
    for result in results {
        // A scenario that never ran (a skip before its first step) has no time worth showing.
        let duration = if result.duration.is_zero() {
            String::new()
        } else {
            millis(result.duration)
        };
        let row = layout.row(p, result.status, &result.id, &result.scenario, &duration);
        writeln!(out, "{row}")?;
        details(out, p, result)?;
    }
    Ok(())
}

/// The closing count and the run's time; for a stopped run, first how much of it finished.
pub(super) fn closing(out: &mut dyn Write, p: &Palette, report: &ConformReport) -> io::Result<()> {
    writeln!(out)?;
    let summary = &report.summary;
    let style = if summary.failed > 0 || summary.errored > 0 || report.interrupted {
        p.bad
    } else if summary.warned > 0 || summary.skipped_must > 0 {
        p.warn
    } else {
        p.good
    };
    let stopped = if report.interrupted {
        "interrupted: "
    } else {
        ""
    };
    writeln!(
        out,
        "{} {}",
        p.paint(style, format!("{stopped}{}", closing_line(summary))),
        p.paint(p.dim, format!("in {}", total(report.duration)))
    )
}

/// `N passed, N failed, N skipped`, always in that order so scripts and eyes find the same
/// words every time (how many skips were MUST-level checks in brackets), then INFO
/// observations, warnings and errors only when there were some.
pub(super) fn closing_line(summary: &Summary) -> String {
    let mut line = format!(
        "{} passed, {} failed, {} skipped",
        summary.passed, summary.failed, summary.skipped
    );
    // Skipped MUST checks are what the run did not prove: say how many, so a green run with a
    // large hidden part does not read as a full pass.
    if summary.skipped_must > 0 {
        line.push_str(&format!(" ({} at MUST level)", summary.skipped_must));
    }
    if summary.info > 0 {
        line.push_str(&format!(", {} info", summary.info));
    }
    if summary.warned > 0 {
        line.push_str(&format!(", {} warned", summary.warned));
    }
    if summary.errored > 0 {
        line.push_str(&format!(", {} errored", summary.errored));
    }
    line
}

/// The run's wall time: seconds read better than thousands of milliseconds.
fn total(duration: Duration) -> String {
    if duration < Duration::from_secs(1) {
        millis(duration)
    } else {
        format!("{:.2} s", duration.as_secs_f64())
    }
}

/// What follows a row: nothing for a pass, the reason for a skip, and for anything that went
/// wrong what happened, expected against actual, the evidence, and where the scenario is written.
fn details(out: &mut dyn Write, p: &Palette, result: &ScenarioResult) -> io::Result<()> {
    match result.status {
        Status::Pass => Ok(()),
        Status::Skip => {
            if result.message.is_empty() {
                return Ok(());
            }
            writeln!(
                out,
                "{DETAIL_INDENT}{}",
                p.paint(p.dim, shown(&result.message))
            )
        }
        // What was observed instead of the ideal, and where the scenario is written: nothing
        // went wrong, so no evidence block.
        Status::Info => {
            writeln!(out, "{DETAIL_INDENT}{}", shown(&result.message))?;
            writeln!(
                out,
                "{DETAIL_INDENT}{}",
                p.paint(p.dim, format!("at {}", result.location))
            )
        }
        Status::Warn | Status::Fail | Status::Error => {
            // The message first: it is the one-line headline; expected/actual then say it
            // precisely and the evidence proves it.
            // Messages, expected/actual and evidence quote the server: escaped as they are shown.
            if !result.message.is_empty() {
                writeln!(out, "{DETAIL_INDENT}{}", shown(&result.message))?;
            }
            for line in comparison(result) {
                writeln!(out, "{DETAIL_INDENT}{}", shown(&line))?;
            }
            for line in &result.evidence {
                writeln!(out, "{EVIDENCE_INDENT}{}", p.paint(p.dim, shown(line)))?;
            }
            writeln!(
                out,
                "{DETAIL_INDENT}{}",
                p.paint(p.dim, format!("at {}", result.location))
            )
        }
    }
}

fn status_word(status: Status) -> &'static str {
    match status {
        Status::Pass => "PASS",
        Status::Info => "INFO",
        Status::Warn => "WARN",
        Status::Fail => "FAIL",
        Status::Skip => "SKIP",
        Status::Error => "ERROR",
    }
}

fn status_style(p: &Palette, status: Status) -> Style {
    match status {
        Status::Pass => p.good,
        Status::Info => p.key,
        Status::Warn => p.warn,
        Status::Fail | Status::Error => p.bad,
        Status::Skip => p.dim,
    }
}
