//! `ofrep watch`: run the watch pipeline, render its events, and decide when to stop (--until,
//! --max-changes, --deadline, Ctrl-C/SIGTERM).

use crate::cli::{ChangeDetectionArg, WatchArgs};
use crate::commands::{Target, stop_signal};
use crate::diff::{self, FlagSet};
use crate::error::Error;
use crate::exit::Outcome;
use crate::protocol::client::Client;
use crate::report::Ui;
use crate::report::watch::Reporter;
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

    let reporter = Reporter::new(ui);
    let (tx, mut rx) = watch::channel();
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
                    reporter.event(&event)?;
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
                        reporter.stopped("every --until condition holds");
                        break Ok(Outcome::Success);
                    }
                    if args.max_changes.is_some_and(|max| changes >= max) {
                        reporter.stopped(&format!("{changes} change(s) seen"));
                        break Ok(Outcome::Success);
                    }
                }
                // The pipeline ended: only a fatal error does that.
                None => break match (&mut pipeline).await {
                    Ok(Err(error)) => Err(error),
                    Ok(Ok(())) => Ok(Outcome::Success),
                    Err(e) => Err(Error::internal(format!("the watch pipeline failed: {e}"))),
                },
            },
            _ = &mut deadline => {
                let still: Vec<String> = conditions.iter().filter(|c| !c.holds(&flags)).map(|c| c.unmet_reason(&flags)).collect();
                let mut why = still;
                if let Some(max) = args.max_changes.filter(|&max| changes < max) {
                    why.push(format!("{changes} of {max} change(s) seen"));
                }
                reporter.deadline_passed(args.deadline.unwrap_or_default(), &why)?;
                break Ok(Outcome::Failure);
            }
            _ = &mut stop => break Ok(Outcome::Success),
        }
    };
    pipeline.abort();
    target.close().await;
    if let Err(error) = &outcome {
        reporter.error(&error.to_string())?;
    }
    outcome
}
