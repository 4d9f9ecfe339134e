//! `ofrep`: check and watch OFREP servers.

pub mod cli;
pub mod error;
pub mod exit;
pub mod protocol;

pub use error::Error;
