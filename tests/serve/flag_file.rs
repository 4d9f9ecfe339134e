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

/// A flag file of under 2 KB whose `$evaluators` refer to each other ten times over, nine levels
/// deep: written out, its targeting would be 10^9 strings. The flag `laughs` is on line 15.
fn billion_laughs() -> String {
    let mut evaluators = vec![r#"    "lol0": "ha ha ha ha ha ha ha ha ha ha""#.to_owned()];
    for level in 1..=9 {
        let refs = vec![format!(r#"{{"$ref": "lol{}"}}"#, level - 1); 10].join(", ");
        evaluators.push(format!(r#"    "lol{level}": {{"cat": [{refs}]}}"#));
    }
    format!(
        "{{\n  \"$evaluators\": {{\n{}\n  }},\n  \"flags\": {{\n    \"laughs\": {{\"state\": \"ENABLED\", \"variants\": {{\"a\": \"a\"}}, \"defaultVariant\": \"a\",\n      \"targeting\": {{\"$ref\": \"lol9\"}}}}\n  }}\n}}\n",
        evaluators.join(",\n")
    )
}

/// `{"if": [true, {"if": [true, ..."on"...]}, "off"]}`, two levels of nesting per `if`.
fn nested_ifs(levels: usize) -> Value {
    (0..levels).fold(json!("on"), |inner, _| json!({"if": [true, inner, "off"]}))
}

#[tokio::test]
async fn a_billion_laughs_file_is_refused_at_start_naming_file_and_line() {
    let text = billion_laughs();
    assert!(text.len() < 2048, "{} bytes", text.len());
    assert!(text.lines().nth(14).unwrap().contains("\"laughs\""));
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let error = ofrep::serve::Server::start(with_file(&dir, &text))
        .await
        .err()
        .expect("the file is refused");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(error.exit_code(), 2);
    let message = error.to_string();
    assert!(
        message.contains("flags.json:15:5: flag `laughs`: "),
        "{message}"
    );
    assert!(
        message.contains("more than 250000 JSON values"),
        "{message}"
    );
}

#[tokio::test]
async fn a_billion_laughs_edit_keeps_the_last_good_flags_and_logs_why() {
    let (_dir, path, mut server) = serve_file().await;
    let etag = server.etag(json!({})).await;
    std::fs::write(&path, billion_laughs()).unwrap();
    let message = server
        .wait_for(LONG * 3, |e| match e {
            ServeEvent::ReloadFailed { message, .. } => Some(message.clone()),
            _ => None,
        })
        .await
        .expect("a reload failure");
    assert!(message.contains("flags.json:15:5: "), "{message}");
    assert!(message.contains("`lol9` → `lol8`"), "{message}");
    assert_eq!(color(&server).await, "#f00");
    assert_eq!(server.etag(json!({})).await, etag);
}

#[tokio::test]
async fn deep_targeting_without_refs_loads_and_evaluates() {
    // 61 `if`s nest 122 levels, inside the 5 of the file itself: as deep as a JSON file can go.
    let text =
        json!({"flags": {"deep": {"state": "ENABLED", "variants": {"on": "yes", "off": "no"},
        "defaultVariant": "off", "targeting": nested_ifs(61)}}})
        .to_string();
    let dir = tempfile::tempdir().unwrap();
    let server = start(with_file(&dir, &text)).await;
    let body = json(server.bulk(json!({}), &[]).await).await;
    assert_eq!(body["flags"][0]["value"], "yes", "{body}");
    assert_eq!(body["flags"][0]["reason"], "TARGETING_MATCH", "{body}");
}

#[tokio::test]
async fn targeting_too_deep_once_expanded_says_what_was_counted() {
    let text = json!({
        "$evaluators": {"deep": nested_ifs(60), "deeper": nested_ifs(60).to_string().replace("\"on\"", "{\"$ref\": \"deep\"}").parse::<Value>().unwrap()},
        "flags": {"deep": {"state": "ENABLED", "variants": {"on": 1, "off": 0}, "defaultVariant": "off",
            "targeting": nested_ifs(20).to_string().replace("\"on\"", "{\"$ref\": \"deeper\"}").parse::<Value>().unwrap()}}
    })
    .to_string();
    let dir = tempfile::tempdir().unwrap();
    let error = ofrep::serve::Server::start(with_file(&dir, &text))
        .await
        .err()
        .expect("the file is refused");
    let message = error.to_string();
    assert!(
        message.contains("deeper than 256 levels (through `deeper` → `deep`)")
            && message.contains("counted: the objects and arrays from `targeting` down"),
        "{message}"
    );
}
