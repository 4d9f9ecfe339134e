//! Bad input: the right status and a JSON error body for every malformed request.

use ofrep::serve::ServeConfig;
use serde_json::json;

use crate::support::{BULK, EVENTS, header, json, start};

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
