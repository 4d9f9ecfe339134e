//! Request bodies in, JSON error bodies out: the part of every handler that deals with bad input.
//!
//! A body must arrive within a time bound, and all bodies being read share one memory budget, so
//! clients that stop half-way through large bodies cannot pin the server's memory: a body that
//! cannot get its share of the budget waits (its socket unread) until its deadline, then is
//! answered 408 like one that arrived too slowly.

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde_json::{Map, Value, json};
use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::time::Instant;

/// How long a request body may take to arrive, from the end of its head (hyper bounds the head
/// by the same 30 s).
pub const BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// The memory all request bodies being read may hold together, unless one body may be larger.
pub const BODIES_IN_FLIGHT: usize = 32 * 1024 * 1024;

/// The first bytes of every body are not charged to the budget, so the small bodies evaluation
/// takes are never kept waiting by large ones; per connection this is less than hyper's own read
/// buffer (accept.rs).
pub const FREE_PER_BODY: usize = 16 * 1024;

/// The budget is counted in units of this many bytes, so it fits a semaphore's u32 permits.
const UNIT: usize = 1024;

/// How request bodies are read: the largest accepted, how long one may take, and the memory
/// budget all bodies in flight share.
pub struct Bodies {
    pub max_size: usize,
    timeout: Duration,
    /// One permit per [`UNIT`] bytes held by bodies being read.
    memory: Semaphore,
    /// What each body may hold before it is charged.
    free: usize,
}

impl Bodies {
    /// The budget is [`BODIES_IN_FLIGHT`], or one body of `max_size` if that is more, so every
    /// acceptable body can be read once the others are done.
    pub fn new(max_size: usize, timeout: Duration) -> Self {
        Self::with_budget(max_size, timeout, BODIES_IN_FLIGHT, FREE_PER_BODY)
    }

    fn with_budget(max_size: usize, timeout: Duration, budget: usize, free: usize) -> Self {
        let units = units(budget.max(max_size)).min(Semaphore::MAX_PERMITS);
        Self {
            max_size,
            timeout,
            memory: Semaphore::new(units),
            free,
        }
    }
}

fn units(bytes: usize) -> usize {
    bytes.div_ceil(UNIT)
}

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

/// Reads at most `bodies.max_size` bytes; more is a 413 (checked on Content-Length first, then
/// while reading, since a chunked body has no length up front). A body that has not arrived
/// within the time bound, or could not get its share of the memory budget by then, is a 408.
pub async fn read_limited(
    headers: &HeaderMap,
    body: Body,
    bodies: &Bodies,
) -> Result<Vec<u8>, Rejection> {
    let limit = bodies.max_size;
    let deadline = Instant::now() + bodies.timeout;
    let too_large = || Rejection {
        status: StatusCode::PAYLOAD_TOO_LARGE,
        code: "PARSE_ERROR",
        details: format!("the request body is larger than {limit} bytes"),
    };
    let too_slow = || Rejection {
        status: StatusCode::REQUEST_TIMEOUT,
        code: "PARSE_ERROR",
        details: format!(
            "the request body did not arrive within {} s",
            bodies.timeout.as_secs_f64()
        ),
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    // A declared length is reserved whole before reading, so bodies that stall half-way hold
    // what they announced and no two of them wait on each other for the rest.
    let mut held: Option<SemaphorePermit<'_>> = None;
    let declared = declared.map_or(0, |n| n as usize);
    reserve(bodies, &mut held, declared, deadline)
        .await
        .ok_or_else(too_slow)?;
    let mut bytes = Vec::new();
    let mut stream = body.into_data_stream();
    loop {
        let chunk = match tokio::time::timeout_at(deadline, stream.next()).await {
            Err(_) => return Err(too_slow()),
            Ok(None) => break,
            Ok(Some(chunk)) => chunk
                .map_err(|e| Rejection::parse(format!("could not read the request body: {e}")))?,
        };
        if bytes.len() + chunk.len() > limit {
            return Err(too_large());
        }
        reserve(bodies, &mut held, bytes.len() + chunk.len(), deadline)
            .await
            .ok_or_else(too_slow)?;
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// Grows `held` to cover `bytes`, waiting at most until `deadline`; `None` if it could not.
async fn reserve<'a>(
    bodies: &'a Bodies,
    held: &mut Option<SemaphorePermit<'a>>,
    bytes: usize,
    deadline: Instant,
) -> Option<()> {
    let have = held.as_ref().map_or(0, SemaphorePermit::num_permits);
    let more = units(bytes.saturating_sub(bodies.free)).saturating_sub(have);
    if more == 0 {
        return Some(());
    }
    let more = u32::try_from(more).ok()?;
    let permit = tokio::time::timeout_at(deadline, bodies.memory.acquire_many(more))
        .await
        .ok()?
        .ok()?;
    match held {
        Some(held) => held.merge(permit),
        None => *held = Some(permit),
    }
    Some(())
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
    bodies: &Bodies,
) -> Result<Map<String, Value>, Rejection> {
    let bytes = read_limited(headers, body, bodies).await?;
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
        let bodies = Bodies::new(64, BODY_TIMEOUT);
        read_context(&headers, Body::from(body.to_owned()), &bodies).await
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

    /// A body that sends `first` and then nothing, ever.
    fn stalled(first: &'static [u8]) -> Body {
        let chunk: Result<bytes::Bytes, std::io::Error> = Ok(bytes::Bytes::from_static(first));
        Body::from_stream(
            futures_util::stream::iter([chunk]).chain(futures_util::stream::pending()),
        )
    }

    fn declaring(length: usize) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
        headers
    }

    #[tokio::test]
    async fn a_body_that_stalls_is_a_408_at_its_deadline() {
        let bodies = Bodies::new(1 << 20, Duration::from_millis(100));
        let started = std::time::Instant::now();
        let rejection = read_limited(&declaring(100), stalled(b"{\"con"), &bodies)
            .await
            .unwrap_err();
        assert_eq!(rejection.status, StatusCode::REQUEST_TIMEOUT);
        assert!(
            rejection.details.contains("within 0.1 s"),
            "{}",
            rejection.details
        );
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(100) && took < Duration::from_secs(3),
            "{took:?}"
        );
    }

    #[tokio::test]
    async fn bodies_in_flight_share_one_budget_and_give_it_back() {
        let bodies = Bodies::with_budget(4096, Duration::from_millis(200), 4096, 0);
        let full = bodies.memory.available_permits();
        let (three, two) = (declaring(3000), declaring(2000));
        let mut holder = Box::pin(read_limited(&three, stalled(b"x"), &bodies));
        // Polled until it has reserved its 3 KiB and waits for the rest, which never comes.
        assert!(
            tokio::time::timeout(Duration::from_millis(20), &mut holder)
                .await
                .is_err()
        );
        assert_eq!(bodies.memory.available_permits(), full - 3);
        let started = std::time::Instant::now();
        let waited = read_limited(&two, Body::from(vec![b' '; 2000]), &bodies).await;
        assert_eq!(waited.unwrap_err().status, StatusCode::REQUEST_TIMEOUT);
        assert!(started.elapsed() >= Duration::from_millis(200));
        drop(holder);
        assert_eq!(bodies.memory.available_permits(), full, "all given back");
        // Alone, the same body is read at once, chunked or declared.
        let chunked = Body::from_stream(futures_util::stream::iter(
            (0..4).map(|_| Ok::<_, std::io::Error>(bytes::Bytes::from(vec![b' '; 1000]))),
        ));
        assert_eq!(
            read_limited(&HeaderMap::new(), chunked, &bodies)
                .await
                .unwrap()
                .len(),
            4000
        );
        assert_eq!(bodies.memory.available_permits(), full);
    }

    #[tokio::test]
    async fn small_bodies_are_not_charged() {
        let bodies = Bodies::with_budget(64 * 1024, BODY_TIMEOUT, 1024, FREE_PER_BODY);
        let full = bodies.memory.available_permits();
        let (none, over) = (HeaderMap::new(), declaring(FREE_PER_BODY + 1));
        let mut holders = Vec::new();
        for _ in 0..10 {
            let mut holder = Box::pin(read_limited(&none, stalled(&[b' '; 4096]), &bodies));
            assert!(
                tokio::time::timeout(Duration::from_millis(5), &mut holder)
                    .await
                    .is_err()
            );
            holders.push(holder);
        }
        assert_eq!(bodies.memory.available_permits(), full);
        let over = read_limited(&over, Body::from(vec![b' '; FREE_PER_BODY + 1]), &bodies);
        assert_eq!(over.await.unwrap().len(), FREE_PER_BODY + 1);
    }

    #[test]
    fn one_body_of_the_largest_size_always_fits_the_budget() {
        let bodies = Bodies::new(100 << 20, BODY_TIMEOUT);
        assert_eq!(bodies.memory.available_permits(), units(100 << 20));
        let small = Bodies::new(1024, BODY_TIMEOUT);
        assert_eq!(small.memory.available_permits(), units(BODIES_IN_FLIGHT));
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
