//! The progress bar `conform` draws on a terminal while scenarios run.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::conform::model::ScenarioResult;

/// A bar on stderr counting finished scenarios while `conform` runs, showing the last check
/// id. Whether to draw it is decided elsewhere (`crate::term::use_progress`: a TTY, not CI);
/// when it is off every method does nothing, so the runner calls it unconditionally. Cloning
/// shares the bar, so concurrent scenarios can each report to it.
#[derive(Debug, Clone)]
pub struct Progress {
    pub(super) bar: Option<ProgressBar>,
}

impl Progress {
    pub fn new(total: u64, enabled: bool) -> Self {
        let target = enabled.then(ProgressDrawTarget::stderr);
        Self::drawn_to(total, target)
    }

    pub(super) fn drawn_to(total: u64, target: Option<ProgressDrawTarget>) -> Self {
        let bar = target.map(|target| {
            // The template is a constant known to parse; the default bar is only a fallback so
            // that a bad template can never stop a run.
            let style = ProgressStyle::with_template("{bar:30} {pos}/{len} {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar());
            ProgressBar::with_draw_target(Some(total), target).with_style(style)
        });
        Self { bar }
    }

    /// One more scenario is done.
    pub fn finished(&self, result: &ScenarioResult) {
        if let Some(bar) = &self.bar {
            bar.set_message(result.id.clone());
            bar.inc(1);
        }
    }

    /// Clears the bar, so the report that follows on stdout starts on a clean screen.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
