//! Clients that are odd on the wire: half-closed sockets, slow and stalled bodies.

use std::time::{Duration, Instant};

use ofrep::serve::ServeConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::binary::{Child, Output};
use crate::support::{BULK, LONG, start, with_faults};

/// Whether `answer` is one whole HTTP/1.1 response: a status line, a head, and exactly the
/// `content-length` bytes of body.
fn is_complete(answer: &[u8], status: u16) -> bool {
    let text = String::from_utf8_lossy(answer);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return false;
    };
    let length = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse::<usize>().ok())?
    });
    head.starts_with(&format!("HTTP/1.1 {status} ")) && length == Some(body.len())
}

#[tokio::test]
async fn clients_that_half_close_after_their_request_all_get_the_answer() {
    // Plain, and with a handler that takes a moment (as any does under load): hyper used to read
    // the client's EOF while the handler ran, and dropped the connection unanswered.
    for faults in [&[][..], &["slow=20ms"]] {
        half_closing_clients(faults).await;
    }
}

async fn half_closing_clients(faults: &[&str]) {
    let server = start(with_faults(faults)).await;
    let addr = server.server.addr();
    let request = format!(
        "POST /{BULK} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{{}}"
    );
    let mut missing = Vec::new();
    // 100 clients, 20 at a time, each bounded in time.
    for batch in 0..5 {
        let mut clients = tokio::task::JoinSet::new();
        for client in 0..20 {
            let request = request.clone();
            clients.spawn(async move {
                let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
                socket.write_all(request.as_bytes()).await.unwrap();
                socket.shutdown().await.unwrap();
                let mut answer = Vec::new();
                let read = tokio::time::timeout(LONG, socket.read_to_end(&mut answer)).await;
                (
                    batch * 20 + client,
                    read.is_ok() && is_complete(&answer, 200),
                    answer,
                )
            });
        }
        while let Some(done) = clients.join_next().await {
            let (client, complete, answer) = done.unwrap();
            if !complete {
                missing.push((client, String::from_utf8_lossy(&answer).into_owned()));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "{faults:?}: {} of 100 got no whole answer: {:?}",
        missing.len(),
        missing.first()
    );
}

#[tokio::test]
async fn a_body_that_stalls_is_answered_408_at_its_deadline() {
    let mut config = ServeConfig::embedded();
    config.body_timeout = Duration::from_millis(500);
    let server = start(config).await;
    let addr = server.server.addr();
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /{BULK} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"context\": "
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    tokio::time::timeout(LONG, socket.read_to_end(&mut answer))
        .await
        .expect("answered and closed in time")
        .unwrap();
    let took = started.elapsed();
    assert!(
        is_complete(&answer, 408),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    assert!(took >= Duration::from_millis(450), "{took:?}");
}

/// The resident and peak resident memory of process `pid`, in KiB.
fn memory_of(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in /proc/{pid}/status"))
    };
    (field("VmRSS:"), field("VmHWM:"))
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn three_hundred_stalled_large_bodies_do_not_pin_the_servers_memory() {
    const CLIENTS: usize = 300;
    const DECLARED: usize = 1024 * 1024;
    const SENT: usize = 960 * 1024;
    let (child, first, _rest) = Child::serve(&["-o", "json"], Output::Stdout);
    let listening: serde_json::Value = serde_json::from_str(&first).unwrap();
    let addr: std::net::SocketAddr = listening["address"].as_str().unwrap().parse().unwrap();
    let pid = child.0.id();
    let (idle, _) = memory_of(pid);

    // Each client sends a head announcing 1 MiB, 960 KiB of it, then stops and holds on.
    let mut clients = tokio::task::JoinSet::new();
    for _ in 0..CLIENTS {
        clients.spawn(async move {
            let mut socket = tokio::net::TcpStream::connect(addr).await.ok()?;
            let head = format!(
                "POST /{BULK} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {DECLARED}\r\n\r\n"
            );
            socket.write_all(head.as_bytes()).await.ok()?;
            let piece = vec![b' '; 64 * 1024];
            for _ in 0..SENT / piece.len() {
                // A server that stops reading makes the write wait: that client has stalled.
                let sent = tokio::time::timeout(Duration::from_secs(2), socket.write_all(&piece));
                if !matches!(sent.await, Ok(Ok(()))) {
                    break;
                }
            }
            Some(socket)
        });
    }
    let mut sockets = Vec::new();
    let all_sent = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(socket) = clients.join_next().await {
            sockets.extend(socket.unwrap());
        }
    });
    all_sent.await.expect("the clients finish sending in time");
    assert!(
        sockets.len() > CLIENTS * 9 / 10,
        "{} connected",
        sockets.len()
    );
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Small requests are still answered while the large ones stall.
    let small = crate::support::client()
        .post(format!("http://{addr}/{BULK}"))
        .header("content-type", "application/json")
        .body("{\"context\": {}}")
        .send()
        .await
        .unwrap();
    assert_eq!(small.status(), 200);

    let (rss, peak) = memory_of(pid);
    eprintln!(
        "{} stalled bodies of {} KiB: idle {idle} KiB, now {rss} KiB, peak {peak} KiB",
        sockets.len(),
        SENT / 1024
    );
    // Without a budget the bodies alone were over 280 MiB.
    assert!(peak < 160 * 1024, "peak RSS {peak} KiB (idle {idle} KiB)");
    drop(sockets);
}
