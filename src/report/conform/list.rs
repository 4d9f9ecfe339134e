//! `conform --list` and `--list-steps`: what the suite checks, and the words a scenario may use.

use std::io::{self, Write};

use crate::conform::scenario::Scenario;
use crate::conform::steps::VOCABULARY;
use crate::protocol::checklist::{CHECKLIST, NOT_OBSERVABLE};
use crate::report::pad;

/// The scenarios by feature with their tags, then the checklist coverage.
pub fn scenarios(out: &mut dyn Write, scenarios: &[Scenario]) -> io::Result<()> {
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
    Ok(())
}

/// The step vocabulary, by group, with an example each.
pub fn steps(out: &mut dyn Write) -> io::Result<()> {
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
    Ok(())
}
