//! The event stream: change events, replay, keepalive, dropping, bounds, demo mode, and the
//! hand-written HTTP/1.1 stream connection.

use std::time::Duration;

use ofrep::serve::{ServeConfig, ServeEvent};
use serde_json::{Value, json};

use crate::support::{
    BULK, EVENTS, LONG, SHORT, TestServer, json, socket, start, start_default, with_file,
};

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
