//! Server text cannot drive the terminal (issue 11): a server that puts ESC sequences and other
//! control characters in flag keys, variants, reasons, error codes and details, metadata,
//! `eventStreams` types and header values. Human output and `-v` lines show them escaped
//! (`\u{1b}`), with or without colour; `-o json` still carries the exact strings.

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
    for (stream, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        let found = controls(text);
        assert!(
            found.is_empty(),
            "{what}: control characters on {stream} at {found:?}:\n{text}"
        );
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
