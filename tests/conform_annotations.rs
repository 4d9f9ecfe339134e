//! `conform` under GitHub Actions: the real binary, with `GITHUB_ACTIONS=true`, against the
//! reference server with fault modes, a user's scenario file and a hostile server. Workflow
//! commands go to stderr (stdout stays the report), one per result that needs a look, and
//! nothing a server says can start a command of its own or bring a credential into one.

mod fixture;
mod routed;

use std::collections::BTreeSet;

use fixture::ReferenceServer;
use fixture::cli::{Run, ofrep, run};

/// The lines of `text` that GitHub's runner would take for a workflow command: after leading
/// whitespace, `::`.
fn commands(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| l.trim_start().starts_with("::"))
        .collect()
}

/// The `title` of every `::KIND ` command on stderr.
fn titles(out: &Run, kind: &str) -> BTreeSet<String> {
    commands(&out.stderr)
        .into_iter()
        .filter_map(|l| l.strip_prefix(&format!("::{kind} ")))
        .filter_map(|l| l.split("::").next())
        .filter_map(|props| props.split(',').find_map(|p| p.strip_prefix("title=")))
        .map(str::to_owned)
        .collect()
}

/// A server that fails one MUST check (`stale-304`: bulk-200-on-stale) and one SHOULD check
/// (`unquoted-etag`: bulk-etag-syntax); without a trigger the change scenarios are skipped.
fn faulty() -> ReferenceServer {
    ReferenceServer::start(&["--fault", "stale-304", "--fault", "unquoted-etag"])
}

#[test]
fn under_github_actions_failures_warnings_and_unproven_must_checks_are_annotated_on_stderr() {
    let server = faulty();
    let out =
        run(ofrep()
            .env("GITHUB_ACTIONS", "true")
            .args(["conform", &server.url, "-o", "json"]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    // stdout is still one JSON document (`json()` panics otherwise), with no command in it.
    assert!(commands(&out.stdout).is_empty(), "{}", out.stdout);
    let failed = out.ids_with("fail");
    let warned = out.ids_with("warn");
    assert!(failed.contains("bulk-200-on-stale"), "{failed:?}");
    assert!(warned.contains("bulk-etag-syntax"), "{warned:?}");
    assert_eq!(titles(&out, "error"), failed, "{}", out.stderr);
    assert_eq!(titles(&out, "warning"), warned, "{}", out.stderr);

    let error = commands(&out.stderr)
        .into_iter()
        .find(|l| l.starts_with("::error title=bulk-200-on-stale::"))
        .unwrap();
    assert!(
        error.contains("expected status 200, got 304%0Aat builtin/etag.feature:"),
        "{error}"
    );
    assert!(
        !error.contains("file="),
        "built-in scenarios link to no file: {error}"
    );
    // The change scenarios were skipped for want of a trigger: one notice names the MUST ones.
    let notice = commands(&out.stderr)
        .into_iter()
        .find(|l| l.starts_with("::notice ") && l.contains("needs a way to change a flag"))
        .unwrap_or_else(|| panic!("{}", out.stderr));
    let skipped: Vec<String> = out.json()["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            r["status"] == "skip"
                && r["level"] == "must"
                && r["message"].as_str().unwrap().contains("change a flag")
        })
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(skipped.len() > 1, "{skipped:?}");
    assert!(
        notice.starts_with(&format!(
            "::notice title={} MUST checks not proven::",
            skipped.len()
        )),
        "{notice}"
    );
    assert!(notice.ends_with(&skipped.join(", ")), "{notice}");
}

#[test]
fn human_output_keeps_stdout_free_of_commands_and_strict_turns_the_warning_into_an_error() {
    let server = faulty();
    let out = run(ofrep()
        .env("GITHUB_ACTIONS", "true")
        .args(["conform", &server.url, "--strict"]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stdout.contains("FAIL   bulk-etag-syntax"),
        "{}",
        out.stdout
    );
    assert!(commands(&out.stdout).is_empty(), "{}", out.stdout);
    let errors = titles(&out, "error");
    assert!(
        errors.contains("bulk-etag-syntax") && errors.contains("bulk-200-on-stale"),
        "{errors:?}"
    );
    assert!(titles(&out, "warning").is_empty(), "{}", out.stderr);
}

#[test]
fn annotations_none_or_no_github_actions_print_no_command_and_github_forces_them() {
    let server = faulty();
    let cases: [(&[&str], bool, bool); 4] = [
        (&["--annotations", "none"], true, false),
        (&[], false, false),
        (&["--annotations", "github"], false, true),
        (&[], true, true),
    ];
    for (extra, in_actions, expected) in cases {
        let mut cmd = ofrep();
        if in_actions {
            cmd.env("GITHUB_ACTIONS", "true");
        }
        let out = run(cmd.args(["conform", &server.url]).args(extra));
        assert_eq!(out.code, 1, "{extra:?}: {}", out.stderr);
        assert!(
            commands(&out.stdout).is_empty(),
            "{extra:?}: {}",
            out.stdout
        );
        assert_eq!(
            !commands(&out.stderr).is_empty(),
            expected,
            "{extra:?} with GITHUB_ACTIONS={in_actions}: {}",
            out.stderr
        );
    }
    // Only `true` is GitHub Actions.
    let out = run(ofrep()
        .env("GITHUB_ACTIONS", "false")
        .args(["conform", &server.url]));
    assert!(commands(&out.stderr).is_empty(), "{}", out.stderr);
}

#[test]
fn annotations_never_carry_the_credentials() {
    let server = ReferenceServer::start(&[
        "--require-auth",
        "s3cret",
        "--fault",
        "stale-304",
        "--fault",
        "unquoted-etag",
    ]);
    let out = run(ofrep().env("GITHUB_ACTIONS", "true").args([
        "-v",
        "conform",
        &server.url,
        "--auth-required",
        "-H",
        "Authorization: Bearer s3cret",
    ]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        titles(&out, "error").contains("bulk-200-on-stale"),
        "{}",
        out.stderr
    );
    for (stream, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        assert!(!text.contains("s3cret"), "the token on {stream}:\n{text}");
    }
}

#[test]
fn a_user_scenario_is_annotated_at_its_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ours.feature");
    std::fs::write(
        &path,
        "Feature: Ours\n\n  @id:our.teapot\n  Scenario: the server is a teapot\n    When I request a bulk evaluation\n    Then the status is 418\n",
    )
    .unwrap();
    let server = ReferenceServer::start(&[]);
    let out = run(ofrep()
        .env("GITHUB_ACTIONS", "true")
        .args(["conform", &server.url, "--no-builtin", "--scenarios"])
        .arg(&path));
    assert_eq!(out.code, 1, "{}", out.stderr);
    let file = path
        .display()
        .to_string()
        .replace(':', "%3A")
        .replace(',', "%2C");
    let expected = format!("::error file={file},line=4,title=our.teapot::the server is a teapot: ");
    let lines = commands(&out.stderr);
    assert!(
        lines.iter().any(|l| l.starts_with(&expected)),
        "{expected}\n{}",
        out.stderr
    );
}

/// Flag keys, reasons and error codes that end a line and start a command of their own.
const HOSTILE: &str = r#"{"flags":[{"key":"k\n::error::pwned","value":1,"variant":"v","reason":"R\n::error::pwned"},{"key":"e","errorCode":"E\r\n::warning::pwned","errorDetails":"D\n::add-mask::pwned"}]}"#;

#[test]
fn a_server_cannot_start_a_workflow_command_of_its_own() {
    let server =
        routed::Routed::start(|_, _| routed::Answer::json(200, HOSTILE).header("etag", "\"x\""));
    for format in ["human", "json"] {
        let out = run(ofrep().env("GITHUB_ACTIONS", "true").args([
            "-v",
            "conform",
            &server.url(),
            "--timeout",
            "2s",
            "-o",
            format,
        ]));
        assert_eq!(out.code, 1, "-o {format}: {}", out.stderr);
        // The server's text reached an annotation, its line end escaped...
        assert!(
            commands(&out.stderr)
                .iter()
                .any(|l| l.starts_with("::warning title=reason-known::")
                    && l.contains(r"R\u{a}::error::pwned")),
            "-o {format}: {}",
            out.stderr
        );
        // ...and every line the runner would read as a command is one of ours.
        for stream in [&out.stdout, &out.stderr] {
            for line in commands(stream) {
                assert!(
                    ["::error title=", "::warning title=", "::notice title="]
                        .iter()
                        .any(|ours| line.starts_with(ours)),
                    "-o {format}: a command the server wrote: {line}"
                );
            }
        }
    }
}
