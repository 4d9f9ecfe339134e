//! `ofrep`: check and watch OFREP servers.

pub mod cli;
pub mod error;
pub mod exit;
pub mod protocol;
pub mod redact;
pub mod term;

pub use error::Error;
