//! Annotations for CI systems that turn lines of a step's output into remarks on the run: for
//! GitHub Actions, a workflow command per result that needs a look, `::error` for a failure or
//! an error, `::warning` for a SHOULD-level warning and `::notice` for a MUST-level check that
//! was skipped (so not proven), titled with the check id and, for a scenario from the user's
//! own file, linked to that file and line.
//!
//! They go to stderr: the runner reads workflow commands from both streams of a step (its
//! script handler gives stdout and stderr the same command processing), and stdout stays the
//! report, pure JSON under `-o json`, and free of them when redirected to a file.
//!
//! Every part is text from the results, which are redacted already; what a server may have put
//! in them is [`shown`] first (control characters escaped, so no line end of its own, and no
//! `##[`, which the runner reads as a command anywhere in a line), then escaped as GitHub's
//! runner unescapes it. A `::` command is recognised only at the start of a line, so nothing a
//! server says can start one.

use std::io::{self, Write};

use crate::cli::Annotations;
use crate::conform::model::{ScenarioResult, Status};
use crate::protocol::finding::Level;
use crate::report::shown;

/// How many annotations of one kind GitHub shows for a step; it drops the rest unseen.
const PER_KIND: usize = 10;

/// Writes the annotations of `kind` for `results` (graded), one line each: errors, then
/// warnings, then notices, each in the results' order.
pub fn write(out: &mut dyn Write, kind: Annotations, results: &[ScenarioResult]) -> io::Result<()> {
    match kind {
        Annotations::None => Ok(()),
        Annotations::Github => {
            for line in github(results) {
                writeln!(out, "{line}")?;
            }
            out.flush()
        }
    }
}

/// One annotation before it is written: the checks it is about, where, its title and lines.
struct Annotation {
    ids: Vec<String>,
    file: Option<(String, usize)>,
    title: String,
    lines: Vec<String>,
}

impl Annotation {
    /// A workflow command: `::COMMAND file=…,line=…,title=…::line%0Aline`.
    fn render(&self, command: &str) -> String {
        let mut properties = Vec::new();
        if let Some((file, line)) = &self.file {
            properties.push(format!("file={}", property(file)));
            properties.push(format!("line={line}"));
        }
        properties.push(format!("title={}", property(&shown(&self.title))));
        let lines: Vec<String> = self.lines.iter().map(|l| shown(l).into_owned()).collect();
        format!(
            "::{command} {}::{}",
            properties.join(","),
            data(&lines.join("\n"))
        )
    }
}

/// The GitHub workflow commands for a run: an `error` per failure or error, a `warning` per
/// SHOULD-level warning, and a `notice` per reason MUST-level checks were skipped for (one
/// missing trigger skips a dozen); nothing for passes, INFO observations and skips that left
/// nothing unproven. Past [`PER_KIND`] of a kind, the last one names the rest, so none is
/// dropped unseen.
fn github(results: &[ScenarioResult]) -> Vec<String> {
    let errors = results
        .iter()
        .filter(|r| matches!(r.status, Status::Fail | Status::Error))
        .map(|r| single(r, r.message.clone()))
        .collect();
    let warnings = results
        .iter()
        .filter(|r| r.status == Status::Warn)
        .map(|r| single(r, r.message.clone()))
        .collect();
    let mut reasons: Vec<(&str, Vec<&ScenarioResult>)> = Vec::new();
    for result in results
        .iter()
        .filter(|r| r.status == Status::Skip && r.level == Level::Must && !r.not_applicable)
    {
        match reasons.iter_mut().find(|(why, _)| *why == result.message) {
            Some((_, skipped)) => skipped.push(result),
            None => reasons.push((&result.message, vec![result])),
        }
    }
    let notices = reasons
        .into_iter()
        .map(|(why, skipped)| match skipped.as_slice() {
            [one] => single(one, format!("MUST check not proven, skipped: {why}")),
            _ => Annotation {
                ids: skipped.iter().map(|r| r.id.clone()).collect(),
                file: None,
                title: format!("{} MUST checks not proven", skipped.len()),
                lines: vec![
                    format!("skipped: {why}"),
                    format!(
                        "checks: {}",
                        skipped
                            .iter()
                            .map(|r| r.id.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ],
            },
        })
        .collect();
    [
        ("error", errors),
        ("warning", warnings),
        ("notice", notices),
    ]
    .into_iter()
    .flat_map(|(command, annotations)| limited(command, annotations))
    .collect()
}

/// One result's annotation: `scenario: headline` (a failure's says what was expected and
/// what was seen), then where the scenario is written.
fn single(result: &ScenarioResult, headline: String) -> Annotation {
    let first = if headline.is_empty() {
        result.scenario.clone()
    } else {
        format!("{}: {headline}", result.scenario)
    };
    let lines = vec![first, format!("at {}", result.location)];
    Annotation {
        ids: vec![result.id.clone()],
        file: user_file(result),
        title: result.id.clone(),
        lines,
    }
}

/// The annotations of one kind as commands, at most [`PER_KIND`]: past that, the last names
/// the checks of the others.
fn limited(command: &str, annotations: Vec<Annotation>) -> Vec<String> {
    if annotations.len() <= PER_KIND {
        return annotations.iter().map(|a| a.render(command)).collect();
    }
    let (first, rest) = annotations.split_at(PER_KIND - 1);
    let ids: Vec<&str> = rest
        .iter()
        .flat_map(|a| a.ids.iter().map(String::as_str))
        .collect();
    let more = Annotation {
        ids: Vec::new(),
        file: None,
        title: format!("{} more", ids.len()),
        lines: vec![
            format!(
                "GitHub shows {PER_KIND} annotations of a kind per step; the others: {}",
                ids.join(", ")
            ),
            "the log and the JUnit report have every result".into(),
        ],
    };
    first
        .iter()
        .chain([&more])
        .map(|a| a.render(command))
        .collect()
}

/// The file and line a user's scenario is written at, the path made absolute (the runner
/// relates it to the repository wherever `ofrep` ran); none for a built-in one.
fn user_file(result: &ScenarioResult) -> Option<(String, usize)> {
    if result.builtin {
        return None;
    }
    let (path, line) = result.location.rsplit_once(':')?;
    let line = line.parse().ok()?;
    let path = std::path::absolute(path).map_or_else(
        |_| path.to_owned(),
        |absolute| absolute.display().to_string(),
    );
    Some((shown(&path).into_owned(), line))
}

/// A command's message as the runner unescapes it: `%`, CR and LF (so a message keeps its
/// lines without ending the command).
fn data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A property's value: as [`data`], and `:` and `,`, which would end the value.
fn property(text: &str) -> String {
    data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn result(status: Status, level: Level, location: &str) -> ScenarioResult {
        ScenarioResult {
            id: "bulk-200-on-stale".into(),
            feature: "ETag and 304".into(),
            scenario: "a made-up ETag gets a 200".into(),
            level,
            status,
            message:
                "Then the status is 200 (builtin/etag.feature:34): expected status 200, got 304"
                    .into(),
            expected: Some("status 200".into()),
            actual: Some("304".into()),
            evidence: vec!["> POST http://127.0.0.1:1/ofrep/v1/evaluate/flags".into()],
            location: location.into(),
            builtin: location.starts_with("builtin/"),
            duration: Duration::from_millis(4),
            cause: None,
            not_applicable: false,
        }
    }

    fn written(results: &[ScenarioResult]) -> String {
        let mut out = Vec::new();
        write(&mut out, Annotations::Github, results).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_failure_is_an_error_titled_with_its_id_and_its_lines_escaped() {
        let line = written(&[result(Status::Fail, Level::Must, "builtin/etag.feature:32")]);
        assert_eq!(
            line,
            "::error title=bulk-200-on-stale::a made-up ETag gets a 200: Then the status is 200 \
             (builtin/etag.feature:34): expected status 200, got 304%0Aat builtin/etag.feature:32\n"
        );
    }

    #[test]
    fn each_status_has_its_command_and_passes_have_none() {
        let mut na = result(Status::Skip, Level::Must, "builtin/sse.feature:3");
        na.not_applicable = true;
        let results = [
            result(Status::Pass, Level::Must, "builtin/a.feature:1"),
            result(Status::Warn, Level::Should, "builtin/a.feature:2"),
            result(Status::Error, Level::Must, "builtin/a.feature:3"),
            result(Status::Skip, Level::Must, "builtin/a.feature:4"),
            result(Status::Skip, Level::Should, "builtin/a.feature:5"),
            result(Status::Info, Level::Info, "builtin/a.feature:6"),
            na,
        ];
        let out = written(&results);
        let commands: Vec<&str> = out
            .lines()
            .filter_map(|l| l.strip_prefix("::"))
            .map(|l| l.split(' ').next().unwrap_or(""))
            .collect();
        assert_eq!(commands, ["error", "warning", "notice"]);
        assert!(written(&results[3..4]).contains("MUST check not proven, skipped: "));
    }

    #[test]
    fn must_checks_skipped_for_one_reason_share_a_notice() {
        let skipped = |id: &str, why: &str| ScenarioResult {
            id: id.into(),
            message: why.into(),
            ..result(Status::Skip, Level::Must, "builtin/changes.feature:9")
        };
        let out = written(&[
            skipped("sse-notify", "needs a way to change a flag"),
            skipped("bulk-304-on-match", "precondition not met"),
            skipped("polling-works", "needs a way to change a flag"),
        ]);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines,
            [
                "::notice title=2 MUST checks not proven::skipped: needs a way to change a flag\
                 %0Achecks: sse-notify, polling-works",
                "::notice title=bulk-304-on-match::a made-up ETag gets a 200: MUST check not \
                 proven, skipped: precondition not met%0Aat builtin/changes.feature:9",
            ]
        );
    }

    #[test]
    fn past_ten_of_a_kind_the_last_annotation_names_the_rest() {
        let failures: Vec<ScenarioResult> = (1..=12)
            .map(|n| ScenarioResult {
                id: format!("check-{n}"),
                ..result(Status::Fail, Level::Must, "builtin/a.feature:1")
            })
            .collect();
        let out = written(&failures);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), PER_KIND, "{out}");
        assert!(lines[8].starts_with("::error title=check-9::"), "{out}");
        assert!(
            lines[9].starts_with(
                "::error title=3 more::GitHub shows 10 annotations of a kind per step; the \
                 others: check-10, check-11, check-12%0A"
            ),
            "{out}"
        );
        assert_eq!(written(&failures[..10]).lines().count(), 10);
        assert!(!written(&failures[..10]).contains("more::"));
    }

    #[test]
    fn a_user_scenario_links_to_its_file_and_line() {
        let line = written(&[result(Status::Fail, Level::Must, "checks/our,1.feature:7")]);
        let cwd = std::env::current_dir().unwrap();
        let file = property(&cwd.join("checks/our,1.feature").display().to_string());
        assert!(
            line.starts_with(&format!(
                "::error file={file},line=7,title=bulk-200-on-stale::"
            )),
            "{line}"
        );
        assert!(file.contains("%2C") && !file.contains(','), "{file}");
    }

    #[test]
    fn server_text_cannot_end_the_command_or_break_its_properties() {
        let mut hostile = result(Status::Fail, Level::Must, "builtin/a.feature:1");
        hostile.id = "x:y,title=pwned".into();
        hostile.message = "got \"k\n::error::pwned\r\n%0A::warning::also\"".into();
        hostile.scenario = "a\u{1b}[31m\n::notice::x".into();
        let out = written(&[hostile]);
        assert_eq!(out.lines().count(), 1, "{out}");
        assert!(
            out.starts_with("::error title=x%3Ay%2Ctitle=pwned::"),
            "{out}"
        );
        // The server's own line ends are escaped as text (`\u{a}`); a `%` it sent stays a `%`.
        assert!(
            out.contains(r"k\u{a}::error::pwned\u{d}\u{a}%250A"),
            "{out}"
        );
        assert!(out.contains(r"a\u{1b}[31m\u{a}::notice::x"), "{out}");
    }

    #[test]
    fn none_writes_nothing() {
        let mut out = Vec::new();
        write(
            &mut out,
            Annotations::None,
            &[result(Status::Fail, Level::Must, "builtin/a.feature:1")],
        )
        .unwrap();
        assert!(out.is_empty());
    }
}
