//! The progress bar `conform` draws on a terminal while scenarios run.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::conform::model::ScenarioResult;

/// How often the bar redraws, so the elapsed time moves while a slow scenario waits.
const TICK: Duration = Duration::from_millis(200);

/// A bar on stderr, as cargo-nextest draws one: the elapsed time, finished scenarios against
/// the total, and the ids of those running now. Whether to draw it is decided elsewhere
/// (`crate::term::use_progress`: a TTY, not CI); when it is off every method does nothing, so
/// the runner calls it unconditionally. Cloning shares the bar.
#[derive(Debug, Clone)]
pub struct Progress {
    pub(super) bar: Option<ProgressBar>,
    running: Arc<Mutex<Vec<String>>>,
}

impl Progress {
    pub fn new(total: u64, enabled: bool) -> Self {
        let target = enabled.then(ProgressDrawTarget::stderr);
        let progress = Self::drawn_to(total, target);
        if let Some(bar) = &progress.bar {
            bar.enable_steady_tick(TICK);
        }
        progress
    }

    pub(super) fn drawn_to(total: u64, target: Option<ProgressDrawTarget>) -> Self {
        let bar = target.map(|target| {
            // The template is a constant known to parse; the default bar is only a fallback so
            // that a bad template can never stop a run.
            let style = ProgressStyle::with_template(
                "{elapsed_precise:.dim} {bar:25} {pos}/{len} {wide_msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            ProgressBar::with_draw_target(Some(total), target).with_style(style)
        });
        Self {
            bar,
            running: Arc::default(),
        }
    }

    /// A scenario started.
    pub fn started(&self, id: &str) {
        if self.bar.is_some() {
            self.with_running(|running| running.push(id.to_owned()));
        }
    }

    /// One more scenario is done.
    pub fn finished(&self, result: &ScenarioResult) {
        if let Some(bar) = &self.bar {
            self.with_running(|running| {
                if let Some(at) = running.iter().position(|id| *id == result.id) {
                    running.remove(at);
                }
            });
            bar.inc(1);
        }
    }

    /// Runs `write` with the bar cleared, so lines written to the terminal meanwhile are not
    /// drawn over; it is redrawn after.
    pub fn suspend<R>(&self, write: impl FnOnce() -> R) -> R {
        match &self.bar {
            Some(bar) => bar.suspend(write),
            None => write(),
        }
    }

    /// Clears the bar, so the report that follows on stdout starts on a clean screen.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    fn with_running(&self, change: impl FnOnce(&mut Vec<String>)) {
        let Some(bar) = &self.bar else { return };
        let Ok(mut running) = self.running.lock() else {
            return;
        };
        change(&mut running);
        let message = match running.len() {
            0 => String::new(),
            n => format!("running {n}: {}", running.join(", ")),
        };
        bar.set_message(message);
    }
}
