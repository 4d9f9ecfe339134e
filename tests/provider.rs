//! `conform --provider CMD` graded against providers whose behaviour is known: `ofrep watch`
//! and the honest provider in `mutant/` pass every built-in provider scenario; each mutant of
//! that provider breaks one rule and is caught by that rule's scenario alone; providers that
//! cannot be run end in exit 2 with their last words and a hint; and no process a provider
//! started outlives the run, Ctrl-C included.
//!
//! The mutants are this test binary run again as CMD (`--exact mutant_provider_entry`), with
//! `OFREP_TEST_MUTANT` naming the mutation.

mod fixture;
mod mutant;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fixture::cli::{Run, interrupt, ofrep, run};
use mutant::Mutation;
use ofrep::protocol::checklist::{CLIENT_CHECKLIST, CLIENT_NOT_OBSERVABLE};
use serde_json::Value;

/// The variable that makes [`mutant_provider_entry`] a provider.
const MUTANT_VAR: &str = "OFREP_TEST_MUTANT";

/// Not a test: the provider under test when this binary is run as CMD with `OFREP_TEST_MUTANT`
/// set, and nothing otherwise.
#[test]
fn mutant_provider_entry() {
    let Ok(name) = std::env::var(MUTANT_VAR) else {
        return;
    };
    let mutation = Mutation::from_name(&name).unwrap_or_else(|| panic!("no mutation {name}"));
    let endpoint = std::env::var("OFREP_ENDPOINT").expect("OFREP_ENDPOINT is set by conform");
    mutant::run(mutation, &endpoint);
}

fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// CMD for `ofrep watch`, the provider `ofrep` itself is.
fn watch_cmd() -> String {
    format!("{} watch {{url}}", quoted(env!("CARGO_BIN_EXE_ofrep")))
}

/// CMD for this binary as the provider in `mutant/`.
fn mutant_cmd() -> String {
    let exe = std::env::current_exe().expect("the test binary's path");
    format!(
        "{} --exact mutant_provider_entry --nocapture --test-threads 1",
        quoted(&exe.to_string_lossy())
    )
}

/// `ofrep conform --provider CMD -o json ARGS`, the mutant chosen by `mutation`.
fn grade(provider: &str, mutation: Option<Mutation>, args: &[&str]) -> Run {
    let mut cmd = ofrep();
    cmd.args(["conform", "--provider", provider, "-o", "json"])
        .args(args);
    if let Some(mutation) = mutation {
        cmd.env(MUTANT_VAR, mutation.name());
    }
    run(&mut cmd)
}

/// A tag expression selecting these ids.
fn ids(ids: &[&str]) -> String {
    ids.iter()
        .map(|id| format!("@id:{id}"))
        .collect::<Vec<_>>()
        .join(" or ")
}

/// Every id the built-in provider suite checks: the client checklist but its unobservable ids.
fn suite_ids() -> BTreeSet<&'static str> {
    CLIENT_CHECKLIST
        .iter()
        .map(|(id, _)| *id)
        .filter(|id| !CLIENT_NOT_OBSERVABLE.iter().any(|(n, _)| n == id))
        .collect()
}

/// Each result's id and status.
fn statuses(doc: &Value) -> BTreeMap<String, String> {
    doc["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap_or_default().to_owned(),
                r["status"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// What did not pass, with its message and evidence, for an assertion's message.
fn explained(doc: &Value) -> String {
    let mut out = String::new();
    for r in doc["results"].as_array().into_iter().flatten() {
        if r["status"] == "pass" {
            continue;
        }
        out.push_str(&format!(
            "\n{} {}: {}\n",
            r["status"], r["id"], r["message"]
        ));
        for line in r["evidence"].as_array().into_iter().flatten() {
            out.push_str(&format!("    {}\n", line.as_str().unwrap_or_default()));
        }
    }
    out
}

fn schema_errors(doc: &Value) -> Vec<String> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/schemas/conform.schema.json"
    ))
    .unwrap();
    let validator = jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).unwrap();
    validator
        .iter_errors(doc)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect()
}

/// The names of the test cases of a JUnit file, as Python's ElementTree reads them.
fn junit_cases(path: &Path) -> Vec<String> {
    let script = "import sys, json, xml.etree.ElementTree as ET\nroot = ET.parse(sys.argv[1]).getroot()\nprint(json.dumps([c.get('name') for c in root.iter('testcase')]))\n";
    let output = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(path)
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Runs the full suite against an honest provider: every scenario passes, and the document
/// validates against the schema.
fn assert_passes_everything(provider: &str, mutation: Option<Mutation>, args: &[&str]) -> Value {
    let out = grade(provider, mutation, args);
    let doc = out.json();
    assert_eq!(out.code, 0, "{}{}", out.stderr, explained(&doc));
    let expected: BTreeSet<String> = suite_ids().iter().map(|s| s.to_string()).collect();
    let got = statuses(&doc);
    assert_eq!(
        got.keys().cloned().collect::<BTreeSet<_>>(),
        expected,
        "every built-in provider scenario runs"
    );
    assert!(
        got.values().all(|s| s == "pass"),
        "{got:?}{}",
        explained(&doc)
    );
    assert_eq!(doc["summary"]["passed"], 18, "{}", doc["summary"]);
    let errors = schema_errors(&doc);
    assert!(errors.is_empty(), "{errors:?}");
    doc
}

#[test]
fn ofrep_watch_passes_every_provider_scenario_and_reports_them_in_json_and_junit() {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("provider.xml");
    let started = Instant::now();
    let doc = assert_passes_everything(&watch_cmd(), None, &["--junit", junit.to_str().unwrap()]);
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "the default suite took {:?}",
        started.elapsed()
    );
    assert!(
        doc["target"].as_str().unwrap().contains("watch {url}"),
        "{}",
        doc["target"]
    );
    let cases = junit_cases(&junit);
    assert_eq!(cases.len(), 18, "{cases:?}");
    let names: BTreeSet<&str> = cases.iter().map(String::as_str).collect();
    assert_eq!(names, suite_ids(), "one test case per client id");
}

#[test]
fn the_honest_test_provider_passes_every_provider_scenario() {
    // Every scenario at once: they share nothing, and the mutants' verdicts below mean
    // something only if the provider they are made from passes everything.
    assert_passes_everything(
        &mutant_cmd(),
        Some(Mutation::Honest),
        &["--concurrency", "18"],
    );
}

/// Runs the scenarios `selected` against `mutation` and asserts that exactly `broken` (id →
/// status) did not pass: each mutant breaks one rule, so one scenario says so, unless a rule
/// implies another (then the expectation says why). A SHOULD id only warns, which exits 0.
fn assert_breaks_only(mutation: Mutation, selected: &[&str], broken: &[(&str, &str)]) {
    let out = grade(
        &mutant_cmd(),
        Some(mutation),
        &["--tags", &ids(selected), "--concurrency", "8"],
    );
    let doc = out.json();
    let got = statuses(&doc);
    assert_eq!(
        got.keys().map(String::as_str).collect::<BTreeSet<_>>(),
        selected.iter().copied().collect::<BTreeSet<_>>(),
        "{mutation:?}: --tags selects exactly these"
    );
    let not_passed: BTreeMap<&str, &str> = got
        .iter()
        .filter(|(_, status)| *status != "pass")
        .map(|(id, status)| (id.as_str(), status.as_str()))
        .collect();
    let expected: BTreeMap<&str, &str> = broken.iter().copied().collect();
    assert_eq!(not_passed, expected, "{mutation:?}:{}", explained(&doc));
    let code = if expected.values().any(|s| *s == "fail") {
        1
    } else {
        0
    };
    assert_eq!(out.code, code, "{mutation:?}: {}", out.stderr);
    assert!(schema_errors(&doc).is_empty());
}

#[test]
fn a_provider_that_does_not_refetch_after_a_reconnect_fails_client_refetch_on_reconnect() {
    assert_breaks_only(
        Mutation::NoRefetchOnReconnect,
        &[
            "client-refetch-on-reconnect",
            "client-last-event-id",
            "client-params-only-on-event",
            "client-refetch-on-event",
        ],
        &[("client-refetch-on-reconnect", "fail")],
    );
}

#[test]
fn a_provider_that_drops_the_flag_config_parameters_warns_client_refetch_params() {
    assert_breaks_only(
        Mutation::NoRefetchParams,
        &[
            "client-refetch-params",
            "client-refetch-on-event",
            "client-params-only-on-event",
            "client-inm",
        ],
        &[("client-refetch-params", "warn")],
    );
}

#[test]
fn a_provider_that_refetches_once_per_event_warns_client_coalesce() {
    assert_breaks_only(
        Mutation::NoCoalescing,
        &[
            "client-coalesce",
            "client-refetch-on-event",
            "client-ignore-unknown-event",
            "client-inm",
        ],
        &[("client-coalesce", "warn")],
    );
}

#[test]
fn a_provider_that_reconnects_every_second_warns_client_backoff() {
    assert_breaks_only(
        Mutation::FixedReconnect,
        &[
            "client-backoff",
            "client-refetch-on-reconnect",
            "client-last-event-id",
            "client-auth-fatal",
        ],
        &[("client-backoff", "warn")],
    );
}

#[test]
fn a_provider_without_if_none_match_fails_client_inm() {
    assert_breaks_only(
        Mutation::NoIfNoneMatch,
        &[
            "client-inm",
            "client-bulk",
            "client-refetch-on-event",
            "client-retry-after",
        ],
        &[("client-inm", "fail")],
    );
}

#[test]
fn a_provider_that_refetches_on_unknown_events_fails_client_ignore_unknown_event() {
    assert_breaks_only(
        Mutation::RefetchOnUnknownEvent,
        &[
            "client-ignore-unknown-event",
            "client-refetch-on-event",
            "client-coalesce",
            "client-ignore-unknown-stream",
        ],
        &[("client-ignore-unknown-event", "fail")],
    );
}

#[test]
fn a_provider_without_last_event_id_warns_client_last_event_id() {
    assert_breaks_only(
        Mutation::NoLastEventId,
        &[
            "client-last-event-id",
            "client-refetch-on-reconnect",
            "client-params-only-on-event",
        ],
        &[("client-last-event-id", "warn")],
    );
}

#[test]
fn a_provider_that_retries_after_a_401_warns_client_auth_fatal() {
    assert_breaks_only(
        Mutation::RetryAfterAuthRefusal,
        &["client-auth-fatal", "client-retry-after", "client-fallback"],
        &[("client-auth-fatal", "warn")],
    );
}

#[test]
fn a_provider_that_ignores_retry_after_warns_client_retry_after() {
    assert_breaks_only(
        Mutation::IgnoreRetryAfter,
        &[
            "client-retry-after",
            "client-auth-fatal",
            "client-refetch-on-event",
        ],
        &[("client-retry-after", "warn")],
    );
}

#[test]
fn stream_requests_without_accept_are_reported_as_info_and_fail_nothing() {
    assert_breaks_only(
        Mutation::NoAccept,
        &["client-sse-accept", "client-connect", "client-url-as-is"],
        &[("client-sse-accept", "info")],
    );
}

#[test]
fn a_provider_that_drops_the_query_string_warns_client_url_as_is() {
    assert_breaks_only(
        Mutation::DropQueryString,
        &[
            "client-url-as-is",
            "client-connect",
            "client-endpoint-url",
            "client-ignore-unknown-stream",
        ],
        &[("client-url-as-is", "warn")],
    );
}

#[test]
fn a_provider_that_gives_up_on_a_failing_stream_fails_client_fallback() {
    // One reconnect attempt is too few to see gaps grow: client-backoff has nothing to judge
    // and is skipped, which is what the rule implies, not a second failure.
    assert_breaks_only(
        Mutation::GiveUpOnFailingStream,
        &[
            "client-fallback",
            "client-backoff",
            "client-refetch-on-reconnect",
        ],
        &[("client-fallback", "fail"), ("client-backoff", "skip")],
    );
}

#[test]
fn a_dynamic_context_provider_fails_client_bulk_and_every_other_scenario_is_skipped() {
    let started = Instant::now();
    let out = grade(
        &mutant_cmd(),
        Some(Mutation::SingleFlagOnly),
        &["--provider-timeout", "2s"],
    );
    let doc = out.json();
    assert_eq!(out.code, 1, "{}{}", out.stderr, explained(&doc));
    let results = doc["results"].as_array().unwrap();
    assert_eq!(results.len(), 18);
    for r in results {
        let message = r["message"].as_str().unwrap();
        if r["id"] == "client-bulk" {
            assert_eq!(r["status"], "fail", "{r}");
            assert!(
                message.contains("dynamic-context")
                    && message.contains("POST /ofrep/v1/evaluate/flags/conform-enabled"),
                "{message}"
            );
        } else {
            assert_eq!(r["status"], "skip", "{r}");
            assert!(message.contains("dynamic-context"), "{message}");
        }
    }
    // One wait for a bulk request that never comes, not one per scenario.
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn tags_select_provider_scenarios_by_id() {
    let out = grade(
        &mutant_cmd(),
        Some(Mutation::Honest),
        &["--tags", "@id:client-bulk"],
    );
    let doc = out.json();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        statuses(&doc),
        BTreeMap::from([("client-bulk".to_owned(), "pass".to_owned())])
    );
}

#[test]
fn a_provider_that_exits_at_once_is_an_error_with_its_last_line_and_a_hint() {
    for (cmd, status) in [
        ("false", "exit status: 1"),
        (
            "echo 'provider: cannot find my config' >&2; exit 3",
            "exit status: 3",
        ),
    ] {
        let started = Instant::now();
        let out = run(ofrep().args(["conform", "--provider", cmd]));
        assert_eq!(out.code, 2, "{cmd}: {}{}", out.stdout, out.stderr);
        let error = out
            .stderr
            .lines()
            .find(|l| l.starts_with("error:"))
            .unwrap_or_default();
        assert!(
            error.contains("the provider exited") && error.contains(status),
            "{cmd}: {}",
            out.stderr
        );
        if cmd.contains("echo") {
            assert!(
                error.contains("its last output line: \"provider: cannot find my config\""),
                "{}",
                out.stderr
            );
        }
        assert!(
            out.stderr
                .lines()
                .any(|l| l.starts_with("hint:") && l.contains("OFREP_ENDPOINT")),
            "{}",
            out.stderr
        );
        assert!(started.elapsed() < Duration::from_secs(15));
    }
}

#[test]
fn a_provider_that_sends_nothing_is_given_up_on_after_a_few_timeouts() {
    let started = Instant::now();
    let out = run(ofrep().args([
        "conform",
        "--provider",
        "echo 'waiting for nothing'; exec sleep 30",
        "--provider-timeout",
        "1s",
        "-o",
        "json",
    ]));
    let elapsed = started.elapsed();
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("the provider made no request in 1 s")
            && out.stderr.contains("\"waiting for nothing\"")
            && out.stderr.contains("OFREP_ENDPOINT"),
        "{}",
        out.stderr
    );
    let doc = out.json();
    let statuses = statuses(&doc);
    assert_eq!(statuses.len(), 18);
    assert!(statuses.values().all(|s| s == "error"), "{statuses:?}");
    assert!(
        doc["results"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["message"].as_str().unwrap().contains("not run")),
        "the run gives up: {}",
        explained(&doc)
    );
    // 18 timeouts of 1 s one after the other would be 18 s; four at a time, 5 s.
    assert!(elapsed < Duration::from_secs(8), "{elapsed:?}");
}

#[test]
fn list_and_list_steps_show_the_provider_suite() {
    let out = run(ofrep().args(["conform", "--provider", "true", "--list", "-o", "json"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let listed: BTreeSet<String> = out.json()["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    let expected: BTreeSet<String> = suite_ids().iter().map(|s| s.to_string()).collect();
    assert_eq!(listed, expected);

    let human = run(ofrep().args(["conform", "--provider", "true", "--list"]));
    assert_eq!(human.code, 0);
    assert!(
        human.stdout.contains("client-refetch-on-reconnect")
            && human.stdout.contains("builtin/provider/reconnect.feature")
            && !human.stdout.contains("bulk-304-on-match"),
        "{}",
        human.stdout
    );

    let steps = run(ofrep().args(["conform", "--provider", "true", "--list-steps"]));
    assert_eq!(steps.code, 0);
    assert!(
        steps.stdout.contains("the server drops every stream")
            && steps
                .stdout
                .contains("within {int} seconds the provider requests the bulk endpoint"),
        "{}",
        steps.stdout
    );
    let server_steps = run(ofrep().args(["conform", "--list-steps"]));
    assert!(
        !server_steps
            .stdout
            .contains("the server drops every stream")
    );
}

#[test]
fn a_mistyped_provider_step_is_named_with_its_file_line_and_the_closest_step() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mine.feature");
    std::fs::write(
        &path,
        "Feature: Mine\n  @should @id:client-connect\n  Scenario: It connects\n    Given the server advertises an event stream in url form\n    And the provider is runing\n    Then within 5 seconds the provider connects to the event stream\n",
    )
    .unwrap();
    let out = run(ofrep()
        .args(["conform", "--provider", "true", "--scenarios"])
        .arg(&path));
    assert_eq!(out.code, 2, "{}", out.stderr);
    let error = out
        .stderr
        .lines()
        .find(|l| l.starts_with("error:"))
        .unwrap_or_default();
    assert!(
        error.contains("mine.feature:5")
            && error.contains("the provider is runing")
            && error.contains("did you mean `the provider is running`"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("--provider"), "{}", out.stderr);
}

#[test]
fn a_users_provider_scenario_runs_beside_the_builtin_ones() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mine.feature");
    std::fs::write(
        &path,
        "Feature: Mine\n  @must @id:client-refetch-on-event @mine\n  Scenario: A change without an event goes unseen, an event does not\n    Given the server advertises an event stream in endpoint form\n    And the provider is running\n    And the provider is connected to the event stream\n    When the server changes a flag without an event\n    Then the provider sends no bulk request for 2 seconds\n    When the server sends a refetchEvaluation event with etag \"mine\"\n    Then within 5 seconds the provider requests the bulk endpoint with flagConfigEtag \"mine\"\n",
    )
    .unwrap();
    let out = grade(
        &mutant_cmd(),
        Some(Mutation::Honest),
        &["--scenarios", path.to_str().unwrap(), "--tags", "@mine"],
    );
    let doc = out.json();
    assert_eq!(out.code, 0, "{}{}", out.stderr, explained(&doc));
    let results = doc["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{doc}");
    assert!(
        results[0]["location"]
            .as_str()
            .unwrap()
            .ends_with("mine.feature:3"),
        "{}",
        results[0]
    );
}

/// Whether `pid` is a live process (a zombie, killed and waiting for its parent, is not).
fn alive(pid: i32) -> bool {
    // SAFETY: kill(2) with signal 0 only checks that the process exists.
    if unsafe { libc::kill(pid, 0) } != 0 {
        return false;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state is the first field after the parenthesised command name.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_none_or(|(_, rest)| !rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// The pids a provider CMD wrote to `file`, one line per scenario.
fn pids_in(file: &Path) -> Vec<i32> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

fn assert_all_gone(pids: &[i32], what: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let living: Vec<i32> = pids.iter().copied().filter(|p| alive(*p)).collect();
        if living.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: still running 5 s later: {living:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// CMD that leaves a `sleep 300` in its process group, writes its pid and its own (the shell's,
/// which `exec` hands to `ofrep watch`) to `file`, and becomes `ofrep watch`.
fn leaves_a_sleep_behind(file: &Path) -> String {
    format!(
        "sleep 300 & echo $! $$ >> {}; exec {}",
        quoted(&file.to_string_lossy()),
        watch_cmd()
    )
}

#[test]
fn nothing_the_provider_started_outlives_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pids");
    let out = run(ofrep().args([
        "conform",
        "--provider",
        &leaves_a_sleep_behind(&file),
        "--tags",
        &ids(&["client-bulk", "client-connect", "client-refetch-on-event"]),
    ]));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let pids = pids_in(&file);
    assert_eq!(pids.len(), 6, "two pids per scenario: {pids:?}");
    assert_all_gone(&pids, "after the run");
}

#[test]
fn ctrl_c_mid_scenario_exits_130_and_takes_the_providers_process_group_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pids");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ofrep"));
    for var in fixture::cli::CLEARED_ENV {
        cmd.env_remove(var);
    }
    let mut child = cmd
        .args(["--color", "never", "conform", "--provider"])
        .arg(leaves_a_sleep_behind(&file))
        // A 10 s scenario: well under way when the signal comes.
        .args(["--tags", "@id:client-fallback", "-o", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while pids_in(&file).len() < 2 {
        assert!(Instant::now() < deadline, "the provider never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Let it get into the scenario: the first bulk request, the stream.
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the run ended too soon"
    );
    let pids = pids_in(&file);
    assert!(pids.iter().all(|p| alive(*p)), "{pids:?}");
    let status = interrupt(&mut child, Duration::from_secs(10));
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_all_gone(&pids, "after Ctrl-C");
}
