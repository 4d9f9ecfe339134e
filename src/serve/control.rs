//! The control endpoints (`--control`): change a flag, drop every stream. For scripts and for
//! `conform`'s trigger, like flagd-testbed's `POST /change`.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State as Shared;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use super::ServeEvent;
use super::body::{general_error, json_response, read_limited};
use super::state::{ChangeError, State};

/// `POST /control/change`: `{"flag": KEY, "variant": NAME}` sets that flag's default variant; an
/// empty body makes the built-in change. Answers the change and the new configuration token.
pub async fn change(Shared(state): Shared<Arc<State>>, headers: HeaderMap, body: Body) -> Response {
    let bytes = match read_limited(&headers, body, state.max_body_size).await {
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
