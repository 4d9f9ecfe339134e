//! Request bodies in, JSON error bodies out: the part of every handler that deals with bad input.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde_json::{Map, Value, json};

/// A JSON response with `application/json`.
pub fn json_response(status: StatusCode, body: &impl serde::Serialize) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        bytes,
    )
        .into_response()
}

/// `{"errorDetails": ...}`: the OFREP general error body.
pub fn general_error(status: StatusCode, details: impl Into<String>) -> Response {
    json_response(status, &json!({"errorDetails": details.into()}))
}

/// Why a body was refused: a status and an OFREP error code with details.
#[derive(Debug)]
pub struct Rejection {
    pub status: StatusCode,
    pub code: &'static str,
    pub details: String,
}

impl Rejection {
    fn parse(details: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: "PARSE_ERROR",
            details: details.into(),
        }
    }

    /// The bulk form `{errorCode, errorDetails}`, or the single-flag form with `key` first.
    pub fn into_response(self, key: Option<&str>) -> Response {
        let mut body = Map::new();
        if let Some(key) = key {
            body.insert("key".to_owned(), Value::String(key.to_owned()));
        }
        body.insert("errorCode".to_owned(), Value::String(self.code.to_owned()));
        body.insert("errorDetails".to_owned(), Value::String(self.details));
        json_response(self.status, &Value::Object(body))
    }
}

/// Reads at most `limit` bytes; more is a 413 (checked on Content-Length first, then while
/// reading, since a chunked body has no length up front).
pub async fn read_limited(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<Vec<u8>, Rejection> {
    let too_large = || Rejection {
        status: StatusCode::PAYLOAD_TOO_LARGE,
        code: "PARSE_ERROR",
        details: format!("the request body is larger than {limit} bytes"),
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|e| Rejection::parse(format!("could not read the request body: {e}")))?;
        if bytes.len() + chunk.len() > limit {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// True for `application/json` and any `+json` type, parameters allowed.
pub fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// The evaluation context from an OFREP request body `{"context": {...}}`. An empty body is an
/// empty context; a non-JSON content type, malformed JSON or a non-object body is PARSE_ERROR; a
/// `context` that is not an object (or a `targetingKey` that is not a string) is
/// INVALID_CONTEXT.
pub async fn read_context(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<Map<String, Value>, Rejection> {
    let bytes = read_limited(headers, body, limit).await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    if let Some(content_type) = headers.get(header::CONTENT_TYPE) {
        let text = content_type.to_str().unwrap_or_default();
        if !is_json(text) {
            return Err(Rejection::parse(format!(
                "the body must be application/json, not `{text}`"
            )));
        }
    }
    let value: Value = serde_json::from_slice(&bytes)
        .map_err(|e| Rejection::parse(format!("the body is not valid JSON: {e}")))?;
    let Value::Object(mut request) = value else {
        return Err(Rejection::parse(
            "the body must be a JSON object like {\"context\": {...}}",
        ));
    };
    let context = match request.remove("context") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(context)) => context,
        Some(_) => return Err(invalid_context("`context` must be a JSON object")),
    };
    if context
        .get("targetingKey")
        .is_some_and(|key| !key.is_string())
    {
        return Err(invalid_context("`targetingKey` must be a string"));
    }
    Ok(context)
}

fn invalid_context(details: &str) -> Rejection {
    Rejection {
        status: StatusCode::BAD_REQUEST,
        code: "INVALID_CONTEXT",
        details: details.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn context(
        content_type: Option<&str>,
        body: &str,
    ) -> Result<Map<String, Value>, Rejection> {
        let mut headers = HeaderMap::new();
        if let Some(ct) = content_type {
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_str(ct).unwrap());
        }
        read_context(&headers, Body::from(body.to_owned()), 64).await
    }

    #[tokio::test]
    async fn bodies_are_classified() {
        let json = Some("application/json; charset=utf-8");
        assert_eq!(
            context(json, r#"{"context": {"a": 1}}"#).await.unwrap()["a"],
            1
        );
        assert!(context(None, "").await.unwrap().is_empty());
        assert_eq!(context(json, "{").await.unwrap_err().code, "PARSE_ERROR");
        assert_eq!(context(json, "[1]").await.unwrap_err().code, "PARSE_ERROR");
        assert_eq!(
            context(Some("text/plain"), "{}").await.unwrap_err().code,
            "PARSE_ERROR"
        );
        assert_eq!(
            context(json, r#"{"context": 3}"#).await.unwrap_err().code,
            "INVALID_CONTEXT"
        );
        assert_eq!(
            context(json, r#"{"context": {"targetingKey": 1}}"#)
                .await
                .unwrap_err()
                .code,
            "INVALID_CONTEXT"
        );
        let huge = format!(r#"{{"context": {{"a": "{}"}}}}"#, "x".repeat(100));
        assert_eq!(
            context(json, &huge).await.unwrap_err().status,
            StatusCode::PAYLOAD_TOO_LARGE
        );
    }

    #[test]
    fn json_types_include_plus_json() {
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON ; charset=utf-8"));
        assert!(is_json("application/merge-patch+json"));
        assert!(!is_json("text/json+plain"));
        assert!(!is_json("text/plain"));
    }
}
