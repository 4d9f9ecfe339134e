//! Exit codes: the contract with CI. They never change meaning.
//!
//! An error outranks a failure: when `ofrep` could not do its job it exits 2 even if it also saw
//! the server break a rule, so a pipeline can tell "the server is wrong" from "the server was not
//! reached".

/// Everything worked and the server did nothing wrong.
pub const SUCCESS: u8 = 0;
/// The server (or the watched condition) said no: an error status, a MUST-level finding, a failed
/// check, or a `watch --deadline` that passed.
pub const FAILURE: u8 = 1;
/// `ofrep` could not do its job: bad usage, invalid URL, unreadable file, connection refused,
/// TLS, timeout.
pub const ERROR: u8 = 2;

/// Stopped by Ctrl-C (SIGINT) or SIGTERM before it finished, where stopping is not the way a
/// command ends (`conform`: the reports hold what finished). 128 + SIGINT, as shells report it.
pub const INTERRUPTED: u8 = 130;

/// The text shown after `--help`: one place, so every command documents the same contract.
pub const TABLE: &str = "\
Exit codes:
  0  success: the server answered and broke no MUST-level rule
  1  failure: an error status, a MUST-level finding, or an unmet condition
  2  ofrep could not do its job: usage, invalid URL, connection, TLS, timeout
  130  stopped by Ctrl-C or SIGTERM before it finished (conform: the reports hold what did)";

/// How a command that did its job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The server did nothing wrong (exit 0).
    Success,
    /// The server, or the watched condition, said no (exit 1).
    Failure,
    /// Stopped by a signal before it was done (exit 130).
    Interrupted,
}

impl Outcome {
    pub fn exit_code(self) -> u8 {
        match self {
            Self::Success => SUCCESS,
            Self::Failure => FAILURE,
            Self::Interrupted => INTERRUPTED,
        }
    }
}
