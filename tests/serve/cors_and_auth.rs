//! CORS preflights and exposed headers, and `--require-auth`.

use ofrep::serve::ServeConfig;
use serde_json::json;

use crate::support::{BULK, header, json, start, start_default};

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
