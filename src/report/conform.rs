//! How `ofrep conform` shows its results: a screen grouped by feature for people, one JSON
//! document for programs (its shape is `schemas/conform.schema.json`), JUnit XML for CI, and a
//! progress bar on a terminal while scenarios run. Everything shown comes from the model
//! (`crate::conform::model`); evidence arrives already redacted, so nothing here touches secrets.

use std::io::{self, Write};
use std::time::Duration;

use anstyle::Style;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use quick_junit::{
    NonSuccessKind, Property, Report, SerializeError, TestCase, TestCaseStatus, TestSuite,
};
use serde_json::Value;

use super::{Palette, millis, pad};
use crate::conform::model::{ConformReport, ScenarioResult, Status, Summary};

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
    let strict = if report.strict {
        p.paint(p.dim, "  (strict: warnings count as failures)")
    } else {
        String::new()
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
    } else if summary.warned > 0 {
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
/// words every time, then warnings and errors only when there were some.
fn closing_line(summary: &Summary) -> String {
    let mut line = format!(
        "{} passed, {} failed, {} skipped",
        summary.passed, summary.failed, summary.skipped
    );
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
            writeln!(out, "{DETAIL_INDENT}{}", p.paint(p.dim, &result.message))
        }
        Status::Warn | Status::Fail | Status::Error => {
            // The message first: it is the one-line headline; expected/actual then say it
            // precisely and the evidence proves it.
            if !result.message.is_empty() {
                writeln!(out, "{DETAIL_INDENT}{}", result.message)?;
            }
            for line in comparison(result) {
                writeln!(out, "{DETAIL_INDENT}{line}")?;
            }
            for line in &result.evidence {
                writeln!(out, "{EVIDENCE_INDENT}{}", p.paint(p.dim, line))?;
            }
            writeln!(
                out,
                "{DETAIL_INDENT}{}",
                p.paint(p.dim, format!("at {}", result.location))
            )
        }
    }
}

/// `expected: …` and `actual: …`, values aligned, for whichever of the two the result has.
fn comparison(result: &ScenarioResult) -> Vec<String> {
    [("expected:", &result.expected), ("actual:", &result.actual)]
        .into_iter()
        .filter_map(|(label, value)| {
            value
                .as_deref()
                .map(|value| format!("{} {value}", pad(label, 9)))
        })
        .collect()
}

fn status_word(status: Status) -> &'static str {
    match status {
        Status::Pass => "PASS",
        Status::Warn => "WARN",
        Status::Fail => "FAIL",
        Status::Skip => "SKIP",
        Status::Error => "ERROR",
    }
}

fn status_style(p: &Palette, status: Status) -> Style {
    match status {
        Status::Pass => p.good,
        Status::Warn => p.warn,
        Status::Fail | Status::Error => p.bad,
        Status::Skip => p.dim,
    }
}

/// Results grouped by feature, features in the order they first appear: scenarios run
/// concurrently and finish in any order, but a feature's scenarios read best together.
fn by_feature(results: &[ScenarioResult]) -> Vec<(&str, Vec<&ScenarioResult>)> {
    let mut groups: Vec<(&str, Vec<&ScenarioResult>)> = Vec::new();
    for result in results {
        match groups
            .iter_mut()
            .find(|(feature, _)| *feature == result.feature)
        {
            Some((_, members)) => members.push(result),
            None => groups.push((&result.feature, vec![result])),
        }
    }
    groups
}

/// The JSON document (`schemas/conform.schema.json`). The model's serde is the document, so a
/// field added to the model shows up here without a second list to keep in step.
pub fn json(report: &ConformReport) -> Value {
    // serde_json fails only on maps with non-string keys or a Serialize impl that errors; the
    // model has neither, so the default is never reached (as in `report::fetch`).
    serde_json::to_value(report).unwrap_or_default()
}

/// The JUnit XML for `--junit PATH`: a test suite per feature, a test case per scenario named
/// by its check id (so CI dashboards and the checklist agree), the feature as its classname and
/// the scenario's name, level and location as properties. A failure becomes `<failure>`, a
/// scenario that could not run `<error>`, a skip `<skipped>` with its reason; a warning passes
/// with a `<system-out>` that starts `warning:`, since JUnit has no warning state and a SHOULD
/// must not break a build unless `--strict` (which has already turned warnings into failures).
/// No timestamps are written: the report is the same for the same results.
pub fn junit(report: &ConformReport) -> Result<String, SerializeError> {
    let mut junit = Report::new("ofrep conform");
    junit.set_time(report.duration);
    for (feature, results) in by_feature(&report.results) {
        let mut suite = TestSuite::new(feature);
        suite.add_test_cases(results.into_iter().map(test_case));
        junit.add_test_suite(suite);
    }
    junit.to_string()
}

fn test_case(result: &ScenarioResult) -> TestCase {
    let text = junit_text(result);
    let status = match result.status {
        Status::Pass | Status::Warn => TestCaseStatus::success(),
        Status::Fail => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            // The level as the failure's type: under --strict it tells a SHOULD from a MUST.
            status.set_type(result.level.as_str());
            status
        }
        Status::Error => TestCaseStatus::non_success(NonSuccessKind::Error),
        Status::Skip => TestCaseStatus::skipped(),
    };
    let mut case = TestCase::new(result.id.as_str(), status);
    if matches!(result.status, Status::Fail | Status::Error | Status::Skip) {
        case.status.set_message(result.message.as_str());
    }
    if matches!(result.status, Status::Fail | Status::Error) {
        case.status.set_description(text.as_str());
    }
    if result.status == Status::Warn {
        case.set_system_out(format!("warning: {text}"));
    }
    case.set_classname(result.feature.as_str())
        .set_time(result.duration)
        .add_properties([
            Property::new("scenario", result.scenario.as_str()),
            Property::new("level", result.level.as_str()),
            Property::new("location", result.location.as_str()),
        ]);
    case
}

/// The text under a `<failure>` or `<error>` (and after `warning:`): the message again, since
/// some consumers show only the element's text and not its `message` attribute, then expected
/// against actual, then the evidence.
fn junit_text(result: &ScenarioResult) -> String {
    std::iter::once(result.message.clone())
        .chain(comparison(result))
        .chain(result.evidence.iter().cloned())
        .collect::<Vec<_>>()
        .join("\n")
}

/// A bar on stderr counting finished scenarios while `conform` runs, showing the last check
/// id. Whether to draw it is decided elsewhere (`crate::term::use_progress`: a TTY, not CI);
/// when it is off every method does nothing, so the runner calls it unconditionally. Cloning
/// shares the bar, so concurrent scenarios can each report to it.
#[derive(Debug, Clone)]
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    pub fn new(total: u64, enabled: bool) -> Self {
        let target = enabled.then(ProgressDrawTarget::stderr);
        Self::drawn_to(total, target)
    }

    fn drawn_to(total: u64, target: Option<ProgressDrawTarget>) -> Self {
        let bar = target.map(|target| {
            // The template is a constant known to parse; the default bar is only a fallback so
            // that a bad template can never stop a run.
            let style = ProgressStyle::with_template("{bar:30} {pos}/{len} {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar());
            ProgressBar::with_draw_target(Some(total), target).with_style(style)
        });
        Self { bar }
    }

    /// One more scenario is done.
    pub fn finished(&self, result: &ScenarioResult) {
        if let Some(bar) = &self.bar {
            bar.set_message(result.id.clone());
            bar.inc(1);
        }
    }

    /// Clears the bar, so the report that follows on stdout starts on a clean screen.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::finding::Level;

    fn result(
        id: &str,
        feature: &str,
        scenario: &str,
        (level, status): (Level, Status),
        millis: u64,
        location: &str,
    ) -> ScenarioResult {
        ScenarioResult {
            id: id.to_owned(),
            feature: feature.to_owned(),
            scenario: scenario.to_owned(),
            level,
            status,
            message: String::new(),
            expected: None,
            actual: None,
            evidence: Vec::new(),
            location: location.to_owned(),
            duration: Duration::from_millis(millis),
            cause: None,
        }
    }

    /// Fills in what a scenario that did not pass says, so each sample reads as one expression.
    trait Said {
        fn said(self, message: &str) -> Self;
        fn compared(self, expected: &str, actual: &str) -> Self;
        fn proved_by(self, evidence: &[&str]) -> Self;
    }

    impl Said for ScenarioResult {
        fn said(mut self, message: &str) -> Self {
            self.message = message.to_owned();
            self
        }
        fn compared(mut self, expected: &str, actual: &str) -> Self {
            self.expected = Some(expected.to_owned());
            self.actual = Some(actual.to_owned());
            self
        }
        fn proved_by(mut self, evidence: &[&str]) -> Self {
            self.evidence = evidence.iter().map(|line| (*line).to_owned()).collect();
            self
        }
    }

    /// Two features, every status, scenarios interleaved as a concurrent run would finish them;
    /// fixed durations so the snapshots never change between runs.
    fn sample() -> ConformReport {
        const ETAG: &str = "ETag and 304";
        const STREAMS: &str = "Event streams";
        const BULK: &str = "> POST http://127.0.0.1:8016/ofrep/v1/evaluate/flags";
        let must = |status| (Level::Must, status);
        let results = vec![
            result(
                "bulk-304-on-match",
                ETAG,
                "a matching If-None-Match gets 304",
                must(Status::Pass),
                12,
                "builtin/etag.feature:4",
            ),
            result(
                "streams-shape",
                STREAMS,
                "eventStreams is an array of typed objects",
                must(Status::Pass),
                3,
                "builtin/streams.feature:3",
            ),
            result(
                "bulk-304-no-body",
                ETAG,
                "a 304 has no body",
                must(Status::Fail),
                8,
                "builtin/etag.feature:12",
            )
            .said("the 304 answer carried a body")
            .compared("no body", "17 bytes: {\"flags\":[]}")
            .proved_by(&[
                BULK,
                "> if-none-match: \"c0ffee\"",
                "< 304 Not Modified",
                "< content-length: 17",
            ]),
            result(
                "sse-notify",
                STREAMS,
                "a flag change is followed by a refetchEvaluation event",
                must(Status::Error),
                1503,
                "builtin/streams.feature:17",
            )
            .said("could not connect to the event stream: connection refused")
            .proved_by(&[
                "> GET http://127.0.0.1:8017/events?<redacted>",
                "! connection refused",
            ]),
            result(
                "bulk-304-etag",
                ETAG,
                "a 304 repeats the ETag",
                (Level::Should, Status::Warn),
                7,
                "builtin/etag.feature:20",
            )
            .said("the 304 did not repeat the ETag")
            .compared("etag: \"c0ffee\"", "no etag header")
            .proved_by(&[BULK, "< 304 Not Modified"]),
            result(
                "sse-replay",
                STREAMS,
                "missed events are replayed after Last-Event-ID",
                (Level::Info, Status::Skip),
                0,
                "builtin/streams.feature:30",
            )
            .said("tagged @slow, which --tags did not select"),
            result(
                "bulk-etag-changes",
                ETAG,
                "the ETag changes after a flag change",
                must(Status::Skip),
                0,
                "builtin/etag.feature:28",
            )
            .said("no way to change a flag: pass --trigger-url URL or --trigger-cmd CMD"),
        ];
        ConformReport::new(
            "http://127.0.0.1:8016".into(),
            results,
            Duration::from_millis(2468),
            false,
        )
    }

    fn human_text(report: &ConformReport) -> String {
        let mut out = Vec::new();
        human(report, &mut out, &Palette::new(false)).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn human_output_groups_scenarios_by_feature() {
        insta::assert_snapshot!(human_text(&sample()));
    }

    #[test]
    fn human_output_without_colour_has_no_escape_codes_and_with_colour_has_them() {
        assert!(!human_text(&sample()).contains('\u{1b}'));
        let mut out = Vec::new();
        human(&sample(), &mut out, &Palette::new(true)).unwrap();
        assert!(String::from_utf8(out).unwrap().contains('\u{1b}'));
    }

    #[test]
    fn closing_line_counts_match_the_results() {
        let report = sample();
        let count = |status| report.results.iter().filter(|r| r.status == status).count();
        let expected = format!(
            "{} passed, {} failed, {} skipped, {} warned, {} errored in 2.47 s",
            count(Status::Pass),
            count(Status::Fail),
            count(Status::Skip),
            count(Status::Warn),
            count(Status::Error),
        );
        assert_eq!(
            expected,
            "2 passed, 1 failed, 2 skipped, 1 warned, 1 errored in 2.47 s"
        );
        assert_eq!(human_text(&report).lines().last(), Some(expected.as_str()));
    }

    #[test]
    fn closing_line_leaves_out_warnings_and_errors_when_there_are_none() {
        let summary = Summary {
            passed: 3,
            failed: 0,
            warned: 0,
            skipped: 1,
            errored: 0,
        };
        assert_eq!(closing_line(&summary), "3 passed, 0 failed, 1 skipped");
    }

    #[test]
    fn strict_runs_say_so_and_count_warnings_as_failures() {
        let report = sample();
        let strict = ConformReport::new(
            report.target.clone(),
            report.results.clone(),
            report.duration,
            true,
        );
        let text = human_text(&strict);
        assert!(text.lines().next().unwrap().contains("strict"), "{text}");
        assert!(
            text.contains("2 passed, 2 failed, 2 skipped, 1 errored"),
            "{text}"
        );
    }

    #[test]
    fn features_keep_the_order_they_first_appear_in() {
        let report = sample();
        let features: Vec<&str> = by_feature(&report.results)
            .iter()
            .map(|(feature, _)| *feature)
            .collect();
        assert_eq!(features, ["ETag and 304", "Event streams"]);
    }

    fn schema() -> Value {
        let text = include_str!("../../schemas/conform.schema.json");
        serde_json::from_str(text).unwrap()
    }

    /// The schema with `additionalProperties: false` on every object it describes: the
    /// published schema leaves room for fields to be added, but every field `json` writes today
    /// must be documented there.
    fn closed(mut schema: Value) -> Value {
        if let Some(object) = schema.as_object_mut() {
            if object.contains_key("properties") {
                object.insert("additionalProperties".into(), Value::Bool(false));
            }
            for value in object.values_mut() {
                *value = closed(value.take());
            }
        }
        schema
    }

    fn schema_errors(schema: &Value, document: &Value) -> Vec<String> {
        jsonschema::validator_for(schema)
            .unwrap()
            .iter_errors(document)
            .map(|e| format!("{e} at {}", e.instance_path))
            .collect()
    }

    #[test]
    fn json_matches_its_schema_with_every_status_and_every_field_documented() {
        let report = sample();
        let document = json(&report);
        let statuses: Vec<&str> = document["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|r| r["status"].as_str())
            .collect();
        for status in ["pass", "fail", "warn", "skip", "error"] {
            assert!(statuses.contains(&status), "no {status} in {statuses:?}");
        }
        for schema in [schema(), closed(schema())] {
            let errors = schema_errors(&schema, &document);
            assert!(errors.is_empty(), "{errors:?}\n{document:#}");
        }
    }

    #[test]
    fn json_has_the_documented_shape() {
        let document = json(&sample());
        let keys =
            |value: &Value| -> Vec<String> { value.as_object().unwrap().keys().cloned().collect() };
        assert_eq!(
            keys(&document),
            ["target", "summary", "results", "durationMs", "strict"]
        );
        assert_eq!(
            document["summary"],
            serde_json::json!({"passed": 2, "failed": 1, "warned": 1, "skipped": 2, "errored": 1})
        );
        assert_eq!(document["durationMs"], 2468.0);
        let failure = &document["results"][2];
        assert_eq!(
            keys(failure),
            [
                "id",
                "feature",
                "scenario",
                "level",
                "status",
                "message",
                "expected",
                "actual",
                "evidence",
                "location",
                "durationMs"
            ]
        );
        assert_eq!(failure["level"], "must");
        assert_eq!(failure["durationMs"], 8.0);
        let pass = &document["results"][0];
        assert!(pass.get("expected").is_none() && pass.get("actual").is_none());
        assert_eq!(pass["message"], "");
    }

    #[test]
    fn the_schema_rejects_an_unknown_status() {
        let mut document = json(&sample());
        document["results"][0]["status"] = "flaky".into();
        assert!(!schema_errors(&schema(), &document).is_empty());
    }

    #[test]
    fn an_undocumented_field_passes_the_schema_but_not_its_closed_form() {
        let mut document = json(&sample());
        document["results"][0]["undocumented"] = 1.into();
        assert!(schema_errors(&schema(), &document).is_empty());
        assert!(!schema_errors(&closed(schema()), &document).is_empty());
    }

    #[test]
    fn junit_has_a_suite_per_feature_and_a_case_per_scenario() {
        insta::assert_snapshot!(junit(&sample()).unwrap());
    }

    #[test]
    fn progress_counts_finished_scenarios_and_shows_the_last_id() {
        let report = sample();
        let progress = Progress::drawn_to(7, Some(ProgressDrawTarget::hidden()));
        for result in &report.results[..3] {
            progress.clone().finished(result);
        }
        let bar = progress.bar.as_ref().unwrap();
        assert_eq!(bar.position(), 3);
        assert_eq!(bar.length(), Some(7));
        assert_eq!(bar.message(), "bulk-304-no-body");
        progress.finish();
        assert!(bar.is_finished());
    }

    #[test]
    fn disabled_progress_draws_nothing() {
        let progress = Progress::new(7, false);
        assert!(progress.bar.is_none());
        progress.finished(&sample().results[0]);
        progress.finish();
    }

    #[test]
    fn an_empty_run_still_reports_its_counts_in_every_format() {
        let report = ConformReport::new("http://x".into(), Vec::new(), Duration::ZERO, false);
        assert_eq!(
            human_text(&report).lines().last(),
            Some("0 passed, 0 failed, 0 skipped in 0.0 ms")
        );
        assert!(schema_errors(&schema(), &json(&report)).is_empty());
        assert!(junit(&report).unwrap().contains("tests=\"0\""));
    }
}
