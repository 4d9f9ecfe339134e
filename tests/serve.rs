//! `ofrep serve` against real HTTP on 127.0.0.1: in-process servers via `Server::start`, and the
//! real binary where process behaviour (the listening line, exit codes) is the point.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ofrep::protocol::etag::EtagVerdict;
use ofrep::serve::{Fault, ServeConfig, ServeEvent};
use serde_json::{Value, json};
use support::{BULK, EVENTS, TestServer, header, json, start, start_default};

const SHORT: Duration = Duration::from_millis(300);
const LONG: Duration = Duration::from_secs(3);

fn with_faults(faults: &[&str]) -> ServeConfig {
    let mut config = ServeConfig::embedded();
    config.faults = faults.iter().map(|f| Fault::parse(f).unwrap()).collect();
    config
}

// ---------------------------------------------------------------- bulk, ETag and 304

#[tokio::test]
async fn bulk_answers_every_demo_flag_with_a_strong_etag_and_an_event_stream() {
    let server = start_default().await;
    let response = server.bulk(json!({"plan": "premium"}), &[]).await;
    assert_eq!(response.status(), 200);
    assert!(
        header(&response, "content-type")
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(
        EtagVerdict::of(header(&response, "etag").as_deref()),
        EtagVerdict::Strong
    );
    let body = json(response).await;
    let flags = body["flags"].as_array().unwrap();
    assert_eq!(flags.len(), 8);
    for item in flags {
        assert!(item["key"].is_string());
        assert!(
            item["reason"].is_string() ^ item["errorCode"].is_string(),
            "{item}"
        );
    }
    let premium = flags
        .iter()
        .find(|f| f["key"] == "premium-support")
        .unwrap();
    assert_eq!(premium["reason"], "TARGETING_MATCH");
    assert_eq!(
        body["eventStreams"],
        json!([{"type": "sse", "endpoint": {"requestUri": "/ofrep/v1/events"}, "inactivityDelaySec": 120}])
    );
    assert_eq!(body["metadata"]["flagSetId"], "ofrep-demo");
}

#[tokio::test]
async fn a_public_url_advertises_the_stream_in_url_form() {
    let mut config = ServeConfig::embedded();
    config.public_url = Some(url::Url::parse("https://flags.example.com/base/").unwrap());
    config.inactivity_delay = 30;
    let server = start(config).await;
    let body = json(server.bulk(json!({}), &[]).await).await;
    assert_eq!(
        body["eventStreams"],
        json!([{"type": "sse", "url": "https://flags.example.com/base/ofrep/v1/events", "inactivityDelaySec": 30}])
    );
}

#[tokio::test]
async fn a_matching_if_none_match_gives_a_304_without_body_that_repeats_the_etag() {
    let server = start_default().await;
    let etag = server.etag(json!({})).await;
    assert_eq!(
        server.etag(json!({})).await,
        etag,
        "same flags and context, same ETag"
    );
    let response = server.bulk(json!({}), &[("if-none-match", &etag)]).await;
    assert_eq!(response.status(), 304);
    assert_eq!(header(&response, "etag"), Some(etag));
    assert!(response.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn if_none_match_honours_lists_weak_tags_and_star() {
    let server = start_default().await;
    let etag = server.etag(json!({})).await;
    let list = format!("\"nope\", {etag}, \"other\"");
    let weak = format!("W/{etag}");
    for inm in [list.as_str(), weak.as_str(), "*"] {
        let response = server.bulk(json!({}), &[("if-none-match", inm)]).await;
        assert_eq!(response.status(), 304, "If-None-Match: {inm}");
    }
    // The list may also arrive as several header lines.
    let request = server
        .client
        .post(server.url(BULK))
        .header("content-type", "application/json")
        .header("if-none-match", "\"nope\"")
        .header("if-none-match", etag.as_str())
        .body("{}");
    assert_eq!(request.send().await.unwrap().status(), 304);
}

#[tokio::test]
async fn a_stale_or_made_up_etag_gives_a_200_with_the_current_etag() {
    let server = start_default().await;
    let etag = server.etag(json!({})).await;
    for inm in ["\"made-up\"", "W/\"also-made-up\"", "garbage", ""] {
        let response = server.bulk(json!({}), &[("if-none-match", inm)]).await;
        assert_eq!(response.status(), 200, "If-None-Match: {inm}");
        assert_eq!(header(&response, "etag").as_ref(), Some(&etag));
    }
}

#[tokio::test]
async fn a_context_that_evaluates_differently_never_gets_a_304_for_another_contexts_etag() {
    let server = start_default().await;
    let free = server.etag(json!({"plan": "free"})).await;
    let premium = server.etag(json!({"plan": "premium"})).await;
    assert_ne!(free, premium);
    let response = server
        .bulk(json!({"plan": "premium"}), &[("if-none-match", &free)])
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "etag"), Some(premium));
}

#[tokio::test]
async fn after_a_change_the_etag_changes_and_the_old_one_gives_200() {
    let server = start_default().await;
    let before = server.etag(json!({})).await;
    server.server.change().unwrap();
    let response = server.bulk(json!({}), &[("if-none-match", &before)]).await;
    assert_eq!(response.status(), 200);
    assert_ne!(header(&response, "etag"), Some(before));
}

#[tokio::test]
async fn a_differing_flag_config_etag_forces_a_200_and_query_parameters_alone_never_give_a_304() {
    let server = start_default().await;
    let etag = server.etag(json!({})).await;
    let token = server.server.config_token();
    let stale = format!("{BULK}?flagConfigEtag=%22old%22&flagConfigLastModified=1");
    // protocol#84: the configuration moved on, so a matching If-None-Match must not win.
    let response = server
        .bulk_at(&stale, json!({}), &[("if-none-match", &etag)])
        .await;
    assert_eq!(response.status(), 200);
    // The current token (quoted or not) leaves the If-None-Match decision alone.
    for given in [token.clone(), token.trim_matches('"').to_owned()] {
        let path = format!(
            "{BULK}?flagConfigEtag={}",
            url::form_urlencoded::byte_serialize(given.as_bytes()).collect::<String>()
        );
        let response = server
            .bulk_at(&path, json!({}), &[("if-none-match", &etag)])
            .await;
        assert_eq!(response.status(), 304, "flagConfigEtag={given}");
        let response = server.bulk_at(&path, json!({}), &[]).await;
        assert_eq!(
            response.status(),
            200,
            "the parameters alone are no validator"
        );
    }
    let response = server
        .bulk_at(
            &format!("{BULK}?flagConfigLastModified=2026-01-01T00:00:00Z&x=%ZZ"),
            json!({}),
            &[],
        )
        .await;
    assert_eq!(
        response.status(),
        200,
        "odd query strings are never an error"
    );
}

// ---------------------------------------------------------------- single flag

#[tokio::test]
async fn single_flag_answers_found_not_found_and_error_items() {
    let server = start_default().await;
    let found = server
        .bulk_at(
            &format!("{BULK}/premium-support"),
            json!({"email": "a@example.com"}),
            &[],
        )
        .await;
    assert_eq!(found.status(), 200);
    assert_eq!(
        json(found).await,
        json!({"key": "premium-support", "value": true, "variant": "yes", "reason": "TARGETING_MATCH",
               "metadata": {"flagSetId": "ofrep-demo", "version": "1"}})
    );
    let missing = server
        .bulk_at(&format!("{BULK}/no-such-flag"), json!({}), &[])
        .await;
    assert_eq!(missing.status(), 404);
    let body = json(missing).await;
    assert_eq!(
        (body["key"].clone(), body["errorCode"].clone()),
        (json!("no-such-flag"), json!("FLAG_NOT_FOUND"))
    );
    let broken = server
        .bulk_at(&format!("{BULK}/broken-rule"), json!({}), &[])
        .await;
    assert_eq!(broken.status(), 400);
    let body = json(broken).await;
    assert_eq!(
        (body["key"].clone(), body["errorCode"].clone()),
        (json!("broken-rule"), json!("GENERAL"))
    );
    let disabled = json(
        server
            .bulk_at(&format!("{BULK}/legacy-search"), json!({}), &[])
            .await,
    )
    .await;
    assert_eq!(
        disabled,
        json!({"key": "legacy-search", "reason": "DISABLED", "metadata": {"flagSetId": "ofrep-demo", "version": "1"}})
    );
}

// ---------------------------------------------------------------- bad input

/// (method, path, content type, body, status, errorCode or None for a general error, has `key`)
type BadInput<'a> = (
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    u16,
    Option<&'a str>,
    bool,
);

#[tokio::test]
async fn bad_input_gets_the_right_status_and_a_json_error_body() {
    let mut config = ServeConfig::embedded();
    config.max_body_size = 1024;
    let server = start(config).await;
    let huge = format!("{{\"context\": {{\"a\": \"{}\"}}}}", "x".repeat(4096));
    let single = format!("{BULK}/new-checkout");
    let cases: &[BadInput] = &[
        (
            "POST",
            BULK,
            "application/json",
            "{\"context\": ",
            400,
            Some("PARSE_ERROR"),
            false,
        ),
        (
            "POST",
            BULK,
            "application/json",
            "[1, 2]",
            400,
            Some("PARSE_ERROR"),
            false,
        ),
        (
            "POST",
            BULK,
            "text/plain",
            "{}",
            400,
            Some("PARSE_ERROR"),
            false,
        ),
        (
            "POST",
            BULK,
            "application/json",
            "{\"context\": [1]}",
            400,
            Some("INVALID_CONTEXT"),
            false,
        ),
        (
            "POST",
            BULK,
            "application/json",
            &huge,
            413,
            Some("PARSE_ERROR"),
            false,
        ),
        (
            "POST",
            &single,
            "application/json",
            "nope",
            400,
            Some("PARSE_ERROR"),
            true,
        ),
        (
            "POST",
            &single,
            "application/json",
            "{\"context\": \"x\"}",
            400,
            Some("INVALID_CONTEXT"),
            true,
        ),
        (
            "POST",
            &single,
            "application/json",
            &huge,
            413,
            Some("PARSE_ERROR"),
            true,
        ),
        (
            "POST",
            "ofrep/v1/evaluate/flags/%FF",
            "application/json",
            "{}",
            400,
            Some("PARSE_ERROR"),
            true,
        ),
        ("GET", BULK, "application/json", "", 405, None, false),
        ("DELETE", &single, "application/json", "", 405, None, false),
        ("POST", EVENTS, "application/json", "", 405, None, false),
        (
            "GET",
            "nothing/here",
            "application/json",
            "",
            404,
            None,
            false,
        ),
        (
            "POST",
            "control/change",
            "application/json",
            "",
            200,
            None,
            false,
        ),
        (
            "POST",
            "control/change",
            "application/json",
            "{",
            400,
            None,
            false,
        ),
    ];
    for (method, path, content_type, body, status, code, keyed) in cases {
        let response = server
            .client
            .request(method.parse().unwrap(), server.url(path))
            .header("content-type", *content_type)
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let what = format!("{method} /{path} with {:.20}", body);
        assert_eq!(response.status().as_u16(), *status, "{what}");
        assert_eq!(
            header(&response, "content-type").as_deref(),
            Some("application/json"),
            "{what}"
        );
        let answer = json(response).await;
        match code {
            Some(code) => assert_eq!(answer["errorCode"], *code, "{what}: {answer}"),
            None if *status >= 400 => {
                assert!(answer["errorDetails"].is_string(), "{what}: {answer}")
            }
            None => {}
        }
        assert_eq!(answer.get("key").is_some(), *keyed, "{what}: {answer}");
    }
    // A chunked body with no Content-Length is bounded too.
    let chunks =
        futures_util::stream::iter((0..8).map(|_| Ok::<_, std::io::Error>(vec![b' '; 512])));
    let response = server
        .client
        .post(server.url(BULK))
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    // And everyone else is still served.
    assert_eq!(server.bulk(json!({}), &[]).await.status(), 200);
}

#[tokio::test]
async fn the_control_endpoints_are_absent_unless_enabled() {
    let mut config = ServeConfig::embedded();
    config.control = false;
    let server = start(config).await;
    assert_eq!(server.control_change("").await.status(), 404);
}

// ---------------------------------------------------------------- CORS and auth

#[tokio::test]
async fn preflights_allow_the_ofrep_headers_and_every_response_exposes_the_etag() {
    let server = start_default().await;
    let preflight = server
        .client
        .request(reqwest::Method::OPTIONS, server.url(BULK))
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type, if-none-match",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204);
    assert_eq!(
        header(&preflight, "access-control-allow-origin").as_deref(),
        Some("https://app.example.com")
    );
    let allowed = header(&preflight, "access-control-allow-headers")
        .unwrap()
        .to_ascii_lowercase();
    for name in [
        "content-type",
        "if-none-match",
        "authorization",
        "x-api-key",
        "last-event-id",
    ] {
        assert!(allowed.contains(name), "{name} in {allowed}");
    }
    assert!(
        header(&preflight, "access-control-allow-methods")
            .unwrap()
            .contains("POST")
    );
    let response = server
        .bulk(json!({}), &[("origin", "https://app.example.com")])
        .await;
    assert_eq!(
        header(&response, "access-control-expose-headers").as_deref(),
        Some("ETag")
    );
    assert_eq!(
        header(&response, "access-control-allow-origin").as_deref(),
        Some("https://app.example.com")
    );
    let not_found = server
        .client
        .get(server.url("nowhere"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        header(&not_found, "access-control-allow-origin").as_deref(),
        Some("*")
    );
}

#[tokio::test]
async fn require_auth_refuses_requests_without_the_token() {
    let mut config = ServeConfig::embedded();
    config.require_auth = Some("s3cret".to_owned());
    let mut server = start(config).await;
    for headers in [
        vec![],
        vec![("authorization", "Bearer wrong")],
        vec![("x-api-key", "s3cre")],
    ] {
        let response = server.bulk(json!({}), &headers).await;
        assert_eq!(response.status(), 401, "{headers:?}");
        assert!(json(response).await["errorDetails"].is_string());
    }
    assert_eq!(
        server
            .bulk(json!({}), &[("authorization", "Bearer s3cret")])
            .await
            .status(),
        200
    );
    assert_eq!(
        server
            .bulk(json!({}), &[("x-api-key", "s3cret")])
            .await
            .status(),
        200
    );
    assert_eq!(server.stream(&[]).await.status, 401);
    assert_eq!(server.stream(&[("x-api-key", "s3cret")]).await.status, 200);
    let preflight = server
        .client
        .request(reqwest::Method::OPTIONS, server.url(BULK))
        .header("origin", "https://app.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204, "preflights carry no credentials");
    // The token never reaches the log.
    let mut logged = Vec::new();
    while let Ok(event) = server.events.try_recv() {
        logged.push(format!("{event:?}"));
    }
    assert!(!logged.is_empty() && logged.iter().all(|line| !line.contains("s3cret")));
}

// ---------------------------------------------------------------- the event stream

#[tokio::test]
async fn a_change_sends_one_message_event_with_the_configuration_token() {
    let server = start_default().await;
    let mut stream = server.stream(&[]).await;
    assert_eq!(stream.status, 200);
    assert_eq!(stream.content_type.as_deref(), Some("text/event-stream"));
    let first = stream.next(LONG).await.unwrap();
    assert_eq!(first.retry.as_deref(), Some("2000"));
    let changed = server
        .control_change(r#"{"flag": "banner-text", "variant": "sale"}"#)
        .await;
    assert_eq!(changed.status(), 200);
    let change = json(changed).await;
    assert_eq!(change["changed"], true);
    let event = stream
        .next_event(LONG)
        .await
        .expect("an event after the change");
    assert_eq!(event.event.as_deref(), Some("message"));
    assert_eq!(event.id.as_deref(), Some("1"));
    let data: Value = serde_json::from_str(event.data.as_deref().unwrap()).unwrap();
    assert_eq!(data["type"], "refetchEvaluation");
    assert_eq!(data["etag"], server.server.config_token());
    assert_eq!(data["etag"], change["etag"]);
    assert!(data["lastModified"].as_u64().unwrap() > 1_700_000_000);
    // The refetch it triggers sees the new state at once.
    let path = format!(
        "{BULK}?flagConfigEtag={}",
        url::form_urlencoded::byte_serialize(data["etag"].as_str().unwrap().as_bytes())
            .collect::<String>()
    );
    let body = json(server.bulk_at(&path, json!({}), &[]).await).await;
    let banner = body["flags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key"] == "banner-text")
        .unwrap()
        .clone();
    assert_eq!(banner["variant"], "sale");
    // Setting the same variant again changes nothing and sends nothing.
    let again = json(
        server
            .control_change(r#"{"flag": "banner-text", "variant": "sale"}"#)
            .await,
    )
    .await;
    assert_eq!(again["changed"], false);
    assert!(stream.next_event(SHORT).await.is_none());
}

#[tokio::test]
async fn control_change_reports_unknown_flags_and_variants() {
    let server = start_default().await;
    assert_eq!(
        server
            .control_change(r#"{"flag": "nope", "variant": "x"}"#)
            .await
            .status(),
        404
    );
    assert_eq!(
        server
            .control_change(r#"{"flag": "theme", "variant": "x"}"#)
            .await
            .status(),
        400
    );
    assert_eq!(
        server.control_change(r#"{"flag": "theme"}"#).await.status(),
        400
    );
    let change = json(server.control_change("").await).await;
    assert_eq!(
        (change["flag"].clone(), change["variant"].clone()),
        (json!("new-checkout"), json!("on"))
    );
}

#[tokio::test]
async fn missed_events_are_replayed_after_last_event_id() {
    let server = start_default().await;
    for _ in 0..3 {
        server.server.change().unwrap();
    }
    let mut stream = server.stream(&[("last-event-id", "1")]).await;
    let ids: Vec<String> = [stream.next_event(LONG).await, stream.next_event(LONG).await]
        .into_iter()
        .map(|f| f.expect("a replayed event").id.unwrap())
        .collect();
    assert_eq!(ids, ["2", "3"]);
    assert!(
        stream.next_event(SHORT).await.is_none(),
        "nothing beyond the missed events"
    );
    let mut fresh = server.stream(&[]).await;
    assert!(
        fresh.next_event(SHORT).await.is_none(),
        "no replay without Last-Event-ID"
    );
}

#[tokio::test]
async fn idle_streams_get_keepalive_comments() {
    let mut config = ServeConfig::embedded();
    config.keepalive = Duration::from_millis(100);
    let server = start(config).await;
    let mut stream = server.stream(&[]).await;
    let _retry = stream.next(LONG).await.unwrap();
    let frame = stream.next(LONG).await.unwrap();
    assert_eq!(frame.comments, ["keepalive"]);
}

#[tokio::test]
async fn dropping_streams_closes_every_open_one() {
    let mut server = start_default().await;
    let mut a = server.stream(&[]).await;
    let mut b = server.stream(&[]).await;
    let _ = (a.next(LONG).await, b.next(LONG).await);
    assert_eq!(drop_streams(&server).await, 2);
    assert!(a.ends_within(LONG).await && b.ends_within(LONG).await);
    let logged = server
        .wait_for(LONG, |e| {
            matches!(e, ServeEvent::StreamsDropped { count: 2 }).then_some(())
        })
        .await;
    assert!(logged.is_some());
}

#[tokio::test]
async fn streams_beyond_the_bound_get_a_503_and_the_server_keeps_serving() {
    let mut config = ServeConfig::embedded();
    config.max_streams = 2;
    let server = start(config).await;
    let first = server.stream(&[]).await;
    let _second = server.stream(&[]).await;
    let refused = server.stream(&[]).await;
    assert_eq!(refused.status, 503);
    assert_eq!(refused.content_type.as_deref(), Some("application/json"));
    assert_eq!(server.bulk(json!({}), &[]).await.status(), 200);
    drop(first);
    // The server notices the closed stream on its next write or wake-up; poll, bounded.
    let mut admitted = false;
    for _ in 0..50 {
        let stream = server.stream(&[]).await;
        if stream.status == 200 {
            admitted = true;
            break;
        }
        server.server.change().unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(admitted, "a closed stream frees its place");
}

#[tokio::test]
async fn demo_mode_changes_a_flag_every_interval() {
    let mut config = ServeConfig::embedded();
    config.demo = Some(Duration::from_millis(100));
    let mut server = start(config).await;
    let mut stream = server.stream(&[]).await;
    let first = stream.next_event(LONG).await.expect("a demo change");
    let second = stream.next_event(LONG).await.expect("another demo change");
    assert_ne!(
        first.data, second.data,
        "each change is a new configuration"
    );
    let changed = server
        .wait_for(LONG, |e| match e {
            ServeEvent::Changed { flag, .. } => Some(flag.clone()),
            _ => None,
        })
        .await;
    assert_eq!(changed.as_deref(), Some("new-checkout"));
}

#[tokio::test]
async fn demo_mode_warns_once_when_no_flag_can_change() {
    let dir = tempfile::tempdir().unwrap();
    let only_targeting = r#"{"flags": {"a": {"state": "ENABLED", "variants": {"x": 1, "y": 2}, "defaultVariant": "x",
        "targeting": {"if": [true, "y", "x"]}}}}"#;
    let mut config = with_file(&dir, only_targeting);
    config.demo = Some(Duration::from_millis(50));
    let mut server = start(config).await;
    let warning = |e: &ServeEvent| match e {
        ServeEvent::Warning { message } => Some(message.clone()),
        _ => None,
    };
    let message = server.wait_for(LONG, warning).await.expect("a warning");
    assert!(message.contains("--demo changes nothing"), "{message}");
    assert_eq!(server.wait_for(SHORT, warning).await, None, "warned once");
}

#[test]
fn the_configuration_debug_form_hides_the_token() {
    let mut config = ServeConfig::embedded();
    config.require_auth = Some("s3cret".to_owned());
    let text = format!("{config:?}");
    assert!(
        !text.contains("s3cret") && text.contains("redacted"),
        "{text}"
    );
}

#[tokio::test]
async fn every_open_stream_gets_each_change_exactly_once() {
    let server = start_default().await;
    let mut streams = Vec::new();
    for _ in 0..20 {
        let mut stream = server.stream(&[]).await;
        let _retry = stream.next(LONG).await;
        streams.push(stream);
    }
    server.server.change().unwrap();
    server.server.change().unwrap();
    for stream in &mut streams {
        assert_eq!(
            stream.next_event(LONG).await.unwrap().id.as_deref(),
            Some("1")
        );
        assert_eq!(
            stream.next_event(LONG).await.unwrap().id.as_deref(),
            Some("2")
        );
        assert!(stream.next_event(Duration::from_millis(50)).await.is_none());
    }
}

/// Reads from `socket` until `text` has arrived (bounded by `LONG`); everything read so far.
async fn read_until(socket: &mut tokio::net::TcpStream, read: &mut Vec<u8>, text: &str) -> String {
    use tokio::io::AsyncReadExt;
    let deadline = tokio::time::Instant::now() + LONG;
    while !String::from_utf8_lossy(read).contains(text) {
        let mut buffer = [0u8; 4096];
        let n = tokio::time::timeout_at(deadline, socket.read(&mut buffer))
            .await
            .unwrap_or_else(|_| panic!("no {text:?} in {:?}", String::from_utf8_lossy(read)))
            .unwrap();
        assert!(
            n > 0,
            "closed before {text:?}: {:?}",
            String::from_utf8_lossy(read)
        );
        read.extend_from_slice(&buffer[..n]);
    }
    String::from_utf8_lossy(read).into_owned()
}

/// A raw connection to `server`, for tests about the bytes on the wire.
async fn socket(server: &TestServer) -> tokio::net::TcpStream {
    tokio::net::TcpStream::connect(server.server.addr())
        .await
        .expect("the server accepts")
}

/// How many streams the server has open, read by closing them all.
async fn drop_streams(server: &TestServer) -> u64 {
    let response = server
        .client
        .post(server.url("control/streams/drop"))
        .send()
        .await
        .unwrap();
    json(response).await["dropped"].as_u64().unwrap()
}

#[tokio::test]
async fn a_stream_is_chunked_http_1_1_that_closes_and_its_head_may_come_in_pieces() {
    use tokio::io::AsyncWriteExt;
    let server = start_default().await;
    let mut socket = socket(&server).await;
    // A slow client: the request head in three writes.
    for piece in [
        "GET /ofrep/v1/ev",
        "ents HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: https://app.example",
        "\r\nLast-Event-ID: 0\r\n\r\n",
    ] {
        socket.write_all(piece.as_bytes()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    let mut read = Vec::new();
    let text = read_until(&mut socket, &mut read, "retry: 2000\n\n\r\n").await;
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    for line in [
        "content-type: text/event-stream",
        "transfer-encoding: chunked",
        "connection: close",
        "access-control-allow-origin: https://app.example",
        "access-control-expose-headers: ETag",
    ] {
        assert!(head.contains(line), "no {line:?} in {head}");
    }
    assert_eq!(body, "d\r\nretry: 2000\n\n\r\n", "one chunk per frame");
    read.clear();
    server.server.change().unwrap();
    let text = read_until(&mut socket, &mut read, "\n\n\r\n").await;
    assert!(
        text.contains("\r\nid: 1\nevent: message\ndata: {") && text.ends_with("}\n\n\r\n"),
        "{text}"
    );

    // The server sees the client leave without having to write to it.
    drop(socket);
    let mut open = u64::MAX;
    for _ in 0..50 {
        open = drop_streams(&server).await;
        if open == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(open, 0, "the stream outlived its client");
}

#[tokio::test]
async fn a_stream_on_a_connection_that_served_a_bulk_request_first_works_too() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = start_default().await;
    let mut socket = socket(&server).await;
    let bulk = format!(
        "POST /{BULK} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Content-Length: 2\r\n\r\n{{}}"
    );
    socket.write_all(bulk.as_bytes()).await.unwrap();
    let mut read = Vec::new();
    let text = read_until(&mut socket, &mut read, "\"eventStreams\"").await;
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    let length: usize = text
        .lines()
        .find_map(|line| line.strip_prefix("content-length: "))
        .and_then(|n| n.trim().parse().ok())
        .expect("a content-length");
    let head_end = text.find("\r\n\r\n").unwrap() + 4;
    // The rest of the body, so the stream's answer starts a fresh read.
    let mut rest = vec![0u8; (head_end + length).saturating_sub(read.len())];
    tokio::time::timeout(LONG, socket.read_exact(&mut rest))
        .await
        .expect("the whole bulk body")
        .unwrap();
    read.clear();

    // The same, kept-alive connection now asks for the stream.
    let stream = format!("GET /{EVENTS} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    socket.write_all(stream.as_bytes()).await.unwrap();
    let text = read_until(&mut socket, &mut read, "retry: 2000").await;
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(text.contains("content-type: text/event-stream"), "{text}");
    server.server.change().unwrap();
    read_until(&mut socket, &mut read, "id: 1\n").await;
}

// ---------------------------------------------------------------- the flag file

const FILE_V1: &str = r##"{"flags": {"color": {"state": "ENABLED", "variants": {"red": "#f00", "blue": "#00f"}, "defaultVariant": "red"}}}"##;

fn with_file(dir: &tempfile::TempDir, text: &str) -> ServeConfig {
    let path = dir.path().join("flags.json");
    std::fs::write(&path, text).unwrap();
    let mut config = ServeConfig::embedded();
    config.flags_file = Some(path);
    config
}

/// A server on a fresh `flags.json` holding FILE_V1; keep the directory alive.
async fn serve_file() -> (tempfile::TempDir, std::path::PathBuf, TestServer) {
    let dir = tempfile::tempdir().unwrap();
    let config = with_file(&dir, FILE_V1);
    let path = config.flags_file.clone().unwrap();
    (dir, path, start(config).await)
}

async fn color(server: &TestServer) -> Value {
    let body = json(server.bulk(json!({}), &[]).await).await;
    body["flags"][0]["value"].clone()
}

#[tokio::test]
async fn each_file_edit_sends_exactly_one_event() {
    let (_dir, path, server) = serve_file().await;
    let mut stream = server.stream(&[]).await;
    let _retry = stream.next(LONG).await;
    for (round, variant) in ["blue", "red", "blue"].iter().enumerate() {
        let started = Instant::now();
        std::fs::write(
            &path,
            FILE_V1.replace(
                "\"defaultVariant\": \"red\"",
                &format!("\"defaultVariant\": \"{variant}\""),
            ),
        )
        .unwrap();
        let event = stream
            .next_event(LONG)
            .await
            .unwrap_or_else(|| panic!("no event for edit {round}"));
        // The issue asks for 100 ms; allow slack for a loaded CI machine.
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "took {:?}",
            started.elapsed()
        );
        assert_eq!(event.id, Some((round + 1).to_string()));
        assert!(
            stream
                .next_event(Duration::from_millis(150))
                .await
                .is_none(),
            "a second event for edit {round}"
        );
    }
    assert_eq!(color(&server).await, "#00f");
    // Saving the same content again is no change.
    std::fs::write(&path, std::fs::read_to_string(&path).unwrap()).unwrap();
    assert!(stream.next_event(SHORT).await.is_none());
}

#[tokio::test]
async fn an_edit_replacing_the_file_by_rename_is_seen() {
    let (_dir, path, server) = serve_file().await;
    let mut stream = server.stream(&[]).await;
    let temporary = path.with_file_name(".flags.json.swp");
    std::fs::write(&temporary, FILE_V1.replace("\"red\"}", "\"blue\"}")).unwrap();
    std::fs::rename(&temporary, &path).unwrap();
    assert!(stream.next_event(LONG).await.is_some());
    assert_eq!(color(&server).await, "#00f");
}

#[cfg(unix)]
#[tokio::test]
async fn a_kubernetes_style_symlink_swap_is_seen() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir(root.join("..v1")).unwrap();
    std::fs::write(root.join("..v1/flags.json"), FILE_V1).unwrap();
    symlink("..v1", root.join("..data")).unwrap();
    symlink("..data/flags.json", root.join("flags.json")).unwrap();
    let mut config = ServeConfig::embedded();
    config.flags_file = Some(root.join("flags.json"));
    let server = start(config).await;
    let mut stream = server.stream(&[]).await;
    assert!(
        stream.next_event(SHORT).await.is_none(),
        "the watch settles without an event"
    );
    // What kubelet's atomic writer does: a new directory, a new link, renamed over `..data`.
    std::fs::create_dir(root.join("..v2")).unwrap();
    std::fs::write(
        root.join("..v2/flags.json"),
        FILE_V1.replace("\"red\"}", "\"blue\"}"),
    )
    .unwrap();
    symlink("..v2", root.join("..data_tmp")).unwrap();
    std::fs::rename(root.join("..data_tmp"), root.join("..data")).unwrap();
    assert!(
        stream.next_event(LONG).await.is_some(),
        "no event for the swap"
    );
    assert_eq!(color(&server).await, "#00f");
}

#[tokio::test]
async fn a_deleted_file_keeps_the_flags_until_it_comes_back() {
    let (_dir, path, server) = serve_file().await;
    let mut stream = server.stream(&[]).await;
    std::fs::remove_file(&path).unwrap();
    assert!(
        stream.next_event(SHORT).await.is_none(),
        "a missing file is no change"
    );
    assert_eq!(color(&server).await, "#f00");
    std::fs::write(&path, FILE_V1.replace("\"red\"}", "\"blue\"}")).unwrap();
    assert!(stream.next_event(LONG).await.is_some());
    assert_eq!(color(&server).await, "#00f");
}

#[tokio::test]
async fn a_bad_edit_keeps_the_last_good_flags_and_reports_file_and_line() {
    let (_dir, path, mut server) = serve_file().await;
    let etag = server.etag(json!({})).await;
    std::fs::write(&path, "{\n  \"flags\": {\n    \"color\": oops\n  }\n}").unwrap();
    let message = server
        .wait_for(LONG, |e| match e {
            ServeEvent::ReloadFailed { message, .. } => Some(message.clone()),
            _ => None,
        })
        .await
        .expect("a reload failure");
    assert!(message.contains("flags.json:3:"), "{message}");
    assert_eq!(color(&server).await, "#f00");
    assert_eq!(server.etag(json!({})).await, etag);
}

#[tokio::test]
async fn an_invalid_file_at_start_is_an_error_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = with_file(
        &dir,
        "{\"flags\": {\n  \"a\": {\"state\": \"ENABLED\", \"variants\": {}, \"defaultVariant\": \"x\"}\n}}",
    );
    let error = ofrep::serve::Server::start(config)
        .await
        .err()
        .expect("an error");
    assert_eq!(error.exit_code(), 2);
    assert!(error.to_string().contains("flags.json:2:3: "), "{error}");
}

#[tokio::test]
async fn a_dropped_or_shut_down_server_stops_listening() {
    for shut_down in [true, false] {
        let server = start_default().await;
        let addr = server.server.addr();
        if shut_down {
            server.server.shutdown().await;
        } else {
            drop(server);
        }
        // The accept loop ends on its next poll; look a few times, bounded.
        let mut refused = false;
        for _ in 0..50 {
            if tokio::net::TcpStream::connect(addr).await.is_err() {
                refused = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(
            refused,
            "still listening after {}",
            if shut_down { "shutdown" } else { "drop" }
        );
    }
}

#[tokio::test]
async fn a_port_in_use_is_an_error_with_a_hint() {
    let first = start_default().await;
    let mut config = ServeConfig::embedded();
    config.port = first.server.addr().port();
    let error = ofrep::serve::Server::start(config)
        .await
        .err()
        .expect("the port is taken");
    assert_eq!(error.exit_code(), 2);
    assert!(
        error.to_string().contains("cannot listen on 127.0.0.1:"),
        "{error}"
    );
    assert!(error.hint().unwrap().contains("--port 0"));
}

// ---------------------------------------------------------------- fault modes

/// The checklist checks the fault modes break, each as a small probe that is true when the
/// server passes it.
#[derive(Debug, Clone, Copy)]
enum Check {
    BulkEtagPresent,
    BulkEtagSyntax,
    Bulk304OnMatch,
    Bulk200OnStale,
    Bulk304NoBody,
    SseContentType,
    SseEventMessage,
    SseDataJson,
    SseNotify,
    StreamStaysOpen,
    AnswersPromptly,
    BulkAnswers200,
}

async fn passes(check: Check, server: &TestServer) -> bool {
    match check {
        Check::BulkEtagPresent => header(&server.bulk(json!({}), &[]).await, "etag").is_some(),
        Check::BulkEtagSyntax => {
            let etag = header(&server.bulk(json!({}), &[]).await, "etag");
            matches!(
                EtagVerdict::of(etag.as_deref()),
                EtagVerdict::Strong | EtagVerdict::Weak
            )
        }
        Check::Bulk304OnMatch => {
            let etag = server.etag(json!({})).await;
            server
                .bulk(json!({}), &[("if-none-match", &etag)])
                .await
                .status()
                == 304
        }
        Check::Bulk200OnStale => {
            server
                .bulk(json!({}), &[("if-none-match", "\"stale\"")])
                .await
                .status()
                == 200
        }
        Check::Bulk304NoBody => {
            let etag = server.etag(json!({})).await;
            let response = server.bulk(json!({}), &[("if-none-match", &etag)]).await;
            let length =
                header(&response, "content-length").map_or(0, |l| l.parse::<u64>().unwrap_or(1));
            response.status() == 304 && length == 0 && response.bytes().await.unwrap().is_empty()
        }
        Check::SseContentType => {
            let stream = server.stream(&[]).await;
            stream.status == 200
                && stream
                    .content_type
                    .as_deref()
                    .is_some_and(|t| t.starts_with("text/event-stream"))
        }
        Check::SseEventMessage | Check::SseDataJson | Check::SseNotify => {
            let mut stream = server.stream(&[]).await;
            let _retry = stream.next(LONG).await;
            server.server.change().unwrap();
            let Some(event) = stream.next_event(Duration::from_millis(500)).await else {
                return false;
            };
            match check {
                Check::SseEventMessage => event.event.as_deref().is_none_or(|e| e == "message"),
                Check::SseDataJson => {
                    serde_json::from_str::<Value>(event.data.as_deref().unwrap_or(""))
                        .is_ok_and(|v| v.is_object())
                }
                _ => true,
            }
        }
        Check::StreamStaysOpen => {
            !server
                .stream(&[])
                .await
                .ends_within(Duration::from_millis(600))
                .await
        }
        Check::AnswersPromptly => {
            let started = Instant::now();
            server.bulk(json!({}), &[]).await;
            started.elapsed() < Duration::from_millis(500)
        }
        Check::BulkAnswers200 => server.bulk(json!({}), &[]).await.status() == 200,
    }
}

#[tokio::test]
async fn every_fault_mode_breaks_its_check_and_the_clean_server_passes_it() {
    let table: &[(&str, Check)] = &[
        ("no-etag", Check::BulkEtagPresent),
        ("unquoted-etag", Check::BulkEtagSyntax),
        ("ignore-if-none-match", Check::Bulk304OnMatch),
        ("stale-304", Check::Bulk200OnStale),
        ("304-with-body", Check::Bulk304NoBody),
        ("sse-down", Check::SseContentType),
        ("sse-wrong-content-type", Check::SseContentType),
        ("sse-named-events", Check::SseEventMessage),
        ("sse-not-json", Check::SseDataJson),
        ("sse-silent", Check::SseNotify),
        ("drop-streams-every=200ms", Check::StreamStaysOpen),
        ("slow=1s", Check::AnswersPromptly),
        ("status=500", Check::BulkAnswers200),
    ];
    let clean = start_default().await;
    let results = futures_util::future::join_all(table.iter().map(|&(fault, check)| async move {
        let faulty = start(with_faults(&[fault])).await;
        (fault, check, passes(check, &faulty).await)
    }))
    .await;
    for (fault, check, passed) in results {
        assert!(!passed, "--fault {fault} should break {check:?}");
        assert!(
            passes(check, &clean).await,
            "the clean server should pass {check:?}"
        );
    }
}

#[tokio::test]
async fn status_faults_answer_json_and_429_carries_retry_after() {
    let server = start(with_faults(&["status=429"])).await;
    let response = server.bulk(json!({}), &[]).await;
    assert_eq!(response.status(), 429);
    assert_eq!(header(&response, "retry-after").as_deref(), Some("1"));
    assert!(json(response).await["errorDetails"].is_string());
    let single = server
        .bulk_at(&format!("{BULK}/theme"), json!({}), &[])
        .await;
    assert_eq!(single.status(), 200, "only the bulk endpoint is bent");
    let server = start(with_faults(&["status=500"])).await;
    let body = json(server.bulk(json!({}), &[]).await).await;
    assert_eq!(
        body.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["errorDetails"]
    );
}

#[tokio::test]
async fn the_304_with_body_fault_puts_the_body_on_the_wire_and_closes_the_connection() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = start(with_faults(&["304-with-body"])).await;
    let etag = server.etag(json!({})).await;
    let mut socket = socket(&server).await;
    let request = format!(
        "POST /{BULK} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         If-None-Match: {etag}\r\nContent-Length: 2\r\n\r\n{{}}"
    );
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(LONG, socket.read_to_end(&mut raw))
        .await
        .expect("the server closes")
        .unwrap();
    let raw = String::from_utf8(raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 304 "), "{head}");
    let head = head.to_ascii_lowercase();
    assert!(
        head.contains("connection: close") && head.contains("content-type: application/json"),
        "{head}"
    );
    assert!(
        head.contains(&format!("content-length: {}", body.len())),
        "{head}"
    );
    let body: Value = serde_json::from_str(body).unwrap();
    assert!(body["flags"].is_array());
    // A client that (rightly) ignores a 304 body keeps working.
    let response = server.bulk(json!({}), &[("if-none-match", &etag)]).await;
    assert_eq!(response.status(), 304);
    assert_eq!(server.bulk(json!({}), &[]).await.status(), 200);
}

// ---------------------------------------------------------------- the real binary

fn ofrep() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ofrep"));
    command
        .env_remove("OFREP_SERVE_TOKEN")
        .env_remove("NO_COLOR")
        .env_remove("CI");
    command
}

/// Kills the child on drop, so a failing test leaves no server behind.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Child {
    /// Starts `ofrep serve --port 0 ARGS` with `stream` piped (the other one discarded) and
    /// returns the first line written there, read with a time bound, and the rest of the pipe,
    /// left unread.
    fn serve(args: &[&str], stream: Output) -> (Self, String, Box<dyn BufRead + Send>) {
        let mut command = ofrep();
        command
            .args(["serve", "--port", "0", "--color", "never"])
            .args(args);
        let (stdout, stderr) = match stream {
            Output::Stdout => (Stdio::piped(), Stdio::null()),
            Output::Stderr => (Stdio::null(), Stdio::piped()),
        };
        let mut child = Self(command.stdout(stdout).stderr(stderr).spawn().unwrap());
        let pipe: Box<dyn std::io::Read + Send> = match stream {
            Output::Stdout => Box::new(child.0.stdout.take().unwrap()),
            Output::Stderr => Box::new(child.0.stderr.take().unwrap()),
        };
        // Read on a thread so a silent server fails the test instead of hanging it.
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut reader: Box<dyn BufRead + Send> = Box::new(BufReader::new(pipe));
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = sender.send((line, reader));
        });
        let (line, rest) = receiver.recv_timeout(LONG).expect("a first line in time");
        (child, line, rest)
    }

    /// Sends SIGTERM and waits (bounded) for the exit code.
    async fn terminate(&mut self) -> Option<i32> {
        let status = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + LONG;
        loop {
            if let Some(status) = self.0.try_wait().unwrap() {
                return status.code();
            }
            assert!(
                Instant::now() < deadline,
                "the server did not stop on SIGTERM"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

enum Output {
    Stdout,
    Stderr,
}

#[tokio::test]
async fn the_binary_prints_its_address_as_json_serves_and_stops_on_sigterm() {
    let (mut child, first, rest) = Child::serve(&["-o", "json"], Output::Stdout);
    let listening: Value = serde_json::from_str(&first).unwrap();
    assert_eq!(listening["type"], "listening");
    let address = listening["address"].as_str().unwrap();
    assert!(address.starts_with("127.0.0.1:"), "{address}");
    let url = listening["url"].as_str().unwrap();
    assert_eq!(url, format!("http://{address}"));
    let (lines, mut incoming) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in rest.lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });

    let response = support::client()
        .post(format!("{url}/{BULK}"))
        .header("content-type", "application/json")
        .header("authorization", "Bearer should-not-be-logged")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let logged = tokio::time::timeout(LONG, incoming.recv())
        .await
        .unwrap()
        .unwrap();
    let logged: Value = serde_json::from_str(&logged).unwrap();
    assert_eq!(
        (logged["type"].clone(), logged["status"].clone()),
        (json!("request"), json!(200))
    );
    assert!(!logged.to_string().contains("should-not-be-logged"));
    assert_eq!(child.terminate().await, Some(0));
}

#[tokio::test]
async fn the_binary_stops_on_sigterm_even_when_nobody_reads_its_output() {
    let (mut child, first, _unread) = Child::serve(&["-o", "json"], Output::Stdout);
    let listening: Value = serde_json::from_str(&first).unwrap();
    let url = format!("{}/{BULK}", listening["url"].as_str().unwrap());
    // About 100 bytes of log per request: well past a 64 KiB pipe buffer.
    let client = support::client();
    for _ in 0..1000 {
        client.post(&url).body("").send().await.unwrap();
    }
    assert_eq!(
        child.terminate().await,
        Some(0),
        "a full output pipe must not stop the stop"
    );
}

#[tokio::test]
async fn the_binary_says_where_it_listens_on_stderr_in_human_mode() {
    let (mut child, first, _rest) = Child::serve(&[], Output::Stderr);
    let port = first
        .trim_end()
        .strip_prefix("listening on http://127.0.0.1:")
        .unwrap_or_else(|| panic!("{first}"));
    assert!(port.parse::<u16>().is_ok_and(|port| port > 0), "{first}");
    assert_eq!(child.terminate().await, Some(0));
}

#[test]
fn the_binary_exits_2_naming_file_and_line_for_an_invalid_flag_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.json");
    std::fs::write(
        &path,
        "{\n  \"flags\": {\n    \"a\": {\"state\": \"ON\"}\n  }\n}",
    )
    .unwrap();
    let output = ofrep()
        .args(["serve", "--port", "0", "--flags"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("bad.json:3:5: "), "{stderr}");
    assert!(
        stderr.starts_with("error: ") && stderr.contains("\nhint: "),
        "{stderr}"
    );
}

#[test]
fn the_binary_exits_2_listing_the_faults_for_an_unknown_one() {
    let output = ofrep()
        .args(["serve", "--port", "0", "--fault", "explode"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("unknown fault `explode`") && stderr.contains("sse-not-json"),
        "{stderr}"
    );
}
