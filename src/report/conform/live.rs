//! A run as it happens: each feature's block printed as soon as its last scenario finishes
//! (rows in the order the scenarios are written), the progress bar showing what is running,
//! `-v` transcripts on stderr, and at the end, or when the run is stopped, the reports of
//! whatever finished, and their annotations.

use std::io::{self, Write};
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use super::human::{self, Layout};
use super::{Progress, annotations, json, junit};
use crate::cli::{Annotations, OutputFormat};
use crate::conform::model::{ConformReport, Grading, ScenarioResult};
use crate::conform::runner::RunEvent;
use crate::conform::scenario::Scenario;
use crate::error::Error;
use crate::report::{Ui, shown};

/// The reporter of one running `conform`: hand it every [`RunEvent`], then [`Live::finish`].
pub struct Live<'a> {
    ui: &'a Ui,
    annotations: Annotations,
    progress: Progress,
    target: String,
    grading: Grading,
    layout: Layout,
    state: Mutex<State>,
}

struct State {
    /// Each selected scenario's feature, by index.
    features: Vec<String>,
    /// Results as they arrive, ungraded (the report grades them again, to the same effect).
    results: Vec<Option<ScenarioResult>>,
    /// Features whose block is on the screen already.
    printed: Vec<String>,
    /// The first write that failed (a closed pipe): reported by `finish`.
    failed: Option<io::Error>,
    /// Whether the heading is on the screen.
    headed: bool,
}

impl<'a> Live<'a> {
    pub(super) fn new<A>(
        ui: &'a Ui,
        annotations: Annotations,
        selected: &[&Scenario<A>],
        target: String,
        grading: Grading,
    ) -> Self {
        let layout = Layout::new(
            selected.iter().map(|s| (s.id.as_str(), s.name.as_str())),
            ui.width,
        );
        Self {
            ui,
            annotations,
            progress: Progress::new(selected.len() as u64, ui.progress),
            target,
            grading,
            layout,
            state: Mutex::new(State {
                features: selected.iter().map(|s| s.feature.clone()).collect(),
                results: vec![None; selected.len()],
                printed: Vec::new(),
                failed: None,
                headed: false,
            }),
        }
    }

    /// `conform TARGET`, once, before the first result (not before: a run that cannot reach
    /// the server prints only its error).
    fn heading(&self, state: &mut State) {
        if self.ui.format != OutputFormat::Human || state.headed {
            return;
        }
        state.headed = true;
        let grading = self.grading;
        let written = self.progress.suspend(|| {
            let mut out = io::stdout().lock();
            human::heading(
                &mut out,
                &self.ui.out,
                &self.target,
                grading.strict,
                grading.fail_on_skip,
            )
            .and_then(|()| out.flush())
        });
        if let Err(error) = written {
            state.failed.get_or_insert(error);
        }
    }

    /// What the runner reports: a start moves the progress bar's list of running scenarios; a
    /// result is recorded, its transcript shown with `-v`, and its feature's block printed if
    /// it was the feature's last.
    pub fn event(&self, event: RunEvent<'_>) {
        match event {
            RunEvent::Started { id, .. } => self.progress.started(id),
            RunEvent::Finished {
                index,
                result,
                transcript,
            } => {
                self.progress.finished(result);
                if self.ui.verbose {
                    self.transcript(result, transcript);
                }
                let Ok(mut state) = self.state.lock() else {
                    return;
                };
                if let Some(slot) = state.results.get_mut(index) {
                    *slot = Some(result.clone());
                }
                self.heading(&mut state);
                if self.ui.format == OutputFormat::Human {
                    let feature = &result.feature;
                    let done = state
                        .features
                        .iter()
                        .zip(&state.results)
                        .all(|(f, r)| f != feature || r.is_some());
                    if done {
                        self.print_block(&mut state, feature);
                    }
                }
            }
        }
    }

    /// The report of what finished (all of it, unless `interrupted`): the JUnit file when asked
    /// for, then the rest of the screen or the JSON document on stdout, then the annotations on
    /// stderr.
    pub fn finish(
        self,
        duration: Duration,
        interrupted: bool,
        junit_path: Option<&Path>,
    ) -> Result<ConformReport, Error> {
        self.progress.finish();
        let mut guard = self
            .state
            .lock()
            .map_err(|_| Error::internal("a reporting thread panicked"))?;
        let state = &mut *guard;
        let total = state.results.len();
        let finished: Vec<ScenarioResult> = state.results.iter().flatten().cloned().collect();
        let mut report = ConformReport::new(self.target.clone(), finished, duration, self.grading);
        report.interrupted = interrupted;
        if let Some(path) = junit_path {
            write_junit(&report, path)?;
        }
        let mut out = io::stdout().lock();
        match self.ui.format {
            OutputFormat::Json => {
                crate::report::write_pretty(&mut out, &json(&report))?;
                writeln!(out)?;
            }
            OutputFormat::Human => {
                self.heading(state);
                if let Some(error) = state.failed.take() {
                    return Err(error.into());
                }
                // A stopped run leaves features of which only some scenarios finished.
                let graded = &report.results;
                for (feature, results) in super::by_feature(graded) {
                    if !state.printed.iter().any(|f| f == feature) {
                        human::block(&mut out, &self.ui.out, &self.layout, feature, &results)?;
                    }
                }
                if interrupted {
                    writeln!(out)?;
                    writeln!(
                        out,
                        "stopped after {} of {total} scenarios: the reports hold those that finished",
                        graded.len()
                    )?;
                }
                human::closing(&mut out, &self.ui.out, &report)?;
            }
        }
        out.flush()?;
        annotations::write(&mut io::stderr().lock(), self.annotations, &report.results)?;
        Ok(report)
    }

    /// The run could not go on (the server was not reached): clear the bar, print nothing more.
    pub fn abandon(self) {
        self.progress.finish();
    }

    fn print_block(&self, state: &mut State, feature: &str) {
        let results: Vec<ScenarioResult> = state
            .results
            .iter()
            .flatten()
            .filter(|r| r.feature == feature)
            .map(|r| {
                let mut r = r.clone();
                self.grading.grade(&mut r);
                r
            })
            .collect();
        let refs: Vec<&ScenarioResult> = results.iter().collect();
        let written = self.progress.suspend(|| {
            let mut out = io::stdout().lock();
            human::block(&mut out, &self.ui.out, &self.layout, feature, &refs)
                .and_then(|()| out.flush())
        });
        if let Err(error) = written {
            state.failed.get_or_insert(error);
        }
        state.printed.push(feature.to_owned());
    }

    /// `-v`: the scenario's exchanges on stderr, under a line that names it.
    fn transcript(&self, result: &ScenarioResult, lines: &[String]) {
        let p = &self.ui.err;
        self.progress.suspend(|| {
            let mut err = io::stderr().lock();
            let _ = writeln!(
                err,
                "{}",
                p.paint(
                    p.strong,
                    format!(
                        "* {} {} ({}): {}",
                        result.status.as_str(),
                        result.id,
                        result.scenario,
                        result.location
                    )
                )
            );
            // The exchanges quote the server (headers, bodies): escaped as they are shown.
            for line in lines {
                let _ = writeln!(err, "{}", p.paint(p.dim, shown(line)));
            }
        });
    }
}

fn write_junit(report: &ConformReport, path: &Path) -> Result<(), Error> {
    let xml =
        junit(report).map_err(|e| Error::file(format!("cannot render the JUnit report: {e}")))?;
    std::fs::write(path, xml).map_err(|e| {
        Error::file(format!(
            "cannot write the JUnit report {}: {e}",
            path.display()
        ))
    })
}
