//! `--flags FILE`: reloads on edit, rename and symlink swap, bad edits, and start-up errors.

use std::time::{Duration, Instant};

use ofrep::serve::{ServeConfig, ServeEvent};
use serde_json::{Value, json};

use crate::support::{LONG, SHORT, TestServer, json, start, start_default, with_file};

const FILE_V1: &str = r##"{"flags": {"color": {"state": "ENABLED", "variants": {"red": "#f00", "blue": "#00f"}, "defaultVariant": "red"}}}"##;

/// A server on a fresh `flags.json` holding FILE_V1; keep the directory alive.
async fn serve_file() -> (tempfile::TempDir, std::path::PathBuf, TestServer) {
    let dir = tempfile::tempdir().unwrap();
    let config = with_file(&dir, FILE_V1);
    let path = config.flags_file.clone().unwrap();
    (dir, path, start(config).await)
}

async fn color(server: &TestServer) -> Value {
    let body = json(server.bulk(json!({}), &[]).await).await;
    body["flags"][0]["value"].clone()
}

#[tokio::test]
async fn each_file_edit_sends_exactly_one_event() {
    let (_dir, path, server) = serve_file().await;
    let mut stream = server.stream(&[]).await;
    let _retry = stream.next(LONG).await;
    for (round, variant) in ["blue", "red", "blue"].iter().enumerate() {
        let started = Instant::now();
        std::fs::write(
            &path,
            FILE_V1.replace(
                "\"defaultVariant\": \"red\"",
                &format!("\"defaultVariant\": \"{variant}\""),
            ),
        )
        .unwrap();
        let event = stream
            .next_event(LONG)
            .await
            .unwrap_or_else(|| panic!("no event for edit {round}"));
        // The issue asks for 100 ms; allow slack for a loaded CI machine.
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "took {:?}",
            started.elapsed()
        );
        assert_eq!(event.id, Some((round + 1).to_string()));
        assert!(
            stream
                .next_event(Duration::from_millis(150))
                .await
                .is_none(),
            "a second event for edit {round}"
        );
    }
    assert_eq!(color(&server).await, "#00f");
    // Saving the same content again is no change.
    std::fs::write(&path, std::fs::read_to_string(&path).unwrap()).unwrap();
    assert!(stream.next_event(SHORT).await.is_none());
}

#[tokio::test]
async fn an_edit_replacing_the_file_by_rename_is_seen() {
    let (_dir, path, server) = serve_file().await;
    let mut stream = server.stream(&[]).await;
    let temporary = path.with_file_name(".flags.json.swp");
    std::fs::write(&temporary, FILE_V1.replace("\"red\"}", "\"blue\"}")).unwrap();
    std::fs::rename(&temporary, &path).unwrap();
    assert!(stream.next_event(LONG).await.is_some());
    assert_eq!(color(&server).await, "#00f");
}

#[cfg(unix)]
#[tokio::test]
async fn a_kubernetes_style_symlink_swap_is_seen() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir(root.join("..v1")).unwrap();
    std::fs::write(root.join("..v1/flags.json"), FILE_V1).unwrap();
    symlink("..v1", root.join("..data")).unwrap();
    symlink("..data/flags.json", root.join("flags.json")).unwrap();
    let mut config = ServeConfig::embedded();
    config.flags_file = Some(root.join("flags.json"));
    let server = start(config).await;
    let mut stream = server.stream(&[]).await;
    assert!(
        stream.next_event(SHORT).await.is_none(),
        "the watch settles without an event"
    );
    // What kubelet's atomic writer does: a new directory, a new link, renamed over `..data`.
    std::fs::create_dir(root.join("..v2")).unwrap();
    std::fs::write(
        root.join("..v2/flags.json"),
        FILE_V1.replace("\"red\"}", "\"blue\"}"),
    )
    .unwrap();
    symlink("..v2", root.join("..data_tmp")).unwrap();
    std::fs::rename(root.join("..data_tmp"), root.join("..data")).unwrap();
    assert!(
        stream.next_event(LONG).await.is_some(),
        "no event for the swap"
    );
    assert_eq!(color(&server).await, "#00f");
}

#[tokio::test]
async fn a_deleted_file_keeps_the_flags_until_it_comes_back() {
    let (_dir, path, server) = serve_file().await;
    let mut stream = server.stream(&[]).await;
    std::fs::remove_file(&path).unwrap();
    assert!(
        stream.next_event(SHORT).await.is_none(),
        "a missing file is no change"
    );
    assert_eq!(color(&server).await, "#f00");
    std::fs::write(&path, FILE_V1.replace("\"red\"}", "\"blue\"}")).unwrap();
    assert!(stream.next_event(LONG).await.is_some());
    assert_eq!(color(&server).await, "#00f");
}

#[tokio::test]
async fn a_bad_edit_keeps_the_last_good_flags_and_reports_file_and_line() {
    let (_dir, path, mut server) = serve_file().await;
    let etag = server.etag(json!({})).await;
    std::fs::write(&path, "{\n  \"flags\": {\n    \"color\": oops\n  }\n}").unwrap();
    let message = server
        .wait_for(LONG, |e| match e {
            ServeEvent::ReloadFailed { message, .. } => Some(message.clone()),
            _ => None,
        })
        .await
        .expect("a reload failure");
    assert!(message.contains("flags.json:3:"), "{message}");
    assert_eq!(color(&server).await, "#f00");
    assert_eq!(server.etag(json!({})).await, etag);
}

#[tokio::test]
async fn an_invalid_file_at_start_is_an_error_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = with_file(
        &dir,
        "{\"flags\": {\n  \"a\": {\"state\": \"ENABLED\", \"variants\": {}, \"defaultVariant\": \"x\"}\n}}",
    );
    let error = ofrep::serve::Server::start(config)
        .await
        .err()
        .expect("an error");
    assert_eq!(error.exit_code(), 2);
    assert!(error.to_string().contains("flags.json:2:3: "), "{error}");
}

#[tokio::test]
async fn a_dropped_or_shut_down_server_stops_listening() {
    for shut_down in [true, false] {
        let server = start_default().await;
        let addr = server.server.addr();
        if shut_down {
            server.server.shutdown().await;
        } else {
            drop(server);
        }
        // The accept loop ends on its next poll; look a few times, bounded.
        let mut refused = false;
        for _ in 0..50 {
            if tokio::net::TcpStream::connect(addr).await.is_err() {
                refused = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(
            refused,
            "still listening after {}",
            if shut_down { "shutdown" } else { "drop" }
        );
    }
}

#[tokio::test]
async fn a_port_in_use_is_an_error_with_a_hint() {
    let first = start_default().await;
    let mut config = ServeConfig::embedded();
    config.port = first.server.addr().port();
    let error = ofrep::serve::Server::start(config)
        .await
        .err()
        .expect("the port is taken");
    assert_eq!(error.exit_code(), 2);
    assert!(
        error.to_string().contains("cannot listen on 127.0.0.1:"),
        "{error}"
    );
    assert!(error.hint().unwrap().contains("--port 0"));
}
