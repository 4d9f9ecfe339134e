//! `ofrep conform`: load the scenarios, resolve the target and the trigger, run, report, and map
//! the results to an exit code.

use std::io::{IsTerminal, Write};
use std::time::Instant;

use crate::Outcome;
use crate::cli::{ConformArgs, OutputFormat};
use crate::commands::{Target, Ui};
use crate::conform::model::{ConformReport, Status};
use crate::conform::runner::{self, RunOptions};
use crate::conform::scenario::{self, Scenario};
use crate::conform::steps::VOCABULARY;
use crate::conform::world::{ChangeTrigger, RunEnv};
use crate::error::Error;
use crate::protocol::checklist::{CHECKLIST, NOT_OBSERVABLE};
use crate::protocol::client::Client;
use crate::report::conform::{self as render, Progress};
use crate::report::pad;
use crate::term;

/// The context scenarios use when the user gives none: a targeting key, as the spec requires.
const DEFAULT_TARGETING_KEY: &str = "ofrep-conform";

pub async fn run(args: ConformArgs, ui: &Ui) -> Result<Outcome, Error> {
    if args.list_steps {
        print_steps()?;
        return Ok(Outcome::Success);
    }
    let scenarios = load(&args)?;
    if args.list {
        print_list(&scenarios)?;
        return Ok(Outcome::Success);
    }
    let tags = args.tags.as_deref().map(runner::parse_tags).transpose()?;

    let target = Target::open(&args.target, ui, None).await?;
    let (resolved, base) = (&target.resolved, target.base.clone());
    let trigger = match (&args.trigger_url, &args.trigger_cmd, &target.embedded) {
        (Some(url), _, _) => Some(ChangeTrigger::Url(trigger_url(url)?)),
        (None, Some(cmd), _) => Some(ChangeTrigger::Command(cmd.clone())),
        (None, None, Some(server)) => Some(ChangeTrigger::Url(
            server
                .base_url()
                .join("control/change")
                .map_err(|e| Error::serve(format!("the control URL: {e}")))?,
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
        concurrency: usize::try_from(args.concurrency).unwrap_or(8),
    };

    let total = scenarios
        .iter()
        .filter(|s| runner::selected(options.tags.as_ref(), s))
        .count();
    let progress = Progress::new(
        total as u64,
        term::use_progress(std::io::stderr().is_terminal(), &ui.env),
    );
    let started = Instant::now();
    let results = runner::run(&env, scenarios, &options, &|result| {
        progress.finished(result)
    })
    .await;
    progress.finish();
    target.close().await;
    let results = results?;
    let report = ConformReport::new(
        ui.redactor.url(base.as_str()).into_owned(),
        results,
        started.elapsed(),
        args.strict,
    );

    if let Some(path) = &args.junit {
        let xml = render::junit(&report)
            .map_err(|e| Error::file(format!("cannot render the JUnit report: {e}")))?;
        std::fs::write(path, xml).map_err(|e| {
            Error::file(format!(
                "cannot write the JUnit report {}: {e}",
                path.display()
            ))
        })?;
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match ui.format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &render::json(&report))
                .map_err(std::io::Error::from)?;
            writeln!(out)?;
        }
        OutputFormat::Human => render::human(&report, &mut out, &ui.out)?,
    }
    out.flush()?;

    // An error outranks a failure: "could not check" must not read as "checked and wrong".
    let statuses: Vec<Status> = report.results.iter().map(|r| r.status).collect();
    if let Some(first) = report.results.iter().find(|r| r.status == Status::Error) {
        let count = statuses.iter().filter(|s| **s == Status::Error).count();
        return Err(Error::network(format!("{count} scenario(s) could not run; the first: {} ({}): {}", first.id, first.location, first.message))
            .with_hint("the report above has every result; a network error usually means the server went away mid-run"));
    }
    Ok(if statuses.contains(&Status::Fail) {
        Outcome::Failure
    } else {
        Outcome::Success
    })
}

/// `--trigger-url` is used as given: only checked for being an http(s) URL.
fn trigger_url(text: &str) -> Result<url::Url, Error> {
    let url = url::Url::parse(text)
        .map_err(|e| Error::usage(format!("--trigger-url `{text}` is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::usage(format!(
            "--trigger-url `{text}` is not an http:// or https:// URL"
        )));
    }
    Ok(url)
}

fn load(args: &ConformArgs) -> Result<Vec<Scenario>, Error> {
    let mut sources = if args.no_builtin {
        Vec::new()
    } else {
        scenario::builtin()
    };
    sources.extend(scenario::from_paths(&args.scenarios)?);
    let mut scenarios = Vec::new();
    for source in &sources {
        scenarios.extend(scenario::parse(source)?.scenarios);
    }
    Ok(scenarios)
}

fn print_list(scenarios: &[Scenario]) -> Result<(), Error> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let width = scenarios.iter().map(|s| s.id.len()).max().unwrap_or(0);
    let mut feature = "";
    for scenario in scenarios {
        if scenario.feature != feature {
            feature = &scenario.feature;
            writeln!(out, "\n{feature}")?;
        }
        let tags: Vec<String> = scenario
            .tags
            .iter()
            .filter(|t| !t.starts_with("id:"))
            .map(|t| format!("@{t}"))
            .collect();
        writeln!(
            out,
            "  {}  {}  ({})",
            pad(&scenario.id, width),
            scenario.name,
            tags.join(" ")
        )?;
    }
    let uncovered: Vec<&str> = CHECKLIST
        .iter()
        .map(|(id, _)| *id)
        .filter(|id| !scenarios.iter().any(|s| s.id == *id))
        .collect();
    writeln!(
        out,
        "\nchecklist coverage: {} of {} ids",
        CHECKLIST.len() - uncovered.len(),
        CHECKLIST.len()
    )?;
    for id in uncovered {
        let why = NOT_OBSERVABLE
            .iter()
            .find(|(known, _)| *known == id)
            .map_or("no scenario", |(_, why)| why);
        writeln!(out, "  not covered: {id}: {why}")?;
    }
    out.flush()?;
    Ok(())
}

fn print_steps() -> Result<(), Error> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    writeln!(
        out,
        "Steps (Given sets up and skips the scenario when it does not hold; When acts; Then asserts)."
    )?;
    writeln!(
        out,
        "{{name}} inside a string is replaced by the value remembered as name."
    )?;
    let mut group = "";
    for def in VOCABULARY {
        if def.group != group {
            group = def.group;
            writeln!(out, "\n{group}")?;
        }
        writeln!(
            out,
            "  {}\n      {}\n      e.g. {}",
            def.pattern,
            def.help,
            def.example.replace('\n', "\n           ")
        )?;
    }
    out.flush()?;
    Ok(())
}
