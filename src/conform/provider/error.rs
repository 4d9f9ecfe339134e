//! Why a provider scenario could not be carried out, and whose problem that is. A leaf: the
//! server suite's `StepError` carries it, so it must not depend on the provider runner.

use super::process::SpawnError;
use crate::conform::model::ErrorCause;

/// Why a provider scenario could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error(transparent)]
    Spawn(#[from] SpawnError),
    #[error("the provider exited ({status}) before it made a bulk request{}", last_line_of(.last_line))]
    Exited {
        status: String,
        last_line: Option<String>,
    },
    #[error("the provider made no request in {}{}", in_seconds(*.waited), last_line_of(.last_line))]
    Silent {
        waited: std::time::Duration,
        last_line: Option<String>,
    },
    #[error("the provider has not been started: begin with `Given the provider is running`")]
    NotStarted,
    #[error("the scripted server could not start on 127.0.0.1: {0}")]
    Server(std::io::Error),
    #[error("not run: the provider could not be run in {0} scenarios before this one")]
    GaveUp(usize),
}

/// `1 s`, `0.5 s`: a `--provider-timeout` under a second must not read as `0 s`.
pub(super) fn in_seconds(time: std::time::Duration) -> String {
    format!("{} s", (time.as_secs_f64() * 1000.0).round() / 1000.0)
}

fn last_line_of(line: &Option<String>) -> String {
    line.as_ref()
        .map(|l| format!("; its last output line: {l:?}"))
        .unwrap_or_default()
}

impl ProviderError {
    pub fn cause(&self) -> ErrorCause {
        match self {
            Self::NotStarted => ErrorCause::Scenario,
            _ => ErrorCause::Provider,
        }
    }
}
