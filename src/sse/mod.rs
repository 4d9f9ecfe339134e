//! Server-Sent Events for `watch` and `conform`: a parser that turns bytes into events and
//! problems without any I/O, and one HTTP connection that feeds it. Reconnecting, backoff and
//! what an event means to OFREP belong to the callers.
//!
//! Why not `reqwest-eventsource`: its last release (0.6.0, March 2024) pins reqwest 0.12, its
//! parser dependency panics on a UTF-8 BOM, it sends an empty `Last-Event-ID` after an event
//! without an id, and it treats every 5xx as permanent (jpopesculian/reqwest-eventsource#26, #29,
//! #36; eventsource-stream PR #10). Generic parsers also hide what the conformance checks must
//! see: comments (keep-alives), invalid `retry` values, ids with NUL, invalid UTF-8. And the
//! reconnect loop follows ADR-0008 (a refetch after every reconnect, Last-Event-ID kept across
//! connections), which no generic client knows.

pub mod connection;
pub mod parser;
pub mod tally;
