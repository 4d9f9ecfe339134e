//! The JUnit XML for `conform --junit`.

use quick_junit::{
    NonSuccessKind, Property, Report, SerializeError, TestCase, TestCaseStatus, TestSuite,
};

use super::{by_feature, comparison};
use crate::conform::model::{ConformReport, ScenarioResult, Status};
use crate::report::shown;

/// The JUnit XML for `--junit PATH`: a test suite per feature, a test case per scenario named
/// by its check id (so CI dashboards and the checklist agree; see [`case_names`] for ids that
/// several scenarios prove), the feature as its classname and the id, scenario's name, level and
/// location as properties. A failure becomes `<failure>`, a
/// scenario that could not run `<error>`, a skip `<skipped>` with its reason; a warning passes
/// with a `<system-out>` that starts `warning:`, since JUnit has no warning state and a SHOULD
/// must not break a build unless `--strict` (which has already turned warnings into failures).
/// An INFO observation passes likewise, with a `<system-out>` that starts `info:`.
/// No timestamps are written: the report is the same for the same results.
pub fn junit(report: &ConformReport) -> Result<String, SerializeError> {
    let mut junit = Report::new("ofrep conform");
    junit.set_time(report.duration);
    for (feature, results) in by_feature(&report.results) {
        let mut suite = TestSuite::new(feature);
        let names = case_names(&results);
        suite.add_test_cases(
            results
                .into_iter()
                .zip(names)
                .map(|(result, name)| test_case(result, name)),
        );
        junit.add_test_suite(suite);
    }
    junit.to_string()
}

/// Each case's name within its suite: the check id where no other scenario of the feature proves
/// the same id, else `id (scenario name)`; should even that repeat (a user's file with two
/// scenarios of one name), ` #2`, ` #3`… after it. CI dashboards key test cases by
/// (classname, name), and two cases that share it overwrite each other's history.
pub(super) fn case_names(results: &[&ScenarioResult]) -> Vec<String> {
    let count = |id: &str| results.iter().filter(|r| r.id == id).count();
    let mut seen: Vec<String> = Vec::with_capacity(results.len());
    for result in results {
        let base = if count(&result.id) == 1 {
            result.id.clone()
        } else {
            format!("{} ({})", result.id, result.scenario)
        };
        let mut name = base.clone();
        let mut n = 1;
        while seen.contains(&name) {
            n += 1;
            name = format!("{base} #{n}");
        }
        seen.push(name);
    }
    seen
}

fn test_case(result: &ScenarioResult, name: String) -> TestCase {
    let text = junit_text(result);
    let status = match result.status {
        Status::Pass | Status::Info | Status::Warn => TestCaseStatus::success(),
        Status::Fail => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            // The level as the failure's type: under --strict it tells a SHOULD from a MUST.
            status.set_type(result.level.as_str());
            status
        }
        Status::Error => TestCaseStatus::non_success(NonSuccessKind::Error),
        Status::Skip => TestCaseStatus::skipped(),
    };
    let mut case = TestCase::new(name, status);
    if matches!(result.status, Status::Fail | Status::Error | Status::Skip) {
        case.status.set_message(shown(&result.message));
    }
    if matches!(result.status, Status::Fail | Status::Error) {
        case.status.set_description(text.as_str());
    }
    match result.status {
        Status::Warn => {
            case.set_system_out(format!("warning: {text}"));
        }
        Status::Info => {
            case.set_system_out(format!("info: {text}"));
        }
        _ => {}
    }
    case.set_classname(result.feature.as_str())
        .set_time(result.duration)
        .add_properties([
            Property::new("id", result.id.as_str()),
            Property::new("scenario", result.scenario.as_str()),
            Property::new("level", result.level.as_str()),
            Property::new("location", result.location.as_str()),
        ]);
    case
}

/// The text under a `<failure>` or `<error>` (and after `warning:` or `info:`): the message again, since
/// some consumers show only the element's text and not its `message` attribute, then expected
/// against actual, then the evidence.
/// Each line is [`shown`]: it quotes the server, and a CI step that prints the file must not
/// have a server's control characters or workflow commands in its log.
fn junit_text(result: &ScenarioResult) -> String {
    std::iter::once(result.message.clone())
        .chain(comparison(result))
        .chain(result.evidence.iter().cloned())
        .map(|line| shown(&line).into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}
