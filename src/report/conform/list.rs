//! `conform --list` and `--list-steps`: what the suite checks, and the words a scenario may use.

use std::io::{self, Write};

use serde_json::{Value, json};

use crate::conform::scenario::Scenario;
use crate::conform::steps::StepDef;
use crate::conform::suite::{Checklist, Suite};
use crate::report::pad;

/// The scenarios by feature with their tags and where each is written, then the checklist
/// coverage: for the whole suite with what is not covered and why, for a selection (`--tags`)
/// only its count.
pub fn scenarios<A>(
    out: &mut dyn Write,
    scenarios: &[&Scenario<A>],
    whole: bool,
    checklist: Checklist,
) -> io::Result<()> {
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
            "  {}  {}  ({})  {}",
            pad(&scenario.id, width),
            scenario.name,
            tags.join(" "),
            scenario.location
        )?;
    }
    let uncovered = uncovered(scenarios, checklist);
    writeln!(
        out,
        "\nchecklist coverage: {} of {} ids",
        checklist.ids.len() - uncovered.len(),
        checklist.ids.len()
    )?;
    if whole {
        for (id, why) in uncovered {
            writeln!(out, "  not covered: {id}: {why}")?;
        }
    }
    Ok(())
}

/// The checklist ids no scenario proves, each with why.
fn uncovered<A>(
    scenarios: &[&Scenario<A>],
    checklist: Checklist,
) -> Vec<(&'static str, &'static str)> {
    checklist
        .ids
        .iter()
        .map(|(id, _)| *id)
        .filter(|id| !scenarios.iter().any(|s| s.id == *id))
        .map(|id| {
            let why = checklist
                .not_observable
                .iter()
                .find(|(known, _)| *known == id)
                .map_or("no scenario", |(_, why)| *why);
            (id, why)
        })
        .collect()
}

/// `--list -o json`: `{"scenarios": [{id, feature, scenario, level, tags, location}],
/// "coverage": {covered, total, uncovered: [{id, why}]}}`, tags without `@`.
pub fn scenarios_json<A>(scenarios: &[&Scenario<A>], checklist: Checklist) -> Value {
    let uncovered = uncovered(scenarios, checklist);
    json!({
        "scenarios": scenarios.iter().map(|s| json!({
            "id": s.id,
            "feature": s.feature,
            "scenario": s.name,
            "level": s.level,
            "tags": s.tags,
            "location": s.location,
        })).collect::<Vec<_>>(),
        "coverage": {
            "covered": checklist.ids.len() - uncovered.len(),
            "total": checklist.ids.len(),
            "uncovered": uncovered.iter().map(|(id, why)| json!({"id": id, "why": why})).collect::<Vec<_>>(),
        },
    })
}

/// `--list-steps -o json`: `{"steps": [{group, pattern, help, example}]}`.
pub fn steps_json<A>(vocabulary: &[StepDef<A>]) -> Value {
    json!({
        "steps": vocabulary.iter().map(|d| json!({
            "group": d.group,
            "pattern": d.pattern,
            "help": d.help,
            "example": d.example,
        })).collect::<Vec<_>>(),
    })
}

/// The step vocabulary, by group, with an example each, after what holds for every step of
/// the suite.
pub fn steps<A>(out: &mut dyn Write, vocabulary: &[StepDef<A>], suite: Suite) -> io::Result<()> {
    writeln!(
        out,
        "Steps (Given sets up and skips the scenario when it does not hold; When acts; Then asserts)."
    )?;
    match suite {
        Suite::Server => writeln!(
            out,
            "{{name}} inside a string is replaced by the value remembered as name."
        )?,
        Suite::Provider => writeln!(
            out,
            "Windows (\"within N seconds\", \"for N seconds\") start at the server's last action."
        )?,
    }
    let mut group = "";
    for def in vocabulary {
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
    Ok(())
}
