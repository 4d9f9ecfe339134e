//! The top-level error: everything that stops `ofrep` from doing its job (exit code 2).
//!
//! A server that answers wrongly is not an error; that is a finding or a failed check, and it is
//! data. This type is for "could not ask": bad usage, unreadable files, unreachable servers.

use crate::exit;

/// What stopped `ofrep`, by what it was; every kind carries a message and an optional hint.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command line or environment is wrong; names what was given.
    #[error("{message}")]
    Usage {
        message: String,
        hint: Option<String>,
    },
    /// A file `ofrep` was asked to read or write is missing or malformed; names file:line.
    #[error("{message}")]
    File {
        message: String,
        hint: Option<String>,
    },
    /// The request could not be made or answered: DNS, refused, TLS, timeout, reset.
    #[error("{message}")]
    Network {
        message: String,
        hint: Option<String>,
    },
    /// The server answered, but with nothing `ofrep` can go on from: credentials refused, or a
    /// first answer `watch` cannot follow.
    #[error("{message}")]
    Answer {
        message: String,
        hint: Option<String>,
    },
    /// A scenario could not be carried out as written (a scenario-authoring mistake).
    #[error("{message}")]
    Scenario {
        message: String,
        hint: Option<String>,
    },
    /// The flag-change trigger (`--trigger-url`, `--trigger-cmd`) failed.
    #[error("{message}")]
    Trigger {
        message: String,
        hint: Option<String>,
    },
    /// The reference server could not start or keep running: the port, the flag file watch.
    #[error("{message}")]
    Server {
        message: String,
        hint: Option<String>,
    },
    /// The provider under test (`conform --provider CMD`) could not be started, exited at once,
    /// or sent nothing.
    #[error("{message}")]
    Provider {
        message: String,
        hint: Option<String>,
    },
    /// Something `ofrep` runs itself failed: the async runtime, a task that ended unexpectedly.
    #[error("{message}")]
    Internal {
        message: String,
        hint: Option<String>,
    },
    /// Writing the result failed. A closed pipe (`ofrep ... | head`) is not reported.
    #[error("cannot write the output: {0}")]
    Output(#[from] std::io::Error),
}

macro_rules! constructors {
    ($($name:ident => $variant:ident),* $(,)?) => {
        impl Error {
            $(
                pub fn $name(message: impl Into<String>) -> Self {
                    Self::$variant {
                        message: message.into(),
                        hint: None,
                    }
                }
            )*
        }
    };
}

constructors! {
    usage => Usage,
    file => File,
    network => Network,
    answer => Answer,
    scenario => Scenario,
    trigger => Trigger,
    server => Server,
    provider => Provider,
    internal => Internal,
}

impl Error {
    fn hint_slot(&mut self) -> Option<&mut Option<String>> {
        match self {
            Self::Usage { hint, .. }
            | Self::File { hint, .. }
            | Self::Network { hint, .. }
            | Self::Answer { hint, .. }
            | Self::Scenario { hint, .. }
            | Self::Trigger { hint, .. }
            | Self::Server { hint, .. }
            | Self::Provider { hint, .. }
            | Self::Internal { hint, .. } => Some(hint),
            Self::Output(_) => None,
        }
    }

    /// Adds (or replaces) the `hint:` line shown under the error.
    pub fn with_hint(mut self, text: impl Into<String>) -> Self {
        if let Some(slot) = self.hint_slot() {
            *slot = Some(text.into());
        }
        self
    }

    pub fn hint(&self) -> Option<&str> {
        match self {
            Self::Usage { hint, .. }
            | Self::File { hint, .. }
            | Self::Network { hint, .. }
            | Self::Answer { hint, .. }
            | Self::Scenario { hint, .. }
            | Self::Trigger { hint, .. }
            | Self::Server { hint, .. }
            | Self::Provider { hint, .. }
            | Self::Internal { hint, .. } => hint.as_deref(),
            Self::Output(_) => None,
        }
    }

    /// `ofrep ... | head` closed the pipe: end quietly, as ripgrep does.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Self::Output(e) if e.kind() == std::io::ErrorKind::BrokenPipe)
    }

    /// The one place an error becomes an exit code. Every kind means `ofrep` could not do its
    /// job, so all are 2 today; the match is exhaustive so a new kind has to choose.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Usage { .. }
            | Self::File { .. }
            | Self::Network { .. }
            | Self::Answer { .. }
            | Self::Scenario { .. }
            | Self::Trigger { .. }
            | Self::Server { .. }
            | Self::Provider { .. }
            | Self::Internal { .. }
            | Self::Output(_) => exit::ERROR,
        }
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
