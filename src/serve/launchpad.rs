//! `--launchpad PORT`: the launchpad API of open-feature/flagd-testbed (v3.9.0,
//! `launchpad/handlers/http.go` and `launchpad/pkg/flagd.go`), on a listener of its own, so the
//! OpenFeature provider test kits that drive flagd through it can drive this server instead.
//!
//! What the launchpad does to its flagd, this does to the OFREP listener, answering with the
//! launchpad's paths, status codes and bodies:
//!
//! - `/start?config=NAME`: stops the listener if it runs, then starts it with NAME's flag set
//!   (no `config`: the last one started; at first `default`), event ids from 1. 200
//!   `{"status":"success","message":"flagd started successfully"}`; a config that cannot start
//!   answers 500 `{"status":"error","message":"Failed to start flagd: …"}` and leaves the
//!   listener stopped, since the launchpad stops flagd before it starts the new one.
//! - `/stop`: 200 `flagd stopped successfully`, also when already stopped.
//! - `/restart?seconds=N` (default 5): stops now, answers 200 `flagd will restart in N seconds`,
//!   and N seconds later the listener is back with the flags it had and event ids from 1. N that
//!   is not a non-negative integer: 400 `'seconds' must be a non-negative integer`.
//! - `/change`: `changing-flag` goes from `foo` to `bar` and back, as in the testbed's flags;
//!   a set without that flag gets the built-in change instead. Streams are notified. 200
//!   `Default variant successfully changed to 'V'\n`; a set with nothing to change answers 500 in
//!   plain text, as the launchpad's `http.Error` does. The change is made again at each `/start`,
//!   as the testbed's edit of its flag file is read by its next start.
//!
//! `/start`, `/stop` and `/restart` cancel a restart still pending. The launchpad registers its
//! handlers without a method, so any method is accepted; other paths answer Go's
//! `404 page not found`. Actions are serialised, as the launchpad's lock serialises them.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::extract::State as Shared;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde::Serialize;
use tokio::task::JoinHandle;

use super::flags::FlagSet;
use super::http::query_param;
use super::listener::Listener;
use super::state::State;
use super::{ServeEvent, demo, reload, request_layer};

/// The flag the testbed's `/change` toggles, and its two variants.
const CHANGING_FLAG: &str = "changing-flag";
const CHANGING_VARIANTS: [&str; 2] = ["foo", "bar"];

/// The launchpad's `DefaultRestartTimeout`.
const DEFAULT_RESTART_SECONDS: u64 = 5;

pub struct Launchpad {
    ofrep: Arc<Listener>,
    state: Arc<State>,
    /// `--flags FILE`, read again at each `/start`; `None`: the built-in set.
    flags_file: Option<PathBuf>,
    /// Whether the OFREP listener serves HTTPS, which the `ssl` config needs.
    tls: bool,
    actions: tokio::sync::Mutex<Actions>,
    /// The `/restart` waiting to bring the listener back; a plain mutex so `Drop` can abort it.
    pending: Mutex<Option<JoinHandle<()>>>,
}

struct Actions {
    /// The config last started (the launchpad's `Config`): `/start` without one and the end of
    /// `/restart` use it.
    config: String,
    /// The last `/change`, made again after each `/start`.
    change: Option<(String, String)>,
    /// Bumped by every action that cancels a pending restart; a restart brings the listener
    /// back only if nothing was done since it was asked for.
    epoch: u64,
}

impl Launchpad {
    pub fn new(
        ofrep: Arc<Listener>,
        state: Arc<State>,
        flags_file: Option<PathBuf>,
        tls: bool,
    ) -> Self {
        Self {
            ofrep,
            state,
            flags_file,
            tls,
            actions: tokio::sync::Mutex::new(Actions {
                config: "default".to_owned(),
                change: None,
                epoch: 0,
            }),
            pending: Mutex::new(None),
        }
    }

    /// Cancels a pending restart and waits until it cannot act any more: before the server
    /// stops the OFREP listener for good.
    pub async fn close(&self) {
        let pending = self.take_pending();
        if let Some(pending) = pending {
            pending.abort();
            let _ = pending.await;
        }
    }

    /// Cancels a pending restart at once: for `Drop`.
    pub fn abort(&self) {
        if let Some(pending) = self.take_pending() {
            pending.abort();
        }
    }

    fn take_pending(&self) -> Option<JoinHandle<()>> {
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    /// Under the actions lock: no pending restart acts from here on.
    fn cancel_restart(&self, actions: &mut Actions) {
        actions.epoch += 1;
        self.abort();
    }

    /// Stops the listener, loads `config`'s flag set and serves it with fresh event ids.
    async fn start(&self, actions: &mut Actions, config: &str) -> Result<(), String> {
        self.ofrep.stop().await;
        let outcome = match self.flag_set(config).await {
            Ok(flags) => {
                let flags = match &actions.change {
                    Some((flag, variant)) if flags.get(flag).is_some() => {
                        flags.with_default_variant(flag, variant).unwrap_or(flags)
                    }
                    _ => flags,
                };
                self.state.store.reset(flags);
                self.listen()
            }
            Err(message) => Err(message),
        };
        match outcome {
            Ok(()) => {
                actions.config = config.to_owned();
                self.state.log(ServeEvent::Started {
                    config: config.to_owned(),
                    etag: self.state.store.current().token.clone(),
                });
                Ok(())
            }
            Err(message) => {
                self.state.log(ServeEvent::StartFailed {
                    config: config.to_owned(),
                    message: message.clone(),
                });
                Err(message)
            }
        }
    }

    /// The end of a `/restart`: the flags being served, event ids from 1.
    async fn come_back(self: Arc<Self>, after: Duration, epoch: u64) {
        tokio::time::sleep(after).await;
        let actions = self.actions.lock().await;
        if actions.epoch != epoch {
            return;
        }
        self.take_pending();
        let flags = self.state.store.current().flags.clone();
        self.state.store.reset(flags);
        let config = actions.config.clone();
        match self.listen() {
            Ok(()) => self.state.log(ServeEvent::Back {
                config,
                etag: self.state.store.current().token.clone(),
            }),
            Err(message) => self.state.log(ServeEvent::StartFailed { config, message }),
        }
    }

    fn listen(&self) -> Result<(), String> {
        self.ofrep
            .start()
            .map_err(|e| format!("cannot listen on {}: {e}", self.ofrep.addr()))
    }

    /// The flag set a testbed config name stands for. The testbed's `default` and
    /// `sync-payload` serve the same flags (the latter only changes flagd's gRPC sync), and
    /// `ssl` serves them over TLS; its `metadata` set is a file of its own, which this server
    /// does not have.
    async fn flag_set(&self, config: &str) -> Result<FlagSet, String> {
        match config {
            "default" | "sync-payload" => {}
            "ssl" if self.tls => {}
            "ssl" => {
                return Err(
                    "config `ssl` serves HTTPS: start `ofrep serve` with --tls-cert \
                            and --tls-key"
                        .to_owned(),
                );
            }
            other => {
                return Err(format!(
                    "no config `{other}`: this server has `default`, `sync-payload` (the same \
                     flags) and `ssl` (the same flags, with --tls-cert)"
                ));
            }
        }
        match &self.flags_file {
            Some(path) => reload::load(path).await.map_err(|e| e.to_string()),
            None => Ok(demo::demo_flags()),
        }
    }
}

pub fn router(launchpad: Arc<Launchpad>) -> Router {
    let state = Arc::clone(&launchpad.state);
    Router::new()
        .route("/start", any(start))
        .route("/stop", any(stop))
        .route("/restart", any(restart))
        .route("/change", any(change))
        .fallback(|| async { plain_text(StatusCode::NOT_FOUND, "404 page not found") })
        .layer(middleware::from_fn_with_state(
            state,
            request_layer::around_launchpad_request,
        ))
        .with_state(launchpad)
}

async fn start(Shared(launchpad): Shared<Arc<Launchpad>>, uri: Uri) -> Response {
    let asked = query_param(&uri, "config").unwrap_or_default();
    let mut actions = launchpad.actions.lock().await;
    launchpad.cancel_restart(&mut actions);
    let config = if asked.is_empty() {
        actions.config.clone()
    } else {
        asked
    };
    match launchpad.start(&mut actions, &config).await {
        Ok(()) => answer(StatusCode::OK, "success", "flagd started successfully"),
        Err(message) => answer(
            StatusCode::INTERNAL_SERVER_ERROR,
            "error",
            &format!("Failed to start flagd: {message}"),
        ),
    }
}

async fn stop(Shared(launchpad): Shared<Arc<Launchpad>>) -> Response {
    let mut actions = launchpad.actions.lock().await;
    launchpad.cancel_restart(&mut actions);
    let was_running = launchpad.ofrep.stop().await;
    launchpad.state.log(ServeEvent::Stopped { was_running });
    answer(StatusCode::OK, "success", "flagd stopped successfully")
}

async fn restart(Shared(launchpad): Shared<Arc<Launchpad>>, uri: Uri) -> Response {
    let Some(seconds) = restart_seconds(query_param(&uri, "seconds").as_deref()) else {
        return answer(
            StatusCode::BAD_REQUEST,
            "error",
            "'seconds' must be a non-negative integer",
        );
    };
    let mut actions = launchpad.actions.lock().await;
    launchpad.cancel_restart(&mut actions);
    launchpad.ofrep.stop().await;
    launchpad.state.log(ServeEvent::Restarting { seconds });
    let back = Arc::clone(&launchpad).come_back(Duration::from_secs(seconds), actions.epoch);
    *launchpad
        .pending
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = Some(tokio::spawn(back));
    answer(
        StatusCode::OK,
        "success",
        &format!("flagd will restart in {seconds} seconds"),
    )
}

async fn change(Shared(launchpad): Shared<Arc<Launchpad>>) -> Response {
    let mut actions = launchpad.actions.lock().await;
    let state = &launchpad.state;
    let target = state.store.current().flags.get(CHANGING_FLAG).map(|flag| {
        // The launchpad's rule: `foo` becomes `bar`, anything else becomes `foo`.
        let [first, second] = CHANGING_VARIANTS;
        let next = if flag.default_variant.as_deref() == Some(first) {
            second
        } else {
            first
        };
        (CHANGING_FLAG.to_owned(), next.to_owned())
    });
    match state.change(target) {
        Ok(change) => {
            let message = format!(
                "Default variant successfully changed to '{}'\n",
                change.variant
            );
            actions.change = Some((change.flag, change.variant));
            answer(StatusCode::OK, "success", &message)
        }
        Err(error) => plain_text(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("Failed to toggle changing flag: {error}"),
        ),
    }
}

/// `seconds` as the launchpad reads it: absent or empty means 5; otherwise what Go's
/// `strconv.Atoi` accepts (an optional sign, decimal digits, within 64 bits), not negative.
fn restart_seconds(given: Option<&str>) -> Option<u64> {
    match given {
        None | Some("") => Some(DEFAULT_RESTART_SECONDS),
        Some(text) => {
            let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            text.parse::<i64>().ok().and_then(|n| u64::try_from(n).ok())
        }
    }
}

/// The launchpad's `Response`.
#[derive(Serialize)]
struct Answer<'a> {
    status: &'a str,
    message: &'a str,
}

/// An answer as Go's `json.NewEncoder(w).Encode` writes it: HTML-safe escapes, a newline after.
fn answer(code: StatusCode, status: &str, message: &str) -> Response {
    let json = serde_json::to_string(&Answer { status, message }).unwrap_or_default();
    let mut body = String::with_capacity(json.len() + 1);
    for c in json.chars() {
        match c {
            '<' => body.push_str("\\u003c"),
            '>' => body.push_str("\\u003e"),
            '&' => body.push_str("\\u0026"),
            '\u{2028}' => body.push_str("\\u2028"),
            '\u{2029}' => body.push_str("\\u2029"),
            c => body.push(c),
        }
    }
    body.push('\n');
    (
        code,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// What Go's `http.Error` and `http.NotFound` send.
fn plain_text(code: StatusCode, text: &str) -> Response {
    (
        code,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        format!("{text}\n"),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_read_as_the_launchpad_reads_them() {
        assert_eq!(restart_seconds(None), Some(5));
        assert_eq!(restart_seconds(Some("")), Some(5));
        assert_eq!(restart_seconds(Some("0")), Some(0));
        assert_eq!(restart_seconds(Some("+07")), Some(7));
        assert_eq!(restart_seconds(Some("-0")), Some(0));
        for bad in [
            "-1",
            "1.5",
            " 1",
            "1s",
            "+",
            "-",
            "x",
            "99999999999999999999",
            "١",
        ] {
            assert_eq!(restart_seconds(Some(bad)), None, "{bad}");
        }
    }

    #[tokio::test]
    async fn answers_are_encoded_as_go_encodes_them() {
        let response = answer(StatusCode::OK, "success", "a <b> & 'c'\u{2028}\n");
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        let body = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .unwrap();
        assert_eq!(
            std::str::from_utf8(&body).unwrap(),
            "{\"status\":\"success\",\"message\":\"a \\u003cb\\u003e \\u0026 'c'\\u2028\\n\"}\n"
        );
    }
}
