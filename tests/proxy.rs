//! Proxies end to end: a small forwarding proxy on 127.0.0.1 (absolute-form requests and
//! CONNECT), counting what goes through it, in front of `ofrep serve`.
mod fixture;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use fixture::cli::{ofrep, run};
use fixture::{ClosedPort, ReferenceServer};

/// A forwarding proxy: counts each request (a CONNECT counts once), dials the target named in
/// it, and pipes both ways.
struct Proxy {
    url: String,
    count: Arc<AtomicUsize>,
}

impl Proxy {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let count = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&count);
        thread::spawn(move || {
            for client in listener.incoming().take(100).flatten() {
                let counted = Arc::clone(&counted);
                thread::spawn(move || {
                    let _ = forward(client, &counted);
                });
            }
        });
        Self { url, count }
    }

    fn requests(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }
}

fn forward(client: TcpStream, count: &AtomicUsize) -> std::io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(20)))?;
    let mut reader = BufReader::new(client.try_clone()?);
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || head.len() > 64 {
            return Ok(());
        }
        let end = line == "\r\n";
        head.push(line);
        if end {
            break;
        }
    }
    count.fetch_add(1, Ordering::SeqCst);
    let target = head[0]
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    let mut client = client;
    let mut upstream = if head[0].starts_with("CONNECT ") {
        let upstream = TcpStream::connect(&target)?;
        client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")?;
        upstream
    } else {
        let authority = target
            .strip_prefix("http://")
            .and_then(|rest| rest.split('/').next())
            .unwrap_or_default();
        let mut upstream = TcpStream::connect(authority)?;
        upstream.write_all(head.concat().as_bytes())?;
        upstream
    };
    // What the reader buffered past the head belongs upstream too.
    upstream.write_all(reader.buffer())?;
    let mut down = upstream.try_clone()?;
    let mut up_client = client.try_clone()?;
    let pump = thread::spawn(move || std::io::copy(&mut reader.into_inner(), &mut upstream));
    let _ = std::io::copy(&mut down, &mut up_client);
    let _ = client.shutdown(std::net::Shutdown::Both);
    let _ = pump.join();
    Ok(())
}

#[test]
fn proxy_routes_requests_through_it_and_verbose_names_it() {
    let proxy = Proxy::start();
    let server = ReferenceServer::start(&[]);
    let out = run(ofrep().args(["fetch", &server.url, "--proxy", &proxy.url, "-v"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(proxy.requests() >= 1, "the proxy saw no request");
    assert!(
        out.stderr
            .contains(&format!("* through the proxy {}/", proxy.url)),
        "{}",
        out.stderr
    );
}

#[test]
fn embedded_and_loopback_targets_ignore_the_proxy_environment() {
    let proxy = Proxy::start();
    let server = ReferenceServer::start(&[]);
    for args in [
        vec!["fetch", "--embedded"],
        vec!["fetch", server.url.as_str()],
    ] {
        let out = run(ofrep()
            .args(&args)
            .args(["-v"])
            .env("HTTP_PROXY", &proxy.url)
            .env("http_proxy", &proxy.url)
            .env("ALL_PROXY", &proxy.url));
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
        assert!(!out.stderr.contains("through the proxy"), "{}", out.stderr);
    }
    assert_eq!(proxy.requests(), 0, "loopback went through the proxy");
}

#[test]
fn an_unreachable_proxy_is_named_in_the_error() {
    let closed = ClosedPort::hold();
    let server = ReferenceServer::start(&[]);
    let proxy = closed.url();
    let out = run(ofrep().args(["fetch", &server.url, "--proxy", &proxy]));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!("through the proxy {proxy}/")),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("--no-proxy"), "{}", out.stderr);
}

#[test]
fn https_goes_through_the_proxy_with_connect() {
    let proxy = Proxy::start();
    let dir = tempfile::tempdir().unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let (cert_path, key_path) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    let server = ReferenceServer::start(&[
        "--tls-cert",
        cert_path.to_str().unwrap(),
        "--tls-key",
        key_path.to_str().unwrap(),
    ]);
    let out = run(ofrep().args(["fetch", &server.url, "-k", "--proxy", &proxy.url]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(proxy.requests(), 1, "one CONNECT");
}
