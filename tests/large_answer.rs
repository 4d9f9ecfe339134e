//! A large bulk answer costs `fetch` a few times its size in memory, not dozens (issue 11): the
//! real binary against a server on 127.0.0.1 that sends a ~20 MB answer, its peak RSS read from
//! the kernel's account of the child (`wait4`). Alone in its file so that no other child of this
//! process is running at the same time.

mod fixture;

use std::process::{Command, Stdio};

use fixture::Fixture;
use fixture::cli::CLEARED_ENV;

/// A bulk answer of about 20 MB: flags with metadata, a few of them errors.
fn large_body() -> String {
    let mut items = Vec::new();
    for i in 0..96_000 {
        let metadata = format!(
            r#"{{"owner":"team-{}","description":"Generated flag number {i} for the large-answer test","ticket":"FF-{i}","rollout":0.{}}}"#,
            i % 97,
            i % 10
        );
        items.push(if i % 50 == 49 {
            format!(
                r#"{{"key":"flag-{i:06}","errorCode":"TARGETING_KEY_MISSING","errorDetails":"no key","metadata":{metadata}}}"#
            )
        } else {
            format!(
                r#"{{"key":"flag-{i:06}","value":"text-{i}","reason":"STATIC","variant":"on","metadata":{metadata}}}"#
            )
        });
    }
    format!(
        r#"{{"flags":[{}],"metadata":{{"flagSetId":"large"}}}}"#,
        items.join(",")
    )
}

/// Runs `ofrep fetch URL extra…` to completion; returns its exit code, its stdout and its peak
/// resident set size in bytes.
fn fetch_peak_rss(url: &str, extra: &[&str]) -> (i32, String, u64) {
    let stdout = tempfile::tempfile().unwrap();
    let mut command = Command::new(assert_cmd::cargo::cargo_bin("ofrep"));
    for var in CLEARED_ENV {
        command.env_remove(var);
    }
    // Reaped below by `wait4`, which also gives its resource usage; `Child::wait` cannot.
    #[allow(clippy::zombie_processes)]
    let child = command
        .args(["--color", "never", "fetch", url, "--timeout", "60s"])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(stdout.try_clone().unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    let mut status = 0;
    // SAFETY: an all-zero `rusage` is a valid value of that plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own child, not yet reaped; both pointers are to live locals.
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(reaped, pid, "wait4 failed");
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    let mut stdout = stdout;
    let mut text = String::new();
    use std::io::{Read, Seek};
    stdout.rewind().unwrap();
    stdout.read_to_string(&mut text).unwrap();
    // Linux reports ru_maxrss in KiB.
    let peak = u64::try_from(usage.ru_maxrss).unwrap() * 1024;
    (code, text, peak)
}

#[test]
fn a_20_mb_bulk_answer_costs_fetch_less_than_8_times_its_size() {
    let body = large_body();
    let size = body.len() as u64;
    assert!(size > 18_000_000, "the body is {size} bytes");
    let server = Fixture::json("200 OK", &[("ETag", "\"large\"")], &body);

    for extra in [&[][..], &["-o", "json"][..]] {
        let (code, stdout, peak) = fetch_peak_rss(&server.url(), extra);
        assert_eq!(code, 0, "{extra:?}: {}", &stdout[..stdout.len().min(2000)]);
        assert!(
            peak < 8 * size,
            "{extra:?}: peak RSS {peak} bytes for a {size}-byte answer ({:.1}x)",
            peak as f64 / size as f64
        );
        if extra.is_empty() {
            assert!(stdout.contains("flags (96000)"), "{}", &stdout[..2000]);
        } else {
            let document: serde_json::Value = serde_json::from_str(&stdout).unwrap();
            assert_eq!(document["flags"].as_array().unwrap().len(), 96_000);
            assert_eq!(document["flags"][95_999]["key"], "flag-095999");
        }
    }
}
