use std::time::Duration;

use indicatif::ProgressDrawTarget;

use super::human::closing_line;
use super::*;
use crate::conform::model::{Grading, Status, Summary};
use crate::protocol::finding::Level;
use crate::report::Palette;

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
        builtin: location.starts_with("builtin/"),
        duration: Duration::from_millis(millis),
        cause: None,
        not_applicable: false,
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
            "bulk-inm-forms",
            ETAG,
            "If-None-Match * gets a 304",
            (Level::Info, Status::Info),
            5,
            "builtin/etag.feature:72",
        )
        .said("observed: 200 (the ideal: status 304)")
        .compared("status 304", "200")
        .proved_by(&[BULK, "> if-none-match: *", "< 200 OK"]),
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
        Grading::default(),
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
        "{} passed, {} failed, {} skipped, {} info, {} warned, {} errored in 2.47 s",
        count(Status::Pass),
        count(Status::Fail),
        count(Status::Skip),
        count(Status::Info),
        count(Status::Warn),
        count(Status::Error),
    );
    assert_eq!(
        expected,
        "2 passed, 1 failed, 2 skipped, 1 info, 1 warned, 1 errored in 2.47 s"
    );
    let expected = expected.replace("2 skipped", "2 skipped (1 at MUST level)");
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
        info: 0,
        skipped_must: 0,
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
        Grading {
            strict: true,
            ..Grading::default()
        },
    );
    let text = human_text(&strict);
    assert!(text.lines().next().unwrap().contains("strict"), "{text}");
    assert!(
        text.contains("2 passed, 2 failed, 2 skipped (1 at MUST level), 1 info, 1 errored"),
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
    let text = include_str!("../../../schemas/conform.schema.json");
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
    for status in ["pass", "info", "fail", "warn", "skip", "error"] {
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
        [
            "target",
            "summary",
            "results",
            "durationMs",
            "strict",
            "failOnSkip"
        ]
    );
    assert_eq!(
        document["summary"],
        serde_json::json!({"passed": 2, "failed": 1, "warned": 1, "skipped": 2, "errored": 1, "info": 1, "skippedMust": 1})
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
fn progress_counts_finished_scenarios_and_shows_what_is_running() {
    let report = sample();
    let progress = Progress::drawn_to(7, Some(ProgressDrawTarget::hidden()));
    for result in &report.results[..4] {
        progress.clone().started(&result.id);
    }
    let bar = progress.bar.as_ref().unwrap();
    assert_eq!(
        bar.message(),
        "running 4: bulk-304-on-match, streams-shape, bulk-304-no-body, sse-notify"
    );
    for result in &report.results[..3] {
        progress.clone().finished(result);
    }
    assert_eq!(bar.position(), 3);
    assert_eq!(bar.length(), Some(7));
    assert_eq!(bar.message(), "running 1: sse-notify");
    progress.finished(&report.results[3]);
    assert_eq!(bar.message(), "");
    assert_eq!(progress.suspend(|| 42), 42);
    progress.finish();
    assert!(bar.is_finished());
}

#[test]
fn disabled_progress_draws_nothing() {
    let progress = Progress::new(7, false);
    assert!(progress.bar.is_none());
    progress.started("x");
    progress.finished(&sample().results[0]);
    assert_eq!(progress.suspend(|| 7), 7);
    progress.finish();
}

#[test]
fn an_empty_run_still_reports_its_counts_in_every_format() {
    let report = ConformReport::new(
        "http://x".into(),
        Vec::new(),
        Duration::ZERO,
        Grading::default(),
    );
    assert_eq!(
        human_text(&report).lines().last(),
        Some("0 passed, 0 failed, 0 skipped in 0.0 ms")
    );
    assert!(schema_errors(&schema(), &json(&report)).is_empty());
    assert!(junit(&report).unwrap().contains("tests=\"0\""));
}

#[test]
fn fail_on_skip_turns_skipped_must_checks_into_failures_and_only_those() {
    let report = sample();
    let graded = ConformReport::new(
        report.target.clone(),
        report.results.clone(),
        report.duration,
        Grading {
            fail_on_skip: true,
            ..Grading::default()
        },
    );
    let status_of = |id: &str| {
        graded
            .results
            .iter()
            .find(|r| r.id == id)
            .map(|r| (r.status, r.message.clone()))
            .unwrap()
    };
    let (status, message) = status_of("bulk-etag-changes");
    assert_eq!(status, Status::Fail);
    assert!(
        message.starts_with("not checked, and --fail-on-skip counts a skipped MUST check as a failure: no way to change a flag"),
        "{message}"
    );
    assert_eq!(
        status_of("sse-replay").0,
        Status::Skip,
        "an INFO skip stays a skip"
    );
    assert_eq!(
        (
            graded.summary.failed,
            graded.summary.skipped,
            graded.summary.skipped_must
        ),
        (2, 1, 0)
    );
    let text = human_text(&graded);
    assert!(
        text.lines().next().unwrap().contains("fail-on-skip"),
        "{text}"
    );
    assert!(json(&graded)["failOnSkip"] == true);
}

#[test]
fn junit_text_quoting_a_server_cannot_hold_control_characters_or_workflow_commands() {
    let hostile = result(
        "bulk-304-no-body",
        "ETag and 304",
        "a 304 has no body",
        (Level::Must, Status::Fail),
        8,
        "builtin/etag.feature:12",
    )
    .said("the server said ##[stop-commands]x and \u{1b}[2J");
    let report = ConformReport::new(
        "http://x".into(),
        vec![hostile],
        Duration::ZERO,
        Grading::default(),
    );
    let xml = junit(&report).unwrap();
    assert!(!xml.contains("##["), "{xml}");
    assert!(!xml.contains('\u{1b}'), "{xml}");
    assert!(xml.contains("stop-commands"), "{xml}");
}
