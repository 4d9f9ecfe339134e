//! The requirement ids of `shared/ofrep-checklist.md` and their levels: what a scenario's `@id:`
//! tag and a `passes check` step may name, and what `--list` shows as uncovered.

use crate::protocol::finding::Level;

/// Every id, in the checklist's order, with its level.
pub const CHECKLIST: &[(&str, Level)] = &[
    ("core-endpoints", Level::Must),
    ("core-json", Level::Must),
    ("auth-401-403", Level::Should),
    ("rate-limit-retry-after", Level::Should),
    ("error-500-shape", Level::Must),
    ("single-shape", Level::Must),
    ("single-value-type", Level::Must),
    ("single-not-found", Level::Must),
    ("single-400-shape", Level::Must),
    ("reason-known", Level::Should),
    ("metadata-values", Level::Must),
    ("bulk-shape", Level::Must),
    ("bulk-400-shape", Level::Must),
    ("bulk-etag-present", Level::Should),
    ("bulk-etag-syntax", Level::Should),
    ("bulk-304-on-match", Level::Must),
    ("bulk-304-no-body", Level::Must),
    ("bulk-304-etag", Level::Should),
    ("bulk-200-on-stale", Level::Must),
    ("bulk-etag-stable", Level::Must),
    ("bulk-etag-changes", Level::Must),
    ("bulk-etag-context", Level::Should),
    ("bulk-inm-forms", Level::Info),
    ("bulk-query-accepted", Level::Must),
    ("bulk-query-not-validator", Level::Should),
    ("streams-optional", Level::Info),
    ("streams-shape", Level::Must),
    ("streams-one-of", Level::Must),
    ("streams-url", Level::Must),
    ("streams-request-uri", Level::Must),
    ("streams-inactivity", Level::Must),
    ("streams-unknown-type", Level::Info),
    ("streams-legacy-sse", Level::Should),
    ("streams-secret", Level::Must),
    ("sse-content-type", Level::Must),
    ("sse-utf8", Level::Must),
    ("sse-event-message", Level::Must),
    ("sse-data-json", Level::Must),
    ("sse-type", Level::Must),
    ("sse-etag-type", Level::Must),
    ("sse-last-modified", Level::Must),
    ("sse-last-modified-seconds", Level::Should),
    ("sse-id", Level::Should),
    ("sse-retry", Level::Must),
    ("sse-keepalive", Level::Should),
    ("sse-notify", Level::Must),
    ("sse-fresh-after-event", Level::Must),
    ("sse-replay", Level::Info),
    ("polling-works", Level::Must),
    ("polling-without-streams", Level::Must),
    ("cors-preflight", Level::Should),
    ("cors-expose-etag", Level::Should),
];

/// Ids that no scenario can check from outside, and why (shown by `--list`).
pub const NOT_OBSERVABLE: &[(&str, &str)] = &[
    (
        "rate-limit-retry-after",
        "a 429 cannot be provoked without flooding the server; `ofrep fetch` grades one when it happens",
    ),
    (
        "error-500-shape",
        "a 500 cannot be provoked from outside; `fetch` grades one when it happens",
    ),
    (
        "streams-secret",
        "a rule for clients: ofrep itself redacts event-stream URLs in every output",
    ),
];

pub fn level_of(id: &str) -> Option<Level> {
    CHECKLIST
        .iter()
        .find(|(known, _)| *known == id)
        .map(|(_, level)| *level)
}
