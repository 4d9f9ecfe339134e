//! What `conform` produces: one result per scenario, graded. Renderers (human, JSON, JUnit) read
//! only these types.

use std::time::Duration;

use serde::Serialize;

use crate::protocol::finding::Level;

/// How a scenario ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Every step held: the ideal was observed.
    Pass,
    /// An INFO-level scenario observed something other than the ideal; never graded, so it
    /// neither fails nor warns, but it is not a pass either. The message says what was seen.
    Info,
    /// A SHOULD-level scenario did not hold (a failure under `--strict`).
    Warn,
    /// A MUST-level scenario did not hold.
    Fail,
    /// Not run: a tag was not selected, a capability is missing (no trigger, no eventStreams),
    /// or a precondition (a `Given` step) did not hold.
    Skip,
    /// Could not run: the server was unreachable, a step could not be carried out.
    Error,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Info => "info",
            Self::Warn => "warn",
            Self::Fail => "fail",
            Self::Skip => "skip",
            Self::Error => "error",
        }
    }
}

/// Whose problem it is that a scenario could not run, for the command to choose its message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCause {
    /// The scenario asks for something no earlier step set up (a remembered value, a request,
    /// an event, a stream, a trigger) or sets a context that is not a JSON object.
    Scenario,
    /// A request to the server could not be made or answered.
    Transport,
    /// The configured trigger (`--trigger-url`, `--trigger-cmd`) failed.
    Trigger,
    /// The provider under test (`--provider CMD`) could not be started, exited, or sent nothing.
    Provider,
}

/// One scenario's result.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioResult {
    /// The checklist id the scenario proves (its `@id:` tag).
    pub id: String,
    pub feature: String,
    pub scenario: String,
    pub level: Level,
    pub status: Status,
    /// Empty on a pass; otherwise what happened, one line ("expected X, got Y", the skip reason).
    pub message: String,
    /// For a failure: what was expected and what was seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual: Option<String>,
    /// The HTTP exchanges (and stream observations) that prove it, secrets redacted, one line
    /// each, as `> POST URL` / `< 304 Not Modified` / `< etag: "x"`, bodies after a lone `>` /
    /// `<` line, alike exchanges in a row collapsed (`crate::conform::world::Evidence`).
    pub evidence: Vec<String>,
    /// Where the scenario is written: `builtin/etag.feature:12` or a user's path and line.
    pub location: String,
    /// Whether the scenario is a built-in one, whose `location` is in the binary rather than a
    /// file on disk (annotations link only to real files). Not part of the JSON document.
    #[serde(skip)]
    pub builtin: bool,
    #[serde(rename = "durationMs", serialize_with = "millis")]
    pub duration: Duration,
    /// Set when `status` is `Error`. Not part of the JSON document, whose shape only gains
    /// fields deliberately.
    #[serde(skip)]
    pub cause: Option<ErrorCause>,
    /// A skip whose subject is optional and absent on this server (no `eventStreams`, an entry
    /// without `url`, no `metadata`): nothing was left unproven, so it is not counted as a
    /// skipped MUST check and `--fail-on-skip` leaves it alone.
    #[serde(rename = "notApplicable", skip_serializing_if = "std::ops::Not::not")]
    pub not_applicable: bool,
}

fn millis<S: serde::Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64(crate::units::millis(*duration))
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub passed: usize,
    pub failed: usize,
    pub warned: usize,
    pub skipped: usize,
    pub errored: usize,
    /// INFO-level scenarios that observed something other than the ideal.
    pub info: usize,
    /// How many of the skipped results are MUST-level checks the run could have proven and did
    /// not (not-applicable skips are left out).
    #[serde(rename = "skippedMust")]
    pub skipped_must: usize,
}

impl Summary {
    pub fn of(results: &[ScenarioResult]) -> Self {
        let mut summary = Self::default();
        for result in results {
            match result.status {
                Status::Pass => summary.passed += 1,
                Status::Info => summary.info += 1,
                Status::Fail => summary.failed += 1,
                Status::Warn => summary.warned += 1,
                Status::Skip => {
                    summary.skipped += 1;
                    if result.level == Level::Must && !result.not_applicable {
                        summary.skipped_must += 1;
                    }
                }
                Status::Error => summary.errored += 1,
            }
        }
        summary
    }
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub struct ConformReport {
    /// The server, redacted.
    pub target: String,
    pub summary: Summary,
    pub results: Vec<ScenarioResult>,
    #[serde(rename = "durationMs", serialize_with = "millis")]
    pub duration: Duration,
    /// Whether warnings count as failures.
    pub strict: bool,
    /// Whether skipped MUST-level checks count as failures.
    #[serde(rename = "failOnSkip")]
    pub fail_on_skip: bool,
    /// Present when the run was stopped (Ctrl-C, SIGTERM) before every selected scenario ran:
    /// `results` holds those that finished, and the exit code is 130.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
}

/// How strictly a run is graded, beyond each scenario's level.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Grading {
    /// `--strict`: SHOULD-level warnings are failures.
    pub strict: bool,
    /// `--fail-on-skip`: a MUST-level check that was skipped is a failure, for runs that must
    /// prove the whole protocol rather than whatever the server and the options allowed.
    pub fail_on_skip: bool,
}

impl Grading {
    /// Applies `--strict` and `--fail-on-skip` to one result; grading twice changes nothing.
    pub fn grade(&self, result: &mut ScenarioResult) {
        if self.strict && result.status == Status::Warn {
            result.status = Status::Fail;
        }
        if self.fail_on_skip
            && result.status == Status::Skip
            && result.level == Level::Must
            && !result.not_applicable
        {
            result.status = Status::Fail;
            result.message = format!(
                "not checked, and --fail-on-skip counts a skipped MUST check as a failure: {}",
                result.message
            );
        }
    }
}

impl ConformReport {
    pub fn new(
        target: String,
        mut results: Vec<ScenarioResult>,
        duration: Duration,
        grading: Grading,
    ) -> Self {
        for result in &mut results {
            grading.grade(result);
        }
        Self {
            target,
            summary: Summary::of(&results),
            results,
            duration,
            strict: grading.strict,
            fail_on_skip: grading.fail_on_skip,
            interrupted: false,
        }
    }
}
