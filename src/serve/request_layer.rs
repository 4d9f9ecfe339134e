//! What every request passes through: CORS (preflights answered, every response exposing
//! `ETag`), `--require-auth` on `/ofrep/` and `/control/`, the control API's own guard
//! (control.rs), the `slow` fault, and the request log. The launchpad's listener has a layer of
//! its own: `--require-auth` and the request log.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State as Shared};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::ServeEvent;
use super::body::general_error;
use super::control;
use super::state::State;
use crate::protocol::headers::pairs;

/// What browser providers send: JSON bodies, revalidation, either credential, stream resume.
const ALLOW_HEADERS: &str = "Content-Type, If-None-Match, Authorization, X-API-Key, Last-Event-ID";

/// Wraps every request: answers CORS preflights, enforces `--require-auth` on `/ofrep/` and the
/// control API, applies the `slow` fault, adds the CORS headers every response but a control
/// answer carries, and logs the request.
pub async fn around_every_request(
    Shared(state): Shared<Arc<State>>,
    request: Request,
    next: Next,
) -> Response {
    let seen = Seen::new(&state, &request);
    let path = request.uri().path();
    let origin = request.headers().get(header::ORIGIN).cloned();
    let ofrep = path.starts_with("/ofrep/");
    let control = state.control && control::is_control_path(path);
    let method = request.method().clone();

    let mut response = if control {
        match control::refusal(&state, &method, request.uri(), request.headers()) {
            Some(refused) => refused,
            None if !authorized(&state, request.headers()) => unauthorized(),
            None => next.run(request).await,
        }
    } else if method == Method::OPTIONS && origin.is_some() {
        preflight()
    } else if ofrep && !authorized(&state, request.headers()) {
        unauthorized()
    } else {
        if let Some(delay) = state.faults.slow().filter(|_| ofrep) {
            tokio::time::sleep(delay).await;
        }
        next.run(request).await
    };

    if !control {
        let headers = response.headers_mut();
        // Echo the origin (so credentials could work) or allow any when there is none.
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            origin.unwrap_or(HeaderValue::from_static("*")),
        );
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("ETag"),
        );
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
    }
    seen.log(&state, response)
}

/// Wraps every launchpad request (launchpad.rs): `--require-auth` as on the control API, and the
/// request log. No CORS headers: like the control API, it is for scripts, not web pages.
pub async fn around_launchpad_request(
    Shared(state): Shared<Arc<State>>,
    request: Request,
    next: Next,
) -> Response {
    let seen = Seen::new(&state, &request);
    let response = if authorized(&state, request.headers()) {
        next.run(request).await
    } else {
        unauthorized()
    };
    seen.log(&state, response)
}

/// What the request log needs from a request, taken before the handler consumes it.
struct Seen {
    started: Instant,
    method: String,
    path: String,
    request_headers: Vec<(String, String)>,
}

impl Seen {
    fn new(state: &State, request: &Request) -> Self {
        Self {
            started: Instant::now(),
            method: request.method().to_string(),
            path: request.uri().path().to_owned(),
            request_headers: if state.log_headers {
                pairs(request.headers())
            } else {
                Vec::new()
            },
        }
    }

    /// Logs the request with its answer, and hands the answer back.
    fn log(self, state: &State, response: Response) -> Response {
        let response_headers = if state.log_headers {
            pairs(response.headers())
        } else {
            Vec::new()
        };
        state.log(ServeEvent::Request {
            method: self.method,
            path: self.path,
            status: response.status().as_u16(),
            elapsed: self.started.elapsed(),
            request_headers: self.request_headers,
            response_headers,
        });
        response
    }
}

fn unauthorized() -> Response {
    let mut response = general_error(
        StatusCode::UNAUTHORIZED,
        "this server needs `Authorization: Bearer TOKEN` or `X-API-Key: TOKEN`",
    );
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

fn preflight() -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST, GET, OPTIONS"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(ALLOW_HEADERS),
    );
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    response
}

fn authorized(state: &State, headers: &HeaderMap) -> bool {
    let Some(token) = &state.require_auth else {
        return true;
    };
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.trim()
                .strip_prefix("Bearer ")
                .or_else(|| v.trim().strip_prefix("bearer "))
        });
    let api_key = headers.get("x-api-key").and_then(|v| v.to_str().ok());
    // An empty credential never passes, whatever token a caller configured.
    [bearer, api_key]
        .into_iter()
        .flatten()
        .map(str::trim)
        .any(|given| !given.is_empty() && same(given.as_bytes(), token.as_bytes()))
}

/// Compares without stopping at the first difference, so timing does not leak the token.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
