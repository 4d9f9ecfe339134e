//! How `ofrep conform` shows its results: a screen grouped by feature for people, one JSON
//! document for programs (its shape is `schemas/conform.schema.json`), JUnit XML for CI, and a
//! progress bar on a terminal while scenarios run. Everything shown comes from the model
//! (`crate::conform::model`); evidence arrives already redacted, so nothing here touches secrets.
//!
//! [`Reporter`] is the one door: the command hands it the scenarios (`--list`), the results as
//! they finish and the final report, and it decides once where and how each goes.

mod human;
mod junit;
mod list;
mod progress;
#[cfg(test)]
mod tests;

use std::io::{self, Write};
use std::path::Path;

use serde_json::Value;

use super::{Ui, pad};
use crate::cli::OutputFormat;
use crate::conform::model::{ConformReport, ScenarioResult};
use crate::conform::scenario::Scenario;
use crate::error::Error;
pub use human::human;
pub use junit::junit;
pub use progress::Progress;

/// Everything `conform` writes, for one run.
pub struct Reporter<'a> {
    ui: &'a Ui,
}

impl<'a> Reporter<'a> {
    pub fn new(ui: &'a Ui) -> Self {
        Self { ui }
    }

    /// `--list`: the scenarios by feature, then what the checklist has that none of them covers.
    pub fn list(&self, scenarios: &[Scenario]) -> Result<(), Error> {
        let mut out = io::stdout().lock();
        list::scenarios(&mut out, scenarios)?;
        out.flush()?;
        Ok(())
    }

    /// `--list-steps`: the step vocabulary with an example each.
    pub fn steps(&self) -> Result<(), Error> {
        let mut out = io::stdout().lock();
        list::steps(&mut out)?;
        out.flush()?;
        Ok(())
    }

    /// A progress bar over `total` scenarios, drawn only where `Ui::progress` allows.
    pub fn progress(&self, total: usize) -> Progress {
        Progress::new(total as u64, self.ui.progress)
    }

    /// The final report: the JUnit file when asked for, then the result on stdout.
    pub fn finish(&self, report: &ConformReport, junit_path: Option<&Path>) -> Result<(), Error> {
        if let Some(path) = junit_path {
            let xml = junit(report)
                .map_err(|e| Error::file(format!("cannot render the JUnit report: {e}")))?;
            std::fs::write(path, xml).map_err(|e| {
                Error::file(format!(
                    "cannot write the JUnit report {}: {e}",
                    path.display()
                ))
            })?;
        }
        let mut out = io::stdout().lock();
        match self.ui.format {
            OutputFormat::Json => {
                serde_json::to_writer_pretty(&mut out, &json(report)).map_err(io::Error::from)?;
                writeln!(out)?;
            }
            OutputFormat::Human => human(report, &mut out, &self.ui.out)?,
        }
        out.flush()?;
        Ok(())
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
