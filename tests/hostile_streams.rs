//! `watch` and `conform` against event streams that try to hurt them (issue 11, clients): floods
//! and bursts that must not grow their memory, streams and answers that ask for a retry storm, an
//! event id no header can carry, and a stream on another origin that must not get the
//! credentials. The servers are purpose-built, on 127.0.0.1:0; every wait is bounded in time and
//! every child is killed when its test ends.

mod fixture;

use std::convert::Infallible;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::StreamExt;
use serde_json::Value;

use fixture::Recorded;

/// The aim of issue 11: under this whatever the stream sends, for as long as it sends it.
const RSS_BOUND_KIB: u64 = 64 * 1024;
const WAIT: Duration = Duration::from_secs(15);

/// What the event stream sends.
#[derive(Clone, Copy, Debug)]
enum Stream {
    /// Small events of an unknown type, as fast as the socket takes them, for ever.
    FloodEvents,
    /// Comments, as fast as the socket takes them.
    FloodComments,
    /// Lines of invalid UTF-8, as fast as the socket takes them.
    FloodInvalidUtf8,
    /// This many `refetchEvaluation` events at once, then silence.
    Burst(usize),
    /// `retry: 0`, then the stream ends at once.
    RetryZeroThenClose,
    /// On the first connection an event with a good id, one with a control character in its id,
    /// then the end; later connections stay open and silent.
    BadIdThenClose,
    /// Open and silent.
    Idle,
}

/// What the bulk endpoint answers.
#[derive(Clone, Copy, Debug)]
enum Bulk {
    Flags,
    /// Every answer is this status with `Retry-After: 0`.
    AlwaysRefused(u16),
    /// The first answer is the flags; every later one this status with `Retry-After: 0`.
    RefusedAfterFirst(u16),
}

struct Shared {
    bulk: Bulk,
    stream: Stream,
    /// The `eventStreams` URL the bulk answer advertises.
    stream_url: Mutex<String>,
    bulk_count: AtomicUsize,
    bulk_requests: Mutex<Vec<Recorded>>,
    stream_count: AtomicUsize,
    stream_requests: Mutex<Vec<Recorded>>,
}

/// How many requests of each kind are kept (all are counted).
const KEPT: usize = 64;

struct Hostile {
    addr: std::net::SocketAddr,
    shared: Arc<Shared>,
}

impl Hostile {
    /// A server whose bulk answer advertises its own `/events`.
    fn start(bulk: Bulk, stream: Stream) -> Self {
        Self::start_advertising(bulk, stream, None)
    }

    /// A server whose bulk answer advertises `stream_url` (or its own `/events`).
    fn start_advertising(bulk: Bulk, stream: Stream, stream_url: Option<String>) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            bulk,
            stream,
            stream_url: Mutex::new(stream_url.unwrap_or_else(|| format!("http://{addr}/events"))),
            bulk_count: AtomicUsize::new(0),
            bulk_requests: Mutex::default(),
            stream_count: AtomicUsize::new(0),
            stream_requests: Mutex::default(),
        });
        let app = Router::new()
            .route("/ofrep/v1/evaluate/flags", post(bulk_route))
            .route("/events", get(events_route))
            .with_state(shared.clone());
        fixture::scripted::serve_in_background(listener, app);
        Self { addr, shared }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn bulk_count(&self) -> usize {
        self.shared.bulk_count.load(Ordering::SeqCst)
    }

    fn stream_count(&self) -> usize {
        self.shared.stream_count.load(Ordering::SeqCst)
    }

    fn bulk_requests(&self) -> Vec<Recorded> {
        self.shared.bulk_requests.lock().unwrap().clone()
    }

    fn stream_requests(&self) -> Vec<Recorded> {
        self.shared.stream_requests.lock().unwrap().clone()
    }

    fn wait_for(&self, what: &str, condition: impl Fn(&Self) -> bool) {
        let start = Instant::now();
        while !condition(self) {
            assert!(start.elapsed() < WAIT, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Keeps the first [`KEPT`] requests.
fn record(request: &Request, into: &Mutex<Vec<Recorded>>) {
    let mut kept = into.lock().unwrap();
    if kept.len() < KEPT {
        kept.push(fixture::scripted::record(request));
    }
}

async fn bulk_route(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let count = shared.bulk_count.fetch_add(1, Ordering::SeqCst);
    record(&request, &shared.bulk_requests);
    let refused = match shared.bulk {
        Bulk::Flags => None,
        Bulk::AlwaysRefused(status) => Some(status),
        Bulk::RefusedAfterFirst(status) => Some(status).filter(|_| count > 0),
    };
    if let Some(status) = refused {
        return (
            StatusCode::from_u16(status).unwrap(),
            [(header::RETRY_AFTER, "0")],
            "{}",
        )
            .into_response();
    }
    let url = shared.stream_url.lock().unwrap().clone();
    let body = serde_json::json!({
        "flags": [{"key": "steady", "value": true, "variant": "on", "reason": "STATIC"}],
        "eventStreams": [{"type": "sse", "url": url}],
    });
    (
        StatusCode::OK,
        [
            (header::ETAG, "\"v1\"".to_owned()),
            (header::CONTENT_TYPE, "application/json".to_owned()),
        ],
        body.to_string(),
    )
        .into_response()
}

/// `unit` repeated to about 64 KiB.
fn chunk_of(unit: &[u8]) -> Bytes {
    Bytes::from(unit.repeat(64 * 1024 / unit.len()))
}

fn endless(unit: &[u8]) -> Body {
    let chunk = chunk_of(unit);
    Body::from_stream(futures_util::stream::repeat_with(move || {
        Ok::<_, Infallible>(chunk.clone())
    }))
}

fn then_silent(bytes: Bytes) -> Body {
    let pieces: Vec<Result<Bytes, Infallible>> = (0..bytes.len())
        .step_by(64 * 1024)
        .map(|at| Ok(bytes.slice(at..bytes.len().min(at + 64 * 1024))))
        .collect();
    Body::from_stream(futures_util::stream::iter(pieces).chain(futures_util::stream::pending()))
}

fn once(bytes: &'static [u8]) -> Body {
    Body::from(bytes)
}

async fn events_route(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let count = shared.stream_count.fetch_add(1, Ordering::SeqCst);
    record(&request, &shared.stream_requests);
    let body = match shared.stream {
        Stream::FloodEvents => endless(b"data: {\"type\":\"configurationChanged\"}\n\n"),
        Stream::FloodComments => endless(b": flood\n"),
        Stream::FloodInvalidUtf8 => endless(b"\xff\xfe\xfd\n"),
        Stream::Burst(events) => then_silent(Bytes::from(
            b"data: {\"type\":\"refetchEvaluation\"}\n\n".repeat(events),
        )),
        Stream::RetryZeroThenClose => once(b"retry: 0\n\n"),
        Stream::BadIdThenClose if count == 0 => {
            once(b"id: good\ndata: {\"type\":\"x\"}\n\nid: b\x01d\ndata: {\"type\":\"x\"}\n\n")
        }
        Stream::BadIdThenClose | Stream::Idle => then_silent(Bytes::new()),
    };
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/event-stream")
        .body(body)
        .unwrap()
}

/// A child `ofrep` whose stderr (or stdout) lines matching a filter are kept and the rest only
/// counted, so that a flood of output costs the test nothing.
struct Ofrep {
    child: Child,
    kept: Receiver<String>,
    lines: Arc<AtomicUsize>,
}

impl Drop for Ofrep {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Ofrep {
    /// `ofrep ARGS`, keeping the lines of stdout (`from_stdout`) or stderr that contain `keep`.
    fn start(args: &[&str], from_stdout: bool, keep: &'static [&'static str]) -> Self {
        let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("ofrep"));
        for var in fixture::cli::CLEARED_ENV {
            cmd.env_remove(var);
        }
        let (out, err) = if from_stdout {
            (Stdio::piped(), Stdio::null())
        } else {
            (Stdio::null(), Stdio::piped())
        };
        let mut child = cmd
            .args(args)
            .args(["--color", "never"])
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap();
        let reader: Box<dyn std::io::Read + Send> = if from_stdout {
            Box::new(child.stdout.take().unwrap())
        } else {
            Box::new(child.stderr.take().unwrap())
        };
        let (tx, kept) = channel();
        let lines = Arc::new(AtomicUsize::new(0));
        let counted = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(reader).lines().map_while(Result::ok) {
                counted.fetch_add(1, Ordering::Relaxed);
                if keep.iter().any(|k| line.contains(k)) && tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self { child, kept, lines }
    }

    /// The kept lines so far.
    fn kept(&self) -> Vec<String> {
        self.kept.try_iter().collect()
    }

    /// The next kept line that contains `text`, within `WAIT`.
    fn line_with(&self, text: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.kept.recv_timeout(left) {
                Ok(line) if line.contains(text) => return line,
                Ok(_) => {}
                Err(_) => panic!("no line with {text:?} within {WAIT:?}"),
            }
        }
    }

    /// The highest resident memory while it runs for `window` (VmHWM, sampled VmRSS as a check),
    /// in KiB. Panics if it exits early.
    fn peak_rss_over(&mut self, window: Duration) -> u64 {
        let pid = self.child.id();
        let start = Instant::now();
        let mut peak = 0;
        while start.elapsed() < window {
            assert!(
                self.child.try_wait().unwrap().is_none(),
                "ofrep exited under the stream"
            );
            peak = peak
                .max(status_kib(pid, "VmRSS:"))
                .max(status_kib(pid, "VmHWM:"));
            std::thread::sleep(Duration::from_millis(50));
        }
        peak.max(status_kib(pid, "VmHWM:"))
    }

    /// Waits (bounded) for the exit code.
    fn exit_code(&mut self) -> i32 {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            assert!(Instant::now() < deadline, "ofrep did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn start_watch(url: &str, extra: &[&str], keep: &'static [&'static str]) -> Ofrep {
    let mut args = vec!["watch", url];
    args.extend_from_slice(extra);
    Ofrep::start(&args, false, keep)
}

// --- Bounded memory ---------------------------------------------------------------------------

/// Runs `watch` against `stream` for a few seconds and returns it with its peak RSS.
fn watch_under(stream: Stream) -> (Hostile, Ofrep, u64) {
    let server = Hostile::start(Bulk::Flags, stream);
    let mut watch = start_watch(&server.url(), &[], &["warning", "connected"]);
    server.wait_for("the stream request", |s| s.stream_count() >= 1);
    let peak = watch.peak_rss_over(Duration::from_secs(3));
    eprintln!("watch under {stream:?}: peak RSS {peak} KiB");
    (server, watch, peak)
}

#[test]
fn watch_stays_under_64_mib_under_a_flood_of_events_and_says_it_throttled() {
    let (_server, watch, peak) = watch_under(Stream::FloodEvents);
    assert!(
        peak < RSS_BOUND_KIB,
        "peak RSS {peak} KiB under an event flood"
    );
    let throttled = watch.line_with("sends faster than watch handles it");
    assert!(throttled.contains("stream 0"), "{throttled}");
}

#[test]
fn watch_stays_under_64_mib_under_a_flood_of_comments() {
    let (_server, _watch, peak) = watch_under(Stream::FloodComments);
    assert!(
        peak < RSS_BOUND_KIB,
        "peak RSS {peak} KiB under a comment flood"
    );
}

#[test]
fn watch_stays_under_64_mib_under_invalid_utf8_and_warns_only_a_few_times() {
    let (_server, watch, peak) = watch_under(Stream::FloodInvalidUtf8);
    assert!(
        peak < RSS_BOUND_KIB,
        "peak RSS {peak} KiB under invalid UTF-8"
    );
    let utf8: Vec<String> = watch
        .kept()
        .into_iter()
        .filter(|l| l.contains("[sse-utf8]"))
        .collect();
    assert!(
        (1..=16).contains(&utf8.len()),
        "{} sse-utf8 warnings on one connection",
        utf8.len()
    );
    assert!(utf8.last().unwrap().contains("are not shown"), "{utf8:?}");
    assert!(
        watch.lines.load(Ordering::Relaxed) < 100,
        "stderr is not flooded"
    );
}

#[test]
fn watch_stays_under_64_mib_through_a_million_event_burst() {
    let (server, _watch, peak) = watch_under(Stream::Burst(1_000_000));
    assert!(
        peak < RSS_BOUND_KIB,
        "peak RSS {peak} KiB through the burst"
    );
    assert!(server.bulk_count() >= 2, "the burst was read and acted on");
}

/// Runs `conform` with one scenario that holds `stream` open for 3 s.
fn conform_under(stream: Stream) -> u64 {
    let server = Hostile::start(Bulk::Flags, stream);
    let dir = tempfile::tempdir().unwrap();
    let feature = dir.path().join("flood.feature");
    std::fs::write(
        &feature,
        "Feature: flood\n  @must @id:sse-utf8\n  Scenario: a long look at the stream\n    Given I connect to the advertised event stream\n    When I wait 3000 milliseconds\n    Then the stream passes check sse-utf8\n",
    )
    .unwrap();
    let feature = feature.to_str().unwrap();
    let mut conform = Ofrep::start(
        &[
            "conform",
            &server.url(),
            "--no-builtin",
            "--scenarios",
            feature,
        ],
        false,
        &[],
    );
    server.wait_for("the stream request", |s| s.stream_count() >= 1);
    let peak = conform.peak_rss_over(Duration::from_millis(2500));
    conform.exit_code();
    eprintln!("conform under {stream:?}: peak RSS {peak} KiB");
    peak
}

#[test]
fn conform_stays_under_64_mib_under_floods_and_a_million_event_burst() {
    for stream in [
        Stream::FloodEvents,
        Stream::FloodInvalidUtf8,
        Stream::Burst(1_000_000),
    ] {
        let peak = conform_under(stream);
        assert!(peak < RSS_BOUND_KIB, "peak RSS {peak} KiB under {stream:?}");
    }
}

// --- No retry storms --------------------------------------------------------------------------

/// How many requests `count` saw while `watch --deadline 3s` ran.
fn attempts_in_3s(server: &Hostile, count: fn(&Hostile) -> usize) -> usize {
    let mut watch = start_watch(&server.url(), &["--deadline", "3s"], &[]);
    watch.exit_code();
    let attempts = count(server);
    eprintln!("{attempts} attempts in 3 s");
    attempts
}

#[test]
fn retry_0_and_a_stream_that_closes_at_once_reconnect_only_a_few_times_a_second() {
    let server = Hostile::start(Bulk::Flags, Stream::RetryZeroThenClose);
    let attempts = attempts_in_3s(&server, Hostile::stream_count);
    assert!(
        (2..=8).contains(&attempts),
        "{attempts} stream connections in 3 s"
    );
}

#[test]
fn retry_after_0_on_the_first_answer_is_not_a_loop() {
    let server = Hostile::start(Bulk::AlwaysRefused(503), Stream::Idle);
    let attempts = attempts_in_3s(&server, Hostile::bulk_count);
    assert!(
        (2..=8).contains(&attempts),
        "{attempts} first-answer requests in 3 s"
    );
}

#[test]
fn retry_after_0_on_refetches_is_not_a_loop() {
    let server = Hostile::start(Bulk::RefusedAfterFirst(429), Stream::Idle);
    let attempts = attempts_in_3s(&server, Hostile::bulk_count);
    assert!(
        (3..=9).contains(&attempts),
        "{attempts} bulk requests in 3 s (the first answer, then refetches)"
    );
}

// --- A bad event id ---------------------------------------------------------------------------

#[test]
fn an_id_no_header_can_carry_is_dropped_with_a_warning_and_the_reconnect_resumes_from_the_last_good_one()
 {
    let server = Hostile::start(Bulk::Flags, Stream::BadIdThenClose);
    let watch = start_watch(&server.url(), &[], &["[sse-id]"]);
    server.wait_for("a reconnect", |s| s.stream_count() >= 2);
    let warning = watch.line_with("[sse-id]");
    assert!(warning.contains("control characters"), "{warning}");
    let streams = server.stream_requests();
    assert_eq!(streams[0].header("last-event-id"), None);
    assert_eq!(streams[1].header("last-event-id"), Some("good"));
}

// --- Credentials stay with their origin --------------------------------------------------------

const SECRET: &str = "Authorization: Bearer s3cret";

#[test]
fn watch_opens_a_stream_on_another_origin_without_the_headers_and_says_so() {
    let elsewhere = Hostile::start(Bulk::Flags, Stream::Idle);
    let base = Hostile::start_advertising(
        Bulk::Flags,
        Stream::Idle,
        Some(format!("{}/events", elsewhere.url())),
    );
    let watch = start_watch(&base.url(), &["-H", SECRET], &["another origin"]);
    elsewhere.wait_for("the stream request", |s| s.stream_count() >= 1);
    let warning = watch.line_with("another origin");
    assert!(warning.contains(&elsewhere.url()), "{warning}");
    assert!(!warning.contains("s3cret"), "{warning}");
    assert_eq!(elsewhere.stream_requests()[0].header("authorization"), None);
    assert_eq!(
        base.bulk_requests()[0].header("authorization"),
        Some("Bearer s3cret"),
        "the base URL's origin gets them"
    );
    assert_eq!(elsewhere.bulk_count(), 0);

    let same = Hostile::start(Bulk::Flags, Stream::Idle);
    let same_watch = start_watch(&same.url(), &["-H", SECRET], &["another origin"]);
    same.wait_for("the stream request", |s| s.stream_count() >= 1);
    assert_eq!(
        same.stream_requests()[0].header("authorization"),
        Some("Bearer s3cret"),
        "a stream on the same origin gets them"
    );
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        same_watch.kept().is_empty(),
        "no warning on the same origin"
    );
    drop(watch);
}

#[test]
fn conform_opens_a_stream_on_another_origin_without_the_headers_and_its_evidence_says_so() {
    let elsewhere = Hostile::start(Bulk::Flags, Stream::Idle);
    let base = Hostile::start_advertising(
        Bulk::Flags,
        Stream::Idle,
        Some(format!("{}/events", elsewhere.url())),
    );
    let dir = tempfile::tempdir().unwrap();
    let feature = dir.path().join("origin.feature");
    std::fs::write(
        &feature,
        "Feature: origin\n  @must @id:sse-content-type\n  Scenario: an event on the stream\n    Given I connect to the advertised event stream\n    Then an event arrives within 1 seconds\n",
    )
    .unwrap();
    let run = fixture::cli::run(fixture::cli::ofrep().args([
        "conform",
        &base.url(),
        "-H",
        SECRET,
        "--no-builtin",
        "--scenarios",
        feature.to_str().unwrap(),
        "-o",
        "json",
    ]));
    let doc: Value = run.json();
    let evidence = doc["results"][0]["evidence"].to_string();
    assert!(evidence.contains("another origin"), "{}", run.stdout);
    assert!(!run.stdout.contains("s3cret"), "{}", run.stdout);
    assert_eq!(elsewhere.stream_count(), 1);
    assert_eq!(elsewhere.stream_requests()[0].header("authorization"), None);
    assert_eq!(
        base.bulk_requests()[0].header("authorization"),
        Some("Bearer s3cret")
    );
}
