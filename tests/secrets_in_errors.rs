//! Secrets in every error path (issue 11): a base URL without a scheme but with userinfo or a
//! query, and an invalid `--trigger-url`, are echoed redacted like every other URL. The real
//! binary; nothing here needs a server (each fails before any request).

mod fixture;

use fixture::cli::{ofrep, run};

fn assert_no_secret(out: &fixture::cli::Run) {
    let all = format!("{}{}", out.stdout, out.stderr);
    for secret in ["pw", "sekrit"] {
        assert!(!all.contains(secret), "`{secret}` was echoed:\n{all}");
    }
    assert!(all.contains("<redacted>"), "{all}");
}

#[test]
fn a_base_url_without_a_scheme_is_echoed_without_its_userinfo_or_query() {
    for url in [
        "user:pw@127.0.0.1:1/?t=sekrit",
        "user:pw@127.0.0.1:1/",
        "127.0.0.1:1/?t=sekrit",
    ] {
        for command in ["fetch", "watch", "conform"] {
            let out = run(ofrep().args([command, url]));
            assert_eq!(out.code, 2, "{command} {url}: {}", out.stderr);
            assert_no_secret(&out);
        }
        let out = run(ofrep().args(["fetch"]).env("OFREP_ENDPOINT", url));
        assert_eq!(out.code, 2, "OFREP_ENDPOINT={url}: {}", out.stderr);
        assert_no_secret(&out);
    }
}

#[test]
fn an_invalid_trigger_url_is_echoed_redacted() {
    for trigger in [
        "ftp://user:pw@127.0.0.1:1/change?t=sekrit",
        "http://user:pw@[127.0.0.1/change?t=sekrit",
        "user:pw@127.0.0.1:1/change?t=sekrit",
    ] {
        let out = run(ofrep().args(["conform", "--embedded", "--trigger-url", trigger]));
        assert_eq!(out.code, 2, "{trigger}: {}", out.stderr);
        assert!(out.stderr.contains("--trigger-url"), "{}", out.stderr);
        assert_no_secret(&out);
    }
}
