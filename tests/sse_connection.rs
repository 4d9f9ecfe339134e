//! `ofrep::sse::connection` against real axum servers on 127.0.0.1:0, in process. Every wait is
//! bounded by a timeout and every loop by a count.
mod fixture;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use bytes::Bytes;
use futures_util::stream;
use ofrep::sse::connection::{
    ConnectRequest, Connection, ConnectionError, Opened, Policy, Refusal, open, refusal_policy,
};
use ofrep::sse::parser::{Event, Item, Problem};
use tokio::time::timeout;

/// Generous: a slow CI machine must not fail a correct client.
const WAIT: Duration = Duration::from_secs(10);
const MAX_ITEMS: usize = 1000;

async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.ok() });
    addr
}

fn client() -> reqwest::Client {
    // no_proxy: a proxy from the environment must never see (or break) loopback tests.
    reqwest::Client::builder().no_proxy().build().unwrap()
}

fn request(addr: SocketAddr, path: &str) -> ConnectRequest {
    let mut request = ConnectRequest::new(format!("http://{addr}{path}").parse().unwrap());
    request.connect_timeout = WAIT;
    request
}

/// An event-stream answer whose body is these chunks, written one after another.
fn event_stream(chunks: Vec<Vec<u8>>) -> Response {
    let body = stream::iter(chunks.into_iter().map(Ok::<_, std::io::Error>));
    event_stream_of(Body::from_stream(body))
}

fn event_stream_of(body: Body) -> Response {
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .body(body)
        .unwrap()
}

async fn open_stream(request: &ConnectRequest) -> Connection {
    match timeout(WAIT, open(&client(), request)).await {
        Ok(Ok(Opened::Stream(connection))) => connection,
        other => panic!("expected a stream, got {other:?}"),
    }
}

async fn open_refused(request: &ConnectRequest) -> Refusal {
    match timeout(WAIT, open(&client(), request)).await {
        Ok(Ok(Opened::Refused(refusal))) => refusal,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// Every item until the end of the stream, and the error that ended it, if any.
async fn read_all(connection: &mut Connection) -> (Vec<Item>, Option<ConnectionError>) {
    let mut items = Vec::new();
    for _ in 0..MAX_ITEMS {
        match timeout(WAIT, connection.next())
            .await
            .expect("the stream stalled")
        {
            Some(Ok(item)) => items.push(item),
            Some(Err(error)) => return (items, Some(error)),
            None => return (items, None),
        }
    }
    panic!("more than {MAX_ITEMS} items: {items:?}");
}

fn events(items: &[Item]) -> Vec<&Event> {
    items.iter().filter_map(Item::event).collect()
}

/// A server that records the headers of every request and answers with this event stream.
async fn recording_server(body: &'static [u8]) -> (SocketAddr, Arc<Mutex<Vec<HeaderMap>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let recorded = seen.clone();
    let router = Router::new().route(
        "/s",
        get(move |headers: HeaderMap| {
            let recorded = recorded.clone();
            async move {
                recorded.lock().unwrap().push(headers);
                event_stream(vec![body.to_vec()])
            }
        }),
    );
    (serve(router).await, seen)
}

#[tokio::test]
async fn a_well_formed_stream_gives_its_items_then_ends() {
    let router = Router::new().route(
        "/s",
        get(|| async {
            let mut response = event_stream(vec![
                b": hello\n\nretry: 2500\n\n".to_vec(),
                b"id: 1\ndata: {\"type\":\"refetchEvaluation\"}\n\n".to_vec(),
                b"event: other\ndata: a\ndata: b\n\n".to_vec(),
            ]);
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                "Text/Event-Stream; charset=utf-8".parse().unwrap(),
            );
            response
        }),
    );
    let addr = serve(router).await;
    let mut connection = open_stream(&request(addr, "/s")).await;
    assert_eq!(connection.status, 200);
    assert_eq!(
        connection.content_type.as_deref(),
        Some("Text/Event-Stream; charset=utf-8")
    );
    let (items, error) = read_all(&mut connection).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(items.len(), 4, "{items:?}");
    assert_eq!(items[0], Item::Comment(" hello".into()));
    assert_eq!(items[1], Item::Retry(2500));
    let events = events(&items);
    assert_eq!(events[0].data, r#"{"type":"refetchEvaluation"}"#);
    assert_eq!(events[0].id.as_deref(), Some("1"));
    assert_eq!(events[1].event_type, "other");
    assert_eq!(events[1].data, "a\nb");
    assert_eq!(events[1].last_event_id, "1");
    assert_eq!(connection.last_event_id(), "1");
    // After the end, it stays ended.
    assert!(connection.next().await.is_none());
}

#[tokio::test]
async fn the_stream_headers_and_the_given_headers_are_sent() {
    let (addr, seen) = recording_server(b"").await;
    let mut request = request(addr, "/s");
    request.headers = vec![(header::AUTHORIZATION, "Bearer t0ken".parse().unwrap())];
    let mut connection = open_stream(&request).await;
    let (items, error) = read_all(&mut connection).await;
    assert!(items.is_empty() && error.is_none(), "{items:?} {error:?}");
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0][header::ACCEPT], "text/event-stream");
    assert_eq!(seen[0][header::CACHE_CONTROL], "no-cache");
    assert_eq!(seen[0][header::AUTHORIZATION], "Bearer t0ken");
}

#[tokio::test]
async fn last_event_id_is_sent_only_when_given_and_not_empty() {
    let (addr, seen) = recording_server(b"data: x\n\n").await;
    for id in [None, Some(""), Some("41")] {
        let mut request = request(addr, "/s");
        request.last_event_id = id.map(str::to_owned);
        let mut connection = open_stream(&request).await;
        let (items, _) = read_all(&mut connection).await;
        // The resumed buffer is what an event without an id reports.
        assert_eq!(events(&items)[0].last_event_id, id.unwrap_or(""));
    }
    let sent: Vec<_> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|headers| {
            headers
                .get("last-event-id")
                .map(|v| v.to_str().unwrap().to_owned())
        })
        .collect();
    assert_eq!(sent, vec![None, None, Some("41".to_owned())]);
}

#[tokio::test]
async fn a_text_plain_answer_is_refused_and_stops() {
    let router = Router::new().route(
        "/s",
        get(|| async {
            Response::builder()
                .header(header::CONTENT_TYPE, "text/plain")
                .body(Body::from("data: not really\n\n"))
                .unwrap()
        }),
    );
    let addr = serve(router).await;
    let refusal = open_refused(&request(addr, "/s")).await;
    assert_eq!(refusal.status, 200);
    assert_eq!(refusal.content_type.as_deref(), Some("text/plain"));
    assert_eq!(refusal.body_snippet, "data: not really\n\n");
    assert_eq!(refusal_policy(&refusal), Policy::Stop);
}

#[tokio::test]
async fn a_503_with_retry_after_is_refused_and_retried() {
    let router = Router::new().route(
        "/s",
        get(|| async {
            Response::builder()
                .status(StatusCode::SERVICE_UNAVAILABLE)
                .header(header::RETRY_AFTER, "7")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(format!(
                    "{{\"errorDetails\":\"{}\"}}",
                    "busy ".repeat(200)
                )))
                .unwrap()
        }),
    );
    let addr = serve(router).await;
    let refusal = open_refused(&request(addr, "/s")).await;
    assert_eq!(refusal.status, 503);
    assert_eq!(refusal.retry_after.as_deref(), Some("7"));
    assert_eq!(refusal.body_snippet.len(), 512);
    assert!(refusal.body_snippet.starts_with("{\"errorDetails\":\"busy"));
    assert_eq!(refusal_policy(&refusal), Policy::Retry);
}

#[tokio::test]
async fn a_204_is_refused_and_stops() {
    let router = Router::new().route("/s", get(|| async { StatusCode::NO_CONTENT }));
    let addr = serve(router).await;
    let refusal = open_refused(&request(addr, "/s")).await;
    assert_eq!(refusal.status, 204);
    assert_eq!(refusal.body_snippet, "");
    assert_eq!(refusal_policy(&refusal), Policy::Stop);
}

#[tokio::test]
async fn a_bom_and_cr_only_line_ends_split_across_writes_parse() {
    let router = Router::new().route(
        "/s",
        get(|| async {
            // The BOM and a CR LF pair are both cut by write boundaries.
            event_stream(vec![
                b"\xEF".to_vec(),
                b"\xBB\xBFid: 1\rdata: a\r".to_vec(),
                b"\rdata: b\r\r: end\r".to_vec(),
                b"\ndata: c\n\n".to_vec(),
            ])
        }),
    );
    let addr = serve(router).await;
    let mut connection = open_stream(&request(addr, "/s")).await;
    let (items, error) = read_all(&mut connection).await;
    assert!(error.is_none(), "{error:?}");
    let data: Vec<_> = events(&items).iter().map(|e| e.data.as_str()).collect();
    assert_eq!(data, ["a", "b", "c"], "{items:?}");
    assert!(
        !items.iter().any(|item| matches!(item, Item::Problem(_))),
        "{items:?}"
    );
}

#[tokio::test]
async fn two_megabytes_without_a_newline_are_skipped_and_later_events_arrive() {
    let router = Router::new().route(
        "/s",
        get(|| async {
            let mut chunks = vec![b"data: ".to_vec()];
            chunks.extend((0..32).map(|_| vec![b'x'; 64 * 1024]));
            chunks.push(b"\n\ndata: after\n\n".to_vec());
            event_stream(chunks)
        }),
    );
    let addr = serve(router).await;
    let mut connection = open_stream(&request(addr, "/s")).await;
    let (items, error) = read_all(&mut connection).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(items.len(), 2, "{items:?}");
    assert!(matches!(
        items[0],
        Item::Problem(Problem::LineTooLong { line: 1, .. })
    ));
    assert_eq!(events(&items)[0].data, "after");
}

#[tokio::test]
async fn next_can_be_cut_short_by_a_timer_without_losing_items() {
    let router = Router::new().route(
        "/s",
        get(|| async {
            let body = stream::unfold(0, |step| async move {
                match step {
                    0..=2 => {
                        tokio::time::sleep(Duration::from_millis(150)).await;
                        let chunk = format!("id: {step}\ndata: {step}\n\n");
                        Some((Ok::<_, std::io::Error>(Bytes::from(chunk)), step + 1))
                    }
                    _ => None,
                }
            });
            event_stream_of(Body::from_stream(body))
        }),
    );
    let addr = serve(router).await;
    let mut connection = open_stream(&request(addr, "/s")).await;
    let mut data = Vec::new();
    let mut cut_short = 0;
    // 10 ms waits against 150 ms pauses: most calls are dropped mid-read.
    for _ in 0..MAX_ITEMS {
        match timeout(Duration::from_millis(10), connection.next()).await {
            Err(_) => cut_short += 1,
            Ok(Some(Ok(Item::Event(event)))) => data.push(event.data),
            Ok(Some(other)) => panic!("unexpected {other:?}"),
            Ok(None) => break,
        }
    }
    assert_eq!(data, ["0", "1", "2"]);
    assert!(cut_short > 0);
}

#[tokio::test]
async fn a_stream_that_breaks_off_is_a_body_error_without_secrets() {
    let router = Router::new().route(
        "/s",
        get(|| async {
            // The pause lets the head and the first event reach the client before the failure.
            let body = stream::unfold(0, |step| async move {
                match step {
                    0 => Some((Ok(Bytes::from_static(b"data: first\n\n")), 1)),
                    1 => {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        Some((Err(std::io::Error::other("boom")), 2))
                    }
                    _ => None,
                }
            });
            event_stream_of(Body::from_stream(body))
        }),
    );
    let addr = serve(router).await;
    let mut request = request(addr, "/s?token=s3cret");
    request.url.set_username("user").unwrap();
    request.url.set_password(Some("pa55")).unwrap();
    let mut connection = open_stream(&request).await;
    let (items, error) = read_all(&mut connection).await;
    assert_eq!(events(&items)[0].data, "first");
    let error = error.expect("a body error");
    assert!(matches!(error, ConnectionError::Body { .. }), "{error:?}");
    assert_secret_free(&error);
    assert!(connection.next().await.is_none());
}

#[tokio::test]
async fn a_refused_connection_is_a_connect_error_without_secrets() {
    let closed = fixture::ClosedPort::hold();
    let mut request = request(closed.addr, "/s?token=s3cret");
    request.url.set_username("user").unwrap();
    request.url.set_password(Some("pa55")).unwrap();
    let error = timeout(WAIT, open(&client(), &request))
        .await
        .expect("open is bounded")
        .expect_err("nothing listens");
    assert!(
        matches!(error, ConnectionError::Connect { .. }),
        "{error:?}"
    );
    assert_secret_free(&error);
}

#[tokio::test]
async fn a_url_the_client_cannot_use_is_a_request_error_without_secrets() {
    let mut request =
        ConnectRequest::new("ftp://user:pa55@127.0.0.1/s?token=s3cret".parse().unwrap());
    request.connect_timeout = WAIT;
    let error = timeout(WAIT, open(&client(), &request))
        .await
        .expect("open is bounded")
        .expect_err("reqwest speaks no ftp");
    assert!(
        matches!(error, ConnectionError::Request { .. }),
        "{error:?}"
    );
    assert_secret_free(&error);
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // Accept, hold the socket, never write.
    let holder = tokio::spawn(async move {
        let (socket, _) = listener.accept().await.unwrap();
        tokio::time::sleep(WAIT).await;
        drop(socket);
    });
    let mut request = request(addr, "/s?token=s3cret");
    request.connect_timeout = Duration::from_millis(200);
    let error = timeout(WAIT, open(&client(), &request))
        .await
        .expect("open is bounded")
        .expect_err("no answer");
    assert!(
        matches!(error, ConnectionError::Timeout { .. }),
        "{error:?}"
    );
    assert_secret_free(&error);
    holder.abort();
}

fn assert_secret_free(error: &ConnectionError) {
    let text = error.to_string();
    for secret in ["s3cret", "token", "pa55", "user"] {
        assert!(!text.contains(secret), "{text}");
    }
    assert!(!text.contains('\n'), "{text}");
}
