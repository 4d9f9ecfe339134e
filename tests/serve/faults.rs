//! Fault modes: each breaks its check, and the clean server passes it.

use std::time::{Duration, Instant};

use ofrep::protocol::etag::EtagVerdict;
use serde_json::{Value, json};

use crate::support::{
    BULK, LONG, TestServer, header, json, socket, start, start_default, with_faults,
};

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
