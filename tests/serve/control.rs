//! The control API's guard: `--require-auth` covers it, it answers only requests for this
//! server's own `Host` (no DNS rebinding), and it carries no CORS headers.

use ofrep::serve::ServeConfig;

use crate::support::{TestServer, header, raw, start};

async fn with_token() -> TestServer {
    let mut config = ServeConfig::embedded();
    config.require_auth = Some("s3cret".to_owned());
    start(config).await
}

#[tokio::test]
async fn every_control_request_needs_the_token_under_require_auth() {
    let server = with_token().await;
    for path in ["control/change", "control/streams/drop"] {
        for headers in [
            vec![],
            vec![("authorization", "Bearer wrong")],
            vec![("x-api-key", "")],
            vec![("authorization", "Bearer ")],
        ] {
            let mut request = server.client.post(server.url(path));
            for (name, value) in &headers {
                request = request.header(*name, *value);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 401, "{path} {headers:?}");
            assert_eq!(
                header(&response, "www-authenticate").as_deref(),
                Some("Bearer")
            );
        }
        for (name, value) in [("authorization", "Bearer s3cret"), ("x-api-key", "s3cret")] {
            let response = server
                .client
                .post(server.url(path))
                .header(name, value)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200, "{path} with {name}");
        }
    }
}

#[tokio::test]
async fn the_control_api_answers_only_its_own_host() {
    let server = start(ServeConfig::embedded()).await;
    let addr = server.server.addr();
    let port = addr.port();
    let ask = |host: String| {
        let request = format!(
            "POST /control/streams/drop HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        async move { raw(addr, &request).await }
    };
    for host in [addr.to_string(), format!("localhost:{port}")] {
        let answer = ask(host.clone()).await;
        assert!(
            answer.starts_with("HTTP/1.1 200 "),
            "Host: {host}\n{answer}"
        );
    }
    for host in [
        format!("rebound.example:{port}"),
        format!("127.0.0.1:{}", port.wrapping_add(1)),
        "127.0.0.1".to_owned(),
    ] {
        let answer = ask(host.clone()).await;
        assert!(
            answer.starts_with("HTTP/1.1 403 "),
            "Host: {host}\n{answer}"
        );
        assert!(answer.contains("DNS rebinding"), "{answer}");
    }
    let no_host = raw(
        addr,
        "POST /control/streams/drop HTTP/1.0\r\nContent-Length: 0\r\n\r\n",
    )
    .await;
    assert!(no_host.starts_with("HTTP/1.0 403 "), "{no_host}");
    let absolute = raw(
        addr,
        &format!("POST http://rebound.example:{port}/control/streams/drop HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
    )
    .await;
    assert!(absolute.starts_with("HTTP/1.1 403 "), "{absolute}");
    // Evaluation is for every origin and every name, as before.
    let bulk = raw(
        addr,
        &format!("POST /ofrep/v1/evaluate/flags HTTP/1.1\r\nHost: rebound.example:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
    )
    .await;
    assert!(bulk.starts_with("HTTP/1.1 200 "), "{bulk}");
}

#[tokio::test]
async fn control_answers_carry_no_cors_headers_and_preflights_are_refused() {
    let server = with_token().await;
    let preflight = server
        .client
        .request(reqwest::Method::OPTIONS, server.url("control/change"))
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "authorization")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 403);
    let change = server
        .client
        .post(server.url("control/change"))
        .header("origin", "https://app.example.com")
        .header("authorization", "Bearer s3cret")
        .send()
        .await
        .unwrap();
    assert_eq!(change.status(), 200);
    let refused = server
        .client
        .post(server.url("control/change"))
        .header("origin", "https://app.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    for response in [&preflight, &change, &refused] {
        let cors: Vec<_> = response
            .headers()
            .keys()
            .filter(|name| name.as_str().starts_with("access-control-"))
            .collect();
        assert!(cors.is_empty(), "{} has {cors:?}", response.status());
    }
    // Evaluation answers keep theirs.
    let bulk = server
        .client
        .post(server.url("ofrep/v1/evaluate/flags"))
        .header("origin", "https://app.example.com")
        .header("x-api-key", "s3cret")
        .send()
        .await
        .unwrap();
    assert_eq!(
        header(&bulk, "access-control-allow-origin").as_deref(),
        Some("https://app.example.com")
    );
}

#[tokio::test]
async fn a_blank_token_does_not_start_a_server() {
    for token in ["", "  "] {
        let mut config = ServeConfig::embedded();
        config.require_auth = Some(token.to_owned());
        let error = ofrep::serve::Server::start(config).await.err();
        assert!(error.is_some_and(|e| e.exit_code() == 2), "{token:?}");
    }
}
