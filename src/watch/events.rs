//! The vocabulary of `watch`: every [`WatchEvent`] the pipeline sends to a renderer, what started
//! a refetch ([`Trigger`]) and how a stream's connection stands ([`ConnectionState`]).

use std::sync::Arc;
use std::time::Duration;

use url::Url;

use crate::diff::{FlagChange, FlagSet};

/// What started a refetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// A `refetchEvaluation` event: carries its metadata to the bulk endpoint.
    Sse {
        stream: usize,
        event_id: Option<String>,
        etag: Option<String>,
        last_modified: Option<String>,
    },
    Poll,
    /// A stream (re)connected: refetch at once, unconditionally of events.
    Reconnect {
        stream: usize,
    },
    /// A failed refetch being tried again.
    Retry,
}

impl Trigger {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Sse { .. } => "sse",
            Self::Poll => "poll",
            Self::Reconnect { .. } => "reconnect",
            Self::Retry => "retry",
        }
    }

    /// SSE metadata travels as query parameters, and only on refetches an event triggered.
    pub(super) fn query(&self) -> Vec<(String, String)> {
        let Self::Sse {
            etag,
            last_modified,
            ..
        } = self
        else {
            return vec![];
        };
        let mut query = Vec::new();
        if let Some(etag) = etag {
            query.push(("flagConfigEtag".to_owned(), etag.clone()));
        }
        if let Some(last_modified) = last_modified {
            query.push(("flagConfigLastModified".to_owned(), last_modified.clone()));
        }
        query
    }
}

/// A stream's state change, for the renderer.
#[derive(Debug, Clone, PartialEq)]
pub enum ConnectionState {
    Connected,
    Reconnecting {
        delay: Duration,
        reason: String,
    },
    Stopped {
        reason: String,
    },
    /// No stream is connected: polling every `interval` (or not at all when `None`).
    FellBackToPolling {
        interval: Option<Duration>,
    },
    /// A stream connected again after a fallback: polling stopped.
    Recovered,
}

/// Everything `watch` shows, in order. The renderer decides how.
#[derive(Debug, Clone)]
pub enum WatchEvent {
    Snapshot {
        etag: Option<String>,
        /// The flags, keyed, for conditions; shared with the pipeline, not copied.
        flags: Arc<FlagSet>,
        /// The first answer's body and where its `flags` array sits in it, for the JSON
        /// snapshot line, which shows the array exactly as received.
        body: Arc<Vec<u8>>,
        flags_span: std::ops::Range<usize>,
        streams: Vec<StreamInfo>,
        polling: Option<Duration>,
    },
    Connection {
        stream: Option<usize>,
        url: Option<Url>,
        state: ConnectionState,
    },
    /// An SSE event arrived (any type).
    Event {
        stream: usize,
        id: Option<String>,
        event_type: String,
        data: String,
    },
    Change {
        trigger: Trigger,
        etag: Option<String>,
        latency: Duration,
        /// Only what changed: a renderer or a condition keeps its own flag set up to date with
        /// [`crate::diff::apply`], so no event ever carries a whole (possibly huge) flag set.
        changes: Vec<FlagChange>,
    },
    /// A refetch that changed nothing (304 or an identical 200), shown with `-v`.
    Unchanged {
        trigger: Trigger,
        status: u16,
        latency: Duration,
    },
    /// Something is wrong but `watch` goes on; `id` is the checklist id when there is one.
    Warning {
        id: Option<&'static str>,
        message: String,
    },
    Comment {
        stream: usize,
        text: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct StreamInfo {
    pub index: usize,
    pub kind: Option<String>,
    pub url: Result<Url, String>,
    /// Followed (a known type with a new URL), or why not.
    pub followed: Result<usize, String>,
}
