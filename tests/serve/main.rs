//! `ofrep serve` against real HTTP on 127.0.0.1: in-process servers via `Server::start`, and the
//! real binary where process behaviour (the listening line, exit codes) is the point. One file per
//! topic; `support` holds what they share.

mod support;

mod bad_input;
mod binary;
mod bulk;
mod connections;
mod control;
mod cors_and_auth;
mod event_stream;
mod faults;
mod flag_file;
mod launchpad;
mod single;
