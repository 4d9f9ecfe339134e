//! The JUnit XML of `conform` loads in a real JUnit consumer: Python's ElementTree, the parser
//! behind the usual Python JUnit tooling, reads the file back and reports what it found.

use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

use ofrep::conform::model::{ConformReport, Grading, ScenarioResult, Status};
use ofrep::protocol::finding::Level;
use ofrep::report::conform::junit;
use serde_json::{Value, json};

/// Reads the JUnit file named by argv[1] and prints its structure as JSON: every suite with its
/// counts, every case with its classname, the child elements it has and their text.
const READER: &str = r#"
import json, sys
import xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
def case(c):
    children = [ch.tag for ch in c if ch.tag != "properties"]
    props = {p.get("name"): p.get("value") for p in c.iter("property")}
    verdict = next((ch for ch in c if ch.tag in ("failure", "error", "skipped")), None)
    out = c.find("system-out")
    return {
        "name": c.get("name"), "classname": c.get("classname"), "time": c.get("time"),
        "children": children, "properties": props,
        "message": None if verdict is None else verdict.get("message"),
        "text": None if verdict is None else verdict.text,
        "out": None if out is None else out.text,
    }
print(json.dumps({
    "tag": root.tag, "name": root.get("name"),
    "counts": {k: root.get(k) for k in ("tests", "failures", "errors", "skipped")},
    "suites": [{
        "name": s.get("name"),
        "counts": {k: s.get(k) for k in ("tests", "failures", "errors", "skipped")},
        "cases": [case(c) for c in s.findall("testcase")],
    } for s in root.findall("testsuite")],
}))
"#;

/// Text a JUnit writer must escape or strip: markup characters, a CDATA terminator, an ANSI
/// colour code and a control character, next to ordinary non-ASCII text.
const AWKWARD: &str = "<b>&\"quoted\"</b> ]]> \u{1b}[31mred\u{1b}[0m \u{7} café";

fn result(id: &str, feature: &str, status: Status) -> ScenarioResult {
    ScenarioResult {
        id: id.to_owned(),
        feature: feature.to_owned(),
        scenario: format!("{id} {AWKWARD}"),
        level: if status == Status::Warn {
            Level::Should
        } else {
            Level::Must
        },
        status,
        message: if status == Status::Pass {
            String::new()
        } else {
            format!("{} because {AWKWARD}", status.as_str())
        },
        expected: Some("304".to_owned()),
        actual: Some("200".to_owned()),
        evidence: vec![
            "> POST http://127.0.0.1:1/ofrep/v1/evaluate/flags?<redacted>".to_owned(),
            "< 200 OK".to_owned(),
        ],
        location: format!("builtin/{feature}.feature:1"),
        builtin: true,
        duration: Duration::from_millis(250),
        cause: None,
        not_applicable: false,
    }
}

fn report() -> ConformReport {
    let results = vec![
        result("a-pass", "alpha", Status::Pass),
        result("b-fail", "beta", Status::Fail),
        result("a-fail", "alpha", Status::Fail),
        result("a-error", "alpha", Status::Error),
        result("b-skip", "beta", Status::Skip),
        result("a-warn", "alpha", Status::Warn),
        result("c-pass", "gamma", Status::Pass),
    ];
    ConformReport::new(
        "http://127.0.0.1:1".to_owned(),
        results,
        Duration::from_secs(1),
        Grading::default(),
    )
}

/// Writes the report's JUnit XML to a file and returns what the Python reader made of it.
fn read_back(report: &ConformReport) -> Value {
    let xml = junit(report).expect("the report serializes");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("conform.xml");
    std::fs::write(&path, xml.as_bytes()).unwrap();
    let output = match Command::new("python3")
        .args(["-c", READER])
        .arg(&path)
        .output()
    {
        Ok(output) => output,
        Err(e) => panic!(
            "this test needs python3 on PATH to parse the JUnit XML with ElementTree, \
             and could not run it: {e}"
        ),
    };
    assert!(
        output.status.success(),
        "python3 could not parse the JUnit XML: {}\n{xml}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn case<'a>(parsed: &'a Value, suite: &str, name: &str) -> &'a Value {
    parsed["suites"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["name"] == suite)
        .flat_map(|s| s["cases"].as_array().unwrap())
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no case {name} in suite {suite}: {parsed:#}"))
}

#[test]
fn junit_loads_in_python_with_a_suite_per_feature_and_a_case_per_scenario() {
    let parsed = read_back(&report());
    assert_eq!(parsed["tag"], "testsuites");
    assert_eq!(parsed["name"], "ofrep conform");
    assert_eq!(
        parsed["counts"],
        json!({"tests": "7", "failures": "2", "errors": "1", "skipped": "1"})
    );
    let suites: Vec<(&str, usize)> = parsed["suites"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap(),
                s["cases"].as_array().unwrap().len(),
            )
        })
        .collect();
    assert_eq!(suites, [("alpha", 4), ("beta", 2), ("gamma", 1)]);
    assert_eq!(
        parsed["suites"][0]["counts"],
        json!({"tests": "4", "failures": "1", "errors": "1", "skipped": "0"})
    );
}

#[test]
fn junit_puts_failure_error_and_skipped_on_the_right_cases() {
    let parsed = read_back(&report());
    let children = |suite, name| case(&parsed, suite, name)["children"].clone();
    assert_eq!(children("alpha", "a-pass"), json!([]));
    assert_eq!(children("alpha", "a-fail"), json!(["failure"]));
    assert_eq!(children("beta", "b-fail"), json!(["failure"]));
    assert_eq!(children("alpha", "a-error"), json!(["error"]));
    assert_eq!(children("beta", "b-skip"), json!(["skipped"]));
    assert_eq!(children("alpha", "a-warn"), json!(["system-out"]));

    let failure = case(&parsed, "alpha", "a-fail");
    assert_eq!(failure["classname"], "alpha");
    assert_eq!(failure["time"], "0.250");
    assert_eq!(failure["properties"]["level"], "MUST");
    assert_eq!(failure["properties"]["location"], "builtin/alpha.feature:1");
    let text = failure["text"].as_str().unwrap();
    for line in ["expected: 304", "actual:   200", "< 200 OK", "?<redacted>"] {
        assert!(text.contains(line), "{line:?} not in {text:?}");
    }
    // XML special characters survive as text; control characters are written as escapes,
    // as in human output (XML 1.0 cannot carry most of them anyway).
    assert_eq!(
        case(&parsed, "beta", "b-skip")["message"],
        "skip because <b>&\"quoted\"</b> ]]> \\u{1b}[31mred\\u{1b}[0m \\u{7} café"
    );
    let warning = case(&parsed, "alpha", "a-warn")["out"].as_str().unwrap();
    assert!(warning.starts_with("warning: warn because"), "{warning}");
}

#[test]
fn junit_text_survives_markup_and_loses_only_escape_codes() {
    let parsed = read_back(&report());
    let scenario = &case(&parsed, "alpha", "a-pass")["properties"]["scenario"];
    assert_eq!(scenario, "a-pass <b>&\"quoted\"</b> ]]> red  café");
}

#[test]
fn junit_reports_an_info_observation_as_a_passed_case_with_the_observation_in_system_out() {
    let mut observed = result("a-info", "alpha", Status::Info);
    observed.level = Level::Info;
    observed.message = "observed: 200 (the ideal: status 304)".to_owned();
    let report = ConformReport::new(
        "http://127.0.0.1:1".to_owned(),
        vec![observed, result("a-pass", "alpha", Status::Pass)],
        Duration::from_secs(1),
        Grading::default(),
    );
    let parsed = read_back(&report);
    assert_eq!(
        parsed["counts"],
        json!({"tests": "2", "failures": "0", "errors": "0", "skipped": "0"})
    );
    let info = case(&parsed, "alpha", "a-info");
    assert_eq!(info["children"], json!(["system-out"]), "{info:#}");
    assert_eq!(info["properties"]["level"], "INFO");
    let out = info["out"].as_str().unwrap();
    assert!(
        out.starts_with("info: observed: 200 (the ideal: status 304)"),
        "{out}"
    );
}

#[test]
fn junit_case_names_are_unique_within_a_suite_and_stay_bare_where_the_id_is() {
    let named = |id: &str, scenario: &str| {
        let mut r = result(id, "alpha", Status::Pass);
        r.scenario = scenario.to_owned();
        r
    };
    let report = ConformReport::new(
        "http://127.0.0.1:1".to_owned(),
        vec![
            named("core-endpoints", "the bulk endpoint answers"),
            named("core-endpoints", "the single-flag endpoint answers"),
            named("core-json", "twice"),
            named("core-json", "twice"),
            named("single-shape", "alone"),
            // The same id in another suite is another classname: no qualification needed.
            result("core-endpoints", "beta", Status::Pass),
        ],
        Duration::from_secs(1),
        Grading::default(),
    );
    let parsed = read_back(&report);
    let keys: Vec<(String, String)> = parsed["suites"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["cases"].as_array().unwrap())
        .map(|c| {
            (
                c["classname"].as_str().unwrap().to_owned(),
                c["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let unique: BTreeSet<&(String, String)> = keys.iter().collect();
    assert_eq!(unique.len(), keys.len(), "{keys:?}");
    let names: Vec<&str> = keys.iter().map(|(_, n)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "core-endpoints (the bulk endpoint answers)",
            "core-endpoints (the single-flag endpoint answers)",
            "core-json (twice)",
            "core-json (twice) #2",
            "single-shape",
            "core-endpoints",
        ]
    );
    assert_eq!(
        case(&parsed, "alpha", "core-json (twice) #2")["properties"]["id"],
        "core-json"
    );
}
