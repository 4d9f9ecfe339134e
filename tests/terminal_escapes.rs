//! Server text cannot drive the terminal (issue 11): a server that puts ESC sequences and other
//! control characters in flag keys, variants, reasons, error codes and details, metadata,
//! `eventStreams` types and header values. Human output and `-v` lines show them escaped
//! (`\u{1b}`), with or without colour; `-o json` still carries the exact strings. Then the same
//! for GitHub workflow commands (`##[error]…` anywhere in a line, `::error::…` at its start)
//! in every field, an SSE event and the headers: no line the runner reads holds one.

mod fixture;
mod routed;

use fixture::Fixture;
use fixture::cli::{CLEARED_ENV, Run, ofrep, run};

/// ESC (as JSON escapes: JSON strings cannot hold raw C0), raw C1 (U+009B, CSI) and raw DEL.
const HOSTILE: &str = concat!(
    r#"{"flags":["#,
    r#"{"key":"k\u001b[31m","value":"v\u001b]0;pwned\u0007","reason":"R\u001b[2J","#,
    "\"variant\":\"x\u{9b}1m\",\"metadata\":{\"m\\u001b[1m\":\"d\u{7f}\\u001b[0m\"}},",
    r#"{"key":"e\u001b[8m","errorCode":"E\u001b[1m","errorDetails":"D\u001b[3J"},"#,
    r#"{"key":"obj","value":{"nested\u001b":"\u001bx"},"reason":"STATIC"}],"#,
    r#""eventStreams":[{"type":"sse\u001b[5m","endpoint":{"requestUri":"/events"},"inactivityDelaySec":"\u001b[6n"}],"#,
    r#""metadata":{"flagSet\u001b[7m":"v\u001b[0m","n":1}}"#
);

/// C1 in header values (ESC itself is not a legal header byte, C1 in UTF-8 is).
const HEADERS: &[(&str, &str)] = &[
    ("ETag", "\"\u{9b}31m\""),
    ("X-Hostile", "a\u{9b}2Jb"),
    ("Cache-Control", "no-cache\u{9b}0m"),
];

fn hostile() -> Fixture {
    Fixture::json("200 OK", HEADERS, HOSTILE)
}

/// Every control character but the line end, with where it was.
fn controls(text: &str) -> Vec<(usize, char)> {
    text.char_indices()
        .filter(|(_, c)| c.is_control() && *c != '\n')
        .collect()
}

fn assert_no_controls(what: &str, out: &Run) {
    assert_none_found(&format!("{what}: control characters"), out, controls);
}

/// Panics naming `what` and the stream when `find` finds anything on stdout or stderr.
fn assert_none_found<T: std::fmt::Debug>(what: &str, out: &Run, find: fn(&str) -> Vec<T>) {
    for (stream, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        let found = find(text);
        assert!(found.is_empty(), "{what} on {stream}: {found:#?}\n{text}");
    }
}

#[test]
fn fetch_shows_server_text_with_its_control_characters_escaped() {
    let server = hostile();
    for colour in ["never", "always"] {
        let out = run(with_colour(colour).args(["fetch", &server.url(), "-v"]));
        // Colour on writes our own ESC sequences: take them out, then nothing may remain.
        let plain = Run {
            code: out.code,
            stdout: strip_sgr(&out.stdout),
            stderr: strip_sgr(&out.stderr),
        };
        assert_no_controls(&format!("fetch -v --color {colour}"), &plain);
        for escaped in [
            r"k\u{1b}[31m",
            r"R\u{1b}[2J",
            r"x\u{9b}1m",
            r"E\u{1b}[1m",
            r"D\u{1b}[3J",
            r"sse\u{1b}[5m",
            r"flagSet\u{1b}[7m",
            r"v\u{1b}[0m",
        ] {
            assert!(
                plain.stdout.contains(escaped),
                "{escaped} not on stdout:\n{}",
                plain.stdout
            );
        }
        assert!(plain.stderr.contains(r"a\u{9b}2Jb"), "{}", plain.stderr);
    }
    let out = run(ofrep().args(["fetch", &server.url()]));
    assert_no_controls("fetch", &out);
}

#[test]
fn fetch_json_still_carries_the_exact_strings() {
    let server = hostile();
    let out = run(ofrep().args(["fetch", &server.url(), "-o", "json"]));
    let document = out.json();
    assert_eq!(document["flags"][0]["key"], "k\u{1b}[31m");
    assert_eq!(document["flags"][0]["variant"], "x\u{9b}1m");
    assert_eq!(
        document["flags"][0]["metadata"]["m\u{1b}[1m"],
        "d\u{7f}\u{1b}[0m"
    );
    assert_eq!(document["flags"][1]["errorCode"], "E\u{1b}[1m");
    assert_eq!(document["eventStreams"][0]["type"], "sse\u{1b}[5m");
    assert_eq!(document["metadata"]["flagSet\u{1b}[7m"], "v\u{1b}[0m");
    assert_eq!(document["etag"], "\"\u{9b}31m\"");
    // JSON escapes C0 itself: no raw ESC on stdout.
    assert!(!out.stdout.contains('\u{1b}'));
}

#[test]
fn watch_shows_server_text_with_its_control_characters_escaped() {
    let server = hostile();
    let out = run(ofrep().args([
        "watch",
        &server.url(),
        "-v",
        "--deadline",
        "2s",
        "--until",
        "never=1",
    ]));
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert_no_controls("watch -v", &out);
    assert!(out.stdout.contains(r"\u{9b}31m"), "{}", out.stdout);
}

#[test]
fn conform_shows_evidence_and_messages_with_control_characters_escaped() {
    let server = routed::Routed::start(|_, _| {
        HEADERS.iter().fold(
            routed::Answer::json(200, HOSTILE),
            |answer, (name, value)| answer.header(leak_lowercase(name), value),
        )
    });
    let out = run(ofrep().args(["conform", &server.url(), "--timeout", "2s"]));
    assert!(out.stdout.contains("FAIL"), "{}{}", out.stdout, out.stderr);
    assert_no_controls("conform", &out);
    assert!(out.stdout.contains(r"\u{9b}"), "{}", out.stdout);
    // -v writes every exchange on stderr: the server's headers and bodies, escaped too.
    let out = run(ofrep().args(["-v", "conform", &server.url(), "--timeout", "2s"]));
    assert_no_controls("conform -v", &out);
    assert!(out.stderr.contains(r"\u{9b}"), "{}", out.stderr);
}

fn leak_lowercase(name: &str) -> &'static str {
    Box::leak(name.to_ascii_lowercase().into_boxed_str())
}

/// The binary as `ofrep()` runs it, with the colour choice given.
fn with_colour(colour: &str) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("ofrep").unwrap();
    for var in CLEARED_ENV {
        cmd.env_remove(var);
    }
    cmd.args(["--color", colour])
        .timeout(std::time::Duration::from_secs(120));
    cmd
}

/// `text` without SGR sequences (`ESC [ … m`), the only escapes `ofrep` writes itself.
fn strip_sgr(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("\u{1b}[") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        match after.find(|c: char| !(c.is_ascii_digit() || c == ';')) {
            Some(end) if after[end..].starts_with('m') => rest = &after[end + 1..],
            _ => {
                out.push_str("\u{1b}[");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The top-level error quotes what failed, here a trigger command's stderr: it is escaped too.
#[test]
fn the_error_line_escapes_what_it_quotes() {
    let out = run(ofrep().args([
        "conform",
        "--embedded",
        "--tags",
        "@id:sse-notify",
        "--trigger-cmd",
        r"printf '\033[31mboom\033]0;title\007' >&2; exit 1",
    ]));
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert_no_controls("conform with a failing trigger", &out);
    assert!(
        out.stderr.contains(r"\u{1b}[31mboom"),
        "the quoted stderr, escaped: {}",
        out.stderr
    );
}

// GitHub workflow commands (issue 11, and `conform` in CI, issue 13). The runner reads
// `##[name]value` anywhere in a line of a step's output and `::name::value` after its leading
// whitespace, for `error`, `warning`, `add-mask`, `stop-commands` (which silences our own
// annotations) and the rest; and it looks with a culture-sensitive search that skips ESC, soft
// hyphens and other characters that weigh nothing.

/// What the runner's search sees of a line: the line without what it skips (controls, ESC
/// among them, and the invisible format characters used below).
fn as_the_runner_reads(line: &str) -> String {
    line.chars()
        .filter(|c| !(c.is_control() || ['\u{ad}', '\u{200d}', '\u{feff}'].contains(c)))
        .collect()
}

/// The workflow commands the runner would find in `text`, but for our own annotations (which
/// start a line with `::error title=`, `::warning title=` or `::notice title=`).
fn foreign_commands(text: &str) -> Vec<String> {
    text.lines()
        .map(as_the_runner_reads)
        .filter(|line| {
            let ours = ["::error title=", "::warning title=", "::notice title="]
                .iter()
                .any(|start| line.starts_with(start));
            line.contains("##[") || (line.trim_start().starts_with("::") && !ours)
        })
        .collect()
}

fn assert_no_foreign_commands(what: &str, out: &Run) {
    assert_none_found(
        &format!("{what}: commands the runner would read"),
        out,
        foreign_commands,
    );
}

/// Flag keys, values, variants, reasons, error codes and details, metadata, the stream type:
/// each holds a command, plain, split by an invisible character or by ESC, or at its start
/// after an indent. Keys ending in `##` sit right before our colour codes (ESC, then `[`).
fn commands_body(round: usize) -> String {
    serde_json::json!({
        "flags": [
            {"key": "k##", "value": format!("##[error]value {round}"), "reason": "R##[stop-commands]tok",
             "variant": "#\u{ad}#[notice]variant", "metadata": {"::error::m": "x#\u{200d}#[add-mask]meta"}},
            {"key": "::warning::key", "value": true, "reason": "STATIC", "variant": "#\u{feff}#[debug]v"},
            {"key": "e##[error]key", "errorCode": "E##[error]code", "errorDetails": "D#\u{1b}#[error]details"},
        ],
        "eventStreams": [
            {"type": "sse", "endpoint": {"requestUri": "/events"}},
            {"type": "sse##[error]type", "endpoint": {"requestUri": "/events"}},
        ],
        "metadata": {"flagSet": "##[group]set", "::notice::n": 1},
    })
    .to_string()
}

const COMMAND_HEADERS: &[(&str, &str)] = &[
    ("etag", "\"##[error]etag\""),
    ("x-hostile", "##[add-mask]header"),
    ("cache-control", "no-cache#\u{ad}#[warning]header"),
];

/// Answers every bulk request with [`commands_body`] (a value that changes each time) and the
/// headers above; `GET /events` with one event full of commands, then the stream ends.
fn command_server() -> routed::Routed {
    let round = std::sync::atomic::AtomicUsize::new(0);
    routed::Routed::start(move |seen, _| {
        if seen.method == "GET" {
            let events = concat!(
                ": ##[debug]comment\n",
                "id: ##[stop-commands]id\n",
                "event: ##[warning]type\n",
                "data: {\"type\":\"refetchEvaluation\",\"note\":\"##[error]data\"}\n\n",
            );
            let mut answer = routed::Answer::json(200, events);
            answer.headers = vec![("content-type", b"text/event-stream".to_vec())];
            return answer;
        }
        let n = round.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        COMMAND_HEADERS.iter().fold(
            routed::Answer::json(200, commands_body(n)),
            |answer, (name, value)| answer.header(name, value),
        )
    })
}

#[test]
fn fetch_writes_no_workflow_command_a_server_put_in_its_answer() {
    let server = command_server();
    for colour in ["never", "always"] {
        let out = run(with_colour(colour).env("GITHUB_ACTIONS", "true").args([
            "fetch",
            &server.url(),
            "-v",
        ]));
        assert_no_foreign_commands(&format!("fetch -v --color {colour}"), &out);
        let plain = strip_sgr(&out.stdout);
        for escaped in [
            r"#\u{23}[error]value",
            r"R#\u{23}[stop-commands]tok",
            "#\u{ad}\\u{23}[notice]variant",
            r"k#\u{23}",
            r"\u{3a}:warning::key",
            r"\u{3a}:notice::n",
            r"E#\u{23}[error]code",
            r"D#\u{1b}\u{23}[error]details",
            r"sse#\u{23}[error]type",
            r"#\u{23}[group]set",
        ] {
            assert!(plain.contains(escaped), "{escaped} not on stdout:\n{plain}");
        }
        assert!(
            out.stderr.contains(r"#\u{23}[add-mask]header"),
            "{}",
            out.stderr
        );
    }
    let out = run(ofrep().args(["fetch", &server.url(), "-o", "json"]));
    assert_no_foreign_commands("fetch -o json", &out);
    let document = out.json();
    // Parsed, the document holds the server's strings exactly.
    assert_eq!(document["flags"][0]["reason"], "R##[stop-commands]tok");
    assert_eq!(document["flags"][0]["variant"], "#\u{ad}#[notice]variant");
    assert_eq!(document["flags"][1]["key"], "::warning::key");
    assert_eq!(document["etag"], "\"##[error]etag\"");
    assert!(
        out.stdout.contains(r"R#\u0023[stop-commands]tok"),
        "{}",
        out.stdout
    );
}

/// `watch -v -o FORMAT` of [`command_server`] until a 3 s deadline, checked for commands.
fn watch_for_a_while(format: &str) -> Run {
    let server = command_server();
    let out = run(ofrep().args([
        "watch",
        &server.url(),
        "-o",
        format,
        "-v",
        "--deadline",
        "3s",
        "--until",
        "never=1",
    ]));
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert_no_foreign_commands(&format!("watch -o {format}"), &out);
    out
}

#[test]
fn watch_json_writes_no_workflow_command_a_server_put_in_its_answers_or_events() {
    let out = watch_for_a_while("json");
    let lines: Vec<serde_json::Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let of = |kind: &'static str| lines.iter().filter(move |l| l["type"] == kind);
    // The snapshot's flags go out as received but for the `#`; parsed they are the same.
    let snapshot = of("snapshot").next().expect("a snapshot line");
    assert_eq!(snapshot["flags"][0]["variant"], "#\u{ad}#[notice]variant");
    let event = of("event").next().expect("an event line");
    assert_eq!(event["id"], "##[stop-commands]id");
    assert_eq!(
        event["data"],
        r###"{"type":"refetchEvaluation","note":"##[error]data"}"###
    );
    assert_eq!(
        of("comment").next().expect("a comment line")["text"],
        " ##[debug]comment"
    );
    let change = of("change").next().expect("a change line");
    assert!(change.to_string().contains("##[error]value"), "{change}");
}

#[test]
fn watch_human_writes_no_workflow_command_a_server_put_in_its_answers_or_events() {
    let out = watch_for_a_while("human");
    assert!(
        out.stdout.contains(r"#\u{23}[error]value"),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr.contains(r"#\u{23}[warning]type"),
        "{}",
        out.stderr
    );
}

#[test]
fn conform_writes_no_workflow_command_a_server_put_in_its_answers() {
    let server = command_server();
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
        assert_eq!(out.code, 1, "-o {format}: {}{}", out.stdout, out.stderr);
        assert_no_foreign_commands(&format!("conform -o {format}"), &out);
        // Our annotations are there, with the server's text in them escaped.
        assert!(
            out.stderr.lines().any(|l| l.starts_with("::error title=")),
            "-o {format}: {}",
            out.stderr
        );
        assert!(
            out.stderr
                .lines()
                .any(|l| l.starts_with("::") && l.contains(r"#\u{23}[")),
            "-o {format}: no annotation quotes the server: {}",
            out.stderr
        );
        // ...and the server's strings reached the report: escaped for people, exact in JSON.
        let (report, quoted) = match format {
            "json" => (out.json().to_string(), "R##[stop-commands]tok"),
            _ => (out.stdout.clone(), r"R#\u{23}[stop-commands]tok"),
        };
        assert!(
            report.contains(quoted),
            "-o {format}: {quoted} not in:\n{report}"
        );
    }
}
