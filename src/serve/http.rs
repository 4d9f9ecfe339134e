//! The router and the two evaluation endpoints.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State as Shared};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use axum::{Extension, Router};
use bytes::Bytes;
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::body::{Rejection, general_error, json_response, read_context};
use super::evaluate::{Evaluator, Item};
use super::faults::Fault;
use super::state::State;
use super::store::unix_now;
use super::stray_body::Slot;
use super::{control, request_layer, stream};
use crate::protocol::etag::{EntityTag, IfNoneMatch};

pub const BULK_PATH: &str = "/ofrep/v1/evaluate/flags";
pub const EVENTS_PATH: &str = "/ofrep/v1/events";

pub fn router(state: Arc<State>) -> Router {
    let mut router = Router::new()
        .route(BULK_PATH, only(Method::POST, post(bulk)))
        .route(
            "/ofrep/v1/evaluate/flags/{key}",
            only(Method::POST, post(single)),
        )
        .route(EVENTS_PATH, only(Method::GET, get(stream::events)));
    if state.control {
        router = router
            .route("/control/change", only(Method::POST, post(control::change)))
            .route(
                "/control/streams/drop",
                only(Method::POST, post(control::drop_streams)),
            );
    }
    router
        .fallback(|uri: Uri| async move {
            general_error(
                StatusCode::NOT_FOUND,
                format!("no endpoint at {}", uri.path()),
            )
        })
        .layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            request_layer::around_every_request,
        ))
        .with_state(state)
}

/// Answers other methods with a JSON 405 naming the one allowed, instead of axum's empty one.
fn only(allowed: Method, route: MethodRouter<Arc<State>>) -> MethodRouter<Arc<State>> {
    route.fallback(move |method: Method, uri: Uri| async move {
        let mut response = general_error(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("{method} is not allowed on {}; use {allowed}", uri.path()),
        );
        if let Ok(value) = HeaderValue::from_str(allowed.as_str()) {
            response.headers_mut().insert(header::ALLOW, value);
        }
        response
    })
}

/// `POST /ofrep/v1/evaluate/flags`.
async fn bulk(
    Shared(state): Shared<Arc<State>>,
    slot: Option<Extension<Slot>>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if let Some(code) = state.faults.status() {
        return status_fault(code);
    }
    let context = match read_context(&headers, body, &state.bodies).await {
        Ok(context) => context,
        Err(rejection) => return rejection.into_response(None),
    };
    let config = state.store.current();
    let mut evaluator = Evaluator::new(&context, unix_now());
    let flags: Vec<Item> = config
        .flags
        .flags()
        .iter()
        .map(|f| evaluator.evaluate(&config.flags, f).item)
        .collect();
    let answer = BulkAnswer {
        flags,
        event_streams: [event_stream(&state)],
        metadata: &config.flags.metadata,
    };
    let body = serde_json::to_vec(&answer).unwrap_or_default();
    let etag = format!("\"{:016x}\"", xxhash_rust::xxh3::xxh3_64(&body));

    let faults = &state.faults;
    let if_none_match = if_none_match(&headers);
    // protocol#84: a `flagConfigEtag` other than the current token means "you are behind", so
    // the answer is a 200 whatever If-None-Match says. The parameters alone never make a 304.
    let config_moved = query_param(&uri, "flagConfigEtag")
        .is_some_and(|given| opaque(&given) != opaque(&config.token));
    let not_modified = match &if_none_match {
        _ if faults.has(&Fault::IgnoreIfNoneMatch) => false,
        Some(_) if faults.has(&Fault::Stale304) => true,
        Some(inm) => !config_moved && IfNoneMatch::parse(inm).matches(&etag),
        None => false,
    };

    let mut response = if not_modified {
        match slot.filter(|_| faults.has(&Fault::NotModifiedWithBody)) {
            // See stray_body.rs: the socket wrapper writes these bytes after the 304 head.
            Some(Extension(slot)) => {
                slot.put(Bytes::from(body));
                let mut response = StatusCode::NOT_MODIFIED.into_response();
                let headers = response.headers_mut();
                headers.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
                response
            }
            None => StatusCode::NOT_MODIFIED.into_response(),
        }
    } else {
        json_bytes(body)
    };
    if !faults.has(&Fault::NoEtag) {
        let value = if faults.has(&Fault::UnquotedEtag) {
            etag.trim_matches('"').to_owned()
        } else {
            etag
        };
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(header::ETAG, value);
        }
    }
    response
}

/// The bulk answer, serialised straight from the evaluated items.
#[derive(Serialize)]
struct BulkAnswer<'a> {
    flags: Vec<Item<'a>>,
    #[serde(rename = "eventStreams")]
    event_streams: [Value; 1],
    metadata: &'a Map<String, Value>,
}

/// `POST /ofrep/v1/evaluate/flags/{key}`.
async fn single(
    Shared(state): Shared<Arc<State>>,
    key: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    // A key that is not UTF-8 once percent-decoded: axum's own answer would be plain text.
    let key = match key {
        Ok(Path(key)) => key,
        Err(e) => {
            let details = format!("the flag key in the path is not valid: {e}");
            let rejection = Rejection {
                status: StatusCode::BAD_REQUEST,
                code: "PARSE_ERROR",
                details,
            };
            return rejection.into_response(Some(""));
        }
    };
    let context = match read_context(&headers, body, &state.bodies).await {
        Ok(context) => context,
        Err(rejection) => return rejection.into_response(Some(&key)),
    };
    let config = state.store.current();
    let Some(flag) = config.flags.get(&key) else {
        let rejection = Rejection {
            status: StatusCode::NOT_FOUND,
            code: "FLAG_NOT_FOUND",
            details: format!("no flag `{key}`"),
        };
        return rejection.into_response(Some(&key));
    };
    let answer = Evaluator::new(&context, unix_now()).evaluate(&config.flags, flag);
    let status = if answer.is_error {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    json_response(status, &answer.item)
}

/// The bulk answer's one `eventStreams` entry: `endpoint` form, or `url` under `--public-url`.
fn event_stream(state: &State) -> Value {
    match &state.public_url {
        Some(base) => json!({
            "type": "sse",
            "url": format!("{}{EVENTS_PATH}", base.as_str().trim_end_matches('/')),
            "inactivityDelaySec": state.inactivity_delay,
        }),
        None => json!({
            "type": "sse",
            "endpoint": {"requestUri": EVENTS_PATH},
            "inactivityDelaySec": state.inactivity_delay,
        }),
    }
}

fn status_fault(code: u16) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = general_error(
        status,
        format!("the server answers {code} on purpose (fault status={code})"),
    );
    if matches!(code, 429 | 503) {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response
}

fn json_bytes(body: Vec<u8>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// Every If-None-Match header joined, as RFC 9110 allows the list to be split across lines.
fn if_none_match(headers: &HeaderMap) -> Option<String> {
    let values: Vec<&str> = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    (!values.is_empty()).then(|| values.join(", "))
}

pub(super) fn query_param(uri: &Uri, name: &str) -> Option<String> {
    url::form_urlencoded::parse(uri.query()?.as_bytes())
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// A token with or without quotes (clients copy the event's `etag` either way).
fn opaque(token: &str) -> &str {
    EntityTag::parse(token).map_or(token.trim(), |tag| tag.opaque)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_with_or_without_quotes() {
        assert_eq!(opaque("\"abc\""), "abc");
        assert_eq!(opaque("W/\"abc\""), "abc");
        assert_eq!(opaque(" abc "), "abc");
    }

    #[test]
    fn query_parameters_are_decoded_and_never_fail() {
        let uri: Uri = "/x?a=1&flagConfigEtag=%22v%201%22&b".parse().unwrap();
        assert_eq!(
            query_param(&uri, "flagConfigEtag").as_deref(),
            Some("\"v 1\"")
        );
        assert_eq!(query_param(&uri, "missing"), None);
        let odd: Uri = "/x?%ZZ=%&&=".parse().unwrap();
        assert_eq!(query_param(&odd, "flagConfigEtag"), None);
        assert_eq!(query_param(&"/x".parse().unwrap(), "a"), None);
    }

    #[test]
    fn if_none_match_lines_are_joined_into_one_list() {
        let mut headers = HeaderMap::new();
        assert_eq!(if_none_match(&headers), None);
        headers.append(header::IF_NONE_MATCH, HeaderValue::from_static("\"a\""));
        headers.append(header::IF_NONE_MATCH, HeaderValue::from_static("W/\"b\""));
        assert_eq!(if_none_match(&headers).as_deref(), Some("\"a\", W/\"b\""));
    }
}
