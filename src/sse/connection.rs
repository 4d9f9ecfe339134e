//! One GET of an event stream, and the items its body parses into. No reconnection: the caller
//! (`watch`, `conform`) owns backoff, `retry:` and the last event ID across connections, and
//! decides what a refusal means with [`refusal_policy`].
//!
//! Event-stream URLs may carry tokens (ADR-0008), so no error message ever shows a URL's userinfo
//! or query string.

use std::collections::VecDeque;
use std::time::Duration;

use reqwest::header::{
    ACCEPT, CACHE_CONTROL, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, RETRY_AFTER,
};

use super::parser::{Item, Limits, Parser};
use crate::error::root_cause;
use crate::redact::Redactor;

/// How much of a refusal's body is kept to show the user.
pub const SNIPPET_BYTES: usize = 512;

/// How long a refusal's body is read for. The snippet only feeds messages, and an error body
/// arrives with its head; a refusal that is itself an endless stream (a wrong Content-Type on a
/// real event stream) must not hold every caller for the whole connect timeout.
pub const SNIPPET_WAIT: Duration = Duration::from_millis(500);

/// A body chunk is parsed this many bytes at a time, so that the items waiting to be handed out
/// stay few (a few thousand at most) whatever the size of the chunks the body arrives in.
const FEED_BYTES: usize = 16 * 1024;

/// The media type of an event stream (WHATWG HTML §9.2.3).
const EVENT_STREAM: &str = "text/event-stream";

/// What to connect to, and how.
#[derive(Debug, Clone)]
pub struct ConnectRequest {
    pub url: url::Url,
    /// Sent after the stream headers; a header given here replaces one of ours of the same name.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Sent as `Last-Event-ID` when present and not empty.
    pub last_event_id: Option<String>,
    /// How long to wait for the response headers (a refusal's body is read for at most
    /// [`SNIPPET_WAIT`] of it).
    pub connect_timeout: Duration,
    /// What bounds the parser's memory.
    pub limits: Limits,
}

impl ConnectRequest {
    /// A request with no extra headers, no last event ID, a 10 s connect timeout and the default
    /// limits.
    pub fn new(url: url::Url) -> Self {
        Self {
            url,
            headers: Vec::new(),
            last_event_id: None,
            connect_timeout: Duration::from_secs(10),
            limits: Limits::default(),
        }
    }
}

/// What the server answered.
// One value per connection attempt, matched at once: boxing the stream would cost an allocation
// and a less direct API for no measurable gain.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Opened {
    /// 200 with `text/event-stream`: read it with [`Connection::next`].
    Stream(Connection),
    /// Anything else; see [`refusal_policy`].
    Refused(Refusal),
}

/// An answer that is not an event stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub content_type: Option<String>,
    /// The raw `Retry-After` value, for the caller to interpret (seconds or an HTTP date).
    pub retry_after: Option<String>,
    /// The first [`SNIPPET_BYTES`] bytes of the body, lossily decoded.
    pub body_snippet: String,
}

/// Whether to try a refused stream again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    Retry,
    Stop,
}

/// What `watch` does with a refusal (issue 4): 408, 429 and 5xx are passing trouble, so retry
/// (429 after its `Retry-After`); every other status, 204 (the standard's "stop reconnecting")
/// and a 200 that is not `text/event-stream` included, will not change by retrying, so stop.
pub fn refusal_policy(refusal: &Refusal) -> Policy {
    match refusal.status {
        408 | 429 | 500..=599 => Policy::Retry,
        _ => Policy::Stop,
    }
}

/// Why a connection could not be opened or read. `url` is always redacted.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    /// No connection: DNS, refused, TLS.
    #[error("could not connect to {url}: {cause}")]
    Connect { url: String, cause: String },
    /// The connection was made but the request failed before an answer arrived.
    #[error("the request to {url} failed: {cause}")]
    Request { url: String, cause: String },
    /// No answer headers in time: `after` is the request's `connect_timeout` when that fired,
    /// `None` when the client's own timeout did.
    #[error("{url} did not answer in time{}", within(.after))]
    Timeout {
        url: String,
        after: Option<Duration>,
    },
    /// The stream broke off while its body was being read.
    #[error("the event stream from {url} broke off: {cause}")]
    Body { url: String, cause: String },
    /// The last event ID has characters no header may carry (control characters).
    #[error(
        "the last event ID cannot be sent to {url} as a Last-Event-ID header: it contains control characters"
    )]
    LastEventId { url: String },
}

/// An open event stream.
#[derive(Debug)]
pub struct Connection {
    pub status: u16,
    pub content_type: Option<String>,
    response: reqwest::Response,
    parser: Parser,
    /// Items parsed from the last piece of a chunk and not yet handed out.
    pending: VecDeque<Item>,
    /// The part of the last chunk not parsed yet.
    unparsed: bytes::Bytes,
    /// The body ended or failed: only `pending` is left.
    ended: bool,
    /// The URL as it may be shown.
    shown_url: String,
}

impl Connection {
    /// The next item of the stream; `None` after the body ended cleanly and the items of
    /// [`Parser::finish`] were handed out, and after an error.
    ///
    /// Cancel-safe, so it can race a timer in `select!` or `timeout`: items are only taken from
    /// the body when a chunk has fully arrived, and parsed items wait in a queue. Nothing is read
    /// from the socket while items wait: a caller that stops calling stops the reading.
    pub async fn next(&mut self) -> Option<Result<Item, ConnectionError>> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                return Some(Ok(item));
            }
            if !self.unparsed.is_empty() {
                let piece = self.unparsed.split_to(self.unparsed.len().min(FEED_BYTES));
                self.pending.extend(self.parser.feed(&piece));
                continue;
            }
            if self.ended {
                return None;
            }
            match self.response.chunk().await {
                Ok(Some(bytes)) => self.unparsed = bytes,
                Ok(None) => {
                    self.ended = true;
                    self.pending.extend(self.parser.finish());
                }
                Err(error) => {
                    self.ended = true;
                    return Some(Err(ConnectionError::Body {
                        url: self.shown_url.clone(),
                        cause: cause(error),
                    }));
                }
            }
        }
    }

    /// The last-event-ID buffer so far: what to send as `Last-Event-ID` when reconnecting.
    pub fn last_event_id(&self) -> &str {
        self.parser.last_event_id()
    }
}

/// Sends the GET and classifies the answer.
///
/// `client` must not have a total timeout (`ClientBuilder::timeout`): it would cut every stream
/// after that time. `ClientBuilder::read_timeout` is the way to notice a silent stream; it ends
/// the stream with [`ConnectionError::Body`].
pub async fn open(
    client: &reqwest::Client,
    request: &ConnectRequest,
) -> Result<Opened, ConnectionError> {
    let shown_url = Redactor::default().url(request.url.as_str()).into_owned();
    let headers = request_headers(request).ok_or_else(|| ConnectionError::LastEventId {
        url: shown_url.clone(),
    })?;
    let send = client.get(request.url.clone()).headers(headers).send();
    let response = match tokio::time::timeout(request.connect_timeout, send).await {
        Err(_) => {
            return Err(ConnectionError::Timeout {
                url: shown_url,
                after: Some(request.connect_timeout),
            });
        }
        Ok(Err(error)) => return Err(send_error(error, shown_url)),
        Ok(Ok(response)) => response,
    };
    let status = response.status().as_u16();
    let content_type = header_text(response.headers(), &CONTENT_TYPE);
    if status == 200 && content_type.as_deref().is_some_and(is_event_stream) {
        let last_event_id = request.last_event_id.clone().unwrap_or_default();
        return Ok(Opened::Stream(Connection {
            status,
            content_type,
            response,
            parser: Parser::resume(request.limits, last_event_id),
            pending: VecDeque::new(),
            unparsed: bytes::Bytes::new(),
            ended: false,
            shown_url,
        }));
    }
    let retry_after = header_text(response.headers(), &RETRY_AFTER);
    let body_snippet = snippet(response, request.connect_timeout.min(SNIPPET_WAIT)).await;
    Ok(Opened::Refused(Refusal {
        status,
        content_type,
        retry_after,
        body_snippet,
    }))
}

/// The stream headers, then the caller's; `None` if the last event ID cannot be a header value.
fn request_headers(request: &ConnectRequest) -> Option<HeaderMap> {
    let mut headers = HeaderMap::new();
    headers.insert(ACCEPT, HeaderValue::from_static(EVENT_STREAM));
    // Asks intermediaries not to answer from a cache, as browsers do for EventSource.
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Some(id) = request.last_event_id.as_deref().filter(|id| !id.is_empty()) {
        // from_bytes, not from_str: an id may be any UTF-8, and header values allow bytes
        // above 0x7F; only control characters are refused.
        let value = HeaderValue::from_bytes(id.as_bytes()).ok()?;
        headers.insert(HeaderName::from_static("last-event-id"), value);
    }
    for (name, _) in &request.headers {
        headers.remove(name);
    }
    for (name, value) in &request.headers {
        headers.append(name.clone(), value.clone());
    }
    Some(headers)
}

fn send_error(error: reqwest::Error, url: String) -> ConnectionError {
    if error.is_timeout() {
        ConnectionError::Timeout { url, after: None }
    } else if error.is_connect() {
        ConnectionError::Connect {
            url,
            cause: cause(error),
        }
    } else {
        ConnectionError::Request {
            url,
            cause: cause(error),
        }
    }
}

/// What went wrong, without the URL: reqwest's own message names it with its secrets, and so
/// would the root cause if reqwest's error ever were the root itself.
fn cause(error: reqwest::Error) -> String {
    root_cause(&error.without_url())
}

fn within(after: &Option<Duration>) -> String {
    after.map_or_else(String::new, |after| {
        format!(" (within {})", humantime::format_duration(after))
    })
}

/// `text/event-stream`, with any parameters, in any case.
fn is_event_stream(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case(EVENT_STREAM))
}

fn header_text(headers: &HeaderMap, name: &HeaderName) -> Option<String> {
    headers
        .get(name)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
}

/// The start of a refusal's body. Bounded in size and time: a refusal may itself be an endless
/// stream, or never send its body; whatever arrived by then is kept.
async fn snippet(mut response: reqwest::Response, within: Duration) -> String {
    let mut bytes = Vec::with_capacity(SNIPPET_BYTES);
    let read = async {
        while bytes.len() < SNIPPET_BYTES {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    let room = SNIPPET_BYTES - bytes.len();
                    bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
                }
                Ok(None) | Err(_) => break,
            }
        }
    };
    // A timeout only ends the reading; the bytes read so far stay.
    let _ = tokio::time::timeout(within, read).await;
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(status: u16, content_type: Option<&str>) -> Refusal {
        Refusal {
            status,
            content_type: content_type.map(str::to_owned),
            retry_after: None,
            body_snippet: String::new(),
        }
    }

    #[test]
    fn passing_trouble_is_retried_and_everything_else_stops() {
        let cases = [
            (408, None, Policy::Retry),
            (429, None, Policy::Retry),
            (500, None, Policy::Retry),
            (503, None, Policy::Retry),
            (599, None, Policy::Retry),
            (204, None, Policy::Stop),
            (200, Some("text/plain"), Policy::Stop),
            (301, None, Policy::Stop),
            (400, None, Policy::Stop),
            (401, None, Policy::Stop),
            (403, None, Policy::Stop),
            (404, None, Policy::Stop),
            (410, None, Policy::Stop),
        ];
        for (status, content_type, expected) in cases {
            assert_eq!(
                refusal_policy(&refusal(status, content_type)),
                expected,
                "{status} {content_type:?}"
            );
        }
    }

    #[test]
    fn the_event_stream_type_allows_parameters_and_any_case() {
        assert!(is_event_stream("text/event-stream"));
        assert!(is_event_stream("Text/Event-Stream; charset=utf-8"));
        assert!(is_event_stream(" text/event-stream ;x=y"));
        assert!(!is_event_stream("text/plain"));
        assert!(!is_event_stream("text/event-streams"));
        assert!(!is_event_stream(""));
    }

    fn request(last_event_id: Option<&str>) -> ConnectRequest {
        let mut request = ConnectRequest::new(url::Url::parse("http://127.0.0.1:1/s").unwrap());
        request.last_event_id = last_event_id.map(str::to_owned);
        request
    }

    #[test]
    fn last_event_id_is_sent_only_when_not_empty() {
        let header = |id| {
            request_headers(&request(id))
                .unwrap()
                .get("last-event-id")
                .cloned()
        };
        assert_eq!(header(None), None);
        assert_eq!(header(Some("")), None);
        assert_eq!(header(Some("7")), Some(HeaderValue::from_static("7")));
        assert_eq!(
            header(Some("é")).map(|v| v.as_bytes().to_vec()),
            Some("é".as_bytes().to_vec())
        );
        assert!(request_headers(&request(Some("a\u{1}b"))).is_none());
    }

    #[test]
    fn given_headers_replace_ours_and_keep_their_repeats() {
        let mut request = request(None);
        request.headers = vec![
            (ACCEPT, HeaderValue::from_static("*/*")),
            (
                HeaderName::from_static("x-a"),
                HeaderValue::from_static("1"),
            ),
            (
                HeaderName::from_static("x-a"),
                HeaderValue::from_static("2"),
            ),
        ];
        let headers = request_headers(&request).unwrap();
        assert_eq!(headers.get_all(ACCEPT).iter().count(), 1);
        assert_eq!(headers[ACCEPT], "*/*");
        assert_eq!(headers.get_all("x-a").iter().count(), 2);
        assert_eq!(headers[CACHE_CONTROL], "no-cache");
    }
}
