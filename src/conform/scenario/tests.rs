use super::*;

fn source(text: &str) -> Source {
    Source {
        name: "user.feature".into(),
        text: text.into(),
        builtin: false,
    }
}

fn builtin_source(text: &str) -> Source {
    Source {
        name: "builtin/t.feature".into(),
        builtin: true,
        ..source(text)
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
fn the_builtin_suite_is_held_to_the_checklist() {
    let no_id = parse(&builtin_source(
        "Feature: F\n  @must\n  Scenario: s\n    Given I request a bulk evaluation\n",
    ))
    .unwrap_err();
    assert!(no_id.to_string().contains("no @id: tag"), "{no_id}");
    let bad_id = parse(&builtin_source(
        "Feature: F\n  @must @id:nope\n  Scenario: s\n    Given I request a bulk evaluation\n",
    ))
    .unwrap_err();
    assert!(
        bad_id.to_string().contains("not a checklist id"),
        "{bad_id}"
    );
    let two_levels = parse(&builtin_source(
        "Feature: F\n  @must @should @id:bulk-shape\n  Scenario: s\n    Given I request a bulk evaluation\n",
    ))
    .unwrap_err();
    assert!(
        two_levels.to_string().contains("more than one level tag"),
        "{two_levels}"
    );
}

/// (tags, scenario name, the id it gets or the error it is).
#[test]
fn user_scenarios_name_their_own_ids_or_get_one_and_default_to_must() {
    let table: &[(&str, &str, Result<&str, &str>)] = &[
        ("@id:our-premium.etag", "s", Ok("our-premium.etag")),
        ("@id:bulk-shape", "s", Ok("bulk-shape")),
        ("@id:Mixed-Case.2", "s", Ok("Mixed-Case.2")),
        (
            "",
            "A premium user's ETag!",
            Ok("user.a-premium-user-s-etag"),
        ),
        ("@should", "", Ok("user")),
        (
            "@id:has/slash",
            "s",
            Err("user.feature:3: `@id:has/slash` is not an id"),
        ),
        ("@id:a @id:b", "s", Err("more than one @id: tag")),
        ("@must @info", "s", Err("more than one level tag")),
    ];
    for (tags, name, expected) in table {
        let text = format!(
            "Feature: F\n  {tags}\n  Scenario: {name}\n    Given I request a bulk evaluation\n"
        );
        match (parse(&source(&text)), expected) {
            (Ok(feature), Ok(id)) => assert_eq!(feature.scenarios[0].id, *id, "{tags}"),
            (Err(error), Err(part)) => {
                assert!(error.to_string().contains(part), "{tags}: {error}")
            }
            (got, _) => panic!("{tags} {name}: {got:?}"),
        }
    }
    let feature = parse(&source(
        "Feature: F\n  @id:mine\n  Scenario: s\n    Given I request a bulk evaluation\n",
    ))
    .unwrap();
    assert_eq!(feature.scenarios[0].level, Level::Must);
    let feature = parse(&source(
        "Feature: F\n  @should\n  Scenario: s\n    Given I request a bulk evaluation\n",
    ))
    .unwrap();
    assert_eq!(feature.scenarios[0].level, Level::Should);
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
