//! `ofrep watch`, the real binary, against the reference server and a scriptable server on
//! 127.0.0.1. Every wait is bounded; every child is killed when its test ends.

mod fixture;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use fixture::scripted::{Scripted, Streams};
use fixture::{Behaviour, Fixture};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(15);

/// A running `ofrep watch` whose output lines arrive on channels.
struct Watch {
    child: Child,
    stdout: Receiver<String>,
    stderr: Receiver<String>,
    seen_out: Vec<String>,
    seen_err: Vec<String>,
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn lines(reader: impl std::io::Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(reader).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

impl Watch {
    fn start(args: &[&str]) -> Self {
        Self::start_with_env(args, &[])
    }

    fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("ofrep"));
        for var in fixture::cli::CLEARED_ENV {
            cmd.env_remove(var);
        }
        cmd.envs(env.iter().copied());
        let mut child = cmd
            .arg("watch")
            .args(args)
            .args(["--color", "never"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = lines(child.stdout.take().unwrap());
        let stderr = lines(child.stderr.take().unwrap());
        Self {
            child,
            stdout,
            stderr,
            seen_out: vec![],
            seen_err: vec![],
        }
    }

    /// The next stdout line matching `predicate`, within `WAIT`.
    fn out_line(&mut self, what: &str, predicate: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stdout.recv_timeout(left) {
                Ok(line) => {
                    self.seen_out.push(line.clone());
                    if predicate(&line) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                    self.drain_err();
                    panic!(
                        "no stdout line {what}\nstdout:\n{}\nstderr:\n{}",
                        self.seen_out.join("\n"),
                        self.seen_err.join("\n")
                    );
                }
            }
        }
    }

    /// The next JSON Lines object of this `type` (and matching `predicate`).
    fn json(&mut self, kind: &str, predicate: impl Fn(&Value) -> bool) -> Value {
        let line = self.out_line(&format!("of type {kind}"), |line| {
            serde_json::from_str::<Value>(line).is_ok_and(|v| v["type"] == kind && predicate(&v))
        });
        serde_json::from_str(&line).unwrap()
    }

    fn drain_err(&mut self) {
        while let Ok(line) = self.stderr.try_recv() {
            self.seen_err.push(line);
        }
    }

    /// Waits (bounded) for exit and returns the code, collecting the rest of the output.
    fn exit_code(&mut self) -> i32 {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                std::thread::sleep(Duration::from_millis(50));
                while let Ok(line) = self.stdout.try_recv() {
                    self.seen_out.push(line);
                }
                self.drain_err();
                return status.code().unwrap_or(-1);
            }
            assert!(
                Instant::now() < deadline,
                "watch did not exit\n{}",
                self.seen_out.join("\n")
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn all_output(&mut self) -> String {
        self.drain_err();
        while let Ok(line) = self.stdout.try_recv() {
            self.seen_out.push(line);
        }
        format!("{}\n{}", self.seen_out.join("\n"), self.seen_err.join("\n"))
    }
}

fn query_of(target: &str) -> &str {
    target.split_once('?').map_or("", |(_, q)| q)
}

#[test]
fn a_change_on_the_reference_server_shows_as_a_diff_with_its_trigger() {
    // The reference server, run as a user would, with its control endpoint.
    let server = fixture::ReferenceServer::start(&["--control"]);
    let url = server.url.clone();

    let mut watch = Watch::start(&[&url, "-o", "json", "--max-changes", "1"]);
    let snapshot = watch.json("snapshot", |_| true);
    assert_eq!(snapshot["streams"][0]["following"], true);
    watch.json("connection", |v| v["state"] == "connected");
    // The refetch after connecting comes first; then change a flag through the control API.
    watch.json("unchanged", |v| v["trigger"] == "reconnect");
    let body = r#"{"flag":"new-checkout","variant":"on"}"#;
    fixture::post(&format!("{url}/control/change"), body);
    let change = watch.json("change", |_| true);
    assert_eq!(change["trigger"], "sse");
    assert!(change["eventId"].is_string(), "{change}");
    assert!(change["latencyMs"].as_f64().unwrap() < 5000.0);
    let item = &change["changes"][0];
    assert_eq!(item["key"], "new-checkout");
    assert_eq!(item["kind"], "changed");
    assert_eq!(item["before"]["value"], false);
    assert_eq!(item["after"]["value"], true);
    assert_eq!(item["after"]["variant"], "on");
    assert_eq!(watch.exit_code(), 0, "--max-changes 1 ends the watch");
}

#[test]
fn human_output_shows_the_summary_and_value_diffs() {
    let server = Scripted::start(Streams::Endpoint);
    let mut watch = Watch::start(&[&server.url(), "--max-changes", "1"]);
    watch.out_line("with the summary", |l| {
        l.contains("2 flags, etag \"v1\" (strong)")
    });
    watch.out_line("with the stream", |l| {
        l.contains("event stream [0] sse") && l.contains("following")
    });
    server.wait_for("a stream", WAIT, |s| s.open_streams() == 1);
    // The refetch after connecting must be answered before the flag changes, or it is the one
    // that sees the change (and rightly reports "reconnect" as the trigger).
    server.wait_for("the refetch after connecting", WAIT, |s| {
        s.bulk_requests().len() >= 2
    });
    std::thread::sleep(Duration::from_millis(200));
    server.bump();
    server.notify(1);
    watch.out_line("with the trigger", |l| {
        l.contains("sse event 1 → refetched in")
    });
    watch.out_line("with the diff", |l| {
        l.contains("~ counter: 1 → 2") && l.contains("variant \"v1\" → \"v2\"")
    });
    assert_eq!(watch.exit_code(), 0);
}

#[test]
fn an_event_triggered_refetch_carries_the_events_metadata_and_the_last_etag() {
    let server = Scripted::start(Streams::Endpoint);
    let mut watch = Watch::start(&[&server.url(), "-o", "json", "--max-changes", "1"]);
    watch.json("unchanged", |v| v["trigger"] == "reconnect");
    server.bump();
    server.notify(7);
    watch.json("change", |v| v["eventId"] == "7");
    let requests = server.bulk_requests();
    assert_eq!(
        requests.len(),
        3,
        "initial, after connect, after the event: {requests:?}"
    );
    assert_eq!(
        query_of(&requests[0].target),
        "",
        "the first request carries no SSE metadata"
    );
    assert_eq!(
        query_of(&requests[1].target),
        "",
        "a reconnect refetch carries no SSE metadata"
    );
    assert_eq!(requests[1].header("if-none-match"), Some("\"v1\""));
    assert_eq!(
        query_of(&requests[2].target),
        "flagConfigEtag=cfg-2&flagConfigLastModified=1771622898"
    );
    assert_eq!(requests[2].header("if-none-match"), Some("\"v1\""));
    let stream = &server.stream_requests()[0];
    assert_eq!(stream.header("accept"), Some("text/event-stream"));
    assert_eq!(
        stream.header("last-event-id"),
        None,
        "never sent while empty"
    );
}

#[test]
fn a_burst_of_100_events_leads_to_at_most_2_refetches() {
    let server = Scripted::start(Streams::Endpoint);
    let mut watch = Watch::start(&[&server.url(), "-o", "json"]);
    watch.json("unchanged", |v| v["trigger"] == "reconnect");
    let before = server.bulk_requests().len();
    server.bump();
    let burst: String = (1..=100)
        .map(|id| {
            format!("id: {id}\ndata: {{\"type\":\"refetchEvaluation\",\"etag\":\"cfg-{id}\"}}\n\n")
        })
        .collect();
    server.send(&burst);
    watch.json("change", |_| true);
    std::thread::sleep(Duration::from_millis(500));
    let refetches = server.bulk_requests().len() - before;
    assert!(
        (1..=2).contains(&refetches),
        "{refetches} refetches for a burst of 100 events"
    );
}

#[test]
fn a_reconnect_sends_last_event_id_and_refetches_at_once() {
    let server = Scripted::start(Streams::Endpoint);
    server.set_greeting("retry: 50\nid: 41\ndata: {\"type\":\"hello\"}\n\n");
    server.set_close_after_greeting(true);
    let mut watch = Watch::start(&[&server.url(), "-o", "json"]);
    watch.json("connection", |v| v["state"] == "reconnecting");
    watch.json("connection", |v| v["state"] == "connected");
    server.wait_for("a second stream request", WAIT, |s| {
        s.stream_requests().len() >= 2
    });
    let streams = server.stream_requests();
    assert_eq!(streams[0].header("last-event-id"), None);
    assert_eq!(streams[1].header("last-event-id"), Some("41"));
    server.wait_for("reconnect refetches", WAIT, |s| {
        s.bulk_requests().len() >= 3
    });
    let bulk = server.bulk_requests();
    assert!(
        bulk[1..].iter().all(|r| query_of(&r.target).is_empty()),
        "reconnect refetches carry no SSE metadata"
    );
}

#[test]
fn sse_down_falls_back_to_polling_which_sees_changes_and_stops_when_sse_returns() {
    let server = Scripted::start(Streams::Endpoint);
    server.set_sse_up(false);
    let mut watch = Watch::start(&[&server.url(), "-o", "json", "--poll-interval", "200ms"]);
    watch.json("connection", |v| v["state"] == "polling");
    server.bump();
    let change = watch.json("change", |_| true);
    assert_eq!(change["trigger"], "poll");
    server.set_sse_up(true);
    watch.json("connection", |v| v["state"] == "recovered");
    // Let the reconnect refetch land, then count: no more polls.
    std::thread::sleep(Duration::from_millis(300));
    let before = server.bulk_requests().len();
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(
        server.bulk_requests().len(),
        before,
        "polling stopped once a stream connected"
    );
}

#[test]
fn without_event_streams_watch_polls_with_if_none_match() {
    let server = Scripted::start(Streams::None);
    let mut watch = Watch::start(&[
        &server.url(),
        "-o",
        "json",
        "--poll-interval",
        "150ms",
        "--max-changes",
        "1",
    ]);
    let snapshot = watch.json("snapshot", |_| true);
    assert_eq!(snapshot["pollingMs"], 150);
    server.wait_for("a poll", WAIT, |s| s.bulk_requests().len() >= 2);
    server.bump();
    assert_eq!(watch.json("change", |_| true)["trigger"], "poll");
    assert_eq!(watch.exit_code(), 0);
    let polls = server.bulk_requests();
    assert_eq!(polls[1].header("if-none-match"), Some("\"v1\""));
    assert!(
        polls.iter().all(|r| query_of(&r.target).is_empty()),
        "polls never carry SSE metadata"
    );
    assert!(server.stream_requests().is_empty());
}

#[test]
fn polling_mode_ignores_event_streams() {
    let server = Scripted::start(Streams::Endpoint);
    let mut watch = Watch::start(&[
        &server.url(),
        "-o",
        "json",
        "--change-detection",
        "polling",
        "--poll-interval",
        "100ms",
    ]);
    watch.json("snapshot", |v| v["pollingMs"] == 100);
    server.wait_for("polls", WAIT, |s| s.bulk_requests().len() >= 3);
    assert!(server.stream_requests().is_empty());
}

#[test]
fn a_pretty_printed_answer_still_gives_one_snapshot_line() {
    let body = "{\r\n  \"flags\": [\n    {\n      \"key\": \"a\",\n      \"value\": \"x\\ny\",\n      \"reason\": \"STATIC\"\n    }\n  ]\n}\n";
    let server = Fixture::json("200 OK", &[], body);
    let mut watch = Watch::start(&[&server.url(), "-o", "json"]);
    let snapshot = watch.json("snapshot", |_| true);
    assert_eq!(snapshot["flags"][0]["key"], "a");
    // The escaped line break inside the string is the string's, and stays.
    assert_eq!(snapshot["flags"][0]["value"], "x\ny");
}

#[test]
fn unauthorized_exits_2_with_the_status() {
    let server = Fixture::json("401 Unauthorized", &[], "{}");
    let mut watch = Watch::start(&[&server.url()]);
    assert_eq!(watch.exit_code(), 2);
    let output = watch.all_output();
    assert!(
        output.contains("401") && output.contains("hint:"),
        "{output}"
    );
}

#[test]
fn a_429_on_a_refetch_waits_for_retry_after() {
    let server = Scripted::start(Streams::Endpoint);
    let mut watch = Watch::start(&[&server.url(), "-o", "json"]);
    watch.json("unchanged", |v| v["trigger"] == "reconnect");
    server.push_answer(429, &[("Retry-After", "1")], "{}");
    server.bump();
    server.notify(1);
    let warning = watch.json("warning", |v| {
        v["message"].as_str().unwrap_or("").contains("429")
    });
    assert!(
        warning["message"]
            .as_str()
            .unwrap()
            .contains("waiting 1.0 s"),
        "{warning}"
    );
    let started = Instant::now();
    watch.json("change", |_| true);
    assert!(
        started.elapsed() >= Duration::from_millis(800),
        "refetched after {:?}",
        started.elapsed()
    );
}

#[test]
fn until_exits_0_as_soon_as_it_holds_and_the_deadline_exits_1_naming_what_is_false() {
    let server = Scripted::start(Streams::Endpoint);
    let mut holds = Watch::start(&[
        &server.url(),
        "--until",
        "steady=true",
        "--until",
        "counter=1",
    ]);
    assert_eq!(holds.exit_code(), 0, "the first answer counts");

    let mut waits = Watch::start(&[&server.url(), "-o", "json", "--until", "counter=3"]);
    waits.json("unchanged", |v| v["trigger"] == "reconnect");
    server.bump();
    server.notify(1);
    server.bump();
    server.notify(2);
    assert_eq!(waits.exit_code(), 0);

    let mut late = Watch::start(&[
        &server.url(),
        "--until",
        "counter=99",
        "--deadline",
        "500ms",
    ]);
    assert_eq!(late.exit_code(), 1);
    let output = late.all_output();
    assert!(
        output.contains("`counter` is 3, waiting for 99"),
        "{output}"
    );
}

#[test]
fn stream_urls_are_redacted_in_both_output_modes() {
    const TOKEN: &str = "watch-s3cret-91";
    let server = Scripted::start(Streams::UrlWithToken(TOKEN.into()));
    for mode in ["human", "json"] {
        let mut watch = Watch::start(&[
            &server.url(),
            "-o",
            mode,
            "-v",
            "--deadline",
            "800ms",
            "--max-changes",
            "5",
        ]);
        assert_eq!(watch.exit_code(), 1);
        let output = watch.all_output();
        assert!(output.contains("events?<redacted>"), "{output}");
        assert!(
            !output.contains(TOKEN),
            "{mode} output leaks the token:\n{output}"
        );
    }
    let mut shown = Watch::start(&[
        &server.url(),
        "--show-secrets",
        "--deadline",
        "500ms",
        "--max-changes",
        "5",
    ]);
    shown.exit_code();
    assert!(
        shown.all_output().contains(TOKEN),
        "--show-secrets shows it: the check above can fail"
    );
}

#[test]
fn malformed_streams_are_reported_and_watch_keeps_going() {
    let server = Scripted::start(Streams::Endpoint);
    // A BOM, CR-only line ends, named events, non-JSON data, a missing type, an id with NUL,
    // `retry: abc`, binary junk, a 1 MB line: then one good event must still work.
    server.set_greeting("\u{feff}retry: 50\r: hello\r\r");
    let mut watch = Watch::start(&[&server.url(), "-o", "json", "--max-changes", "1"]);
    watch.json("unchanged", |v| v["trigger"] == "reconnect");
    server.send("data: not json\n\n");
    watch.json("warning", |v| v["id"] == "sse-data-json");
    server.send("data: {\"no\":\"type\"}\n\n");
    watch.json("warning", |v| v["id"] == "sse-type");
    server.send("retry: abc\nid: a\u{0}b\ndata: {\"type\":\"unknown\"}\n\n");
    server.send_bytes(b"\xff\xfe\x00junk\n\n");
    server.send(&format!("data: {}\n\n", "x".repeat(1 << 20)));
    server.send("event: refetchEvaluation\ndata: {\"type\":\"other\"}\n\n");
    watch.json("warning", |v| v["id"] == "sse-event-message");
    server.bump();
    server.notify(9);
    watch.json("change", |v| v["eventId"] == "9");
    assert_eq!(watch.exit_code(), 0);
    assert!(!watch.all_output().contains("panicked"));
}

#[test]
fn an_endless_line_keeps_memory_bounded_and_is_reported() {
    let server = Scripted::start(Streams::Endpoint);
    let mut watch = Watch::start(&[&server.url(), "-o", "json"]);
    watch.json("connection", |v| v["state"] == "connected");
    let chunk = "y".repeat(64 * 1024);
    server.send("data: ");
    for _ in 0..64 {
        server.send(&chunk); // 4 MiB with no line end
    }
    watch.json("warning", |v| {
        v["message"]
            .as_str()
            .unwrap_or("")
            .to_lowercase()
            .contains("line")
    });
    assert!(
        watch.child.try_wait().unwrap().is_none(),
        "watch keeps running"
    );
    let rss = rss_kib(watch.child.id());
    assert!(rss < 100 * 1024, "resident memory {rss} KiB");
}

#[test]
fn a_silent_stream_and_a_flapping_stream_do_not_stop_watch() {
    let silent = Scripted::start(Streams::Endpoint);
    silent.set_silent(true);
    let mut quiet = Watch::start(&[
        &silent.url(),
        "-o",
        "json",
        "--deadline",
        "1s",
        "--max-changes",
        "1",
    ]);
    assert_eq!(quiet.exit_code(), 1, "only the deadline ends it");

    let flapping = Scripted::start(Streams::Endpoint);
    flapping.set_greeting("retry: 100\n\n");
    flapping.set_close_after_greeting(true);
    let mut watch = Watch::start(&[
        &flapping.url(),
        "-o",
        "json",
        "--deadline",
        "2s",
        "--max-changes",
        "1",
    ]);
    assert_eq!(watch.exit_code(), 1);
    let attempts = flapping.stream_requests().len();
    assert!(
        (2..=12).contains(&attempts),
        "backoff bounds reconnects: {attempts} in 2 s"
    );
    assert!(!watch.all_output().contains("panicked"));
}

#[test]
fn a_refetch_that_answers_non_json_is_a_warning_not_a_crash() {
    let server = Scripted::start(Streams::Endpoint);
    let mut watch = Watch::start(&[&server.url(), "-o", "json", "--max-changes", "1"]);
    watch.json("unchanged", |v| v["trigger"] == "reconnect");
    server.push_answer(200, &[("Content-Type", "application/json")], "<html>oops");
    server.bump();
    server.notify(1);
    watch.json("warning", |v| v["id"] == "bulk-shape");
    watch.json("change", |_| true);
    assert_eq!(watch.exit_code(), 0);
}

#[test]
fn watch_embedded_shows_live_changes_with_nothing_else_running() {
    let mut watch = Watch::start(&[
        "--embedded",
        "-o",
        "json",
        "--max-changes",
        "1",
        "--deadline",
        "12s",
    ]);
    watch.json("snapshot", |_| true);
    watch.json("change", |v| v["trigger"] == "sse");
    assert_eq!(watch.exit_code(), 0);
}

#[test]
fn a_server_that_never_answers_is_a_timeout_with_exit_2() {
    let silent = Fixture::start(Behaviour::Silent);
    let mut watch = Watch::start(&[&silent.url(), "--timeout", "300ms"]);
    assert_eq!(watch.exit_code(), 2);
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn every_json_line_matches_the_documented_schema() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/schemas/watch.schema.json"
    ))
    .unwrap();
    let validator = jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).unwrap();
    let server = Scripted::start(Streams::Endpoint);
    server.set_greeting("retry: 100\n: keep-alive\n\n");
    let mut watch = Watch::start(&[
        &server.url(),
        "-o",
        "json",
        "-v",
        "--until",
        "counter=99",
        "--deadline",
        "1500ms",
    ]);
    watch.json("unchanged", |v| v["trigger"] == "reconnect");
    server.bump();
    server.notify(1);
    server.send("data: not json\n\n");
    assert_eq!(watch.exit_code(), 1);
    let mut kinds = std::collections::BTreeSet::new();
    for line in &watch.seen_out {
        let value: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{line}\n{errors:?}");
        kinds.insert(value["type"].as_str().unwrap().to_owned());
    }
    for kind in [
        "snapshot",
        "connection",
        "event",
        "change",
        "unchanged",
        "warning",
        "comment",
        "deadline",
    ] {
        assert!(
            kinds.contains(kind),
            "no `{kind}` line was produced: {kinds:?}"
        );
    }
}

#[test]
fn a_connected_stream_means_no_polling_at_all() {
    let server = Scripted::start(Streams::Endpoint);
    let mut watch = Watch::start(&[&server.url(), "-o", "json", "--poll-interval", "200ms"]);
    watch.json("unchanged", |v| v["trigger"] == "reconnect");
    std::thread::sleep(Duration::from_millis(1000));
    let requests = server.bulk_requests();
    assert_eq!(
        requests.len(),
        2,
        "the first answer and the refetch after connecting, no poll: {requests:?}"
    );
}

#[test]
fn sigterm_closes_the_streams_and_exits_0() {
    let server = Scripted::start(Streams::Endpoint);
    let mut watch = Watch::start(&[&server.url(), "-o", "json"]);
    watch.json("connection", |v| v["state"] == "connected");
    server.wait_for("the stream", WAIT, |s| s.open_streams() == 1);
    let status = Command::new("kill")
        .args(["-TERM", &watch.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(watch.exit_code(), 0);
    server.wait_for("the stream to close", WAIT, |s| s.open_streams() == 0);
}
