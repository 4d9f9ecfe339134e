//! The control endpoints (`--control`): change a flag, drop every stream. For scripts and for
//! `conform`'s trigger, like flagd-testbed's `POST /change`.
//!
//! They change what every client sees, so they are guarded more than evaluation: `--require-auth`
//! covers them too (request_layer.rs), they answer only requests whose `Host` is this server (a
//! web page that rebinds its own name to 127.0.0.1 reaches the port, but under its own name), and
//! they carry no CORS headers and refuse preflights, so no browser page may read or script them.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::State as Shared;
use axum::http::uri::Authority;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::Response;
use serde_json::{Value, json};

use super::ServeEvent;
use super::body::{general_error, json_response, read_limited};
use super::state::{ChangeError, State};

/// `POST /control/change`: `{"flag": KEY, "variant": NAME}` sets that flag's default variant; an
/// empty body makes the built-in change. Answers the change and the new configuration token.
pub async fn change(Shared(state): Shared<Arc<State>>, headers: HeaderMap, body: Body) -> Response {
    let bytes = match read_limited(&headers, body, &state.bodies).await {
        Ok(bytes) => bytes,
        Err(rejection) => return general_error(rejection.status, rejection.details),
    };
    let target = if bytes.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        let request: Value = match serde_json::from_slice(&bytes) {
            Ok(request) => request,
            Err(e) => {
                return general_error(
                    StatusCode::BAD_REQUEST,
                    format!("the body is not valid JSON: {e}"),
                );
            }
        };
        match (
            request.get("flag").and_then(Value::as_str),
            request.get("variant").and_then(Value::as_str),
        ) {
            (Some(flag), Some(variant)) => Some((flag.to_owned(), variant.to_owned())),
            _ => {
                return general_error(
                    StatusCode::BAD_REQUEST,
                    "the body must be {\"flag\": KEY, \"variant\": NAME}, or empty for the built-in change",
                );
            }
        }
    };
    match state.change(target) {
        Ok(change) => json_response(
            StatusCode::OK,
            &json!({
                "flag": change.flag,
                "variant": change.variant,
                "changed": change.event_id.is_some(),
                "eventId": change.event_id,
                "etag": change.etag,
                "lastModified": change.last_modified,
            }),
        ),
        Err(error) => {
            let status = match error {
                ChangeError::UnknownFlag(_) => StatusCode::NOT_FOUND,
                ChangeError::Invalid(_) => StatusCode::BAD_REQUEST,
                ChangeError::NothingToChange => StatusCode::CONFLICT,
            };
            general_error(status, error.to_string())
        }
    }
}

/// `POST /control/streams/drop`: closes every open event stream.
pub async fn drop_streams(Shared(state): Shared<Arc<State>>) -> Response {
    let count = state.drop_streams();
    state.log(ServeEvent::StreamsDropped { count });
    json_response(StatusCode::OK, &json!({"dropped": count}))
}

/// `/control` and everything under it.
pub fn is_control_path(path: &str) -> bool {
    path == "/control" || path.starts_with("/control/")
}

/// Why a control request is refused before its credentials are even looked at, or `None`: a
/// preflight (the control API is for scripts, not web pages), or a `Host` that is not this server.
pub fn refusal(state: &State, method: &Method, uri: &Uri, headers: &HeaderMap) -> Option<Response> {
    if method == Method::OPTIONS {
        return Some(general_error(
            StatusCode::FORBIDDEN,
            "the control API answers no CORS preflight: it is for scripts, not web pages",
        ));
    }
    // An absolute-form target names the host too; every name the request gives must be ours.
    let mut names = uri
        .authority()
        .map(Authority::as_str)
        .into_iter()
        .chain(
            headers
                .get_all(header::HOST)
                .iter()
                .map(|v| v.to_str().unwrap_or_default()),
        )
        .peekable();
    let public = state.public_url.as_ref();
    let ours =
        names.peek().is_some() && names.all(|name| is_this_server(state.bound, public, name));
    (!ours).then(|| {
        let loopback = if state.bound.ip().is_loopback() || state.bound.ip().is_unspecified() {
            format!(" or localhost:{}", state.bound.port())
        } else {
            String::new()
        };
        general_error(
            StatusCode::FORBIDDEN,
            format!(
                "the control API answers only requests with `Host: {}`{loopback}, so that a web \
                 page reaching this port through DNS rebinding cannot use it",
                state.bound
            ),
        )
    })
}

/// Whether `authority` (a `Host` value) names the server bound to `bound`: its address and port,
/// `localhost` when bound to loopback, any IP address when bound to all of them (a page is served
/// under an address only by the server at it), or the `--public-url` host and port.
fn is_this_server(bound: SocketAddr, public: Option<&url::Url>, authority: &str) -> bool {
    let Ok(authority) = authority.parse::<Authority>() else {
        return false;
    };
    if authority.as_str().contains('@') {
        return false;
    }
    let host = bare_host(authority.host());
    // Behind a proxy the request carries the public name, with the port its scheme implies.
    let public = public.and_then(|url| {
        let port = authority
            .port_u16()
            .or_else(|| url.port().is_none().then_some(url.port_or_known_default()?))?;
        Some(bare_host(url.host_str()?) == host && url.port_or_known_default() == Some(port))
    });
    if public == Some(true) {
        return true;
    }
    let port = authority.port_u16().unwrap_or(80);
    if port != bound.port() {
        return false;
    }
    match host.parse::<IpAddr>() {
        Ok(ip) => ip == bound.ip() || bound.ip().is_unspecified(),
        Err(_) => host == "localhost" && (bound.ip().is_loopback() || bound.ip().is_unspecified()),
    }
}

/// A host without IPv6 brackets or a trailing dot, in lower case.
fn bare_host(host: &str) -> String {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_names_of_this_server_are_its_host() {
        let loopback: SocketAddr = ([127, 0, 0, 1], 8016).into();
        for host in ["127.0.0.1:8016", "localhost:8016", "LOCALHOST.:8016"] {
            assert!(is_this_server(loopback, None, host), "{host}");
        }
        for host in [
            "evil.example:8016",
            "127.0.0.1:8017",
            "127.0.0.1",
            "localhost",
            "127.0.0.2:8016",
            "user@127.0.0.1:8016",
            "",
            "127.0.0.1:8016 x",
        ] {
            assert!(!is_this_server(loopback, None, host), "{host}");
        }
        let v6: SocketAddr = "[::1]:80".parse().unwrap();
        assert!(is_this_server(v6, None, "[::1]"));
        assert!(is_this_server(v6, None, "localhost"));
        let lan: SocketAddr = ([192, 168, 1, 5], 8016).into();
        assert!(is_this_server(lan, None, "192.168.1.5:8016"));
        assert!(!is_this_server(lan, None, "localhost:8016"));
        let any: SocketAddr = ([0, 0, 0, 0], 8016).into();
        assert!(is_this_server(any, None, "10.0.0.7:8016"));
        assert!(!is_this_server(any, None, "rebound.example:8016"));
        let public = url::Url::parse("https://flags.example.com/").unwrap();
        assert!(is_this_server(any, Some(&public), "flags.example.com:443"));
        assert!(is_this_server(any, Some(&public), "Flags.Example.com"));
        assert!(!is_this_server(
            any,
            Some(&public),
            "flags.example.com:8016"
        ));
    }
}
