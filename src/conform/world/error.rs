//! Why a step could not be carried out. A server that answers wrongly is a `Fail`, not one of
//! these; these say the step never got that far, and [`StepError::cause`] tells the command whose
//! problem that is: the scenario's author, the network, or the trigger.

use super::triggers::TriggerError;
use crate::conform::model::ErrorCause;

/// Each message is the text a report shows after the step, so it reads as the end of a sentence.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// A `{name}` in a step's text that no earlier step remembered.
    #[error("nothing is remembered as `{name}`")]
    NotRemembered { name: String },
    /// `the status is 200 unless the flags equal {name}` before `I remember the flags as {name}`.
    #[error("no flags remembered as `{name}`")]
    NoFlagsRemembered { name: String },
    /// A step about the last answer before any request.
    #[error("no request has been made yet")]
    NoRequestYet,
    /// A step about the last event before one arrived.
    #[error("no event yet: wait for one first")]
    NoEventYet,
    /// A step about the stream before connecting to it.
    #[error("no stream: connect to the advertised event stream first")]
    NoStream,
    /// `the context is …` with something other than a JSON object (after substitution).
    #[error("the context `{text}` is not a JSON object")]
    NotAJsonObject { text: String },
    /// `a flag changes` in a scenario not tagged `@change` while no trigger is configured.
    #[error("no trigger: pass --trigger-url or --trigger-cmd")]
    NoTrigger,
    /// The request could not be made or answered (refused, TLS, cut short).
    #[error(transparent)]
    Transport(crate::error::Error),
    /// The server took the whole `--timeout` without answering. Not an error of the run: the
    /// scenario fails on it ([`super::World::run`] makes it an [`super::Outcome::Slow`]).
    #[error("{what}: no answer within the {} ms timeout (waited {} ms)", limit.as_millis(), waited.as_millis())]
    Slow {
        what: String,
        limit: std::time::Duration,
        waited: std::time::Duration,
    },
    /// The trigger ran and failed.
    #[error(transparent)]
    Trigger(#[from] TriggerError),
    /// The provider under test could not be started, exited, or sent nothing
    /// (`conform --provider`).
    #[error(transparent)]
    Provider(#[from] crate::conform::provider::error::ProviderError),
    /// Replaying a 304's request over a raw TCP connection, to see its body on the wire, failed.
    #[error("replaying the request over TCP failed: {0}")]
    Replay(String),
}

impl StepError {
    pub fn cause(&self) -> ErrorCause {
        match self {
            Self::NotRemembered { .. }
            | Self::NoFlagsRemembered { .. }
            | Self::NoRequestYet
            | Self::NoEventYet
            | Self::NoStream
            | Self::NotAJsonObject { .. }
            | Self::NoTrigger => ErrorCause::Scenario,
            Self::Transport(_) | Self::Replay(_) | Self::Slow { .. } => ErrorCause::Transport,
            Self::Trigger(_) => ErrorCause::Trigger,
            Self::Provider(error) => error.cause(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authoring_mistakes_network_failures_and_trigger_failures_are_told_apart() {
        let authoring = [
            StepError::NotRemembered {
                name: "etag".into(),
            },
            StepError::NoFlagsRemembered {
                name: "first".into(),
            },
            StepError::NoRequestYet,
            StepError::NoEventYet,
            StepError::NoStream,
            StepError::NotAJsonObject { text: "[1]".into() },
            StepError::NoTrigger,
        ];
        for error in authoring {
            assert_eq!(error.cause(), ErrorCause::Scenario, "{error}");
        }
        let unreachable = StepError::Transport(crate::error::Error::network("connection refused"));
        assert_eq!(unreachable.cause(), ErrorCause::Transport);
        assert_eq!(unreachable.to_string(), "connection refused");
        assert_eq!(
            StepError::Replay("reset".into()).cause(),
            ErrorCause::Transport
        );
        let refused = StepError::from(TriggerError::PostRefused {
            shown_url: "http://127.0.0.1:1/change".into(),
            status: 500,
        });
        assert_eq!(refused.cause(), ErrorCause::Trigger);
        assert_eq!(
            refused.to_string(),
            "the trigger POST http://127.0.0.1:1/change answered 500"
        );
    }
}
