//! How the scripted server answers a request, following the scenario's script: the bulk
//! endpoint with an ETag (and the advertised `eventStreams`), single flags, event streams, and
//! the refusals the scenario set up.

use std::convert::Infallible;
use std::net::SocketAddr;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, Response, StatusCode, header};
use bytes::Bytes;
use hyper::body::Incoming;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::{
    BULK_PATH, ENDPOINT_STREAM_PATH, ENDPOINT_STREAM_QUERY, MAX_BODY, MAX_LOGGED, Route,
    STREAM_BUFFER, Script, Seen, Shared, UNKNOWN_STREAM_PATH, URL_STREAM_PATH, URL_STREAM_QUERY,
};
use crate::conform::provider::steps::Advertised;
use crate::serve::{self, sse_frame};

fn header_value(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

pub(super) async fn answer(shared: &Shared, request: Request<Incoming>) -> Response<Body> {
    let at = shared.started.elapsed();
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    let route = match (&parts.method, path.as_str()) {
        (&Method::POST, BULK_PATH) => Route::Bulk,
        (&Method::POST, p) if p.starts_with("/ofrep/v1/evaluate/flags/") => Route::Single,
        (&Method::GET, URL_STREAM_PATH) => Route::UrlStream,
        (&Method::GET, ENDPOINT_STREAM_PATH) => Route::EndpointStream,
        (_, UNKNOWN_STREAM_PATH) => Route::UnknownStream,
        _ => Route::Other,
    };
    let context = if matches!(route, Route::Bulk | Route::Single) {
        read_context(body).await
    } else {
        Ok(())
    };
    let mut seen = Seen {
        at,
        method: parts.method.to_string(),
        path,
        query: parts.uri.query().map(str::to_owned),
        route,
        host: header_value(&parts.headers, header::HOST),
        accept: header_value(&parts.headers, header::ACCEPT),
        if_none_match: header_value(&parts.headers, header::IF_NONE_MATCH),
        last_event_id: parts
            .headers
            .get("last-event-id")
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
        context,
        status: 0,
        etag: None,
        retry_after: None,
    };
    let mut script = shared.script();
    let response = respond(&mut script, shared.addr, &mut seen);
    if script.log.len() < MAX_LOGGED {
        script.log.push(seen);
    } else {
        script.unlogged += 1;
    }
    response
}

/// Decides the answer under the script's lock, so a request and the log entry that records
/// it see the same state.
fn respond(script: &mut Script, addr: SocketAddr, seen: &mut Seen) -> Response<Body> {
    if let Some(status) = script.answer_every {
        seen.status = status;
        return refusal(status, None);
    }
    match seen.route {
        Route::Bulk => {
            if let Some((status, seconds)) = script.next_bulk.take() {
                seen.status = status;
                seen.retry_after = Some(seconds);
                return refusal(status, Some(seconds));
            }
            let etag = format!("\"v{}\"", script.version);
            seen.etag = Some(etag.clone());
            if let Err(why) = &seen.context {
                seen.status = 400;
                return json_response(
                    StatusCode::BAD_REQUEST,
                    &json!({"errorCode": "INVALID_CONTEXT", "errorDetails": why}),
                    None,
                );
            }
            if seen.if_none_match.as_deref() == Some(etag.as_str()) {
                seen.status = 304;
                return Response::builder()
                    .status(StatusCode::NOT_MODIFIED)
                    .header(header::ETAG, etag)
                    .body(Body::empty())
                    .unwrap_or_default();
            }
            seen.status = 200;
            json_response(StatusCode::OK, &bulk_body(script, addr), Some(&etag))
        }
        Route::Single => {
            seen.status = 200;
            let key = seen.path.rsplit('/').next().unwrap_or_default().to_owned();
            json_response(
                StatusCode::OK,
                &json!({"key": key, "value": script.version.is_multiple_of(2), "reason": "STATIC", "variant": "on"}),
                None,
            )
        }
        Route::UrlStream | Route::EndpointStream => match script.refuse_streams {
            Some(status) => {
                seen.status = status;
                refusal(status, None)
            }
            None => {
                seen.status = 200;
                open_stream(script)
            }
        },
        Route::UnknownStream | Route::Other => {
            seen.status = 404;
            json_response(
                StatusCode::NOT_FOUND,
                &json!({"errorCode": "NOT_FOUND", "errorDetails": "no such endpoint"}),
                None,
            )
        }
    }
}

/// The bulk answer: two flags whose values follow the configuration's version, and the
/// advertised streams in the order the scenario gave them.
fn bulk_body(script: &Script, addr: SocketAddr) -> Value {
    let version = script.version;
    let streams: Vec<Value> = script
        .advertised
        .iter()
        .map(|entry| match entry {
            Advertised::Url => json!({
                "type": "sse",
                "url": format!("http://{addr}{URL_STREAM_PATH}?{URL_STREAM_QUERY}"),
                "inactivityDelaySec": 120,
            }),
            Advertised::Endpoint => json!({
                "type": "sse",
                "endpoint": {"requestUri": format!("{ENDPOINT_STREAM_PATH}?{ENDPOINT_STREAM_QUERY}")},
                "inactivityDelaySec": 120,
            }),
            Advertised::Unknown(kind) => json!({
                "type": kind,
                "url": format!("http://{addr}{UNKNOWN_STREAM_PATH}"),
            }),
        })
        .collect();
    let mut body = json!({
        "flags": [
            {"key": "conform-version", "value": format!("v{version}"), "reason": "STATIC", "variant": format!("v{version}")},
            {"key": "conform-enabled", "value": version.is_multiple_of(2), "reason": "STATIC", "variant": if version.is_multiple_of(2) { "on" } else { "off" }},
        ],
    });
    if !streams.is_empty() {
        body["eventStreams"] = Value::Array(streams);
    }
    body
}

fn open_stream(script: &mut Script) -> Response<Body> {
    let (sender, receiver) = mpsc::channel::<Bytes>(STREAM_BUFFER);
    let mut opening = script.retry_ms.map(sse_frame::retry).unwrap_or_default();
    opening.push_str(&sse_frame::comment("connected"));
    let _ = sender.try_send(Bytes::from(opening));
    script.open.push(sender);
    let frames = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver
            .recv()
            .await
            .map(|frame| (Ok::<_, Infallible>(frame), receiver))
    });
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Body::from_stream(frames))
        .unwrap_or_default()
}

fn refusal(status: u16, retry_after: Option<u64>) -> Response<Body> {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    let mut response = json_response(
        code,
        &json!({"errorCode": "GENERAL", "errorDetails": "refused by the scenario"}),
        None,
    );
    if let Some(seconds) = retry_after
        && let Ok(value) = header::HeaderValue::from_str(&seconds.to_string())
    {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// serve's JSON answer, with the ETag when there is one.
fn json_response(status: StatusCode, body: &Value, etag: Option<&str>) -> Response<Body> {
    let mut response = serve::json_response(status, body);
    if let Some(value) = etag.and_then(|e| header::HeaderValue::from_str(e).ok()) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}

/// Whether a request body is a JSON object with a `context` object, read up to `MAX_BODY`.
async fn read_context(body: Incoming) -> Result<(), String> {
    let bytes = axum::body::to_bytes(Body::new(body), MAX_BODY)
        .await
        .map_err(|_| {
            format!("the body could not be read in full (the limit is {MAX_BODY} bytes)")
        })?;
    let value: Value =
        serde_json::from_slice(&bytes).map_err(|e| format!("the body is not JSON ({e})"))?;
    match value.get("context") {
        Some(Value::Object(_)) => Ok(()),
        Some(_) => Err("`context` is not a JSON object".into()),
        None => Err("the body has no `context`".into()),
    }
}
