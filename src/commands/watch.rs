//! `ofrep watch`: run the watch pipeline, render its events, and decide when to stop (--until,
//! --max-changes, --deadline, Ctrl-C/SIGTERM).

use std::io::Write;
use std::time::SystemTime;

use crate::Outcome;
use crate::cli::{ChangeDetectionArg, OutputFormat, WatchArgs};
use crate::commands::{Target, Ui, stop_signal};
use crate::diff::{self, FlagSet};
use crate::error::Error;
use crate::protocol::client::Client;
use crate::report::watch::{self as render, Line};
use crate::watch::until::{self, Condition};
use crate::watch::{self, ChangeDetection, WatchConfig, WatchEvent};

/// How often the embedded server changes a flag, so `watch --embedded` has something to show.
const EMBEDDED_DEMO_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

pub async fn run(args: WatchArgs, ui: &Ui) -> Result<Outcome, Error> {
    let conditions = args
        .until
        .iter()
        .map(|text| Condition::parse(text).map_err(Error::usage))
        .collect::<Result<Vec<_>, _>>()?;
    let target = Target::open(&args.target, ui, Some(EMBEDDED_DEMO_INTERVAL)).await?;
    let (resolved, base) = (&target.resolved, target.base.clone());
    let client = Client::new(resolved.client_config(base.clone(), args.max_body_size))?;
    let config = WatchConfig {
        client,
        base,
        context: resolved.context.clone(),
        mode: match args.change_detection {
            ChangeDetectionArg::Sse => ChangeDetection::Sse,
            ChangeDetectionArg::Polling => ChangeDetection::Polling,
        },
        poll_interval: Some(args.poll_interval).filter(|d| !d.is_zero()),
    };

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut pipeline = tokio::spawn(watch::run(config, tx));
    let deadline = async {
        match args.deadline {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(deadline);
    let stop = stop_signal();
    tokio::pin!(stop);

    let mut flags = FlagSet::new();
    let mut changes: u64 = 0;
    let outcome = loop {
        tokio::select! {
            event = rx.recv() => match event {
                Some(event) => {
                    show(&event, ui)?;
                    // Only the flags the conditions name are kept here: the pipeline has the rest.
                    let wanted = |key: &String| conditions.iter().any(|c| &c.key == key);
                    match event {
                        WatchEvent::Snapshot { flags: first, .. } => {
                            flags = first.iter().filter(|(key, _)| wanted(key)).map(|(k, v)| (k.clone(), v.clone())).collect();
                        }
                        WatchEvent::Change { changes: changed, .. } => {
                            let relevant: Vec<_> = changed.into_iter().filter(|c| wanted(&c.key)).collect();
                            diff::apply(&mut flags, &relevant);
                            changes += 1;
                        }
                        _ => continue,
                    }
                    if until::all_hold(&conditions, &flags) {
                        ui_note(ui, "every --until condition holds");
                        break Ok(Outcome::Success);
                    }
                    if args.max_changes.is_some_and(|max| changes >= max) {
                        ui_note(ui, &format!("{changes} change(s) seen"));
                        break Ok(Outcome::Success);
                    }
                }
                // The pipeline ended: only a fatal error does that.
                None => break match (&mut pipeline).await {
                    Ok(Err(error)) => Err(error),
                    Ok(Ok(())) => Ok(Outcome::Success),
                    Err(e) => Err(Error::network(format!("the watch pipeline failed: {e}"))),
                },
            },
            _ = &mut deadline => {
                let still: Vec<String> = conditions.iter().filter(|c| !c.holds(&flags)).map(|c| c.unmet_reason(&flags)).collect();
                let mut why = still;
                if let Some(max) = args.max_changes.filter(|&max| changes < max) {
                    why.push(format!("{changes} of {max} change(s) seen"));
                }
                deadline_passed(ui, args.deadline.unwrap_or_default(), &why)?;
                break Ok(Outcome::Failure);
            }
            _ = &mut stop => break Ok(Outcome::Success),
        }
    };
    pipeline.abort();
    target.close().await;
    if let Err(error) = &outcome
        && ui.format == OutputFormat::Json
    {
        let line =
            serde_json::json!({"type": "error", "ts": now_rfc3339(), "message": error.to_string()});
        println_out(&line.to_string())?;
    }
    outcome
}

fn now_rfc3339() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

fn show(event: &WatchEvent, ui: &Ui) -> Result<(), Error> {
    let at = SystemTime::now();
    match ui.format {
        OutputFormat::Json => {
            let mut out = std::io::stdout().lock();
            if render::write_json_line(event, at, &ui.redactor, ui.verbose, &mut out)? {
                out.flush()?;
            }
        }
        OutputFormat::Human => {
            for line in render::human(event, at, &ui.out, &ui.err, &ui.redactor, ui.verbose) {
                match line {
                    Line::Out(text) => println_out(&text)?,
                    Line::Err(text) => eprintln!("{text}"),
                }
            }
        }
    }
    Ok(())
}

/// One line on stdout, flushed at once: a CI log or a pipe sees each change as it happens.
fn println_out(text: &str) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")?;
    out.flush()?;
    Ok(())
}

fn ui_note(ui: &Ui, text: &str) {
    if ui.format == OutputFormat::Human {
        eprintln!("{}", ui.err.paint(ui.err.good, text));
    }
}

fn deadline_passed(ui: &Ui, deadline: std::time::Duration, why: &[String]) -> Result<(), Error> {
    let summary = format!(
        "the deadline of {} passed",
        humantime::format_duration(deadline)
    );
    match ui.format {
        OutputFormat::Json => {
            let line = serde_json::json!({"type": "deadline", "ts": now_rfc3339(), "message": summary, "unmet": why});
            println_out(&line.to_string())?;
        }
        OutputFormat::Human => {
            eprintln!("{}: {summary}", ui.err.paint(ui.err.bad, "failed"));
            for reason in why {
                eprintln!("  {reason}");
            }
        }
    }
    Ok(())
}
