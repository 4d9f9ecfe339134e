//! `ofrep fetch`, the real binary, against real servers on 127.0.0.1: the embedded reference
//! server and byte-exact fixtures for answers it would never give.

mod fixture;

use std::time::{Duration, Instant};

use fixture::cli::{Run, ofrep, run};
use fixture::{Behaviour, Fixture};
use serde_json::Value;

const GOOD_BULK: &str = r#"{"flags":[{"key":"a","value":true,"reason":"STATIC","variant":"on"}],
  "eventStreams":[{"type":"sse","endpoint":{"requestUri":"/ofrep/v1/events"},"inactivityDelaySec":120}],
  "metadata":{"version":"v1"}}"#;

/// What `fetch -o json` reported.
trait Findings {
    fn finding_ids(&self) -> Vec<String>;
}

impl Findings for Run {
    fn finding_ids(&self) -> Vec<String> {
        self.json()["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["id"].as_str().unwrap().to_owned())
            .collect()
    }
}

fn fetch_json(url: &str, extra: &[&str]) -> Run {
    run(ofrep().args(["fetch", url, "-o", "json"]).args(extra))
}

fn schema() -> jsonschema::Validator {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/schemas/fetch.schema.json"
    ))
    .unwrap();
    jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).unwrap()
}

fn assert_matches_schema(document: &Value) {
    let validator = schema();
    let errors: Vec<String> = validator
        .iter_errors(document)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "output does not match schemas/fetch.schema.json: {errors:?}\n{document:#}"
    );
}

#[test]
fn fetch_embedded_shows_the_reference_servers_flags_and_passes() {
    let out = run(ofrep().args(["fetch", "--embedded", "--targeting-key", "user-1"]));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("200 OK"), "{}", out.stdout);
    assert!(out.stdout.contains("(strong)"), "{}", out.stdout);
    assert!(
        out.stdout.contains("\"targetingKey\":\"user-1\""),
        "the context sent is shown: {}",
        out.stdout
    );
    assert!(out.stdout.contains("event streams (1)"), "{}", out.stdout);
    assert!(out.stdout.contains("well-formed"), "{}", out.stdout);
    assert!(out.stdout.contains("no violations found"), "{}", out.stdout);
}

#[test]
fn fetch_json_from_the_reference_server_matches_the_documented_schema() {
    let out = run(ofrep().args(["fetch", "--embedded", "-o", "json", "-c", "plan=premium"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let doc = out.json();
    assert_matches_schema(&doc);
    assert_eq!(doc["status"], 200);
    assert_eq!(doc["etagVerdict"], "strong");
    assert_eq!(doc["request"]["context"]["plan"], "premium");
    assert!(doc["flags"].as_array().unwrap().len() >= 6);
    assert!(
        doc["eventStreams"][0]["resolvedUrl"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:")
    );
    assert_eq!(doc["passed"], true);
}

#[test]
fn fetch_json_matches_the_schema_for_errors_and_304s_too() {
    let error = Fixture::json(
        "500 Internal Server Error",
        &[],
        r#"{"errorDetails":"boom"}"#,
    );
    let doc = fetch_json(&error.url(), &[]).json();
    assert_matches_schema(&doc);
    assert_eq!(doc["error"]["errorDetails"], "boom");
    let not_modified = Fixture::answer("304 Not Modified", &[("ETag", "\"v1\"")], b"");
    assert_matches_schema(&fetch_json(&not_modified.url(), &["--if-none-match", "\"v1\""]).json());
    let garbage = Fixture::answer("200 OK", &[("Content-Type", "application/json")], b"<html>");
    assert_matches_schema(&fetch_json(&garbage.url(), &[]).json());
}

#[test]
fn fetch_shows_a_304_as_not_modified_with_its_headers() {
    let first = run(ofrep().args(["fetch", "--embedded", "-o", "json"])).json();
    assert!(first["etag"].is_string());
    // A fresh embedded server computes the same ETag for the same flags and context.
    let etag = first["etag"].as_str().unwrap();
    let out = run(ofrep().args(["fetch", "--embedded", "--if-none-match", etag]));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("304 Not Modified"), "{}", out.stdout);
    assert!(out.stdout.contains("not modified"), "{}", out.stdout);
    assert!(
        out.stdout.to_lowercase().contains("etag:"),
        "headers are shown: {}",
        out.stdout
    );
}

#[test]
fn fetch_single_flag_shows_one_row_and_a_missing_flag_fails_with_its_error() {
    let out = run(ofrep().args(["fetch", "--embedded", "--flag", "no-such-flag-anywhere"]));
    assert_eq!(out.code, 1, "a 404 is an error status: {}", out.stdout);
    assert!(out.stdout.contains("FLAG_NOT_FOUND"), "{}", out.stdout);
    let single = Fixture::json(
        "200 OK",
        &[],
        r#"{"key":"a","value":"x","reason":"STATIC","variant":"v"}"#,
    );
    let out = run(ofrep().args(["fetch", &single.url(), "--flag", "a/b"]));
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(out.stdout.contains("flags (1)"), "{}", out.stdout);
    assert_eq!(
        single.requests()[0].target,
        "/ofrep/v1/evaluate/flags/a%2Fb"
    );
}

/// One answer that triggers each finding id; `GOOD_BULK` above triggers none of them.
#[test]
fn every_finding_id_is_reported_for_an_answer_that_breaks_it_and_not_for_a_good_one() {
    let json = ("Content-Type", "application/json");
    let etag = ("ETag", "\"v1\"");
    let cases: Vec<(&str, &[&str], Vec<u8>)> = vec![
        ("core-json", &[], fixture::response("200 OK", &[("Content-Type", "text/plain"), etag], GOOD_BULK.as_bytes())),
        ("core-endpoints", &[], fixture::response("404 Not Found", &[json], b"{}")),
        ("bulk-shape", &[], fixture::response("200 OK", &[json, etag], br#"{"flags":[{"key":"a"}]}"#)),
        ("bulk-400-shape", &[], fixture::response("400 Bad Request", &[json], br#"{"errorDetails":"x"}"#)),
        ("bulk-etag-present", &[], fixture::response("200 OK", &[json], GOOD_BULK.as_bytes())),
        ("bulk-etag-syntax", &[], fixture::response("200 OK", &[json, ("ETag", "v1")], GOOD_BULK.as_bytes())),
        ("bulk-304-no-body", &["--if-none-match", "\"v1\""],
            fixture::response("304 Not Modified", &[etag, json, ("Content-Length", "12")], b"")),
        ("bulk-304-etag", &["--if-none-match", "\"v1\""], fixture::response("304 Not Modified", &[], b"")),
        ("single-shape", &["--flag", "a"], fixture::response("200 OK", &[json], br#"{"key":"a","value":1}"#)),
        ("single-value-type", &["--flag", "a"],
            fixture::response("200 OK", &[json], br#"{"key":"a","reason":"STATIC","value":[1]}"#)),
        ("single-not-found", &["--flag", "a"], fixture::response("404 Not Found", &[json], br#"{"key":"a","errorCode":"GENERAL"}"#)),
        ("single-400-shape", &["--flag", "a"], fixture::response("400 Bad Request", &[json], br#"{"errorCode":"NOPE"}"#)),
        ("reason-known", &[], fixture::response("200 OK", &[json, etag], br#"{"flags":[{"key":"a","value":1,"reason":"MAGIC"}]}"#)),
        ("metadata-values", &[], fixture::response("200 OK", &[json, etag], br#"{"flags":[],"metadata":{"a":[1]}}"#)),
        ("error-500-shape", &[], fixture::response("500 Internal Server Error", &[json], br#"{"errorDetails":42}"#)),
        ("rate-limit-retry-after", &[], fixture::response("429 Too Many Requests", &[json], b"{}")),
        ("streams-shape", &[], fixture::response("200 OK", &[json, etag], br#"{"flags":[],"eventStreams":[{"url":"https://a/"}]}"#)),
        ("streams-one-of", &[], fixture::response("200 OK", &[json, etag], br#"{"flags":[],"eventStreams":[{"type":"sse"}]}"#)),
        ("streams-url", &[], fixture::response("200 OK", &[json, etag], br#"{"flags":[],"eventStreams":[{"type":"sse","url":"/x"}]}"#)),
        ("streams-request-uri", &[],
            fixture::response("200 OK", &[json, etag], br#"{"flags":[],"eventStreams":[{"type":"sse","endpoint":{"requestUri":"x"}}]}"#)),
        ("streams-inactivity", &[],
            fixture::response("200 OK", &[json, etag], br#"{"flags":[],"eventStreams":[{"type":"sse","url":"https://a/","inactivityDelaySec":0}]}"#)),
        ("streams-legacy-sse", &[], fixture::response("200 OK", &[json, etag], br#"{"flags":[],"sse":{"url":"https://a/"}}"#)),
    ];
    let good = Fixture::json("200 OK", &[etag], GOOD_BULK);
    let good_ids = fetch_json(&good.url(), &[]).finding_ids();
    assert_eq!(
        good_ids,
        ["streams-optional"],
        "a good answer triggers nothing but the INFO line"
    );
    let good_single = Fixture::json("200 OK", &[], r#"{"key":"a","value":1,"reason":"STATIC"}"#);
    assert!(
        fetch_json(&good_single.url(), &["--flag", "a"])
            .finding_ids()
            .is_empty()
    );

    for (id, args, bytes) in cases {
        let server = Fixture::start(Behaviour::Raw(bytes));
        let out = fetch_json(&server.url(), args);
        let ids = out.finding_ids();
        assert!(
            ids.iter().any(|i| i == id),
            "{id} was not reported; got {ids:?}\n{}",
            out.stdout
        );
        assert!(!good_ids.iter().any(|i| i == id));
    }
}

#[test]
fn exit_code_is_1_for_a_must_finding_or_an_error_status_and_0_for_a_should() {
    let must = Fixture::json("200 OK", &[("ETag", "\"v\"")], r#"{"flags":[{"key":"a"}]}"#);
    assert_eq!(fetch_json(&must.url(), &[]).code, 1);
    let should_only = Fixture::json("200 OK", &[], GOOD_BULK);
    assert_eq!(fetch_json(&should_only.url(), &[]).code, 0);
    let not_found = Fixture::json("404 Not Found", &[], "{}");
    assert_eq!(fetch_json(&not_found.url(), &[]).code, 1);
}

#[test]
fn a_401_or_403_prints_the_answer_then_exits_2_saying_credentials_are_wanted() {
    for status in ["401 Unauthorized", "403 Forbidden"] {
        let server = Fixture::json(status, &[("WWW-Authenticate", "Bearer")], "{}");
        let out = run(ofrep().args(["fetch", &server.url()]));
        assert_eq!(out.code, 2, "{status}: {}{}", out.stdout, out.stderr);
        assert!(out.stdout.contains(status), "{}", out.stdout);
        assert!(
            out.stderr
                .contains("it wants credentials, and none were sent"),
            "{}",
            out.stderr
        );
        assert!(
            out.stderr
                .contains("hint: pass them with -H 'Authorization: Bearer …'")
                && out.stderr.contains("OFREP_HEADERS"),
            "{}",
            out.stderr
        );
        let json = fetch_json(&server.url(), &[]);
        assert_eq!(json.code, 2);
        assert_eq!(json.json()["status"].as_u64(), status[..3].parse().ok());

        let sent = run(ofrep().args(["fetch", &server.url(), "-H", "X-API-Key: k-1"]));
        assert_eq!(sent.code, 2);
        assert!(
            sent.stderr.contains("did not accept the credentials sent"),
            "{}",
            sent.stderr
        );
        assert!(!sent.stderr.contains("k-1"), "{}", sent.stderr);
    }
}

#[test]
fn connection_refused_exits_2_within_a_second_naming_the_address_with_a_hint() {
    let closed = fixture::ClosedPort::hold();
    let port = closed.addr.port();
    let started = Instant::now();
    let out = run(ofrep().args(["fetch", &format!("http://127.0.0.1:{port}")]));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains(&format!("127.0.0.1:{port}")),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("hint:"), "{}", out.stderr);
    assert!(out.stdout.is_empty());
}

#[test]
fn a_server_that_never_answers_times_out_with_exit_2() {
    let silent = Fixture::start(Behaviour::Silent);
    let started = Instant::now();
    let out = run(ofrep().args(["fetch", &silent.url(), "--timeout", "300ms"]));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("did not answer within 300ms"),
        "{}",
        out.stderr
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    let out = run(ofrep()
        .args(["fetch", &silent.url()])
        .env("OFREP_TIMEOUT_MS", "200"));
    assert!(
        out.stderr.contains("within 200ms"),
        "OFREP_TIMEOUT_MS is honoured: {}",
        out.stderr
    );
}

#[test]
fn usage_errors_exit_2_and_name_the_bad_part() {
    let cases: &[(&[&str], &str)] = &[
        (&["fetch", "not a url"], "not a url"),
        (&["fetch"], "OFREP_ENDPOINT"),
        (&["fetch", "http://127.0.0.1:1", "-H", "NoColon"], "NoColon"),
        (&["fetch", "http://127.0.0.1:1", "-c", "novalue"], "novalue"),
        (
            &["fetch", "http://127.0.0.1:1/ofrep/v1/evaluate/flags"],
            "part before /ofrep",
        ),
        (
            &[
                "fetch",
                "http://127.0.0.1:1",
                "--context-file",
                "/nonexistent/ctx.json",
            ],
            "/nonexistent/ctx.json",
        ),
        (
            &["fetch", "http://127.0.0.1:1", "--timeout", "soon"],
            "soon",
        ),
    ];
    for (args, needle) in cases {
        let out = run(ofrep().args(*args));
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(
            out.stderr.contains(needle),
            "{args:?} should name `{needle}`: {}",
            out.stderr
        );
    }
    let out = run(ofrep().args(["fetch"]).env("OFREP_ENDPOINT", "nope"));
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("OFREP_ENDPOINT") && out.stderr.contains("nope"),
        "{}",
        out.stderr
    );
}

#[test]
fn context_comes_from_a_file_or_stdin_and_a_bad_file_names_its_line() {
    let server = Fixture::json("200 OK", &[("ETag", "\"v\"")], GOOD_BULK);
    let out = run(ofrep()
        .args([
            "fetch",
            &server.url(),
            "--context-file",
            "-",
            "-c",
            "age=42",
        ])
        .write_stdin(r#"{"targetingKey":"u-1","plan":"free"}"#));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let sent: Value = serde_json::from_str(&server.requests()[0].body).unwrap();
    assert_eq!(
        sent,
        serde_json::json!({"context": {"targetingKey": "u-1", "plan": "free", "age": 42}})
    );

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("ctx.json");
    std::fs::write(&bad, "{\n  \"a\": 1,\n}").unwrap();
    let out = run(ofrep()
        .args(["fetch", "http://127.0.0.1:1", "--context-file"])
        .arg(&bad));
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("line 3"), "{}", out.stderr);
}

#[test]
fn ofrep_headers_are_parsed_as_adr_0007_says_and_flags_win() {
    let server = Fixture::json("200 OK", &[("ETag", "\"v\"")], GOOD_BULK);
    let out = run(ofrep()
        .args(["fetch", &server.url(), "-H", "X-Override: from-flag"])
        .env(
            "OFREP_HEADERS",
            "Authorization=Bearer%20tok%3Den,X-Sig=a=b,X-Override=from-env,broken,=nokey",
        ));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let request = &server.requests()[0];
    assert_eq!(request.header("authorization"), Some("Bearer tok=en"));
    assert_eq!(request.header("x-sig"), Some("a=b"));
    assert_eq!(request.header("x-override"), Some("from-flag"));
    assert_eq!(
        out.stderr.matches("warning:").count(),
        2,
        "two malformed entries: {}",
        out.stderr
    );
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(request.method, "POST");
    assert_eq!(request.target, "/ofrep/v1/evaluate/flags");
}

/// A planted token must not appear anywhere in any output mode unless --show-secrets.
#[test]
fn secrets_are_redacted_in_every_output_mode() {
    const TOKEN: &str = "planted-s3cret-7f9a";
    let body = format!(
        r#"{{"flags":[],"eventStreams":[{{"type":"sse","url":"https://user:{TOKEN}@sse.example.com/s?token={TOKEN}"}},
        {{"type":"sse","endpoint":{{"requestUri":"/events?key={TOKEN}"}}}}]}}"#
    );
    let server = Fixture::json("200 OK", &[("ETag", "\"v\"")], &body);
    let auth = format!("Authorization: Bearer {TOKEN}");
    let api_key = format!("X-API-Key: {TOKEN}");
    for output in ["human", "json"] {
        let out = run(ofrep().args([
            "fetch",
            &server.url(),
            "-v",
            "-o",
            output,
            "-H",
            &auth,
            "-H",
            &api_key,
        ]));
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert!(
            !out.stdout.contains(TOKEN),
            "{output} stdout leaks the token:\n{}",
            out.stdout
        );
        assert!(
            !out.stderr.contains(TOKEN),
            "{output} stderr leaks the token:\n{}",
            out.stderr
        );
        assert!(
            out.stderr.contains("authorization: Bearer <redacted>"),
            "{}",
            out.stderr
        );
    }
    let env_out = run(ofrep()
        .args(["fetch", &server.url(), "-v"])
        .env("OFREP_HEADERS", format!("X-API-Key={TOKEN}")));
    assert!(!env_out.stderr.contains(TOKEN) && !env_out.stdout.contains(TOKEN));

    // The same run with --show-secrets shows them: the test above can fail.
    let shown = run(ofrep().args(["fetch", &server.url(), "-v", "--show-secrets", "-H", &auth]));
    assert!(shown.stdout.contains(TOKEN) && shown.stderr.contains(TOKEN));
}

#[test]
fn a_secret_in_the_target_url_is_redacted_in_errors() {
    let closed = fixture::ClosedPort::hold();
    let port = closed.addr.port();
    let out = run(ofrep().args([
        "fetch",
        &format!("http://u:pw-sekrit@127.0.0.1:{port}/?k=sekrit"),
    ]));
    assert_eq!(out.code, 2);
    assert!(!out.stderr.contains("sekrit"), "{}", out.stderr);
}

#[test]
fn bodies_that_are_not_json_not_utf8_or_cut_short_become_findings() {
    let json = ("Content-Type", "application/json");
    let not_json = Fixture::answer("200 OK", &[json, ("ETag", "\"v\"")], b"{\"flags\": [");
    let out = fetch_json(&not_json.url(), &[]);
    assert_eq!(out.code, 1);
    assert_eq!(out.json()["body"]["kind"], "notJson");
    assert!(out.finding_ids().contains(&"core-json".to_owned()));

    let not_utf8 = Fixture::answer("200 OK", &[json], b"{\"flags\":[],\"x\":\"\xff\"}");
    let out = fetch_json(&not_utf8.url(), &[]);
    assert_eq!(out.json()["body"]["kind"], "notUtf8");
    assert_eq!(out.code, 1);

    let truncated = Fixture::answer(
        "200 OK",
        &[json, ("Content-Length", "500")],
        b"{\"flags\":[",
    );
    let out = fetch_json(&truncated.url(), &[]);
    assert_eq!(out.json()["body"]["kind"], "truncated", "{}", out.stdout);
    assert_eq!(out.code, 1);
    let human = run(ofrep().args(["fetch", &truncated.url()]));
    assert!(
        human.stdout.contains("cut short after 10 bytes"),
        "{}",
        human.stdout
    );
}

#[test]
fn a_body_over_the_cap_is_an_error_that_names_the_limit() {
    let big = format!(r#"{{"flags":[],"pad":"{}"}}"#, "x".repeat(4096));
    let server = Fixture::json("200 OK", &[], &big);
    let out = run(ofrep().args(["fetch", &server.url(), "--max-body-size", "1KiB"]));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("1024-byte limit") && out.stderr.contains("--max-body-size"),
        "{}",
        out.stderr
    );
}

#[test]
fn help_shows_examples_and_exit_codes() {
    let out = run(ofrep().args(["fetch", "--help"]));
    assert_eq!(out.code, 0);
    assert!(out.stdout.contains("Examples:") && out.stdout.contains("Exit codes:"));
    assert!(out.stdout.contains("OFREP_HEADERS"));
}

#[test]
fn a_closed_stdout_pipe_ends_quietly() {
    use std::process::{Command as Std, Stdio};
    let mut child = Std::new(assert_cmd::cargo::cargo_bin("ofrep"))
        .args(["fetch", "--embedded", "--color", "never"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("Broken pipe"), "{stderr}");
}
