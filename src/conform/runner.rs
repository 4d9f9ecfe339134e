//! Running scenarios: select by tags, skip what the server or the options cannot support (with a
//! reason that says how to enable it), run independent scenarios concurrently and the ones that
//! change flags one at a time, and grade each by its level.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use gherkin::tagexpr::TagOperation;

use super::model::{ScenarioResult, Status};
use super::probe;
use super::scenario::{Scenario, StepKind};
use super::world::{Outcome, RunEnv, World};
use crate::error::Error;
use crate::protocol::finding::Level;

/// A first answer larger than this makes scenarios run one at a time (see `run`).
const LARGE_ANSWER: usize = 4 << 20;

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
pub fn selected<A>(expression: Option<&TagOperation>, scenario: &Scenario<A>) -> bool {
    match expression {
        None => !scenario.has_tag("slow"),
        Some(op) => eval(op, scenario),
    }
}

/// The scenarios the expression selects, in order.
pub fn selection<'a, A>(
    expression: Option<&TagOperation>,
    scenarios: &'a [Scenario<A>],
) -> Vec<&'a Scenario<A>> {
    scenarios
        .iter()
        .filter(|s| selected(expression, s))
        .collect()
}

fn eval<A>(op: &TagOperation, scenario: &Scenario<A>) -> bool {
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

/// The error for a selection that matched no scenario: it names the expression and, for each
/// tag in it that no scenario carries, the closest tag that one does (`@shuold` → `@should`).
pub fn nothing_selected<A>(
    text: Option<&str>,
    expression: Option<&TagOperation>,
    scenarios: &[Scenario<A>],
) -> Error {
    let Some(op) = expression else {
        return Error::usage(format!(
            "no scenario selected: {} scenario(s) loaded, all tagged @slow, which runs only when --tags selects it",
            scenarios.len()
        ))
        .with_hint("e.g. --tags '@slow or not @slow' runs every scenario");
    };
    let known: std::collections::BTreeSet<&str> = scenarios
        .iter()
        .flat_map(|s| s.tags.iter().map(String::as_str))
        .collect();
    let mut named = Vec::new();
    tags_in(op, &mut named);
    let suggestions: Vec<String> = named
        .iter()
        .filter(|tag| !known.contains(*tag))
        .filter_map(|tag| {
            let closest = known
                .iter()
                .min_by_key(|k| super::steps::levenshtein(tag, k))?;
            let distance = super::steps::levenshtein(tag, closest);
            (distance <= (tag.chars().count() / 2).max(2))
                .then(|| format!("`@{tag}` → `@{closest}`"))
        })
        .collect();
    let text = text.unwrap_or_default();
    let error = Error::usage(format!(
        "--tags `{text}` selects none of the {} scenario(s) loaded",
        scenarios.len()
    ));
    if suggestions.is_empty() {
        error.with_hint("`ofrep conform --list` shows every scenario's tags")
    } else {
        error.with_hint(format!(
            "did you mean {}? `ofrep conform --list` shows every scenario's tags",
            suggestions.join(", ")
        ))
    }
}

/// Every tag an expression names, without `@`.
fn tags_in<'a>(op: &'a TagOperation, out: &mut Vec<&'a str>) {
    match op {
        TagOperation::And(a, b) | TagOperation::Or(a, b) => {
            tags_in(a, out);
            tags_in(b, out);
        }
        TagOperation::Not(a) => tags_in(a, out),
        TagOperation::Tag(tag) => out.push(tag.trim_start_matches('@')),
    }
}

/// What the runner tells its caller while it runs, for a reporter to show results as they
/// finish. `index` is the scenario's place among the selected ones, in the order given.
#[derive(Debug, Clone, Copy)]
pub enum RunEvent<'a> {
    Started {
        index: usize,
        id: &'a str,
    },
    /// `transcript` is every exchange and observation the scenario made, also when it passed
    /// (for `-v`); the result itself keeps evidence only for what did not pass.
    Finished {
        index: usize,
        result: &'a ScenarioResult,
        transcript: &'a [String],
    },
}

/// Tells `on_event` that a scenario finished, with all its evidence; the result keeps the
/// evidence only when it did not pass.
pub(crate) fn finished(
    on_event: &(dyn Fn(RunEvent<'_>) + Sync),
    index: usize,
    mut result: ScenarioResult,
) -> ScenarioResult {
    on_event(RunEvent::Finished {
        index,
        result: &result,
        transcript: &result.evidence,
    });
    if result.status == Status::Pass {
        result.evidence = Vec::new();
    }
    result
}

/// Runs the selected scenarios; `on_event` sees each start and each result as it is graded.
/// Fails only when the server cannot be reached at all.
pub async fn run(
    env: &RunEnv,
    scenarios: Vec<Scenario>,
    options: &RunOptions,
    on_event: &(dyn Fn(RunEvent<'_>) + Sync),
) -> Result<Vec<ScenarioResult>, Error> {
    let finished =
        |index: usize, result: ScenarioResult| (index, finished(on_event, index, result));
    let started = |index: usize, scenario: &Scenario| {
        on_event(RunEvent::Started {
            index,
            id: &scenario.id,
        });
    };
    let first = probe::first_request(env, options.auth_required).await?;
    let advertises_streams = first.advertises_streams;
    // Each running scenario holds its own answer: with large ones, run them one at a time so
    // a run costs a few times one answer, not `--concurrency` times (issue 11).
    let concurrency = if first.body_bytes > LARGE_ANSWER {
        1
    } else {
        options.concurrency.max(1)
    };

    let chosen: Vec<(usize, Scenario)> = scenarios
        .into_iter()
        .filter(|s| selected(options.tags.as_ref(), s))
        .enumerate()
        .collect();
    let mut results: Vec<(usize, ScenarioResult)> = Vec::new();
    let mut independent = Vec::new();
    let mut changing = Vec::new();
    for (index, scenario) in chosen {
        if let Some((reason, not_applicable)) =
            capability_gap(&scenario, env, options, advertises_streams)
        {
            let result = ScenarioResult {
                not_applicable,
                ..skipped(&scenario, reason)
            };
            results.push(finished(index, result));
        } else if scenario.has_tag("change") {
            changing.push((index, scenario));
        } else {
            independent.push((index, scenario));
        }
    }

    let concurrent: Vec<(usize, ScenarioResult)> = futures_util::stream::iter(independent)
        .map(|(index, scenario)| async move {
            started(index, &scenario);
            finished(index, run_one(env, &scenario).await)
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    results.extend(concurrent);
    // Scenarios that change flags would disturb the others' ETags: they run last, one at a time.
    for (index, scenario) in changing {
        started(index, &scenario);
        results.push(finished(index, run_one(env, &scenario).await));
    }
    results.sort_by_key(|(index, _)| *index);
    Ok(results.into_iter().map(|(_, result)| result).collect())
}

/// Why a scenario cannot run with this server and these options, if it cannot.
fn capability_gap(
    scenario: &Scenario,
    env: &RunEnv,
    options: &RunOptions,
    advertises_streams: Option<bool>,
) -> Option<(String, bool)> {
    // Each reason comes with whether the skip is not applicable (see ScenarioResult).
    // Unknown (the first answer was too slow to see) is not "no": those scenarios run and
    // fail on their own slow answers.
    if scenario.has_tag("sse") && advertises_streams == Some(false) {
        // Event streams are optional (streams-optional): nothing is left unproven.
        return Some(("the server advertises no eventStreams, so clients poll (the @polling scenarios check that)".into(), true));
    }
    if scenario.has_tag("change") && env.trigger.is_none() {
        return Some(("needs a way to change a flag: pass --trigger-url URL or --trigger-cmd CMD (built in with --embedded)".into(), false));
    }
    if scenario.has_tag("auth") && !options.auth_required {
        return Some(("pass --auth-required (with the credentials in -H) to check that requests without them are refused".into(), false));
    }
    None
}

pub(crate) fn skipped<A>(scenario: &Scenario<A>, reason: String) -> ScenarioResult {
    result(
        scenario,
        Status::Skip,
        reason,
        None,
        Vec::new(),
        Duration::ZERO,
    )
}

fn result<A>(
    scenario: &Scenario<A>,
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
        builtin: scenario.builtin,
        duration,
        cause: None,
        not_applicable: false,
    }
}

/// The status of a scenario at `level` that did not hold. INFO is observed and reported, never
/// graded; but it did not see the ideal, so it is not a pass either.
fn not_held(level: Level) -> Status {
    match level {
        Level::Must => Status::Fail,
        Level::Should => Status::Warn,
        Level::Info => Status::Info,
    }
}

/// What carries out a scenario's steps: the server suite's [`World`], or the provider suite's.
pub(crate) trait Steps {
    type Action;
    async fn run(&mut self, action: &Self::Action) -> Outcome;
    /// The scenario's evidence so far, taken out.
    fn take_evidence(&mut self) -> Vec<String>;
}

impl Steps for World<'_> {
    type Action = super::steps::Action;
    async fn run(&mut self, action: &Self::Action) -> Outcome {
        World::run(self, action).await
    }
    fn take_evidence(&mut self) -> Vec<String> {
        self.evidence.take()
    }
}

/// Runs one scenario of the server suite against the server.
pub async fn run_one(env: &RunEnv, scenario: &Scenario) -> ScenarioResult {
    run_steps(&mut World::new(env), scenario).await
}

/// Runs one scenario's steps in order; the first step that does not pass decides. The result
/// carries all the scenario's evidence, a pass's too ([`run`] keeps only what did not pass).
pub(crate) async fn run_steps<W: Steps>(
    world: &mut W,
    scenario: &Scenario<W::Action>,
) -> ScenarioResult {
    let started = Instant::now();
    // A scenario in which no `Then` step had anything to look at proved nothing: a skip.
    let (mut checked, mut nothing_to_check) = (false, None);
    for step in &scenario.steps {
        let outcome = world.run(&step.action).await;
        if step.kind == StepKind::Then {
            match &outcome {
                Outcome::Pass => checked = true,
                Outcome::NothingToCheck(why) => {
                    nothing_to_check.get_or_insert_with(|| why.clone());
                }
                _ => {}
            }
        }
        let cause = match &outcome {
            Outcome::Error(error) => Some(error.cause()),
            _ => None,
        };
        let place = format!("{} ({})", step.text, step.location);
        let (status, message, expected_actual) = match outcome {
            Outcome::Pass | Outcome::NothingToCheck(_) => continue,
            Outcome::Skip(reason) => (Status::Skip, reason, None),
            Outcome::Error(cause) => (Status::Error, format!("{place}: {cause}"), None),
            // Slow is graded like a failure even in a `Given`: a skip would hide it.
            Outcome::Slow(why) => (not_held(scenario.level), format!("{place}: {why}"), None),
            Outcome::Fail { expected, actual } if step.kind == StepKind::Given => (
                Status::Skip,
                format!("precondition not met: {place}: expected {expected}, got {actual}"),
                None,
            ),
            Outcome::Fail { expected, actual } => {
                let status = not_held(scenario.level);
                let message = match scenario.level {
                    Level::Info => format!("observed: {actual} (the ideal: {expected})"),
                    _ => format!("{place}: expected {expected}, got {actual}"),
                };
                (status, message, Some((expected, actual)))
            }
        };
        let evidence = world.take_evidence();
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
    let (status, message) = match nothing_to_check {
        Some(why) if !checked => (Status::Skip, why),
        _ => (Status::Pass, String::new()),
    };
    ScenarioResult {
        // The subject of every check was absent, and each is optional: not applicable.
        not_applicable: status == Status::Skip,
        ..result(
            scenario,
            status,
            message,
            None,
            world.take_evidence(),
            started.elapsed(),
        )
    }
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
            builtin: false,
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
    fn an_empty_selection_names_the_expression_and_the_closest_tags() {
        let scenarios: Vec<Scenario> = crate::conform::scenario::builtin()
            .iter()
            .flat_map(|source| parse(source).unwrap().scenarios)
            .collect();
        let cases = [
            ("@shuold", Some("did you mean `@shuold` → `@should`?")),
            ("@sse and @polign", Some("`@polign` → `@polling`")),
            ("@nothing-like-any-tag", None),
        ];
        for (text, hint) in cases {
            let expression = parse_tags(text).unwrap();
            assert!(scenarios.iter().all(|s| !selected(Some(&expression), s)));
            let error = nothing_selected(Some(text), Some(&expression), &scenarios);
            assert_eq!(error.exit_code(), 2);
            assert!(
                error
                    .to_string()
                    .contains(&format!("--tags `{text}` selects none")),
                "{error}"
            );
            match hint {
                Some(part) => assert!(error.hint().unwrap().contains(part), "{:?}", error.hint()),
                None => assert!(
                    !error.hint().unwrap().contains("did you mean"),
                    "{:?}",
                    error.hint()
                ),
            }
        }
        let error = nothing_selected(None, None, &[scenario("@slow")]);
        assert!(error.to_string().contains("all tagged @slow"), "{error}");
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
