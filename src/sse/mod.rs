//! Server-Sent Events for `watch` and `conform`: a parser that turns bytes into events and
//! problems without any I/O.

pub mod parser;
