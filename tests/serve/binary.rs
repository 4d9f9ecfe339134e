//! The real binary: the listening line, signals and exit codes.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{BULK, LONG};

pub fn ofrep() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ofrep"));
    command
        .env_remove("OFREP_SERVE_TOKEN")
        .env_remove("NO_COLOR")
        .env_remove("CI");
    command
}

/// Kills the child on drop, so a failing test leaves no server behind.
pub struct Child(pub std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Child {
    /// Starts `ofrep serve --port 0 ARGS` with `stream` piped (the other one discarded) and
    /// returns the first line written there, read with a time bound, and the rest of the pipe,
    /// left unread.
    pub fn serve(args: &[&str], stream: Output) -> (Self, String, Box<dyn BufRead + Send>) {
        let mut command = ofrep();
        command
            .args(["serve", "--port", "0", "--color", "never"])
            .args(args);
        let (stdout, stderr) = match stream {
            Output::Stdout => (Stdio::piped(), Stdio::null()),
            Output::Stderr => (Stdio::null(), Stdio::piped()),
        };
        let mut child = Self(command.stdout(stdout).stderr(stderr).spawn().unwrap());
        let pipe: Box<dyn std::io::Read + Send> = match stream {
            Output::Stdout => Box::new(child.0.stdout.take().unwrap()),
            Output::Stderr => Box::new(child.0.stderr.take().unwrap()),
        };
        // Read on a thread so a silent server fails the test instead of hanging it.
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut reader: Box<dyn BufRead + Send> = Box::new(BufReader::new(pipe));
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = sender.send((line, reader));
        });
        let (line, rest) = receiver.recv_timeout(LONG).expect("a first line in time");
        (child, line, rest)
    }

    /// Sends SIGTERM and waits (bounded) for the exit code.
    async fn terminate(&mut self) -> Option<i32> {
        let status = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + LONG;
        loop {
            if let Some(status) = self.0.try_wait().unwrap() {
                return status.code();
            }
            assert!(
                Instant::now() < deadline,
                "the server did not stop on SIGTERM"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

pub enum Output {
    Stdout,
    Stderr,
}

/// A bulk request carrying `Authorization: Bearer should-not-be-logged`, answered 200.
async fn post_with_a_token(url: &str) {
    let response = crate::support::client()
        .post(format!("{url}/{BULK}"))
        .header("content-type", "application/json")
        .header("authorization", "Bearer should-not-be-logged")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

/// The rest of a child's output, line by line, read on a thread of its own.
fn lines_of(rest: Box<dyn BufRead + Send>) -> tokio::sync::mpsc::UnboundedReceiver<String> {
    let (lines, incoming) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in rest.lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    incoming
}

#[tokio::test]
async fn the_binary_prints_its_address_as_json_serves_and_stops_on_sigterm() {
    let (mut child, first, rest) = Child::serve(&["-o", "json"], Output::Stdout);
    let listening: Value = serde_json::from_str(&first).unwrap();
    assert_eq!(listening["type"], "listening");
    let address = listening["address"].as_str().unwrap();
    assert!(address.starts_with("127.0.0.1:"), "{address}");
    let url = listening["url"].as_str().unwrap();
    assert_eq!(url, format!("http://{address}"));
    let mut incoming = lines_of(rest);

    post_with_a_token(url).await;
    let logged = tokio::time::timeout(LONG, incoming.recv())
        .await
        .unwrap()
        .unwrap();
    let logged: Value = serde_json::from_str(&logged).unwrap();
    assert_eq!(
        (logged["type"].clone(), logged["status"].clone()),
        (json!("request"), json!(200))
    );
    assert!(!logged.to_string().contains("should-not-be-logged"));
    assert_eq!(child.terminate().await, Some(0));
}

/// `-v` means what it means for the clients: each request's request and response headers,
/// credentials redacted.
#[tokio::test]
async fn with_verbose_each_request_shows_its_headers_with_credentials_redacted() {
    let (mut child, first, rest) = Child::serve(&["-v"], Output::Stderr);
    let url = first
        .trim_end()
        .strip_prefix("listening on ")
        .unwrap()
        .to_owned();
    let mut incoming = lines_of(rest);
    post_with_a_token(&url).await;
    let mut logged = Vec::new();
    while !logged.iter().any(|l: &String| l.contains("< etag:")) && logged.len() < 40 {
        match tokio::time::timeout(LONG, incoming.recv()).await {
            Ok(Some(line)) => logged.push(line),
            _ => break,
        }
    }
    let text = logged.join("\n");
    assert!(text.contains(&format!("POST /{BULK} 200")), "{text}");
    assert!(
        text.contains("  > content-type: application/json"),
        "{text}"
    );
    assert!(text.contains("  > authorization: Bearer"), "{text}");
    assert!(text.contains("  < etag: \""), "{text}");
    assert!(!text.contains("should-not-be-logged"), "{text}");
    assert_eq!(child.terminate().await, Some(0));
}

#[tokio::test]
async fn the_binary_stops_on_sigterm_even_when_nobody_reads_its_output() {
    let (mut child, first, _unread) = Child::serve(&["-o", "json"], Output::Stdout);
    let listening: Value = serde_json::from_str(&first).unwrap();
    let url = format!("{}/{BULK}", listening["url"].as_str().unwrap());
    // About 100 bytes of log per request: well past a 64 KiB pipe buffer.
    let client = crate::support::client();
    for _ in 0..1000 {
        client.post(&url).body("").send().await.unwrap();
    }
    assert_eq!(
        child.terminate().await,
        Some(0),
        "a full output pipe must not stop the stop"
    );
}

#[tokio::test]
async fn the_binary_says_where_it_listens_on_stderr_in_human_mode() {
    let (mut child, first, _rest) = Child::serve(&[], Output::Stderr);
    let port = first
        .trim_end()
        .strip_prefix("listening on http://127.0.0.1:")
        .unwrap_or_else(|| panic!("{first}"));
    assert!(port.parse::<u16>().is_ok_and(|port| port > 0), "{first}");
    assert_eq!(child.terminate().await, Some(0));
}

#[test]
fn the_binary_exits_2_naming_file_and_line_for_an_invalid_flag_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.json");
    std::fs::write(
        &path,
        "{\n  \"flags\": {\n    \"a\": {\"state\": \"ON\"}\n  }\n}",
    )
    .unwrap();
    let output = ofrep()
        .args(["serve", "--port", "0", "--flags"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("bad.json:3:5: "), "{stderr}");
    assert!(
        stderr.starts_with("error: ") && stderr.contains("\nhint: "),
        "{stderr}"
    );
}

#[test]
fn the_binary_exits_2_listing_the_faults_for_an_unknown_one() {
    let output = ofrep()
        .args(["serve", "--port", "0", "--fault", "explode"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("unknown fault `explode`") && stderr.contains("sse-not-json"),
        "{stderr}"
    );
}

/// Runs `command` to its end, or kills it after [`LONG`] (a server that should have refused to
/// start must not hang the test).
pub fn output_within(command: &mut Command) -> std::process::Output {
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let id = child.id();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = sender.send(child.wait_with_output());
    });
    match receiver.recv_timeout(LONG) {
        Ok(output) => output.unwrap(),
        Err(_) => {
            let _ = Command::new("kill").arg(id.to_string()).status();
            panic!("`{command:?}` still ran after {LONG:?}");
        }
    }
}

#[test]
fn the_binary_exits_2_for_a_blank_token_from_the_flag_or_the_environment() {
    let serve = || {
        let mut command = ofrep();
        command.args(["serve", "--port", "0"]);
        command
    };
    let runs = [
        serve().args(["--require-auth", ""]),
        serve().args(["--require-auth", " \t"]),
        serve().env("OFREP_SERVE_TOKEN", ""),
        serve().env("OFREP_SERVE_TOKEN", "   "),
    ]
    .map(output_within);
    for output in runs {
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.starts_with("error: ") && stderr.contains("empty or blank"),
            "{stderr}"
        );
        assert!(!stderr.contains("listening"), "{stderr}");
    }
}

#[test]
fn the_binary_exits_2_for_a_flag_file_that_expands_without_bound() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("laughs.json");
    let mut evaluators = vec![r#""l0": "ha""#.to_owned()];
    for level in 1..=9 {
        let refs = vec![format!(r#"{{"$ref": "l{}"}}"#, level - 1); 10].join(",");
        evaluators.push(format!(r#""l{level}": [{refs}]"#));
    }
    let text = format!(
        "{{\"$evaluators\": {{{}}},\n\"flags\": {{\"f\": {{\"state\": \"ENABLED\", \"variants\": {{\"a\": 1}}, \"defaultVariant\": \"a\", \"targeting\": {{\"$ref\": \"l9\"}}}}}}}}",
        evaluators.join(",")
    );
    std::fs::write(&path, text).unwrap();
    let output = output_within(ofrep().args(["serve", "--port", "0", "--flags"]).arg(&path));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("laughs.json:2:11: flag `f`: expanding `$ref`s would copy more than"),
        "{stderr}"
    );
}
