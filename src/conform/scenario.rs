//! Loading scenario files: the built-in suite compiled into the binary and users' own `.feature`
//! files, parsed with the `gherkin` crate and resolved against the step vocabulary up front, so a
//! typo is an error naming file:line before any request is made.

use std::path::{Path, PathBuf};

use gherkin::{GherkinEnv, StepType};

use super::steps::{self, Action, StepDef};
use crate::error::Error;
use crate::protocol::checklist;
use crate::protocol::finding::Level;

/// One scenario file's text and the name it is reported under.
#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    pub text: String,
    /// Part of the built-in suite, which is held to the checklist: every scenario names a
    /// checklist id. Users' scenarios may name their own ids, or none.
    pub builtin: bool,
}

/// Scenario files under `scenarios/`, compiled in, named `builtin/…`.
macro_rules! embedded {
    ($dir:literal: $($file:literal),* $(,)?) => {
        vec![$(Source {
            name: concat!("builtin/", $dir, $file).to_owned(),
            text: include_str!(concat!("../../scenarios/", $dir, $file)).to_owned(),
            builtin: true,
        }),*]
    };
}

/// The built-in suite: `scenarios/*.feature`.
pub fn builtin() -> Vec<Source> {
    embedded!["":
        "transport.feature",
        "single.feature",
        "bulk.feature",
        "etag.feature",
        "streams.feature",
        "sse.feature",
        "changes.feature",
        "cors.feature"
    ]
}

/// The built-in provider suite (`conform --provider`): `scenarios/provider/*.feature`.
pub fn builtin_provider() -> Vec<Source> {
    embedded!["provider/":
        "bulk.feature",
        "streams.feature",
        "events.feature",
        "reconnect.feature",
        "errors.feature"
    ]
}

/// Users' scenario files: each path a `.feature` file or a directory searched (not recursively)
/// for them, in name order.
pub fn from_paths(paths: &[PathBuf]) -> Result<Vec<Source>, Error> {
    let mut sources = Vec::new();
    for path in paths {
        let files = if path.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| {
                    Error::file(format!(
                        "cannot read the scenario directory {}: {e}",
                        path.display()
                    ))
                })?
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|p| p.extension().is_some_and(|e| e == "feature"))
                .collect();
            files.sort();
            if files.is_empty() {
                return Err(Error::file(format!(
                    "{} holds no .feature files",
                    path.display()
                )));
            }
            files
        } else {
            vec![path.clone()]
        };
        for file in files {
            let text = std::fs::read_to_string(&file).map_err(|e| {
                Error::file(format!(
                    "cannot read the scenario file {}: {e}",
                    file.display()
                ))
            })?;
            sources.push(Source {
                name: display(&file),
                text,
                builtin: false,
            });
        }
    }
    Ok(sources)
}

fn display(path: &Path) -> String {
    path.display().to_string()
}

#[derive(Debug, Clone)]
pub struct Feature<A = Action> {
    pub name: String,
    pub scenarios: Vec<Scenario<A>>,
}

/// One scenario, its steps resolved into actions of a vocabulary: the server suite's
/// [`Action`], or the provider suite's.
#[derive(Debug, Clone)]
pub struct Scenario<A = Action> {
    pub feature: String,
    pub name: String,
    /// The checklist id from the `@id:` tag.
    pub id: String,
    pub level: Level,
    /// Tags without `@`, the feature's included.
    pub tags: Vec<String>,
    pub steps: Vec<Step<A>>,
    /// `file:line`.
    pub location: String,
    /// Written in the built-in suite (its `location` names no file on disk), not a user's file.
    pub builtin: bool,
}

impl<A> Scenario<A> {
    pub fn has_tag(&self, tag: &str) -> bool {
        self.tags.iter().any(|t| t == tag)
    }
}

/// Given establishes a precondition (not met: the scenario is skipped); When acts; Then asserts
/// (not met: the scenario fails). `And`/`But` take the kind of the step before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepKind {
    Given,
    When,
    Then,
}

#[derive(Debug, Clone)]
pub struct Step<A = Action> {
    pub kind: StepKind,
    /// The keyword and text as written, for reports.
    pub text: String,
    pub action: A,
    pub line: usize,
    /// `file:line`, for the message when the step does not hold.
    pub location: String,
}

/// Parses and resolves one file of the server suite.
pub fn parse(source: &Source) -> Result<Feature, Error> {
    parse_with(source, steps::VOCABULARY)
}

/// Parses one file and resolves its steps against `vocabulary`.
pub fn parse_with<A>(
    source: &Source,
    vocabulary: &'static [StepDef<A>],
) -> Result<Feature<A>, Error> {
    let feature = gherkin::Feature::parse(&source.text, GherkinEnv::default()).map_err(|e| {
        // The error's position is private; its text is "Error at LINE:COL: {expected tokens}".
        let text = e.to_string();
        let place = text
            .strip_prefix("Error at ")
            .and_then(|t| t.split(": ").next())
            .unwrap_or("1:1");
        Error::file(format!(
            "{}:{place}: not valid Gherkin ({text})",
            source.name
        ))
        .with_hint(
            "a file starts with `Feature:`, then `Scenario:` blocks of Given/When/Then steps",
        )
    })?;
    let feature_tags: Vec<String> = feature.tags.iter().map(|t| normalise_tag(t)).collect();
    let background: Vec<&gherkin::Step> =
        feature.background.iter().flat_map(|b| &b.steps).collect();
    let mut scenarios = Vec::new();
    let all = feature
        .scenarios
        .iter()
        .chain(feature.rules.iter().flat_map(|r| &r.scenarios));
    for scenario in all {
        for expanded in expand_outline(scenario) {
            scenarios.push(resolve_scenario(
                source,
                &feature.name,
                &feature_tags,
                &background,
                &expanded,
                vocabulary,
            )?);
        }
    }
    if scenarios.is_empty() {
        return Err(Error::file(format!("{}: no scenarios", source.name)));
    }
    Ok(Feature {
        name: feature.name.clone(),
        scenarios,
    })
}

fn normalise_tag(tag: &str) -> String {
    tag.trim().trim_start_matches('@').to_owned()
}

/// A Scenario Outline becomes one scenario per Examples row, `<column>` replaced in its name and
/// steps; a plain scenario is itself.
fn expand_outline(scenario: &gherkin::Scenario) -> Vec<gherkin::Scenario> {
    let tables: Vec<&gherkin::Table> = scenario
        .examples
        .iter()
        .filter_map(|e| e.table.as_ref())
        .collect();
    if tables.is_empty() {
        return vec![scenario.clone()];
    }
    let mut out = Vec::new();
    for table in tables {
        let Some((header, rows)) = table.rows.split_first() else {
            continue;
        };
        for row in rows {
            let fill = |text: &str| {
                header
                    .iter()
                    .zip(row)
                    .fold(text.to_owned(), |acc, (name, value)| {
                        acc.replace(&format!("<{name}>"), value)
                    })
            };
            let mut copy = scenario.clone();
            copy.name = fill(&scenario.name);
            for step in &mut copy.steps {
                step.value = fill(&step.value);
                step.docstring = step.docstring.as_deref().map(fill);
            }
            out.push(copy);
        }
    }
    out
}

/// The id a scenario is reported under. The built-in suite names a checklist id with `@id:`;
/// a user's scenario may name any id (letters, digits, `-`, `.`) or none, and then it is
/// derived from the file and the scenario's name (`mine.feature`, "A premium user" →
/// `mine.a-premium-user`).
fn scenario_id(source: &Source, tags: &[String], name: &str, line: usize) -> Result<String, Error> {
    let at = format!("{}:{line}", source.name);
    let ids: Vec<&str> = tags.iter().filter_map(|t| t.strip_prefix("id:")).collect();
    let id = match ids.as_slice() {
        [id] => (*id).to_owned(),
        [] if !source.builtin => return Ok(derived_id(&source.name, name)),
        [] => {
            return Err(
                Error::file(format!("{at}: scenario `{name}` has no @id: tag")).with_hint(
                    "tag each scenario with the checklist id it proves, e.g. @id:bulk-304-on-match",
                ),
            );
        }
        _ => {
            return Err(Error::file(format!(
                "{at}: scenario `{name}` has more than one @id: tag"
            )));
        }
    };
    if source.builtin && checklist::level_of(&id).is_none() {
        return Err(
            Error::file(format!("{at}: `@id:{id}` is not a checklist id"))
                .with_hint("`ofrep conform --list` prints the ids"),
        );
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '.';
    if id.is_empty() || !id.chars().all(allowed) {
        return Err(Error::file(format!(
            "{at}: `@id:{id}` is not an id: use letters, digits, `-` and `.`"
        ))
        .with_hint("e.g. @id:our-premium-etag, or leave @id: out to have one made from the file and scenario name"));
    }
    Ok(id)
}

/// `file-stem.scenario-name`, lowercased, every run of other characters one `-`.
fn derived_id(file: &str, scenario: &str) -> String {
    let stem = Path::new(file)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let slug = |text: &str| {
        text.to_lowercase()
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|word| !word.is_empty())
            .collect::<Vec<_>>()
            .join("-")
    };
    match (slug(&stem), slug(scenario)) {
        (stem, name) if stem.is_empty() => name,
        (stem, name) if name.is_empty() => stem,
        (stem, name) => format!("{stem}.{name}"),
    }
}

fn resolve_scenario<A>(
    source: &Source,
    feature: &str,
    feature_tags: &[String],
    background: &[&gherkin::Step],
    scenario: &gherkin::Scenario,
    vocabulary: &'static [StepDef<A>],
) -> Result<Scenario<A>, Error> {
    let line = scenario.position.line;
    let at = |line: usize| format!("{}:{line}", source.name);
    let mut tags: Vec<String> = feature_tags.to_vec();
    tags.extend(scenario.tags.iter().map(|t| normalise_tag(t)));

    let id = scenario_id(source, &tags, &scenario.name, line)?;
    let levels: Vec<Level> = tags
        .iter()
        .filter_map(|t| match t.as_str() {
            "must" => Some(Level::Must),
            "should" => Some(Level::Should),
            "info" => Some(Level::Info),
            _ => None,
        })
        .collect();
    let level = match levels.as_slice() {
        [] => Level::Must,
        [level] => *level,
        _ => {
            return Err(Error::file(format!(
                "{}: scenario `{}` has more than one level tag: @must, @should or @info",
                at(line),
                scenario.name
            )));
        }
    };

    let mut steps = Vec::new();
    for step in background.iter().copied().chain(&scenario.steps) {
        let kind = match step.ty {
            StepType::Given => StepKind::Given,
            StepType::When => StepKind::When,
            StepType::Then => StepKind::Then,
        };
        let action = steps::resolve_in(vocabulary, &step.value, step.docstring.as_deref())
            .map_err(|why| {
                Error::file(format!("{}: {why}", at(step.position.line)))
                    .with_hint("`ofrep conform --list-steps` prints every step with an example; with --provider CMD, the provider suite's")
            })?;
        steps.push(Step {
            kind,
            text: format!("{} {}", step.keyword.trim(), step.value),
            action,
            line: step.position.line,
            location: at(step.position.line),
        });
    }
    Ok(Scenario {
        feature: feature.to_owned(),
        name: scenario.name.clone(),
        id,
        level,
        tags,
        steps,
        location: at(line),
        builtin: source.builtin,
    })
}

#[cfg(test)]
mod tests;
