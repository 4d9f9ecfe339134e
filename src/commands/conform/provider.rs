//! `ofrep conform --provider CMD`: load the provider suite, run each scenario against a fresh
//! scripted server with CMD as the provider, report, and map the results to an exit code.

use std::time::Instant;

use super::{Catalogue, catalogue, verdict};
use crate::cli::ConformArgs;
use crate::conform::model::Grading;
use crate::conform::provider::steps::PROVIDER_VOCABULARY;
use crate::conform::provider::{self, ProviderEnv};
use crate::conform::runner::RunEvent;
use crate::conform::suite::Suite;
use crate::error::Error;
use crate::exit::Outcome;
use crate::report::conform::Reporter;

/// The hint under an error about the provider itself.
pub const HINT: &str = "CMD must start the provider against the URL in OFREP_ENDPOINT (or `{url}` in CMD) and keep running: is it reading OFREP_ENDPOINT? Run it yourself against `ofrep serve` to see";

pub async fn run(args: ConformArgs, reporter: &Reporter<'_>) -> Result<Outcome, Error> {
    let command = args.provider.clone().unwrap_or_default();
    if command.trim().is_empty() {
        return Err(Error::usage("--provider needs a command").with_hint(
            "e.g. --provider 'ofrep watch {url}' or --provider 'node my-provider.mjs'",
        ));
    }
    let Some(Catalogue { scenarios, tags }) =
        catalogue(&args, reporter, Suite::Provider, PROVIDER_VOCABULARY)?
    else {
        return Ok(Outcome::Success);
    };
    let selected = crate::conform::runner::selection(tags.as_ref(), &scenarios);
    let grading = Grading {
        strict: args.strict,
        fail_on_skip: args.fail_on_skip,
    };
    let live = reporter.live(&selected, format!("provider `{command}`"), grading);
    let env = ProviderEnv::new(command, args.provider_timeout);
    let concurrency = args
        .concurrency
        .map_or(4, |n| usize::try_from(n).unwrap_or(4));
    let started = Instant::now();
    let on_event = |event: RunEvent<'_>| live.event(event);
    // Ctrl-C (or SIGTERM) stops the run where it is: the scenario in flight is dropped, which
    // kills its provider's process group, and the reports are written for those that finished.
    let ran = tokio::select! {
        results = provider::run(&env, scenarios.clone(), tags.as_ref(), concurrency, &on_event) => Some(results),
        () = crate::commands::stop_signal() => None,
    };
    let interrupted = ran.is_none();
    let report = live.finish(started.elapsed(), interrupted, args.junit.as_deref())?;
    if interrupted {
        return Ok(Outcome::Interrupted);
    }
    verdict(&report, "")
}
