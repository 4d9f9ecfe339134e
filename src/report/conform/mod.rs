//! How `ofrep conform` shows its results: a screen grouped by feature for people, one JSON
//! document for programs (its shape is `schemas/conform.schema.json`), JUnit XML for CI, and a
//! progress bar on a terminal while scenarios run. Everything shown comes from the model
//! (`crate::conform::model`); evidence arrives already redacted, so nothing here touches secrets.
//!
//! [`Reporter`] is the one door: the command hands it the scenarios (`--list`), the results as
//! they finish and the final report, and it decides once where and how each goes; with
//! `--annotations github` (the default inside GitHub Actions) the results that need a look are
//! also written as workflow commands (`annotations.rs`).

mod annotations;
mod human;
mod junit;
#[cfg(test)]
mod layout_tests;
mod list;
mod live;
mod progress;
#[cfg(test)]
mod tests;

use std::io::{self, Write};
use std::path::Path;

use serde_json::Value;

use super::{Ui, pad};
use crate::cli::{Annotations, OutputFormat};
use crate::conform::model::{ConformReport, Grading, ScenarioResult};
use crate::conform::scenario::{Scenario, Source};
use crate::conform::steps::StepDef;
use crate::conform::suite::{Checklist, Suite};
use crate::error::Error;
pub use human::{Layout, human};
pub use junit::junit;
pub use live::Live;
pub use progress::Progress;

/// Everything `conform` writes, for one run.
pub struct Reporter<'a> {
    ui: &'a Ui,
    annotations: Annotations,
}

impl<'a> Reporter<'a> {
    /// `annotations`: which CI annotations a run writes besides its reports (resolved from
    /// `--annotations` and the environment by the command).
    pub fn new(ui: &'a Ui, annotations: Annotations) -> Self {
        Self { ui, annotations }
    }

    /// `--list`: the (selected) scenarios by feature with their tags and locations, then what
    /// the checklist has that none of them covers; as one JSON document with `-o json`.
    /// `whole` is false for a selection (`--tags`).
    pub fn list<A>(
        &self,
        scenarios: &[&Scenario<A>],
        whole: bool,
        checklist: Checklist,
    ) -> Result<(), Error> {
        let mut out = io::stdout().lock();
        match self.ui.format {
            OutputFormat::Human => list::scenarios(&mut out, scenarios, whole, checklist)?,
            OutputFormat::Json => {
                super::write_pretty(&mut out, &list::scenarios_json(scenarios, checklist))?;
                writeln!(out)?;
            }
        }
        out.flush()?;
        Ok(())
    }

    /// `--list-steps`: the step vocabulary with an example each; as JSON with `-o json`.
    pub fn steps<A>(&self, vocabulary: &[StepDef<A>], suite: Suite) -> Result<(), Error> {
        let mut out = io::stdout().lock();
        match self.ui.format {
            OutputFormat::Human => list::steps(&mut out, vocabulary, suite)?,
            OutputFormat::Json => {
                super::write_pretty(&mut out, &list::steps_json(vocabulary))?;
                writeln!(out)?;
            }
        }
        out.flush()?;
        Ok(())
    }

    /// `--show-scenario`: the built-in files, as they are, each after a `# name` line.
    pub fn sources(&self, sources: &[&Source]) -> Result<(), Error> {
        let mut out = io::stdout().lock();
        for (n, source) in sources.iter().enumerate() {
            if n > 0 {
                writeln!(out)?;
            }
            writeln!(out, "# {}", source.name)?;
            write!(out, "{}", source.text)?;
        }
        out.flush()?;
        Ok(())
    }

    /// `--print-builtin DIR`: which files were written.
    pub fn written(&self, paths: &[&Path]) -> Result<(), Error> {
        let mut out = io::stdout().lock();
        for path in paths {
            writeln!(out, "{}", path.display())?;
        }
        out.flush()?;
        Ok(())
    }

    /// The reporter of a run over the `selected` scenarios, in the order the runner numbers
    /// them; prints the heading now, and each result as it finishes.
    pub fn live<A>(&self, selected: &[&Scenario<A>], target: String, grading: Grading) -> Live<'a> {
        Live::new(self.ui, self.annotations, selected, target, grading)
    }
}

/// The JSON document (`schemas/conform.schema.json`). The model's serde is the document, so a
/// field added to the model shows up here without a second list to keep in step.
pub fn json(report: &ConformReport) -> Value {
    // serde_json fails only on maps with non-string keys or a Serialize impl that errors; the
    // model has neither, so the default is never reached (as in `report::fetch`).
    serde_json::to_value(report).unwrap_or_default()
}

/// `expected: …` and `actual: …`, values aligned, for whichever of the two the result has.
fn comparison(result: &ScenarioResult) -> Vec<String> {
    [("expected:", &result.expected), ("actual:", &result.actual)]
        .into_iter()
        .filter_map(|(label, value)| {
            value
                .as_deref()
                .map(|value| format!("{} {value}", pad(label, 9)))
        })
        .collect()
}

/// Results grouped by feature, features in the order they first appear: scenarios run
/// concurrently and finish in any order, but a feature's scenarios read best together.
fn by_feature(results: &[ScenarioResult]) -> Vec<(&str, Vec<&ScenarioResult>)> {
    let mut groups: Vec<(&str, Vec<&ScenarioResult>)> = Vec::new();
    for result in results {
        match groups
            .iter_mut()
            .find(|(feature, _)| *feature == result.feature)
        {
            Some((_, members)) => members.push(result),
            None => groups.push((&result.feature, vec![result])),
        }
    }
    groups
}
