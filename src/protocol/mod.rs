//! The OFREP wire protocol: entity tags, headers, context, the HTTP client, and the pure checks
//! that grade what a server answered.

pub mod etag;
