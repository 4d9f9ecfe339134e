//! Clients that are odd on the wire: half-closed sockets, slow and stalled bodies.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

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
