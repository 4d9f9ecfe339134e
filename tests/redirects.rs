//! Redirects are never followed silently (issue 11): the real binary against servers on
//! 127.0.0.1 whose endpoints answer 3xx. By default a redirect is reported and not followed;
//! with `-L` only a 307/308 within the same origin is followed, as a POST with its body and
//! credentials, without a Referer; a loop ends with exit 2 naming the host.

mod fixture;
mod routed;

use fixture::cli::{ofrep, run};
use routed::{Answer, Routed};

const BULK: &str = "/ofrep/v1/evaluate/flags";
const MOVED: &str = "/moved/ofrep/v1/evaluate/flags";
const GOOD: &str = r#"{"flags":[{"key":"a","value":true,"reason":"STATIC","variant":"on"}]}"#;

/// A server whose bulk endpoint answers `status` with `Location: location`, and whose
/// `/moved/` endpoint answers a good bulk evaluation.
fn redirecting(status: u16, location: &'static str) -> Routed {
    Routed::start(move |seen, _| {
        if seen.target.starts_with(MOVED) {
            Answer::json(200, GOOD).header("etag", "\"v1\"")
        } else {
            Answer::json(status, "").header("location", location)
        }
    })
}

#[test]
fn a_redirect_is_reported_not_followed_by_default_with_a_hint() {
    let server = redirecting(307, "/moved/ofrep/v1/evaluate/flags?token=sekrit");
    let out = run(ofrep().args(["fetch", &server.url()]));
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("307 Temporary Redirect"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("location  /moved/ofrep/v1/evaluate/flags?<redacted>"),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr
            .contains("does not follow redirects unless asked"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("-L/--location"), "{}", out.stderr);
    assert!(!format!("{}{}", out.stdout, out.stderr).contains("sekrit"));
    let seen = server.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");

    let json = run(ofrep().args(["fetch", &server.url(), "-o", "json"]));
    assert_eq!(json.code, 2);
    let document = json.json();
    assert_eq!(document["status"], 307);
    assert_eq!(
        document["headers"]["location"],
        "/moved/ofrep/v1/evaluate/flags?<redacted>"
    );
    assert!(document.get("redirectedTo").is_none());
}

#[test]
fn with_location_a_307_within_the_origin_is_followed_as_the_same_post() {
    let server = redirecting(307, MOVED);
    let out = run(ofrep().args([
        "fetch",
        &server.url(),
        "-L",
        "--targeting-key",
        "u-1",
        "-H",
        "Authorization: Bearer tok",
    ]));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(&format!(
            "followed (307/308, same origin) to {}{MOVED}",
            server.url()
        )),
        "{}",
        out.stdout
    );
    let seen = server.seen();
    assert_eq!(seen.len(), 2, "{seen:?}");
    let (first, second) = (&seen[0], &seen[1]);
    assert_eq!(second.target, MOVED);
    assert_eq!(second.method, "POST");
    assert_eq!(second.body, first.body);
    assert!(second.body.contains("u-1"), "{}", second.body);
    assert_eq!(second.header("authorization"), Some("Bearer tok"));
    assert_eq!(second.header("referer"), None);

    let json = run(ofrep().args(["fetch", &server.url(), "-L", "-o", "json"]));
    assert_eq!(json.code, 0);
    assert_eq!(
        json.json()["redirectedTo"],
        format!("{}{MOVED}", server.url())
    );
}

#[test]
fn with_location_a_301_to_a_post_endpoint_is_reported_not_turned_into_a_get() {
    for status in [301, 302, 303] {
        let server = redirecting(status, MOVED);
        let out = run(ofrep().args(["fetch", &server.url(), "-L"]));
        assert_eq!(out.code, 2, "{status}: {}{}", out.stdout, out.stderr);
        assert!(
            out.stderr.contains("would turn the POST into a GET"),
            "{}",
            out.stderr
        );
        assert_eq!(server.seen().len(), 1, "{status}: {:?}", server.seen());
    }
}

#[test]
fn with_location_a_redirect_to_another_origin_is_reported_and_sends_it_nothing() {
    let elsewhere = Routed::start(|_, _| Answer::json(200, GOOD));
    let target: &'static str = Box::leak(format!("{}{BULK}", elsewhere.url()).into_boxed_str());
    let server = redirecting(307, target);
    let out = run(ofrep().args([
        "fetch",
        &server.url(),
        "-L",
        "-H",
        "Authorization: Bearer tok",
    ]));
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("only within the same origin"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains(&elsewhere.url()), "{}", out.stderr);
    assert!(elsewhere.seen().is_empty(), "{:?}", elsewhere.seen());
}

#[test]
fn a_redirect_loop_ends_with_exit_2_naming_the_host() {
    let server = redirecting(308, BULK);
    let out = run(ofrep().args(["fetch", &server.url(), "-L"]));
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("redirect loop"), "{}", out.stderr);
    assert!(
        out.stderr.contains(&server.addr.to_string()),
        "{}",
        out.stderr
    );
    assert!(server.seen().len() <= 3, "{:?}", server.seen().len());
}

#[test]
fn watch_and_conform_do_not_follow_a_redirect_either() {
    let server = redirecting(307, MOVED);
    // Both stop at once on the redirect and say where it points and how to go on.
    for args in [
        &["watch", &server.url(), "--deadline", "5s"][..],
        &["conform", &server.url(), "--timeout", "2s"],
    ] {
        let out = run(ofrep().args(args));
        assert_eq!(out.code, 2, "{args:?}: {}{}", out.stdout, out.stderr);
        assert!(
            out.stderr.contains("answered 307")
                && out.stderr.contains("a redirect to")
                && out.stderr.contains(MOVED)
                && out.stderr.contains("-L/--location"),
            "{args:?}: {}",
            out.stderr
        );
    }
    assert!(
        server
            .seen()
            .iter()
            .all(|s| !s.target.starts_with("/moved/")),
        "{:?}",
        server.seen()
    );
}
