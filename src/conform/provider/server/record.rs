//! What the scripted server records of each request, and of each event it sends.

use std::time::Duration;

/// Which endpoint a request went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Bulk,
    Single,
    UrlStream,
    EndpointStream,
    UnknownStream,
    Other,
}

impl Route {
    pub fn is_stream(self) -> bool {
        matches!(self, Self::UrlStream | Self::EndpointStream)
    }
}

/// One request as the server saw it, and what it answered.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Since the server started (the scenario's clock).
    pub at: Duration,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub route: Route,
    pub host: Option<String>,
    pub accept: Option<String>,
    pub if_none_match: Option<String>,
    pub last_event_id: Option<String>,
    /// For bulk and single-flag requests: whether the body was a JSON object with a `context`
    /// object, or what it was instead.
    pub context: Result<(), String>,
    pub status: u16,
    /// The ETag a 200 or 304 carried.
    pub etag: Option<String>,
    /// The `Retry-After` seconds a refusal carried.
    pub retry_after: Option<u64>,
}

impl Seen {
    /// A query parameter, decoded.
    pub fn param(&self, name: &str) -> Option<String> {
        let query = self.query.as_deref()?;
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    }

    /// `GET /path?query`, as sent.
    pub fn target(&self) -> String {
        match &self.query {
            Some(query) => format!("{} {}?{query}", self.method, self.path),
            None => format!("{} {}", self.method, self.path),
        }
    }
}

/// An event the server sent, for attributing refetches and checking `Last-Event-ID`.
#[derive(Debug, Clone)]
pub struct Sent {
    pub at: Duration,
    pub id: String,
    /// `None` for an event of another type than `refetchEvaluation`.
    pub etag: Option<String>,
}
