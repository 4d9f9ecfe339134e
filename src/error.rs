//! The top-level error: everything that stops `ofrep` from doing its job (exit code 2).
//!
//! A server that answers wrongly is not an error; that is a finding or a failed check, and it is
//! data. This type is for "could not ask": bad usage, unreadable files, unreachable servers.

use crate::exit;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command line or environment is wrong; names what was given.
    #[error("{message}")]
    Usage {
        message: String,
        hint: Option<String>,
    },
    /// The request could not be made or answered: DNS, refused, TLS, timeout, reset.
    #[error("{message}")]
    Network {
        message: String,
        hint: Option<String>,
    },
    /// A file `ofrep` was asked to read is missing or malformed; the message names file:line.
    #[error("{message}")]
    File {
        message: String,
        hint: Option<String>,
    },
    /// The reference server could not start or run.
    #[error("{message}")]
    Serve {
        message: String,
        hint: Option<String>,
    },
    /// Writing the result failed. A closed pipe (`ofrep ... | head`) is not reported.
    #[error("cannot write the output: {0}")]
    Output(#[from] std::io::Error),
}

impl Error {
    pub fn usage(message: impl Into<String>) -> Self {
        Self::Usage {
            message: message.into(),
            hint: None,
        }
    }

    pub fn network(message: impl Into<String>) -> Self {
        Self::Network {
            message: message.into(),
            hint: None,
        }
    }

    pub fn file(message: impl Into<String>) -> Self {
        Self::File {
            message: message.into(),
            hint: None,
        }
    }

    pub fn serve(message: impl Into<String>) -> Self {
        Self::Serve {
            message: message.into(),
            hint: None,
        }
    }

    /// Adds (or replaces) the `hint:` line shown under the error.
    pub fn with_hint(mut self, text: impl Into<String>) -> Self {
        let slot = match &mut self {
            Self::Usage { hint, .. }
            | Self::Network { hint, .. }
            | Self::File { hint, .. }
            | Self::Serve { hint, .. } => hint,
            Self::Output(_) => return self,
        };
        *slot = Some(text.into());
        self
    }

    pub fn hint(&self) -> Option<&str> {
        match self {
            Self::Usage { hint, .. }
            | Self::Network { hint, .. }
            | Self::File { hint, .. }
            | Self::Serve { hint, .. } => hint.as_deref(),
            Self::Output(_) => None,
        }
    }

    /// `ofrep ... | head` closed the pipe: end quietly, as ripgrep does.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Self::Output(e) if e.kind() == std::io::ErrorKind::BrokenPipe)
    }

    /// Every error means `ofrep` could not do its job.
    pub fn exit_code(&self) -> u8 {
        exit::ERROR
    }
}

/// The innermost cause of an error, which is the part that says what actually went wrong.
/// reqwest's own messages contain the URL; sources below it do not.
pub fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(source) = current.source() {
        current = source;
    }
    current.to_string()
}
