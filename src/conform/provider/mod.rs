//! `conform --provider CMD`: the scripted server turned around. For each provider scenario a
//! fresh server starts on 127.0.0.1, CMD runs with `OFREP_ENDPOINT` pointing at it, the steps
//! drive the server and grade the provider by the requests it sends, and CMD is stopped. The
//! results are the same [`ScenarioResult`]s as the server suite's, so every report works alike.

mod grading;
mod process;
mod server;
pub mod steps;
mod timeline;
mod world;

use std::sync::atomic::{AtomicUsize, Ordering};

use futures_util::StreamExt;
use gherkin::tagexpr::TagOperation;

use super::model::{ErrorCause, ScenarioResult, Status};
use super::runner::{RunEvent, finished, run_steps, selected, skipped};
use super::scenario::Scenario;
pub use process::SpawnError;
use server::ScriptedServer;
use steps::ProviderAction;
pub use world::ProviderEnv;
use world::ProviderWorld;

/// After this many scenarios in which the provider could not be run (it exits, sends nothing,
/// or cannot start), and none in which it could, the rest are not tried: each would wait out
/// the same timeout.
const GIVE_UP_AFTER: usize = 3;

/// Why a provider scenario could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error(transparent)]
    Spawn(#[from] SpawnError),
    #[error("the provider exited ({status}) before it made a bulk request{}", last_line_of(.last_line))]
    Exited {
        status: String,
        last_line: Option<String>,
    },
    #[error("the provider made no request in {}{}", in_seconds(*.waited), last_line_of(.last_line))]
    Silent {
        waited: std::time::Duration,
        last_line: Option<String>,
    },
    #[error("the provider has not been started: begin with `Given the provider is running`")]
    NotStarted,
    #[error("the scripted server could not start on 127.0.0.1: {0}")]
    Server(std::io::Error),
    #[error("not run: the provider could not be run in {0} scenarios before this one")]
    GaveUp(usize),
}

/// `1 s`, `0.5 s`: a `--provider-timeout` under a second must not read as `0 s`.
fn in_seconds(time: std::time::Duration) -> String {
    format!("{} s", (time.as_secs_f64() * 1000.0).round() / 1000.0)
}

fn last_line_of(line: &Option<String>) -> String {
    line.as_ref()
        .map(|l| format!("; its last output line: {l:?}"))
        .unwrap_or_default()
}

impl ProviderError {
    pub fn cause(&self) -> ErrorCause {
        match self {
            Self::NotStarted => ErrorCause::Scenario,
            _ => ErrorCause::Provider,
        }
    }
}

/// Runs the selected provider scenarios, each against its own server and a fresh provider
/// process; `on_event` sees each start and each result. The first runs alone: if it shows a
/// provider that never uses the bulk endpoint, or that cannot be run, the rest need not wait for
/// the same; then up to `concurrency` run at once.
pub async fn run(
    env: &ProviderEnv,
    scenarios: Vec<Scenario<ProviderAction>>,
    tags: Option<&TagOperation>,
    concurrency: usize,
    on_event: &(dyn Fn(RunEvent<'_>) + Sync),
) -> Vec<ScenarioResult> {
    let runs = Runs::default();
    let mut chosen = scenarios
        .into_iter()
        .filter(|s| selected(tags, s))
        .enumerate();
    let mut results = Vec::new();
    if let Some((index, first)) = chosen.next() {
        results.push(runs.one(env, index, &first, on_event).await);
    }
    let rest: Vec<(usize, ScenarioResult)> = futures_util::stream::iter(chosen)
        .map(|(index, scenario)| {
            let runs = &runs;
            async move { runs.one(env, index, &scenario, on_event).await }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    results.extend(rest);
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, result)| result).collect()
}

/// What the run has learnt of the provider so far: how often it could be run.
#[derive(Default)]
struct Runs {
    ran: AtomicUsize,
    unrunnable: AtomicUsize,
}

impl Runs {
    async fn one(
        &self,
        env: &ProviderEnv,
        index: usize,
        scenario: &Scenario<ProviderAction>,
        on_event: &(dyn Fn(RunEvent<'_>) + Sync),
    ) -> (usize, ScenarioResult) {
        on_event(RunEvent::Started {
            index,
            id: &scenario.id,
        });
        let unrunnable = self.unrunnable.load(Ordering::SeqCst);
        let result = if let Some(reason) = env.never_bulk() {
            skipped(scenario, reason)
        } else if unrunnable >= GIVE_UP_AFTER && self.ran.load(Ordering::SeqCst) == 0 {
            not_run(scenario, &ProviderError::GaveUp(unrunnable))
        } else {
            let result = run_one(env, scenario).await;
            // Only scenarios that were tried count: one not run says nothing more.
            if result.status == Status::Error && result.cause == Some(ErrorCause::Provider) {
                self.unrunnable.fetch_add(1, Ordering::SeqCst);
            } else if result.status != Status::Skip {
                self.ran.fetch_add(1, Ordering::SeqCst);
            }
            result
        };
        (index, finished(on_event, index, result))
    }
}

async fn run_one(env: &ProviderEnv, scenario: &Scenario<ProviderAction>) -> ScenarioResult {
    let server = match ScriptedServer::start().await {
        Ok(server) => server,
        Err(error) => return not_run(scenario, &ProviderError::Server(error)),
    };
    let mut world = ProviderWorld::new(env, server);
    let result = run_steps(&mut world, scenario).await;
    world.finish().await;
    result
}

fn not_run(scenario: &Scenario<ProviderAction>, error: &ProviderError) -> ScenarioResult {
    ScenarioResult {
        status: Status::Error,
        cause: Some(error.cause()),
        ..skipped(scenario, error.to_string())
    }
}
