//! Loading scenario files: the built-in suite compiled into the binary and users' own `.feature`
//! files, parsed with the `gherkin` crate and resolved against the step vocabulary up front, so a
//! typo is an error naming file:line before any request is made.

use std::path::{Path, PathBuf};

use gherkin::{GherkinEnv, StepType};

use super::steps::{self, Action};
use crate::error::Error;
use crate::protocol::checklist;
use crate::protocol::finding::Level;

/// One scenario file's text and the name it is reported under.
#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    pub text: String,
}

/// The built-in suite: `scenarios/*.feature`, compiled in.
pub fn builtin() -> Vec<Source> {
    macro_rules! builtin {
        ($($file:literal),* $(,)?) => {
            vec![$(Source {
                name: concat!("builtin/", $file).to_owned(),
                text: include_str!(concat!("../../scenarios/", $file)).to_owned(),
            }),*]
        };
    }
    builtin![
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
            });
        }
    }
    Ok(sources)
}

fn display(path: &Path) -> String {
    path.display().to_string()
}

#[derive(Debug, Clone)]
pub struct Feature {
    pub name: String,
    pub scenarios: Vec<Scenario>,
}

#[derive(Debug, Clone)]
pub struct Scenario {
    pub feature: String,
    pub name: String,
    /// The checklist id from the `@id:` tag.
    pub id: String,
    pub level: Level,
    /// Tags without `@`, the feature's included.
    pub tags: Vec<String>,
    pub steps: Vec<Step>,
    /// `file:line`.
    pub location: String,
}

impl Scenario {
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
pub struct Step {
    pub kind: StepKind,
    /// The keyword and text as written, for reports.
    pub text: String,
    pub action: Action,
    pub line: usize,
    /// `file:line`, for the message when the step does not hold.
    pub location: String,
}

/// Parses and resolves one file.
pub fn parse(source: &Source) -> Result<Feature, Error> {
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

fn resolve_scenario(
    source: &Source,
    feature: &str,
    feature_tags: &[String],
    background: &[&gherkin::Step],
    scenario: &gherkin::Scenario,
) -> Result<Scenario, Error> {
    let line = scenario.position.line;
    let at = |line: usize| format!("{}:{line}", source.name);
    let mut tags: Vec<String> = feature_tags.to_vec();
    tags.extend(scenario.tags.iter().map(|t| normalise_tag(t)));

    let ids: Vec<&str> = tags.iter().filter_map(|t| t.strip_prefix("id:")).collect();
    let id = match ids.as_slice() {
        [id] => (*id).to_owned(),
        [] => {
            return Err(Error::file(format!(
                "{}: scenario `{}` has no @id: tag",
                at(line),
                scenario.name
            ))
            .with_hint(
                "tag each scenario with the checklist id it proves, e.g. @id:bulk-304-on-match",
            ));
        }
        _ => {
            return Err(Error::file(format!(
                "{}: scenario `{}` has more than one @id: tag",
                at(line),
                scenario.name
            )));
        }
    };
    if checklist::level_of(&id).is_none() {
        return Err(
            Error::file(format!("{}: `@id:{id}` is not a checklist id", at(line)))
                .with_hint("`ofrep conform --list` prints the ids"),
        );
    }
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
        [level] => *level,
        _ => {
            return Err(Error::file(format!(
                "{}: scenario `{}` needs exactly one level tag: @must, @should or @info",
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
        let action = steps::resolve(&step.value, step.docstring.as_deref()).map_err(|why| {
            Error::file(format!("{}: {why}", at(step.position.line)))
                .with_hint("`ofrep conform --list-steps` prints every step with an example")
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
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(text: &str) -> Source {
        Source {
            name: "user.feature".into(),
            text: text.into(),
        }
    }

    #[test]
    fn the_builtin_suite_loads_and_its_levels_match_the_checklist() {
        for source in builtin() {
            let feature = parse(&source).unwrap_or_else(|e| panic!("{}: {e}", source.name));
            for scenario in feature.scenarios {
                assert_eq!(
                    checklist::level_of(&scenario.id),
                    Some(scenario.level),
                    "{}",
                    scenario.location
                );
            }
        }
    }

    #[test]
    fn steps_are_resolved_with_their_kind_and_line() {
        let feature = parse(&source(
            "Feature: ETags\n\n  @must @id:bulk-304-on-match\n  Scenario: a match\n    Given I request a bulk evaluation\n    And I remember the ETag as etag\n    When I request a bulk evaluation with If-None-Match \"{etag}\"\n    Then the status is 304\n",
        ))
        .unwrap();
        let scenario = &feature.scenarios[0];
        assert_eq!(scenario.id, "bulk-304-on-match");
        assert_eq!(scenario.location, "user.feature:4");
        let kinds: Vec<StepKind> = scenario.steps.iter().map(|s| s.kind).collect();
        assert_eq!(
            kinds,
            [
                StepKind::Given,
                StepKind::Given,
                StepKind::When,
                StepKind::Then
            ]
        );
        assert_eq!(scenario.steps[3].line, 8);
    }

    #[test]
    fn an_unknown_step_names_file_line_and_the_closest_step() {
        let err = parse(&source("Feature: F\n  @must @id:bulk-shape\n  Scenario: s\n    Given I request a bulk evaluation\n    Then the statuss is 200\n")).unwrap_err();
        assert!(
            err.to_string().starts_with("user.feature:5: unknown step"),
            "{err}"
        );
        assert!(
            err.to_string()
                .contains("did you mean `the status is {int}`"),
            "{err}"
        );
    }

    #[test]
    fn a_syntax_error_names_file_and_line() {
        let err = parse(&source("Feature: F\n  @must @id:bulk-shape\n  Scenario: s\n    Given I request a bulk evaluation\n  Bogus line here\n")).unwrap_err();
        assert!(err.to_string().starts_with("user.feature:"), "{err}");
        assert!(err.to_string().contains("not valid Gherkin"), "{err}");
    }

    #[test]
    fn tags_are_validated() {
        let no_id = parse(&source(
            "Feature: F\n  @must\n  Scenario: s\n    Given I request a bulk evaluation\n",
        ))
        .unwrap_err();
        assert!(no_id.to_string().contains("no @id: tag"), "{no_id}");
        let bad_id = parse(&source(
            "Feature: F\n  @must @id:nope\n  Scenario: s\n    Given I request a bulk evaluation\n",
        ))
        .unwrap_err();
        assert!(
            bad_id.to_string().contains("not a checklist id"),
            "{bad_id}"
        );
        let no_level = parse(&source(
            "Feature: F\n  @id:bulk-shape\n  Scenario: s\n    Given I request a bulk evaluation\n",
        ))
        .unwrap_err();
        assert!(
            no_level.to_string().contains("exactly one level tag"),
            "{no_level}"
        );
    }

    #[test]
    fn feature_tags_and_background_steps_are_inherited_and_outlines_expand() {
        let feature = parse(&source(
            "@polling\nFeature: F\n  Background:\n    Given I request a bulk evaluation\n\n  @info @id:bulk-inm-forms\n  Scenario Outline: form <form>\n    When I request a bulk evaluation with If-None-Match \"<form>\"\n    Then the status is 304\n\n    Examples:\n      | form |\n      | *    |\n      | W/x  |\n",
        ))
        .unwrap();
        assert_eq!(feature.scenarios.len(), 2);
        assert!(feature.scenarios[0].has_tag("polling"));
        assert_eq!(feature.scenarios[0].steps.len(), 3);
        assert_eq!(feature.scenarios[1].name, "form W/x");
    }
}
