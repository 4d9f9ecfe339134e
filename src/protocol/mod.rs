//! The OFREP wire protocol: entity tags, headers, context, the HTTP client, and the pure checks
//! that grade what a server answered.

pub mod answer;
pub mod checklist;
pub mod checks;
pub mod client;
pub mod context;
pub mod document;
pub mod etag;
pub mod event_streams;
pub mod finding;
pub mod headers;
pub mod proxy;
pub mod redirect;
pub mod tls;
pub mod wire;
