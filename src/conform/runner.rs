//! Running scenarios: select by tags, skip what the server or the options cannot support (with a
//! reason that says how to enable it), run independent scenarios concurrently and the ones that
//! change flags one at a time, and grade each by its level.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use gherkin::tagexpr::TagOperation;

use super::model::{ScenarioResult, Status};
use super::scenario::{Scenario, StepKind};
use super::world::{Outcome, RunEnv, World};
use crate::error::Error;
use crate::protocol::answer::Endpoint;
use crate::protocol::client::Request;
use crate::protocol::event_streams;
use crate::protocol::finding::Level;

/// What the run knows before the first scenario.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// `None`: everything but `@slow`.
    pub tags: Option<TagOperation>,
    pub auth_required: bool,
    /// How many independent scenarios run at once.
    pub concurrency: usize,
}

/// Whether a scenario's tags satisfy the expression (`not @slow` when none was given).
pub fn selected(expression: Option<&TagOperation>, scenario: &Scenario) -> bool {
    match expression {
        None => !scenario.has_tag("slow"),
        Some(op) => eval(op, scenario),
    }
}

fn eval(op: &TagOperation, scenario: &Scenario) -> bool {
    match op {
        TagOperation::And(a, b) => eval(a, scenario) && eval(b, scenario),
        TagOperation::Or(a, b) => eval(a, scenario) || eval(b, scenario),
        TagOperation::Not(a) => !eval(a, scenario),
        TagOperation::Tag(tag) => scenario.has_tag(tag.trim_start_matches('@')),
    }
}

/// Parses `--tags`.
pub fn parse_tags(text: &str) -> Result<TagOperation, Error> {
    text.parse::<TagOperation>().map_err(|e| {
        Error::usage(format!("--tags `{text}` is not a tag expression ({e})"))
            .with_hint("e.g. --tags '@sse and not @slow' or --tags '@must or @should'")
    })
}

/// Runs the selected scenarios; `on_result` sees each result as it is graded (for a progress
/// bar). Fails only when the server cannot be reached at all.
pub async fn run(
    env: &RunEnv,
    scenarios: Vec<Scenario>,
    options: &RunOptions,
    on_result: &(dyn Fn(&ScenarioResult) + Sync),
) -> Result<Vec<ScenarioResult>, Error> {
    let probe = env
        .client
        .send(&Request::new(Endpoint::Bulk, env.context.clone()))
        .await?;
    let streams = probe.answer.body.json().and_then(|b| b.get("eventStreams"));
    let advertises_streams = event_streams::entries_of(streams.as_deref(), &env.base)
        .iter()
        .any(|entry| entry.kind.as_deref() == Some("sse") && entry.resolved.is_ok());

    let chosen: Vec<(usize, Scenario)> = scenarios
        .into_iter()
        .filter(|s| selected(options.tags.as_ref(), s))
        .enumerate()
        .collect();
    let mut results: Vec<(usize, ScenarioResult)> = Vec::new();
    let mut independent = Vec::new();
    let mut changing = Vec::new();
    for (index, scenario) in chosen {
        if let Some(reason) = capability_gap(&scenario, env, options, advertises_streams) {
            let result = skipped(&scenario, reason);
            on_result(&result);
            results.push((index, result));
        } else if scenario.has_tag("change") {
            changing.push((index, scenario));
        } else {
            independent.push((index, scenario));
        }
    }

    let concurrent: Vec<(usize, ScenarioResult)> = futures_util::stream::iter(independent)
        .map(|(index, scenario)| async move {
            let result = run_one(env, &scenario).await;
            on_result(&result);
            (index, result)
        })
        .buffer_unordered(options.concurrency.max(1))
        .collect()
        .await;
    results.extend(concurrent);
    // Scenarios that change flags would disturb the others' ETags: they run last, one at a time.
    for (index, scenario) in changing {
        let result = run_one(env, &scenario).await;
        on_result(&result);
        results.push((index, result));
    }
    results.sort_by_key(|(index, _)| *index);
    Ok(results.into_iter().map(|(_, result)| result).collect())
}

/// Why a scenario cannot run with this server and these options, if it cannot.
fn capability_gap(
    scenario: &Scenario,
    env: &RunEnv,
    options: &RunOptions,
    advertises_streams: bool,
) -> Option<String> {
    if scenario.has_tag("sse") && !advertises_streams {
        return Some("the server advertises no eventStreams, so clients poll (the @polling scenarios check that)".into());
    }
    if scenario.has_tag("change") && env.trigger.is_none() {
        return Some("needs a way to change a flag: pass --trigger-url URL or --trigger-cmd CMD (built in with --embedded)".into());
    }
    if scenario.has_tag("auth") && !options.auth_required {
        return Some("pass --auth-required (with the credentials in -H) to check that requests without them are refused".into());
    }
    None
}

fn skipped(scenario: &Scenario, reason: String) -> ScenarioResult {
    result(
        scenario,
        Status::Skip,
        reason,
        None,
        Vec::new(),
        Duration::ZERO,
    )
}

fn result(
    scenario: &Scenario,
    status: Status,
    message: String,
    expected_actual: Option<(String, String)>,
    evidence: Vec<String>,
    duration: Duration,
) -> ScenarioResult {
    let (expected, actual) = match expected_actual {
        Some((e, a)) => (Some(e), Some(a)),
        None => (None, None),
    };
    ScenarioResult {
        id: scenario.id.clone(),
        feature: scenario.feature.clone(),
        scenario: scenario.name.clone(),
        level: scenario.level,
        status,
        message,
        expected,
        actual,
        evidence,
        location: scenario.location.clone(),
        duration,
        cause: None,
    }
}

/// Runs one scenario's steps in order; the first step that does not pass decides.
pub async fn run_one(env: &RunEnv, scenario: &Scenario) -> ScenarioResult {
    let started = Instant::now();
    let mut world = World::new(env);
    for step in &scenario.steps {
        let outcome = world.run(&step.action).await;
        let cause = match &outcome {
            Outcome::Error(error) => Some(error.cause()),
            _ => None,
        };
        let place = format!("{} (line {})", step.text, step.line);
        let (status, message, expected_actual) = match outcome {
            Outcome::Pass => continue,
            Outcome::Skip(reason) => (Status::Skip, reason, None),
            Outcome::Error(cause) => (Status::Error, format!("{place}: {cause}"), None),
            Outcome::Fail { expected, actual } if step.kind == StepKind::Given => (
                Status::Skip,
                format!("precondition not met: {place}: expected {expected}, got {actual}"),
                None,
            ),
            Outcome::Fail { expected, actual } => {
                let status = match scenario.level {
                    Level::Must => Status::Fail,
                    Level::Should => Status::Warn,
                    // INFO is observed and reported, never graded.
                    Level::Info => Status::Pass,
                };
                let message = match scenario.level {
                    Level::Info => format!("observed: {actual} (where {expected} was checked)"),
                    _ => format!("{place}: expected {expected}, got {actual}"),
                };
                (status, message, Some((expected, actual)))
            }
        };
        let evidence = if status == Status::Pass {
            Vec::new()
        } else {
            std::mem::take(&mut world.evidence)
        };
        return ScenarioResult {
            cause,
            ..result(
                scenario,
                status,
                message,
                expected_actual,
                evidence,
                started.elapsed(),
            )
        };
    }
    result(
        scenario,
        Status::Pass,
        String::new(),
        None,
        Vec::new(),
        started.elapsed(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conform::scenario::{Source, parse};

    fn scenario(tags: &str) -> Scenario {
        let text = format!(
            "Feature: F\n  {tags} @must @id:bulk-shape\n  Scenario: s\n    Given I request a bulk evaluation\n"
        );
        parse(&Source {
            name: "t.feature".into(),
            text,
        })
        .unwrap()
        .scenarios
        .remove(0)
    }

    #[test]
    fn by_default_everything_but_slow_is_selected() {
        assert!(selected(None, &scenario("@sse")));
        assert!(!selected(None, &scenario("@sse @slow")));
    }

    #[test]
    fn tag_expressions_select() {
        let expr = parse_tags("@sse and not @slow").unwrap();
        assert!(selected(Some(&expr), &scenario("@sse")));
        assert!(!selected(Some(&expr), &scenario("@sse @slow")));
        assert!(!selected(Some(&expr), &scenario("@polling")));
        let ids = parse_tags("@id:bulk-shape").unwrap();
        assert!(selected(Some(&ids), &scenario("")));
        assert!(parse_tags("@a and and").is_err());
    }
}
