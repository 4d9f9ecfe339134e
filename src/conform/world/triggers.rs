//! `a flag changes`: how the change is carried out (a POST or a shell command) and the step that
//! fires it.

use url::Url;

use super::{Outcome, StepError, World};
use crate::protocol::client::ClientConfig;
use crate::redact::Redactor;

/// How `a flag changes` is carried out.
#[derive(Debug, Clone)]
pub enum ChangeTrigger {
    /// POST to this URL (`--trigger-url`, or the embedded server's control endpoint).
    Url(Url),
    /// Run through the shell (`--trigger-cmd`).
    Command(String),
}

/// Why firing the trigger failed.
#[derive(Debug, thiserror::Error)]
pub enum TriggerError {
    /// The POST could not be made; `shown_url` is redacted.
    #[error("the trigger POST {shown_url} failed: {cause}")]
    PostFailed { shown_url: String, cause: String },
    #[error("the trigger POST {shown_url} answered {status}")]
    PostRefused { shown_url: String, status: u16 },
    #[error("the trigger command could not start: {0}")]
    CommandDidNotStart(#[source] std::io::Error),
    #[error("the trigger command exited with {status}: {stderr}")]
    CommandFailed {
        status: std::process::ExitStatus,
        stderr: String,
    },
}

impl ChangeTrigger {
    /// Fires the trigger. The `-H` headers go with a POST only to the base URL's origin
    /// (`ClientConfig::headers_for`): a server that guards its control endpoint with the same
    /// token as its OFREP endpoints gets it, any other host does not.
    async fn fire(
        &self,
        http: &reqwest::Client,
        redactor: &Redactor,
        config: &ClientConfig,
    ) -> Result<(), TriggerError> {
        match self {
            Self::Url(url) => {
                let shown_url = redactor.url(url.as_str()).into_owned();
                let mut request = http
                    .post(url.clone())
                    .header("content-type", "application/json");
                for header in config.headers_for(url) {
                    request = request.header(&header.name, &header.value);
                }
                let response = request.send().await.map_err(|e| TriggerError::PostFailed {
                    shown_url: shown_url.clone(),
                    cause: crate::error::root_cause(&e),
                })?;
                if response.status().is_success() {
                    Ok(())
                } else {
                    Err(TriggerError::PostRefused {
                        shown_url,
                        status: response.status().as_u16(),
                    })
                }
            }
            Self::Command(command) => {
                let output = tokio::process::Command::new("sh")
                    .arg("-c")
                    .arg(command)
                    .stdin(std::process::Stdio::null())
                    .output()
                    .await
                    .map_err(TriggerError::CommandDidNotStart)?;
                if output.status.success() {
                    Ok(())
                } else {
                    Err(TriggerError::CommandFailed {
                        status: output.status,
                        stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
                    })
                }
            }
        }
    }
}

impl World<'_> {
    pub(super) async fn change_flag(&mut self) -> Result<Outcome, StepError> {
        let trigger = self.env.trigger.as_ref().ok_or(StepError::NoTrigger)?;
        self.mark_position().await;
        trigger
            .fire(
                self.env.client.stream_http(),
                &self.env.redactor,
                self.env.client.config(),
            )
            .await?;
        self.evidence
            .push("* a flag was changed through the trigger".to_owned());
        self.changed_while_open = self.stream.is_open();
        Ok(Outcome::Pass)
    }
}
