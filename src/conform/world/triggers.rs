//! `a flag changes`: how the change is carried out (a POST or a shell command) and the step that
//! fires it.

use url::Url;

use super::{Outcome, World};
use crate::redact::Redactor;

/// How `a flag changes` is carried out.
#[derive(Debug, Clone)]
pub enum ChangeTrigger {
    /// POST to this URL (`--trigger-url`, or the embedded server's control endpoint).
    Url(Url),
    /// Run through the shell (`--trigger-cmd`).
    Command(String),
}

impl ChangeTrigger {
    async fn fire(&self, http: &reqwest::Client, redactor: &Redactor) -> Result<(), String> {
        match self {
            Self::Url(url) => {
                let shown = redactor.url(url.as_str()).into_owned();
                let response = http
                    .post(url.clone())
                    .header("content-type", "application/json")
                    .send()
                    .await
                    .map_err(|e| {
                        format!(
                            "the trigger POST {shown} failed: {}",
                            crate::error::root_cause(&e)
                        )
                    })?;
                if response.status().is_success() {
                    Ok(())
                } else {
                    Err(format!(
                        "the trigger POST {shown} answered {}",
                        response.status().as_u16()
                    ))
                }
            }
            Self::Command(command) => {
                let output = tokio::process::Command::new("sh")
                    .arg("-c")
                    .arg(command)
                    .stdin(std::process::Stdio::null())
                    .output()
                    .await
                    .map_err(|e| format!("the trigger command could not start: {e}"))?;
                if output.status.success() {
                    Ok(())
                } else {
                    let stderr = String::from_utf8_lossy(&output.stderr);
                    Err(format!(
                        "the trigger command exited with {}: {}",
                        output.status,
                        stderr.trim()
                    ))
                }
            }
        }
    }
}

impl World<'_> {
    pub(super) async fn change_flag(&mut self) -> Result<Outcome, String> {
        let trigger = self
            .env
            .trigger
            .as_ref()
            .ok_or("no trigger: pass --trigger-url or --trigger-cmd")?;
        trigger
            .fire(self.env.client.stream_http(), &self.env.redactor)
            .await?;
        self.evidence
            .push("* a flag was changed through the trigger".to_owned());
        self.changed_while_open = self.stream.is_open();
        Ok(Outcome::Pass)
    }
}
