//! `ofrep conform`, the real binary, against the reference server (correct, and with each fault
//! mode), a scriptable server, and users' scenario files.

mod fixture;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use fixture::ReferenceServer;
use fixture::cli::{Run, ofrep, run};
use fixture::scripted::{Scripted, Streams};
use serde_json::Value;

#[test]
fn the_builtin_suite_passes_against_the_embedded_reference_server() {
    let started = Instant::now();
    let out = run(ofrep().args(["conform", "--embedded", "-o", "json"]));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let doc = out.json();
    // auth-401-403 needs --auth-required; the reference server advertises its stream in the
    // `endpoint` form, so streams-url has no `url` to check (the url form is tested below).
    for result in doc["results"].as_array().unwrap() {
        let status = result["status"].as_str().unwrap();
        let may_skip = result["id"] == "auth-401-403" || result["id"] == "streams-url";
        assert!(
            status == "pass" || (may_skip && status == "skip"),
            "no false failure: {result:#}"
        );
    }
    assert_eq!(doc["summary"]["failed"], 0);
    assert!(
        doc["summary"]["passed"].as_u64().unwrap() >= 45,
        "{}",
        doc["summary"]
    );
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn human_output_groups_by_feature_and_ends_with_the_counts() {
    let out = run(ofrep().args(["conform", "--embedded"]));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("ETag and 304"), "{}", out.stdout);
    assert!(out.stdout.contains("bulk-304-on-match"), "{}", out.stdout);
    let last = out
        .stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    assert!(out.stdout.contains(" passed, 0 failed, "), "{last}");
}

/// Each fault breaks its own check and nothing else (`--strict` so SHOULD-level ones fail too).
#[test]
fn each_fault_mode_fails_exactly_the_scenario_for_the_check_it_breaks() {
    let cases: &[(&str, &str, &[&str])] = &[
        ("no-etag", "bulk-etag-present", &[]),
        ("unquoted-etag", "bulk-etag-syntax", &[]),
        ("ignore-if-none-match", "bulk-304-on-match", &[]),
        ("stale-304", "bulk-200-on-stale", &[]),
        ("304-with-body", "bulk-304-no-body", &[]),
        ("sse-down", "sse-content-type", &[]),
        ("sse-wrong-content-type", "sse-content-type", &[]),
        ("sse-named-events", "sse-event-message", &[]),
        ("sse-not-json", "sse-data-json", &[]),
        ("sse-silent", "sse-notify", &[]),
        (
            "drop-streams-every=300ms",
            "sse-keepalive",
            &["--tags", "@id:sse-keepalive"],
        ),
    ];
    let failures: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = cases
            .iter()
            .map(|(fault, id, extra)| {
                scope.spawn(move || {
                    let server = ReferenceServer::start(&["--control", "--fault", fault, "--keepalive", "1s"]);
                    let trigger = format!("{}/control/change", server.url);
                    let out = run(ofrep()
                        .args(["conform", &server.url, "--trigger-url", &trigger, "--strict", "-o", "json"])
                        .args(*extra));
                    let failed: BTreeSet<String> = out.ids_with("fail").union(&out.ids_with("error")).cloned().collect();
                    let expected: BTreeSet<String> = [id.to_string()].into();
                    if out.code == 1 && failed == expected {
                        None
                    } else {
                        Some(format!("--fault {fault}: expected only {id} to fail (exit 1), got exit {} and {failed:?}", out.code))
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .filter_map(|h| h.join().unwrap())
            .collect()
    });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn without_a_trigger_change_scenarios_are_skipped_with_a_reason_that_says_how_to_enable_them() {
    let server = ReferenceServer::start(&[]);
    let out = run(ofrep().args(["conform", &server.url, "-o", "json"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let doc = out.json();
    let polling = doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "polling-works")
        .unwrap();
    assert_eq!(polling["status"], "skip");
    assert!(
        polling["message"]
            .as_str()
            .unwrap()
            .contains("--trigger-url"),
        "{polling}"
    );
}

#[test]
fn a_server_without_event_streams_skips_the_sse_scenarios_and_still_runs_polling() {
    let server = Scripted::start(Streams::None);
    let trigger = format!("{}/bump", server.url());
    let out = run(ofrep().args([
        "conform",
        &server.url(),
        "-o",
        "json",
        "--tags",
        "@sse or @polling",
        "--trigger-url",
        &trigger,
    ]));
    let doc = out.json();
    let results = doc["results"].as_array().unwrap();
    let sse: Vec<&Value> = results
        .iter()
        .filter(|r| r["id"].as_str().unwrap().starts_with("sse-"))
        .collect();
    assert!(!sse.is_empty());
    for result in sse {
        assert_eq!(result["status"], "skip", "{result}");
        assert!(
            result["message"]
                .as_str()
                .unwrap()
                .contains("no eventStreams"),
            "{result}"
        );
    }
    let polling: Vec<&Value> = results
        .iter()
        .filter(|r| r["id"].as_str().unwrap().starts_with("polling-"))
        .collect();
    assert_eq!(polling.len(), 2);
    assert!(polling.iter().all(|r| r["status"] == "pass"), "{polling:?}");
}

#[test]
fn an_unreachable_server_exits_2() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = run(ofrep().args(["conform", &format!("http://127.0.0.1:{port}")]));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("could not connect"), "{}", out.stderr);
    // Results print as they finish, but a run that reached nothing prints only its error.
    assert_eq!(out.stdout, "", "{}", out.stdout);
}

/// `conform URL --no-builtin --scenarios FILE`, with `text` as FILE (`mine.feature`).
fn run_user_scenarios(url: &str, text: &str) -> Run {
    let (_dir, path) = user_file(text);
    run(ofrep()
        .args(["conform", url, "--no-builtin", "--scenarios"])
        .arg(&path))
}

fn user_file(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mine.feature");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

#[test]
fn user_scenarios_pass_fail_and_report_unknown_steps_and_syntax_errors_by_file_and_line() {
    let server = ReferenceServer::start(&[]);
    let passing = "Feature: Mine\n  @must @id:bulk-shape\n  Scenario: ours\n    When I request a bulk evaluation\n    Then the status is 200\n";
    let out = run_user_scenarios(&server.url, passing);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("1 passed, 0 failed, 0 skipped"),
        "{}",
        out.stdout
    );

    let failing = "Feature: Mine\n  @must @id:bulk-shape\n  Scenario: ours\n    When I request a bulk evaluation\n    Then the status is 418\n";
    let out = run_user_scenarios(&server.url, failing);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stdout.contains("418"),
        "expected against actual: {}",
        out.stdout
    );
    assert!(
        out.stdout.contains("< 200 OK"),
        "the exchange that proved it: {}",
        out.stdout
    );

    let unknown = "Feature: Mine\n  @must @id:bulk-shape\n  Scenario: ours\n    When I request a bulk evaluation\n    Then the statuss is 200\n";
    let (_d3, path) = user_file(unknown);
    let out = run(ofrep()
        .args(["conform", &server.url, "--scenarios"])
        .arg(&path));
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("mine.feature:5: unknown step"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("did you mean `the status is {int}`"),
        "{}",
        out.stderr
    );

    let broken = "Feature: Mine\n  @must @id:bulk-shape\n  Scenario: ours\n    When I request a bulk evaluation\n  this is not gherkin\n";
    let (_d4, path) = user_file(broken);
    let out = run(ofrep()
        .args(["conform", &server.url, "--scenarios"])
        .arg(&path));
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("mine.feature:") && out.stderr.contains("not valid Gherkin"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_scenario_that_uses_an_unremembered_value_is_a_scenario_error_not_a_network_error() {
    let server = ReferenceServer::start(&[]);
    let mistake = "Feature: Mine\n  @must @id:bulk-304-on-match\n  Scenario: ours\n    When I request a bulk evaluation with If-None-Match \"{never-remembered}\"\n    Then the status is 304\n";
    let out = run_user_scenarios(&server.url, mistake);
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .contains("nothing is remembered as `never-remembered`"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("hint: the scenario at") && !out.stderr.contains("network error"),
        "a scenario mistake must not read as a network error: {}",
        out.stderr
    );
}

#[test]
fn json_output_matches_the_documented_schema() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/schemas/conform.schema.json"
    ))
    .unwrap();
    let validator = jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).unwrap();
    let server = ReferenceServer::start(&["--fault", "no-etag"]);
    let doc = run(ofrep().args(["conform", &server.url, "-o", "json"])).json();
    let errors: Vec<String> = validator
        .iter_errors(&doc)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    let statuses: BTreeSet<&str> = doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert!(
        statuses.contains("warn") && statuses.contains("skip") && statuses.contains("pass"),
        "{statuses:?}"
    );
}

#[test]
fn the_junit_report_loads_in_a_junit_consumer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("conform.xml");
    let server = ReferenceServer::start(&["--fault", "stale-304"]);
    let out = run(ofrep().args(["conform", &server.url, "--junit"]).arg(&path));
    assert_eq!(out.code, 1);
    let script = "import sys, xml.etree.ElementTree as ET\nroot = ET.parse(sys.argv[1]).getroot()\ncases = root.findall('.//testcase')\nfailed = [c.get('name') for c in cases if c.find('failure') is not None]\nskipped = [c for c in cases if c.find('skipped') is not None]\nkeys = [(c.get('classname'), c.get('name')) for c in cases]\nshared = len(keys) - len(set(keys))\nqualified = sum(1 for _, n in keys if n.startswith('core-endpoints ('))\nprint(len(root.findall('testsuite')), len(cases), ','.join(failed), len(skipped), shared, qualified)\n";
    let output = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&path)
        .output()
        .expect("python3 is on this machine");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed = String::from_utf8_lossy(&output.stdout);
    let fields: Vec<&str> = printed.split_whitespace().collect();
    assert!(
        fields[0].parse::<u32>().unwrap() >= 5,
        "a suite per feature: {printed}"
    );
    assert!(
        fields[1].parse::<u32>().unwrap() >= 45,
        "a case per scenario: {printed}"
    );
    assert_eq!(fields[2], "bulk-200-on-stale", "{printed}");
    // No two test cases share (classname, name): a dashboard would merge their histories.
    assert_eq!(
        fields[4], "0",
        "test cases sharing (classname, name): {printed}"
    );
    // core-endpoints is proved by two scenarios of one feature: both carry their scenario name.
    assert_eq!(fields[5], "2", "{printed}");
}

/// A planted token must not appear in any report format.
#[test]
fn secrets_are_redacted_in_all_three_report_formats() {
    const TOKEN: &str = "conform-s3cret-55";
    let server = Scripted::start(Streams::UrlWithToken(TOKEN.into()));
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("r.xml");
    let auth = format!("Authorization: Bearer {TOKEN}");
    for format in ["human", "json"] {
        let out = run(ofrep()
            .args([
                "conform",
                &server.url(),
                "-H",
                &auth,
                "-o",
                format,
                "--junit",
            ])
            .arg(&junit));
        assert!(out.code == 0 || out.code == 1, "{}", out.stderr);
        assert!(
            out.stdout.contains("redacted"),
            "evidence is shown, redacted: {}",
            out.stdout
        );
        assert!(
            !out.stdout.contains(TOKEN),
            "{format} report leaks the token"
        );
        assert!(!out.stderr.contains(TOKEN));
        let xml = std::fs::read_to_string(&junit).unwrap();
        assert!(
            xml.contains("redacted") && !xml.contains(TOKEN),
            "the JUnit report leaks the token"
        );
    }
}

#[test]
fn list_and_list_steps_need_no_server() {
    let out = run(ofrep().args(["conform", "--list"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("bulk-304-on-match") && out.stdout.contains("checklist coverage"),
        "{}",
        out.stdout
    );
    let out = run(ofrep().args(["conform", "--list-steps"]));
    assert_eq!(out.code, 0);
    assert!(
        out.stdout
            .contains("I request a bulk evaluation with If-None-Match {string}"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("e.g. "), "an example each");
}

#[test]
fn the_readme_documents_every_step() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    for def in ofrep::conform::steps::VOCABULARY {
        assert!(
            readme.contains(def.pattern),
            "README.md lacks the step `{}`; paste `ofrep conform --list-steps`",
            def.pattern
        );
    }
    for def in ofrep::conform::provider::steps::PROVIDER_VOCABULARY {
        assert!(
            readme.contains(def.pattern),
            "README.md lacks the provider step `{}`; paste `ofrep conform --provider x --list-steps`",
            def.pattern
        );
    }
}

#[test]
fn auth_required_checks_that_requests_without_credentials_are_refused() {
    let protected = ReferenceServer::start(&["--require-auth", "conform-token"]);
    let out = run(ofrep().args([
        "conform",
        &protected.url,
        "-H",
        "Authorization: Bearer conform-token",
        "--auth-required",
        "-o",
        "json",
    ]));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.ids_with("pass").contains("auth-401-403"),
        "{}",
        out.stdout
    );
    assert!(
        !out.stdout.contains("conform-token"),
        "the credential is redacted"
    );

    let open = ReferenceServer::start(&[]);
    let out = run(ofrep().args([
        "conform",
        &open.url,
        "--auth-required",
        "--tags",
        "@auth",
        "-o",
        "json",
    ]));
    assert_eq!(out.code, 0, "a SHOULD-level miss warns: {}", out.stdout);
    assert!(
        out.ids_with("warn").contains("auth-401-403"),
        "{}",
        out.stdout
    );
}

/// The results of one `conform -o json` run, by scenario name.
fn by_scenario(out: &Run) -> std::collections::BTreeMap<String, Value> {
    out.json()["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["scenario"].as_str().unwrap().to_owned(), r.clone()))
        .collect()
}

/// INFO is not PASS: a server that answers 200 to every form of If-None-Match but the exact
/// ETag (the scripted server) gets `info` with what it answered, in every format.
#[test]
fn if_none_match_forms_answered_200_are_info_with_the_observation_not_pass() {
    let server = Scripted::start(Streams::None);
    let args = ["conform", &server.url(), "--tags", "@id:bulk-inm-forms"];
    let out = run(ofrep().args(args).args(["-o", "json"]));
    assert_eq!(out.code, 0, "INFO never fails a run: {}", out.stderr);
    let results = by_scenario(&out);
    let table = [
        ("a weak form of the ETag gets a 304", "W/\"v1\""),
        (
            "a list holding the ETag gets a 304",
            "\"ofrep-conform-other\", \"v1\"",
        ),
        ("If-None-Match * gets a 304", "*"),
    ];
    for (scenario, form) in table {
        let result = &results[scenario];
        assert_eq!(result["status"], "info", "{result:#}");
        assert_eq!(
            result["message"], "observed: 200 (the ideal: status 304)",
            "{result:#}"
        );
        let sent = format!("> if-none-match: {form}");
        assert!(
            result["evidence"]
                .as_array()
                .unwrap()
                .iter()
                .any(|line| line == sent.as_str()),
            "the exchange with {form} is shown: {result:#}"
        );
    }
    let summary = &out.json()["summary"];
    assert_eq!(
        (summary["info"].as_u64(), summary["passed"].as_u64()),
        (Some(3), Some(0)),
        "{summary}"
    );

    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("r.xml");
    let out = run(ofrep().args(args).arg("--junit").arg(&junit));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let rows = out
        .stdout
        .lines()
        .filter(|l| l.trim_start().starts_with("INFO "))
        .count();
    assert_eq!(rows, 3, "{}", out.stdout);
    assert!(
        out.stdout.contains("0 passed, 0 failed, 0 skipped, 3 info"),
        "{}",
        out.stdout
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(
        xml.matches("<system-out>info: observed: 200").count(),
        3,
        "{xml}"
    );
    assert!(
        !xml.contains("<failure") && !xml.contains("<skipped"),
        "{xml}"
    );
}

/// Nothing to check is not a pass: a check whose subject is absent is a skip that says what
/// is absent, and the same check with its subject present passes.
#[test]
fn a_check_with_nothing_to_look_at_is_skipped_with_what_is_absent() {
    const TAGS: &str = "@id:streams-shape or @id:streams-one-of or @id:streams-url or \
        @id:streams-request-uri or @id:streams-inactivity or @id:streams-unknown-type or \
        @id:metadata-values or @id:streams-optional";
    let no_streams = Scripted::start(Streams::None);
    let endpoint = Scripted::start(Streams::Endpoint);
    let reference = ReferenceServer::start(&[]);
    let url_form = ReferenceServer::start(&["--public-url", "http://127.0.0.1:9/"]);
    let none = "the answer has no `eventStreams`";
    let table: &[(&str, &str, &str, &str)] = &[
        (&no_streams.url(), "streams-shape", "skip", none),
        (&no_streams.url(), "streams-one-of", "skip", none),
        (&no_streams.url(), "streams-url", "skip", none),
        (&no_streams.url(), "streams-request-uri", "skip", none),
        (&no_streams.url(), "streams-inactivity", "skip", none),
        (&no_streams.url(), "streams-unknown-type", "skip", none),
        (
            &no_streams.url(),
            "metadata-values",
            "skip",
            "the answer has no `metadata`",
        ),
        (
            &no_streams.url(),
            "streams-optional",
            "info",
            "no `eventStreams`",
        ),
        (
            &endpoint.url(),
            "streams-url",
            "skip",
            "no `eventStreams` entry has a `url`",
        ),
        (&endpoint.url(), "streams-request-uri", "pass", ""),
        (
            &endpoint.url(),
            "streams-inactivity",
            "skip",
            "`inactivityDelaySec`",
        ),
        (
            &reference.url,
            "streams-url",
            "skip",
            "no `eventStreams` entry has a `url`",
        ),
        (&reference.url, "streams-request-uri", "pass", ""),
        (&reference.url, "streams-inactivity", "pass", ""),
        (&reference.url, "metadata-values", "pass", ""),
        (&url_form.url, "streams-url", "pass", ""),
        (
            &url_form.url,
            "streams-request-uri",
            "skip",
            "no `eventStreams` entry has an `endpoint`",
        ),
    ];
    let mut runs = std::collections::BTreeMap::new();
    let mut wrong = Vec::new();
    for (server, id, status, message) in table {
        let results = runs.entry(*server).or_insert_with(|| {
            let out = run(ofrep().args(["conform", server, "--tags", TAGS, "-o", "json"]));
            assert_eq!(out.code, 0, "{server}: {}\n{}", out.stdout, out.stderr);
            out.json()["results"].as_array().unwrap().clone()
        });
        let got: Vec<&Value> = results.iter().filter(|r| r["id"] == *id).collect();
        let ok = !got.is_empty()
            && got.iter().all(|r| {
                r["status"] == *status && r["message"].as_str().unwrap().contains(message)
            });
        if !ok {
            wrong.push(format!(
                "{server} {id}: expected {status} ({message}), got {got:?}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// An empty selection fails (exit 2) before any request, naming the expression and the tags
/// it probably meant; the server is never asked.
#[test]
fn a_selection_of_no_scenario_exits_2_naming_the_expression_and_close_tags() {
    let server = Scripted::start(Streams::None);
    let slow_only = "Feature: Mine\n  @slow @must @id:bulk-shape\n  Scenario: ours\n    When I request a bulk evaluation\n    Then the status is 200\n";
    let (_dir, path) = user_file(slow_only);
    let path = path.to_str().unwrap().to_owned();
    let table: &[(&[&str], &[&str])] = &[
        (
            &["--tags", "@shuold"],
            &[
                "--tags `@shuold` selects none",
                "did you mean `@shuold` → `@should`",
            ],
        ),
        (
            &["--tags", "@sse and @polign"],
            &["--tags `@sse and @polign`", "`@polign` → `@polling`"],
        ),
        (
            &["--no-builtin", "--scenarios", &path],
            &["no scenario selected", "all tagged @slow"],
        ),
        (
            &["--no-builtin", "--scenarios", &path, "--tags", "@fast"],
            &["--tags `@fast` selects none of the 1 scenario(s)"],
        ),
    ];
    for (args, said) in table {
        let out = run(ofrep().args(["conform", &server.url()]).args(*args));
        assert_eq!(out.code, 2, "{args:?}: {}\n{}", out.stdout, out.stderr);
        for part in *said {
            assert!(
                out.stderr.contains(part),
                "{args:?}: {part:?} not in {}",
                out.stderr
            );
        }
    }
    assert!(
        server.bulk_requests().is_empty(),
        "no request before the selection is known"
    );
}

/// Missing credentials are not a broken server: a first answer of 401 stops the run (exit 2)
/// with how to pass them, unless --auth-required says that 401 is what is being checked.
#[test]
fn a_server_that_wants_credentials_stops_the_run_with_a_hint_unless_auth_is_being_checked() {
    let protected = ReferenceServer::start(&["--require-auth", "conform-token"]);
    let table: &[(&[&str], i32, &[&str])] = &[
        (
            &[],
            2,
            &[
                "answered 401 to the first request: it wants credentials",
                "-H 'Authorization: Bearer …'",
                "OFREP_HEADERS",
            ],
        ),
        (
            &["-H", "Authorization: Bearer wrong"],
            2,
            &["does not accept the credentials given", "OFREP_HEADERS"],
        ),
        (&["--auth-required", "--tags", "@auth"], 0, &[]),
        (
            &[
                "-H",
                "Authorization: Bearer conform-token",
                "--tags",
                "@id:bulk-shape",
            ],
            0,
            &[],
        ),
    ];
    for (args, code, said) in table {
        let out = run(ofrep()
            .args(["conform", &protected.url, "-o", "json"])
            .args(*args));
        assert_eq!(out.code, *code, "{args:?}: {}\n{}", out.stdout, out.stderr);
        for part in *said {
            assert!(
                out.stderr.contains(part),
                "{args:?}: {part:?} not in {}",
                out.stderr
            );
        }
        if *code == 0 {
            assert_eq!(
                out.json()["summary"]["passed"],
                1,
                "{args:?}: {}",
                out.stdout
            );
        } else {
            assert!(
                out.stdout.is_empty(),
                "no report of a run that did not happen: {}",
                out.stdout
            );
        }
    }
}

/// Independent scenarios are independent: broken ETags skip what needs an ETag (naming the
/// precondition's file:line) and nothing else; the event scenarios still run and pass.
#[test]
fn broken_etags_do_not_hide_the_event_stream_scenarios() {
    const EVENTS: &[&str] = &[
        "sse-notify",
        "sse-event-message",
        "sse-data-json",
        "sse-type",
        "sse-etag-type",
        "sse-last-modified",
        "sse-id",
    ];
    let table: &[(&str, &str)] = &[
        // (fault, the precondition that no longer holds)
        (
            "no-etag",
            "And the response has an ETag (builtin/changes.feature:",
        ),
        (
            "stale-304",
            "And the status is 200 (builtin/changes.feature:",
        ),
    ];
    for (fault, precondition) in table {
        let server = ReferenceServer::start(&["--control", "--fault", fault]);
        let trigger = format!("{}/control/change", server.url);
        let out = run(ofrep().args([
            "conform",
            &server.url,
            "--trigger-url",
            &trigger,
            "--tags",
            "@change",
            "-o",
            "json",
        ]));
        let doc = out.json();
        let results = doc["results"].as_array().unwrap();
        for id in EVENTS {
            let result = results.iter().find(|r| r["id"] == *id).unwrap();
            assert_eq!(result["status"], "pass", "--fault {fault}: {result:#}");
        }
        for id in [
            "bulk-etag-changes",
            "polling-works",
            "polling-without-streams",
            "sse-fresh-after-event",
        ] {
            let result = results.iter().find(|r| r["id"] == id).unwrap();
            assert_eq!(result["status"], "skip", "--fault {fault}: {result:#}");
            let message = result["message"].as_str().unwrap();
            assert!(
                message.starts_with("precondition not met: ") && message.contains(precondition),
                "--fault {fault}: {message}"
            );
        }
    }
}

/// The reference server proves every MUST check that applies to it: under --fail-on-skip it
/// still passes, its not-applicable skip (no entry in `url` form) marked as such.
#[test]
fn the_reference_server_passes_under_fail_on_skip() {
    let out = run(ofrep().args(["conform", "--embedded", "--fail-on-skip", "-o", "json"]));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let doc = out.json();
    assert_eq!(doc["summary"]["skippedMust"], 0, "{}", doc["summary"]);
    let url_check = doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "streams-url")
        .unwrap();
    assert_eq!(
        (&url_check["status"], &url_check["notApplicable"]),
        (&Value::from("skip"), &Value::from(true))
    );
}

/// Skips that hide a lot are visible: the closing line counts the skipped MUST checks the run
/// could have proven, and --fail-on-skip turns exactly those into failures. A skip whose
/// subject is optional and absent (no eventStreams here) is not applicable: it is marked so
/// and neither counted nor failed.
#[test]
fn skipped_must_checks_are_counted_and_fail_under_fail_on_skip() {
    // The scripted server has no single-flag endpoint: stay with what it serves.
    const TAGS: &str = "@sse or @change or @id:bulk-shape or @id:bulk-etag-present";
    let server = Scripted::start(Streams::None);
    let out = run(ofrep().args(["conform", &server.url(), "--tags", TAGS, "-o", "json"]));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let doc = out.json();
    let must_skips = |applicable: bool| -> BTreeSet<String> {
        doc["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["status"] == "skip" && r["level"] == "must")
            .filter(|r| r["notApplicable"].is_null() == applicable)
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let skipped_must = must_skips(true);
    assert!(skipped_must.contains("polling-works"), "{skipped_must:?}");
    assert!(
        must_skips(false).contains("sse-notify"),
        "without eventStreams sse-notify is not applicable: {}",
        out.stdout
    );
    assert!(out.ids_with("fail").is_empty(), "{}", out.stdout);
    let count = doc["summary"]["skippedMust"].as_u64().unwrap();
    assert_eq!(count as usize, skipped_must.len(), "{}", doc["summary"]);

    let human = run(ofrep().args(["conform", &server.url(), "--tags", TAGS]));
    let last = human
        .stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    assert!(
        last.contains(&format!("skipped ({count} at MUST level)")),
        "{last}"
    );

    let out = run(ofrep().args([
        "conform",
        &server.url(),
        "--tags",
        TAGS,
        "--fail-on-skip",
        "-o",
        "json",
    ]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(out.ids_with("fail"), skipped_must);
    let doc = out.json();
    assert_eq!(
        (
            doc["failOnSkip"].as_bool(),
            doc["summary"]["skippedMust"].as_u64()
        ),
        (Some(true), Some(0))
    );
    for result in doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "fail")
    {
        assert!(
            result["message"]
                .as_str()
                .unwrap()
                .starts_with("not checked, and --fail-on-skip"),
            "{result:#}"
        );
    }
}

/// User scenarios may have their own ids, or none, and no level tag (then they are MUST);
/// an unknown step is still an error naming file:line and the closest step.
#[test]
fn user_scenarios_run_with_their_own_ids_or_derived_ones_and_default_to_must() {
    let server = Scripted::start(Streams::None);
    let text = "Feature: Ours\n\n  @id:our.premium-etag\n  Scenario: with our own id\n    When I request a bulk evaluation\n    Then the status is 200\n\n  Scenario: With no id at all!\n    When I request a bulk evaluation\n    Then the status is 418\n";
    let (_dir, path) = user_file(text);
    let out = run(ofrep()
        .args([
            "conform",
            &server.url(),
            "--no-builtin",
            "-o",
            "json",
            "--scenarios",
        ])
        .arg(&path));
    assert_eq!(
        out.code, 1,
        "the level-less failing scenario is a MUST: {}\n{}",
        out.stdout, out.stderr
    );
    let results = by_scenario(&out);
    let table = [
        ("with our own id", "our.premium-etag", "pass"),
        ("With no id at all!", "mine.with-no-id-at-all", "fail"),
    ];
    for (scenario, id, status) in table {
        let result = &results[scenario];
        assert_eq!(
            (
                result["id"].as_str(),
                result["status"].as_str(),
                result["level"].as_str()
            ),
            (Some(id), Some(status), Some("must")),
            "{result:#}"
        );
    }

    let typo = "Feature: Ours\n  @id:our-id\n  Scenario: s\n    When I request a bulk evaluaton\n";
    let out = run_user_scenarios(&server.url(), typo);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("mine.feature:4: unknown step")
            && out
                .stderr
                .contains("did you mean `I request a bulk evaluation`"),
        "{}",
        out.stderr
    );
}

/// Payload diagnostics: a server that streams full flag diffs without `type` fails sse-type
/// with a message a vendor can act on.
#[test]
fn events_without_a_type_fail_sse_type_saying_providers_never_refetch() {
    let server = Scripted::start(Streams::Endpoint);
    server.set_on_bump("id: 7\ndata: {\"flags\":{\"counter\":{\"value\":2}}}\n\n");
    let trigger = format!("{}/bump", server.url());
    let out = run(ofrep().args([
        "conform",
        &server.url(),
        "--trigger-url",
        &trigger,
        "--tags",
        "@id:sse-type or @id:sse-data-json or @id:sse-notify",
        "-o",
        "json",
    ]));
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let table = [
        ("sse-notify", "pass"),
        ("sse-data-json", "pass"),
        ("sse-type", "fail"),
    ];
    let doc = out.json();
    for (id, status) in table {
        let result = doc["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .unwrap();
        assert_eq!(result["status"], status, "{result:#}");
    }
    let message = doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "sse-type")
        .unwrap()["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.contains("data has no `type`")
            && message.contains("providers using the default payload format")
            && message.contains("never refetch"),
        "{message}"
    );
}

/// The stream request always says `Accept: text/event-stream`: a server that refuses it
/// otherwise (406) is fine.
#[test]
fn a_stream_that_needs_accept_text_event_stream_gets_it() {
    use std::io::{Read, Write};
    let server = Scripted::start(Streams::Endpoint);
    server.set_require_accept(true);
    let mut raw = std::net::TcpStream::connect(server.addr).unwrap();
    raw.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        raw,
        "GET /events HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        server.addr
    )
    .unwrap();
    let mut head = [0u8; 12];
    raw.read_exact(&mut head).unwrap();
    assert_eq!(
        &head, b"HTTP/1.1 406",
        "the server refuses a stream request without Accept"
    );

    let out = run(ofrep().args([
        "conform",
        &server.url(),
        "--tags",
        "@id:sse-content-type",
        "-o",
        "json",
    ]));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(out.ids_with("pass"), ["sse-content-type".to_owned()].into());
    let sent = server.stream_requests();
    let asked = sent
        .iter()
        .rev()
        .find(|r| r.header("accept").is_some())
        .unwrap();
    assert_eq!(asked.header("accept"), Some("text/event-stream"));
}

/// An event proves a change only if it came after the change: an event a server sends on
/// every connect must not pass sse-notify (or the checks on "the" event) when the change
/// itself is never announced.
#[test]
fn an_event_sent_on_connect_does_not_prove_a_change() {
    const ON_CONNECT: &str =
        "retry: 100\n\nid: 1\ndata: {\"type\":\"refetchEvaluation\",\"etag\":\"on-connect\"}\n\n";
    const ON_CHANGE: &str =
        "id: 2\ndata: {\"type\":\"refetchEvaluation\",\"etag\":\"after-change\"}\n\n";
    let table = [(None, "fail"), (Some(ON_CHANGE), "pass")];
    for (on_bump, status) in table {
        let server = Scripted::start(Streams::Endpoint);
        server.set_greeting(ON_CONNECT);
        if let Some(raw) = on_bump {
            server.set_on_bump(raw);
        }
        let trigger = format!("{}/bump", server.url());
        let out = run(ofrep().args([
            "conform",
            &server.url(),
            "--trigger-url",
            &trigger,
            "--tags",
            "@id:sse-notify or @id:sse-etag-type",
            "-o",
            "json",
        ]));
        let doc = out.json();
        let notify = doc["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == "sse-notify")
            .unwrap();
        assert_eq!(
            notify["status"],
            status,
            "announced on change: {}; {notify:#}",
            on_bump.is_some()
        );
        if status == "fail" {
            let evidence = notify["evidence"].to_string();
            assert!(
                evidence.contains("event before the change, not counted")
                    && evidence.contains("on-connect"),
                "{evidence}"
            );
        } else {
            let etag = doc["results"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["id"] == "sse-etag-type")
                .unwrap();
            assert_eq!(etag["status"], "pass", "{etag:#}");
        }
    }
}

/// Plausibility, not just type: a 13-digit `lastModified` is an integer ≥ 0 (sse-last-modified
/// passes) but warns under sse-last-modified-seconds that it looks like milliseconds.
#[test]
fn a_millisecond_last_modified_warns_that_it_looks_like_milliseconds() {
    let table = [
        ("1771622898", "pass", "pass"),
        ("1771622898123", "pass", "warn"),
    ];
    for (value, must, should) in table {
        let server = Scripted::start(Streams::Endpoint);
        server.set_on_bump(&format!(
            "id: 3\ndata: {{\"type\":\"refetchEvaluation\",\"lastModified\":{value}}}\n\n"
        ));
        let trigger = format!("{}/bump", server.url());
        let out = run(ofrep().args([
            "conform",
            &server.url(),
            "--trigger-url",
            &trigger,
            "--tags",
            "@id:sse-last-modified or @id:sse-last-modified-seconds",
            "-o",
            "json",
        ]));
        assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
        assert!(
            out.ids_with(must).contains("sse-last-modified"),
            "{value}: {}",
            out.stdout
        );
        let seconds = out.json()["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == "sse-last-modified-seconds")
            .unwrap()
            .clone();
        assert_eq!(seconds["status"], should, "{value}: {seconds:#}");
        if should == "warn" {
            assert!(
                seconds["message"]
                    .as_str()
                    .unwrap()
                    .contains("it looks like milliseconds"),
                "{seconds:#}"
            );
        }
    }
}

/// Slow is a failure of its check, not an error of the run: a server slower than --timeout
/// fails the scenarios it was slow on, with the time seen (exit 1); only a server that cannot
/// be reached at all is exit 2.
#[test]
fn a_server_slower_than_the_timeout_fails_those_scenarios_and_the_run_is_not_an_error() {
    let partly_slow = Scripted::start(Streams::None);
    partly_slow.set_slow_when("flagConfigEtag", Duration::from_secs(3));
    let all_slow = ReferenceServer::start(&["--fault", "slow=2s"]);
    // (server, tags, the ids that must fail on the timeout, the ids that must pass)
    let table: &[(&str, &str, &[&str], &[&str])] = &[
        (
            &partly_slow.url(),
            "@id:bulk-shape or @id:bulk-query-accepted",
            &["bulk-query-accepted"],
            &["bulk-shape"],
        ),
        (
            &all_slow.url,
            "@id:core-endpoints or @id:bulk-shape",
            &["core-endpoints", "bulk-shape"],
            &[],
        ),
    ];
    for (server, tags, slow, fine) in table {
        let started = Instant::now();
        let out = run(ofrep().args([
            "conform",
            server,
            "--timeout",
            "500ms",
            "--tags",
            tags,
            "-o",
            "json",
        ]));
        assert_eq!(out.code, 1, "{server}: {}\n{}", out.stdout, out.stderr);
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{:?}",
            started.elapsed()
        );
        for result in out.json()["results"].as_array().unwrap() {
            let id = result["id"].as_str().unwrap();
            let message = result["message"].as_str().unwrap();
            if slow.contains(&id) {
                assert_eq!(result["status"], "fail", "{result:#}");
                assert!(
                    message.contains("no answer within the 500 ms timeout (waited "),
                    "{message}"
                );
            } else {
                assert!(fine.contains(&id), "{id}");
                assert_eq!(result["status"], "pass", "{result:#}");
            }
        }
    }
}

/// A failure shows the exchanges that prove it, bodies included (cut short, secrets masked);
/// a polling loop's alike exchanges are shown as the first, a count, and the last.
#[test]
fn a_failure_shows_its_exchanges_with_bodies_and_a_polling_loop_shows_first_and_last() {
    const TOKEN: &str = "evidence-s3cret-7";
    let server = ReferenceServer::start(&[]);
    let text = "Feature: Mine\n  @must @id:polls\n  Scenario: nothing changes\n    Given I request a bulk evaluation\n    And I remember the ETag as etag\n    Then within 1 seconds a bulk evaluation with If-None-Match \"{etag}\" returns a new ETag\n";
    let (_dir, path) = user_file(text);
    let auth = format!("Authorization: Bearer {TOKEN}");
    let out = run(ofrep()
        .args([
            "conform",
            &server.url,
            "-H",
            &auth,
            "--no-builtin",
            "-o",
            "json",
        ])
        .arg("--scenarios")
        .arg(&path));
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let doc = out.json();
    let evidence: Vec<&str> = doc["results"][0]["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    let all = evidence.join("\n");
    assert!(!all.contains(TOKEN), "{all}");
    assert!(all.contains("> authorization: Bearer <redacted>"), "{all}");
    // The request body and the first answer's body, cut to a few hundred bytes.
    assert!(
        all.contains("> {\"context\":{\"targetingKey\":\"ofrep-conform\"}}"),
        "{all}"
    );
    let body = evidence
        .iter()
        .find(|l| l.starts_with("< {\"flags\""))
        .unwrap_or_else(|| panic!("no response body in {all}"));
    assert!(body.len() < 400 && body.contains("bytes in all)"), "{body}");
    // About ten 304s in a second: the first, "N more like this", the last.
    let more = evidence
        .iter()
        .find(|l| l.ends_with("more like this"))
        .unwrap_or_else(|| panic!("no count of alike exchanges in {all}"));
    let count: usize = more
        .trim_start_matches("* ")
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!((2..=20).contains(&count), "{more}");
    let shown_304s = evidence
        .iter()
        .filter(|l| **l == "< 304 Not Modified")
        .count();
    assert_eq!(
        shown_304s, 2,
        "only the first and the last alike exchange: {all}"
    );
}

/// The hint after a refused connection names the command that was run; the hint after a
/// failed trigger is about the trigger that was configured.
#[test]
fn hints_name_the_command_that_was_run_and_the_trigger_that_failed() {
    let held = fixture::ClosedPort::hold();
    let closed = held.url();
    for command in ["fetch", "watch", "conform"] {
        let out = run(ofrep().args([command, &closed]));
        assert_eq!(out.code, 2, "{command}: {}", out.stderr);
        let hint = out
            .stderr
            .lines()
            .find(|l| l.starts_with("hint:"))
            .unwrap_or("");
        assert!(
            hint.contains(&format!("`ofrep {command} --embedded`")),
            "{command}: {}",
            out.stderr
        );
    }
    let out = run(ofrep().args(["conform"]));
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("`ofrep conform --embedded`"),
        "{}",
        out.stderr
    );

    let server = ReferenceServer::start(&[]);
    let refused = format!("{closed}/change?token=t0ken");
    let out = run(ofrep().args([
        "conform",
        &server.url,
        "--tags",
        "@change",
        "--trigger-url",
        &refused,
    ]));
    assert_eq!(out.code, 2, "{}", out.stderr);
    let hint = out
        .stderr
        .lines()
        .find(|l| l.starts_with("hint:"))
        .unwrap_or("");
    assert!(
        hint.contains(&format!("--trigger-url {closed}/change?<redacted>"))
            && !hint.contains("--trigger-cmd")
            && !hint.contains("t0ken"),
        "{}",
        out.stderr
    );
    let out = run(ofrep().args([
        "conform",
        &server.url,
        "--tags",
        "@change",
        "--trigger-cmd",
        "exit 3",
    ]));
    assert_eq!(out.code, 2, "{}", out.stderr);
    let hint = out
        .stderr
        .lines()
        .find(|l| l.starts_with("hint:"))
        .unwrap_or("");
    assert!(
        hint.contains("--trigger-cmd `exit 3`") && !hint.contains("--trigger-url"),
        "{}",
        out.stderr
    );
}

/// Each feature's results print while the run goes on; Ctrl-C then prints what finished,
/// writes a valid JUnit file and a JSON document for it, and exits 130.
#[test]
fn results_print_as_they_finish_and_ctrl_c_reports_what_finished_and_exits_130() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    // Every answer takes 400 ms: the whole suite takes many seconds.
    let server = ReferenceServer::start(&["--fault", "slow=400ms"]);
    let dir = tempfile::tempdir().unwrap();
    for format in ["human", "json"] {
        let junit = dir.path().join(format!("{format}.xml"));
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("ofrep"))
            .args([
                "--color",
                "never",
                "conform",
                &server.url,
                "-o",
                format,
                "--junit",
            ])
            .arg(&junit)
            .env_remove("CI")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut seen = Vec::new();
        if format == "human" {
            // A finished feature's rows arrive while the run is still going.
            let deadline = Instant::now() + Duration::from_secs(30);
            while !seen.iter().any(|l: &String| l.starts_with("  PASS ")) {
                let left = deadline.saturating_duration_since(Instant::now());
                match rx.recv_timeout(left) {
                    Ok(line) => seen.push(line),
                    Err(e) => panic!("no result row within 30 s ({e}): {seen:#?}"),
                }
            }
            assert!(
                child.try_wait().unwrap().is_none(),
                "the rows should come before the run ends: {seen:#?}"
            );
        } else {
            std::thread::sleep(Duration::from_secs(3));
            assert!(
                child.try_wait().unwrap().is_none(),
                "the run ended too soon to interrupt"
            );
        }
        let status = fixture::cli::interrupt(&mut child, Duration::from_secs(20));
        reader.join().unwrap();
        seen.extend(rx.try_iter());
        let stdout = seen.join("\n");
        assert_eq!(status.code(), Some(130), "{format}: {stdout}");

        let xml = std::fs::read_to_string(&junit).expect("a JUnit file after Ctrl-C");
        let script = "import sys, xml.etree.ElementTree as ET\nroot = ET.parse(sys.argv[1]).getroot()\nprint(len(root.findall('.//testcase')))\n";
        let output = Command::new("python3")
            .arg("-c")
            .arg(script)
            .arg(&junit)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}\n{xml}",
            String::from_utf8_lossy(&output.stderr)
        );
        let cases: usize = String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .unwrap();
        assert!(
            (1..45).contains(&cases),
            "only what finished: {cases} cases"
        );
        if format == "human" {
            assert!(
                stdout.contains(&format!("stopped after {cases} of ")),
                "{stdout}"
            );
            assert!(
                stdout.lines().last().unwrap().starts_with("interrupted: "),
                "{stdout}"
            );
        } else {
            let doc: Value = serde_json::from_str(&stdout).expect("one JSON document");
            assert_eq!(doc["interrupted"], true);
            assert_eq!(doc["results"].as_array().unwrap().len(), cases);
        }
    }
}

/// `-v` prints every scenario's requests and responses on stderr, passes included; stdout
/// keeps the report alone.
#[test]
fn verbose_conform_prints_each_scenarios_exchanges_on_stderr() {
    let server = ReferenceServer::start(&[]);
    let quiet = run(ofrep().args(["conform", &server.url, "--tags", "@id:bulk-shape"]));
    assert_eq!(quiet.code, 0, "{}", quiet.stderr);
    assert!(!quiet.stderr.contains("> POST"), "{}", quiet.stderr);
    let out = run(ofrep().args([
        "conform",
        &server.url,
        "--tags",
        "@id:bulk-shape",
        "-v",
        "-H",
        "Authorization: Bearer v-s3cret",
    ]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("* pass bulk-shape (")
            && out.stderr.contains("> POST ")
            && out.stderr.contains("< 200 OK")
            && out.stderr.contains("> authorization: Bearer <redacted>"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("v-s3cret") && !out.stdout.contains("v-s3cret"));
    assert!(
        !out.stdout.contains("> POST"),
        "the report on stdout is unchanged: {}",
        out.stdout
    );
}

/// `--list` shows where each scenario is written and honours --tags and -o json;
/// `--list-steps` honours -o json.
#[test]
fn list_shows_locations_and_honours_tags_and_json() {
    let out = run(ofrep().args(["conform", "--list", "--tags", "@cors"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let rows: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("  ") && !l.contains("not covered"))
        .collect();
    assert!(
        !rows.is_empty()
            && rows
                .iter()
                .all(|l| l.contains("@cors") && l.contains("builtin/cors.feature:")),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("bulk-304-on-match"), "{}", out.stdout);

    let all = run(ofrep().args(["conform", "--list"]));
    assert!(
        all.stdout.contains("builtin/etag.feature:"),
        "{}",
        all.stdout
    );

    let doc = run(ofrep().args([
        "conform",
        "--list",
        "--tags",
        "@sse and @should",
        "-o",
        "json",
    ]))
    .json();
    let scenarios = doc["scenarios"].as_array().unwrap();
    assert!(!scenarios.is_empty());
    for s in scenarios {
        let tags: Vec<&str> = s["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        assert!(tags.contains(&"sse") && tags.contains(&"should"), "{s}");
        assert_eq!(s["level"], "should");
        assert!(
            s["location"].as_str().unwrap().starts_with("builtin/"),
            "{s}"
        );
        for key in ["id", "feature", "scenario"] {
            assert!(s[key].is_string(), "{key} in {s}");
        }
    }
    assert_eq!(
        doc["coverage"]["total"],
        ofrep::protocol::checklist::CHECKLIST.len()
    );

    let steps = run(ofrep().args(["conform", "--list-steps", "-o", "json"])).json();
    let steps = steps["steps"].as_array().unwrap();
    assert_eq!(steps.len(), ofrep::conform::steps::VOCABULARY.len());
    assert!(
        steps
            .iter()
            .any(|s| s["pattern"] == "I request a bulk evaluation with If-None-Match {string}")
    );
}

/// The built-in files can be printed or written out, to copy one and adapt it; a file written
/// out runs as a user's scenario.
#[test]
fn built_in_scenarios_can_be_printed_or_written_out_to_copy() {
    let out = run(ofrep().args(["conform", "--show-scenario", "bulk-304-on-match"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.starts_with("# builtin/etag.feature\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("@id:bulk-304-on-match") && out.stdout.contains("Feature:"),
        "{}",
        out.stdout
    );
    let out = run(ofrep().args(["conform", "--show-scenario", "bulk-304-on-mtach"]));
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("`bulk-304-on-mtach`") && out.stderr.contains("--list"),
        "{}",
        out.stderr
    );

    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("copied");
    let out = run(ofrep().args(["conform", "--print-builtin"]).arg(&target));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let written: Vec<_> = std::fs::read_dir(&target).unwrap().collect();
    assert_eq!(written.len(), out.stdout.lines().count(), "{}", out.stdout);
    assert!(target.join("etag.feature").is_file());
    // Never over a file that is there.
    let again = run(ofrep().args(["conform", "--print-builtin"]).arg(&target));
    assert_eq!(again.code, 2, "{}", again.stderr);
    // A copy runs as the user's own.
    let server = ReferenceServer::start(&[]);
    let out = run(ofrep()
        .args([
            "conform",
            &server.url,
            "--no-builtin",
            "--tags",
            "@id:bulk-304-on-match",
            "--scenarios",
        ])
        .arg(target.join("etag.feature")));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("1 passed"), "{}", out.stdout);
}

/// A server that guards its control endpoint with the same token as its OFREP endpoints: the
/// trigger POST to the base URL's origin carries the `-H` credentials, so change scenarios run.
#[test]
fn the_trigger_carries_the_credentials_to_the_servers_own_origin() {
    let server = ReferenceServer::start(&["--require-auth", "trigger-token", "--control"]);
    let trigger = format!("{}/control/change", server.url.trim_end_matches('/'));
    let out = run(ofrep().args([
        "conform",
        &server.url,
        "-H",
        "Authorization: Bearer trigger-token",
        "--trigger-url",
        &trigger,
        "--tags",
        "@id:sse-notify",
        "-o",
        "json",
    ]));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        out.ids_with("pass"),
        BTreeSet::from(["sse-notify".to_owned()])
    );
}
