//! `--launchpad`: flagd-testbed's launchpad API. Each call is observed through OFREP on the
//! server's own port: a bulk answer, its ETag, an open event stream, a refused connection.

use std::io::BufRead;
use std::time::{Duration, Instant};

use ofrep::serve::{ServeConfig, ServeEvent};
use serde_json::{Value, json};

use crate::binary::{Child, Output, ofrep, output_within};
use crate::support::{LONG, TestServer, header, json, start, with_file};

/// The testbed's `changing-flag` (flags/changing-flag.json) and one flag that never changes.
const TESTBED_LIKE: &str = r#"{"flags": {
  "changing-flag": {"state": "ENABLED", "variants": {"foo": "foo", "bar": "bar"}, "defaultVariant": "foo"},
  "boolean-flag": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "on"}
}}"#;

/// How long the OFREP port may take to come back after `/restart?seconds=1`.
const COMEBACK: Duration = Duration::from_secs(10);

fn with_launchpad(mut config: ServeConfig) -> ServeConfig {
    config.launchpad = Some(0);
    config
}

async fn launchpad_server() -> TestServer {
    start(with_launchpad(ServeConfig::embedded())).await
}

/// The body as text and as JSON, after checking the status and that it is JSON.
async fn launchpad_answer(response: reqwest::Response, status: u16) -> (String, Value) {
    assert_eq!(response.status(), status);
    assert_eq!(
        header(&response, "content-type").as_deref(),
        Some("application/json")
    );
    let text = response.text().await.unwrap();
    let value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    (text, value)
}

async fn value_of(server: &TestServer, key: &str) -> Value {
    let path = format!("ofrep/v1/evaluate/flags/{key}");
    let response = server.bulk_at(&path, json!({}), &[]).await;
    assert_eq!(response.status(), 200);
    json(response).await["value"].clone()
}

async fn started(server: &mut TestServer) -> Option<String> {
    server
        .wait_for(LONG, |event| match event {
            ServeEvent::Started { config, .. } => Some(config.clone()),
            _ => None,
        })
        .await
}

#[tokio::test]
async fn start_serves_the_named_flag_set_and_restarts_a_running_listener() {
    let mut server = launchpad_server().await;
    let mut stream = server.stream(&[]).await;
    assert_eq!(stream.status, 200);

    let response = server.launchpad("start?config=default").await;
    let (text, _) = launchpad_answer(response, 200).await;
    assert_eq!(
        text,
        "{\"status\":\"success\",\"message\":\"flagd started successfully\"}\n"
    );
    assert!(
        stream.ends_within(LONG).await,
        "a start while running restarts the listener, closing its streams"
    );
    assert_eq!(started(&mut server).await.as_deref(), Some("default"));
    let response = server.bulk(json!({}), &[]).await;
    assert_eq!(response.status(), 200);
    assert!(!json(response).await["flags"].as_array().unwrap().is_empty());

    // The launchpad registers its handlers for every method; test kits use GET as well.
    let response = server
        .launchpad_with(reqwest::Method::GET, "start?config=sync-payload", &[])
        .await;
    launchpad_answer(response, 200).await;
    assert_eq!(started(&mut server).await.as_deref(), Some("sync-payload"));
    assert_eq!(server.bulk(json!({}), &[]).await.status(), 200);
}

#[tokio::test]
async fn change_toggles_changing_flag_moves_the_etag_and_notifies_an_open_stream() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(with_launchpad(with_file(&dir, TESTBED_LIKE))).await;
    let before = server.etag(json!({})).await;
    let mut stream = server.stream(&[]).await;

    let (text, answer) = launchpad_answer(server.launchpad("change").await, 200).await;
    assert_eq!(
        answer,
        json!({"status": "success", "message": "Default variant successfully changed to 'bar'\n"})
    );
    assert!(text.ends_with("}\n"), "{text:?}");
    let event = stream.next_event(LONG).await.expect("an event");
    let data: Value = serde_json::from_str(event.data.as_deref().unwrap()).unwrap();
    assert_eq!(data["type"], "refetchEvaluation");
    assert_eq!(event.id.as_deref(), Some("1"));
    let after = server.etag(json!({})).await;
    assert_ne!(after, before);
    assert_eq!(value_of(&server, "changing-flag").await, "bar");

    // Like the testbed's edit of its flag file, the change outlives a start.
    launchpad_answer(server.launchpad("start?config=default").await, 200).await;
    assert_eq!(value_of(&server, "changing-flag").await, "bar");
    assert_eq!(server.etag(json!({})).await, after);

    let (_, answer) = launchpad_answer(server.launchpad("change").await, 200).await;
    assert_eq!(
        answer["message"],
        "Default variant successfully changed to 'foo'\n"
    );
    assert_eq!(server.etag(json!({})).await, before);
}

#[tokio::test]
async fn change_without_changing_flag_makes_the_built_in_change() {
    let server = launchpad_server().await;
    let before = server.etag(json!({})).await;
    let (_, answer) = launchpad_answer(server.launchpad("change").await, 200).await;
    assert_eq!(
        answer["message"],
        "Default variant successfully changed to 'on'\n"
    );
    assert_eq!(value_of(&server, "new-checkout").await, true);
    assert_ne!(server.etag(json!({})).await, before);
}

#[tokio::test]
async fn stop_makes_the_ofrep_port_refuse_until_the_next_start() {
    let mut server = launchpad_server().await;
    assert!(!server.refuses().await);
    let stopped = "{\"status\":\"success\",\"message\":\"flagd stopped successfully\"}\n";

    let (text, _) = launchpad_answer(server.launchpad("stop").await, 200).await;
    assert_eq!(text, stopped);
    assert!(server.refuses().await, "the OFREP port still accepts");
    // Stopping what is stopped succeeds, as the launchpad's does.
    let (text, _) = launchpad_answer(server.launchpad("stop").await, 200).await;
    assert_eq!(text, stopped);
    for expected in [true, false] {
        let logged = server
            .wait_for(LONG, |event| match event {
                ServeEvent::Stopped { was_running } => Some(*was_running),
                _ => None,
            })
            .await;
        assert_eq!(logged, Some(expected));
    }

    launchpad_answer(server.launchpad("start").await, 200).await;
    assert!(!server.refuses().await);
    assert_eq!(server.bulk(json!({}), &[]).await.status(), 200);
}

#[tokio::test]
async fn restart_is_an_outage_then_the_same_flags_with_event_ids_from_one() {
    let mut server = launchpad_server().await;
    let mut stream = server.stream(&[]).await;
    launchpad_answer(server.launchpad("change").await, 200).await;
    launchpad_answer(server.launchpad("change").await, 200).await;
    for id in ["1", "2"] {
        let event = stream.next_event(LONG).await.expect("an event");
        assert_eq!(event.id.as_deref(), Some(id));
    }
    let etag = server.etag(json!({})).await;

    let (text, _) = launchpad_answer(server.launchpad("restart?seconds=1").await, 200).await;
    assert_eq!(
        text,
        "{\"status\":\"success\",\"message\":\"flagd will restart in 1 seconds\"}\n"
    );
    let asked = Instant::now();
    assert!(server.refuses().await, "the OFREP port still accepts");
    assert!(
        stream.ends_within(LONG).await,
        "the stream outlived the stop"
    );
    let mut back = None;
    for _ in 0..1_000 {
        if !server.refuses().await {
            back = Some(asked.elapsed());
            break;
        }
        if asked.elapsed() > COMEBACK {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let back = back.expect("the OFREP port came back");
    // The answer left after the stop and before the wait began, so the outage seen from here
    // is a little under a second, never much under.
    assert!(back >= Duration::from_millis(700), "back after {back:?}");

    assert_eq!(server.etag(json!({})).await, etag, "the flags changed");
    let mut stream = server.stream(&[]).await;
    launchpad_answer(server.launchpad("change").await, 200).await;
    let event = stream.next_event(LONG).await.expect("an event");
    assert_eq!(
        event.id.as_deref(),
        Some("1"),
        "ids start again after a restart"
    );

    let restarting = server
        .wait_for(LONG, |event| match event {
            ServeEvent::Restarting { seconds } => Some(*seconds),
            _ => None,
        })
        .await;
    assert_eq!(restarting, Some(1));
    let logged = server
        .wait_for(LONG, |event| match event {
            ServeEvent::Back { config, etag } => Some((config.clone(), etag.clone())),
            _ => None,
        })
        .await;
    assert_eq!(logged.map(|(config, _)| config).as_deref(), Some("default"));
}

#[tokio::test]
async fn a_stop_cancels_a_pending_restart() {
    let mut server = launchpad_server().await;
    launchpad_answer(server.launchpad("restart?seconds=1").await, 200).await;
    launchpad_answer(server.launchpad("stop").await, 200).await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert!(server.refuses().await, "the cancelled restart came back");
    let back = server
        .wait_for(Duration::from_millis(300), |event| {
            matches!(event, ServeEvent::Back { .. }).then_some(())
        })
        .await;
    assert_eq!(back, None);
}

#[tokio::test]
async fn unknown_configs_and_bad_seconds_are_answered_as_the_launchpad_does() {
    let mut server = launchpad_server().await;
    for config in ["metadata", "no-such-config", "ssl"] {
        let response = server.launchpad(&format!("start?config={config}")).await;
        let (_, answer) = launchpad_answer(response, 500).await;
        assert_eq!(answer["status"], "error");
        let message = answer["message"].as_str().unwrap();
        assert!(
            message.starts_with("Failed to start flagd: ") && message.contains(config),
            "{message}"
        );
        // The launchpad stops flagd before it starts the new one, so a failed start leaves it
        // stopped.
        assert!(server.refuses().await, "{config}");
        let failed = server
            .wait_for(LONG, |event| match event {
                ServeEvent::StartFailed { config, .. } => Some(config.clone()),
                _ => None,
            })
            .await;
        assert_eq!(failed.as_deref(), Some(config));
    }
    // Without `config`, the last config that started.
    launchpad_answer(server.launchpad("start").await, 200).await;
    assert_eq!(started(&mut server).await.as_deref(), Some("default"));

    for seconds in ["-1", "1.5", "soon"] {
        let response = server
            .launchpad(&format!("restart?seconds={seconds}"))
            .await;
        let (text, _) = launchpad_answer(response, 400).await;
        assert_eq!(
            text,
            "{\"status\":\"error\",\"message\":\"'seconds' must be a non-negative integer\"}\n"
        );
    }
    assert!(
        !server.refuses().await,
        "a refused restart stopped the listener"
    );

    let response = server.launchpad("reset").await;
    assert_eq!(response.status(), 404);
    assert_eq!(
        header(&response, "content-type").as_deref(),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(response.text().await.unwrap(), "404 page not found\n");
}

#[tokio::test]
async fn config_ssl_serves_the_same_flags_over_https_under_tls_cert() {
    let dir = tempfile::tempdir().unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    let mut config = with_launchpad(ServeConfig::embedded());
    config.tls = Some(ofrep::serve::tls::server_config(&cert, &key, None).unwrap());
    let mut server = start(config).await;

    launchpad_answer(server.launchpad("start?config=ssl").await, 200).await;
    assert_eq!(started(&mut server).await.as_deref(), Some("ssl"));
    assert!(server.server.base_url().as_str().starts_with("https://"));
    // The self-signed certificate is not what this test is about.
    server.client = reqwest::Client::builder()
        .no_proxy()
        .tls_danger_accept_invalid_certs(true)
        .timeout(LONG)
        .build()
        .unwrap();
    let response = server.bulk(json!({}), &[]).await;
    assert_eq!(response.status(), 200);
    assert!(!json(response).await["flags"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn under_require_auth_the_launchpad_wants_the_token() {
    let mut config = with_launchpad(ServeConfig::embedded());
    config.require_auth = Some("s3cret".to_owned());
    let server = start(config).await;
    for headers in [
        &[][..],
        &[("authorization", "Bearer wrong")],
        &[("x-api-key", "")],
    ] {
        let response = server
            .launchpad_with(reqwest::Method::POST, "stop", headers)
            .await;
        assert_eq!(response.status(), 401, "{headers:?}");
        assert!(!server.refuses().await, "an unauthorised stop stopped");
    }
    let response = server
        .launchpad_with(
            reqwest::Method::POST,
            "stop",
            &[("authorization", "Bearer s3cret")],
        )
        .await;
    launchpad_answer(response, 200).await;
    assert!(server.refuses().await);
    let response = server
        .launchpad_with(reqwest::Method::POST, "start", &[("x-api-key", "s3cret")])
        .await;
    launchpad_answer(response, 200).await;
    assert!(!server.refuses().await);
}

#[test]
fn the_binary_logs_where_the_launchpad_listens_after_the_ofrep_address() {
    let (child, first, rest) = Child::serve(&["--launchpad", "0", "-o", "json"], Output::Stdout);
    let listening: Value = serde_json::from_str(&first).unwrap();
    assert_eq!(listening["type"], "listening");
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut rest = rest;
        let mut line = String::new();
        let _ = rest.read_line(&mut line);
        let _ = sender.send(line);
    });
    let second = receiver.recv_timeout(LONG).expect("a second line in time");
    let launchpad: Value = serde_json::from_str(&second).unwrap();
    assert_eq!(launchpad["type"], "launchpadListening");
    let address = launchpad["address"].as_str().unwrap();
    assert!(address.starts_with("127.0.0.1:"), "{address}");
    assert_ne!(address, listening["address"].as_str().unwrap());
    drop(child);
}

#[test]
fn the_binary_exits_2_with_a_hint_when_the_launchpad_port_is_taken() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let output = output_within(ofrep().args([
        "serve",
        "--port",
        "0",
        "--color",
        "never",
        "--launchpad",
        &port,
    ]));
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "cannot listen on 127.0.0.1:{port} for --launchpad"
        )),
        "{stderr}"
    );
    assert!(stderr.contains("hint: "), "{stderr}");
}
