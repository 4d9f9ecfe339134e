//! The human screen for `conform`: a heading per feature, a row per scenario, details under the
//! rows that did not pass, then the closing count.

use std::io::{self, Write};
use std::time::Duration;

use anstyle::Style;

use super::{by_feature, comparison};
use crate::conform::model::{ConformReport, ScenarioResult, Status, Summary};
use crate::report::{Palette, millis, pad, shown};

/// Scenario names longer than this push their duration to the right instead of widening the
/// name column of every row: one long user-written name should not spread the whole table.
const NAME_COLUMN_MAX: usize = 56;

/// Detail lines (message, expected/actual, location) start under the check id.
const DETAIL_INDENT: &str = "         ";

/// Evidence sits two columns further in, so a request/response block reads as a quotation.
const EVIDENCE_INDENT: &str = "           ";

/// The human screen: a heading per feature, a row per scenario, details under the rows that
/// did not pass, then the closing count.
pub fn human(report: &ConformReport, out: &mut dyn Write, p: &Palette) -> io::Result<()> {
    let strict = match (report.strict, report.fail_on_skip) {
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
    writeln!(
        out,
        "{} {}{strict}",
        p.paint(p.strong, "conform"),
        report.target
    )?;

    let id_width = report
        .results
        .iter()
        .map(|r| r.id.chars().count())
        .max()
        .unwrap_or(0);
    let name_width = report
        .results
        .iter()
        .map(|r| r.scenario.chars().count())
        .max()
        .unwrap_or(0)
        .min(NAME_COLUMN_MAX);

    for (feature, results) in by_feature(&report.results) {
        writeln!(out)?;
        writeln!(out, "{}", p.paint(p.strong, feature))?;
        for result in results {
            let word = p.paint(
                status_style(p, result.status),
                pad(status_word(result.status), 5),
            );
            // A scenario that never ran (a skip before its first step) has no time worth showing.
            let duration = if result.duration.is_zero() {
                String::new()
            } else {
                millis(result.duration)
            };
            let row = format!(
                "  {word}  {}  {}  {duration:>8}",
                pad(&result.id, id_width),
                pad(&result.scenario, name_width),
            );
            writeln!(out, "{}", row.trim_end())?;
            details(out, p, result)?;
        }
    }

    writeln!(out)?;
    let summary = &report.summary;
    let style = if summary.failed > 0 || summary.errored > 0 {
        p.bad
    } else if summary.warned > 0 || summary.skipped_must > 0 {
        p.warn
    } else {
        p.good
    };
    writeln!(
        out,
        "{} {}",
        p.paint(style, closing_line(summary)),
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
