//! `ofrep conform`: load the scenarios, resolve the target and the trigger, run, report, and map
//! the results to an exit code.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::cli::ConformArgs;
use crate::commands::Target;
use crate::conform::model::{ConformReport, ErrorCause, Grading, ScenarioResult, Status};
use crate::conform::runner::{self, RunOptions};
use crate::conform::scenario::{self, Scenario, Source};
use crate::conform::steps::{StepDef, VOCABULARY};
use crate::conform::suite::Suite;
use gherkin::tagexpr::TagOperation;

mod provider;
use crate::conform::world::{ChangeTrigger, RunEnv};
use crate::error::Error;
use crate::exit::Outcome;
use crate::protocol::client::Client;
use crate::redact::Redactor;
use crate::report::Ui;
use crate::report::conform::Reporter;
use crate::term::{self, Environment};

/// The context scenarios use when the user gives none: a targeting key, as the spec requires.
const DEFAULT_TARGETING_KEY: &str = "ofrep-conform";

pub async fn run(args: ConformArgs, ui: &Ui) -> Result<Outcome, Error> {
    let annotations = term::annotations(args.annotations, &Environment::capture());
    let reporter = Reporter::new(ui, annotations);
    if args.provider.is_some() {
        return provider::run(args, &reporter).await;
    }
    let Some(Catalogue { scenarios, tags }) =
        catalogue(&args, &reporter, Suite::Server, VOCABULARY)?
    else {
        return Ok(Outcome::Success);
    };
    let selected = runner::selection(tags.as_ref(), &scenarios);

    let target = Target::open(&args.target, ui, None).await?;
    let (resolved, base) = (&target.resolved, target.base.clone());
    let trigger = match (&args.trigger_url, &args.trigger_cmd, &target.embedded) {
        (Some(url), _, _) => Some(ChangeTrigger::Url(trigger_url(url)?)),
        (None, Some(cmd), _) => Some(ChangeTrigger::Command(cmd.clone())),
        (None, None, Some(server)) => Some(ChangeTrigger::Url(
            server
                .base_url()
                .join("control/change")
                .map_err(|e| Error::server(format!("the control URL: {e}")))?,
        )),
        (None, None, None) => None,
    };
    let mut context = resolved.context.clone();
    context
        .entry("targetingKey")
        .or_insert_with(|| DEFAULT_TARGETING_KEY.into());
    let env = RunEnv {
        client: Client::new(resolved.client_config(base.clone(), args.max_body_size))?,
        base: base.clone(),
        context,
        trigger,
        redactor: ui.redactor,
        silent_after_change: Default::default(),
    };
    let options = RunOptions {
        tags,
        auth_required: args.auth_required,
        concurrency: args
            .concurrency
            .map_or(8, |n| usize::try_from(n).unwrap_or(8)),
    };
    let grading = Grading {
        strict: args.strict,
        fail_on_skip: args.fail_on_skip,
    };

    let live = reporter.live(
        &selected,
        ui.redactor.url(base.as_str()).into_owned(),
        grading,
    );
    let started = Instant::now();
    // Ctrl-C (or SIGTERM) stops the run where it is: the scenarios in flight are dropped, and
    // the reports are written for those that finished.
    let on_event = |event: runner::RunEvent<'_>| live.event(event);
    let ran = tokio::select! {
        results = runner::run(&env, scenarios.clone(), &options, &on_event) => Some(results),
        () = super::stop_signal() => None,
    };
    let target_embedded = target.embedded.is_some();
    target.close().await;
    let interrupted = match ran {
        Some(Err(error)) => {
            live.abandon();
            return Err(error);
        }
        Some(Ok(_)) => false,
        None => true,
    };
    let report = live.finish(started.elapsed(), interrupted, args.junit.as_deref())?;
    if interrupted {
        return Ok(Outcome::Interrupted);
    }

    let trigger = trigger_hint(env.trigger.as_ref(), target_embedded, &ui.redactor);
    verdict(&report, &trigger)
}

/// The exit of a finished run. An error outranks a failure: "could not check" must not read as
/// "checked and wrong".
pub(super) fn verdict(report: &ConformReport, trigger_hint: &str) -> Result<Outcome, Error> {
    let statuses: Vec<Status> = report.results.iter().map(|r| r.status).collect();
    if let Some(first) = report.results.iter().find(|r| r.status == Status::Error) {
        let count = statuses.iter().filter(|s| **s == Status::Error).count();
        return Err(not_run(count, first, trigger_hint));
    }
    Ok(if statuses.contains(&Status::Fail) {
        Outcome::Failure
    } else {
        Outcome::Success
    })
}

/// The scenarios loaded, and the `--tags` expression that selects among them.
pub(super) struct Catalogue<A> {
    pub scenarios: Vec<Scenario<A>>,
    pub tags: Option<TagOperation>,
}

/// What every run does before it reaches a server or a provider: `--list-steps`,
/// `--print-builtin`, `--show-scenario` and `--list` print and end the run (`None`); otherwise
/// the scenarios loaded and the `--tags` expression, with at least one scenario selected.
pub(super) fn catalogue<A>(
    args: &ConformArgs,
    reporter: &Reporter<'_>,
    suite: Suite,
    vocabulary: &'static [StepDef<A>],
) -> Result<Option<Catalogue<A>>, Error> {
    if args.list_steps {
        reporter.steps(vocabulary, suite)?;
        return Ok(None);
    }
    if let Some(dir) = &args.print_builtin {
        let written = write_builtin(dir, suite)?;
        let paths: Vec<&Path> = written.iter().map(PathBuf::as_path).collect();
        reporter.written(&paths)?;
        return Ok(None);
    }
    if let Some(id) = &args.show_scenario {
        let sources = suite.builtin();
        reporter.sources(&holding(&sources, id, vocabulary)?)?;
        return Ok(None);
    }
    let scenarios = load(args, suite, vocabulary)?;
    let tags = args.tags.as_deref().map(runner::parse_tags).transpose()?;
    let selected = runner::selection(tags.as_ref(), &scenarios);
    if args.list {
        // `--list` without --tags lists everything, @slow included: it is the catalogue.
        let listed: Vec<&Scenario<A>> = match &tags {
            Some(_) => selected,
            None => scenarios.iter().collect(),
        };
        reporter.list(&listed, tags.is_none(), suite.checklist())?;
        return Ok(None);
    }
    if selected.is_empty() {
        return Err(runner::nothing_selected(
            args.tags.as_deref(),
            tags.as_ref(),
            &scenarios,
        ));
    }
    Ok(Some(Catalogue { scenarios, tags }))
}

/// The built-in files `--show-scenario ID` prints: the one with scenario ID, or all for `all`.
fn holding<'a, A>(
    sources: &'a [Source],
    id: &str,
    vocabulary: &'static [StepDef<A>],
) -> Result<Vec<&'a Source>, Error> {
    if id == "all" {
        return Ok(sources.iter().collect());
    }
    let mut found = Vec::new();
    for source in sources {
        if scenario::parse_with(source, vocabulary)?
            .scenarios
            .iter()
            .any(|s| s.id == id)
            && !found.iter().any(|f: &&Source| f.name == source.name)
        {
            found.push(source);
        }
    }
    if found.is_empty() {
        return Err(Error::usage(format!("no built-in scenario has the id `{id}`"))
            .with_hint("`ofrep conform --list` shows every scenario's id; `--show-scenario all` prints every file"));
    }
    Ok(found)
}

/// Writes every built-in file into `dir` under its own name, refusing to overwrite one.
fn write_builtin(dir: &Path, suite: Suite) -> Result<Vec<PathBuf>, Error> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::file(format!("cannot create {}: {e}", dir.display())))?;
    let mut written = Vec::new();
    for source in suite.builtin() {
        let name = source.name.rsplit('/').next().unwrap_or(&source.name);
        let path = dir.join(name);
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| {
                Error::file(format!("cannot write {}: {e}", path.display()))
                    .with_hint("--print-builtin never overwrites a file: pick an empty directory")
            })?;
        std::io::Write::write_all(&mut file, source.text.as_bytes())
            .map_err(|e| Error::file(format!("cannot write {}: {e}", path.display())))?;
        written.push(path);
    }
    Ok(written)
}

/// `--trigger-url` is used as given: only checked for being an http(s) URL.
/// Validates `--trigger-url`; errors echo it redacted, as every URL is (it may carry a token).
fn trigger_url(text: &str) -> Result<url::Url, Error> {
    let shown = crate::redact::Redactor::default().url(text).into_owned();
    let url = url::Url::parse(text)
        .map_err(|e| Error::usage(format!("--trigger-url `{shown}` is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::usage(format!(
            "--trigger-url `{shown}` is not an http:// or https:// URL"
        )));
    }
    Ok(url)
}

fn load<A>(
    args: &ConformArgs,
    suite: Suite,
    vocabulary: &'static [StepDef<A>],
) -> Result<Vec<Scenario<A>>, Error> {
    let mut sources = if args.no_builtin {
        Vec::new()
    } else {
        suite.builtin()
    };
    sources.extend(scenario::from_paths(&args.scenarios)?);
    let mut scenarios = Vec::new();
    for source in &sources {
        scenarios.extend(scenario::parse_with(source, vocabulary)?.scenarios);
    }
    Ok(scenarios)
}

/// The error for a run in which `count` scenarios could not be carried out, named by the first
/// and by whose problem it was: the scenario's author, the network, or the trigger.
fn not_run(count: usize, first: &ScenarioResult, trigger_hint: &str) -> Error {
    let message = format!(
        "{count} scenario(s) could not run; the first: {} ({}): {}",
        first.id, first.location, first.message
    );
    match first.cause {
        Some(ErrorCause::Scenario) => Error::scenario(message).with_hint(format!(
            "the scenario at {} uses a step before what it needs is set up; `ofrep conform --list-steps` shows the vocabulary",
            first.location
        )),
        Some(ErrorCause::Trigger) => Error::trigger(message).with_hint(trigger_hint),
        Some(ErrorCause::Provider) => Error::provider(message).with_hint(provider::HINT),
        Some(ErrorCause::Transport) | None => Error::network(message).with_hint(
            "the report above has every result; a network error usually means the server went away mid-run",
        ),
    }
}

/// What to check when the trigger failed, about the trigger this run used.
fn trigger_hint(trigger: Option<&ChangeTrigger>, embedded: bool, redactor: &Redactor) -> String {
    match trigger {
        Some(ChangeTrigger::Url(_)) if embedded => {
            "the built-in server's trigger failed, which is a bug in ofrep: please report it".into()
        }
        Some(ChangeTrigger::Url(url)) => {
            let shown = redactor.url(url.as_str());
            format!(
                "flags are changed by a POST to --trigger-url {shown}: check that something listens there and answers 2xx (`curl -X POST '{shown}'`)"
            )
        }
        Some(ChangeTrigger::Command(command)) => format!(
            "flags are changed by running --trigger-cmd `{command}` through sh: run it yourself; it must change a flag and exit 0"
        ),
        None => "pass --trigger-url URL or --trigger-cmd CMD to change flags".into(),
    }
}
