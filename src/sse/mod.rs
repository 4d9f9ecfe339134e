//! Server-Sent Events for `watch` and `conform`: a parser that turns bytes into events and
//! problems without any I/O, and one HTTP connection that feeds it. Reconnecting, backoff and
//! what an event means to OFREP belong to the callers.

pub mod connection;
pub mod parser;
