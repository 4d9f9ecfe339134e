//! `conform --provider CMD`: the scripted server turned around. For each provider scenario a
//! fresh server starts on 127.0.0.1, CMD runs with `OFREP_ENDPOINT` pointing at it, the steps
//! drive the server and grade the provider by the requests it sends, and CMD is stopped. The
//! results are the same [`ScenarioResult`]s as the server suite's, so every report works alike.

pub(crate) mod error;
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
use super::runner::{RunEvent, Steps, finished, run_steps, selected, skipped};
use super::scenario::Scenario;
use super::world::Outcome;
pub use error::ProviderError;
pub use process::SpawnError;
use server::ScriptedServer;
use steps::ProviderAction;
pub use world::ProviderEnv;
use world::ProviderWorld;

/// After this many scenarios in which the provider could not be run (it exits, sends nothing,
/// or cannot start), and none in which it could, the rest are not tried: each would wait out
/// the same timeout.
const GIVE_UP_AFTER: usize = 3;

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

impl Steps for ProviderWorld<'_> {
    type Action = ProviderAction;

    async fn run(&mut self, action: &ProviderAction) -> Outcome {
        match self.act_on(action).await {
            Some(outcome) => outcome,
            None => grading::observe(self, action).await,
        }
    }

    fn take_evidence(&mut self) -> Vec<String> {
        self.evidence()
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
