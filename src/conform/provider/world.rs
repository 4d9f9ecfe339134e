//! One provider scenario's state: the scripted server, the provider process, and the time of the
//! server's last action, from which the observation windows are measured. Server actions and
//! waiting for the provider live here; grading what the log shows lives in `grading/`.

use std::sync::Mutex;
use std::time::Duration;

use super::ProviderError;
use super::error::in_seconds;
use super::process::ProviderProcess;
use super::server::{Route, ScriptedServer, Seen};
use super::steps::ProviderAction;
use super::timeline;
use crate::conform::world::{Outcome, fail};

/// How often a wait looks at the log again.
const POLL: Duration = Duration::from_millis(5);
/// After the stream connects, the time a provider gets to settle (an extra refetch right after
/// the first connect is harmless, and must not be read as a reaction to what comes next).
const SETTLE: Duration = Duration::from_millis(500);

/// What every provider scenario shares.
pub struct ProviderEnv {
    /// CMD as given.
    pub command: String,
    /// How long to wait for the provider's first bulk request (and its stream).
    pub timeout: Duration,
    /// Set once a provider was seen never to use the bulk endpoint (a dynamic-context provider):
    /// the scenarios after it are skipped with this reason.
    pub never_bulk: Mutex<Option<String>>,
}

impl ProviderEnv {
    pub fn new(command: String, timeout: Duration) -> Self {
        Self {
            command,
            timeout,
            never_bulk: Mutex::new(None),
        }
    }

    pub fn never_bulk(&self) -> Option<String> {
        self.never_bulk
            .lock()
            .ok()
            .and_then(|reason| reason.clone())
    }
}

pub struct ProviderWorld<'a> {
    env: &'a ProviderEnv,
    pub(super) server: ScriptedServer,
    process: Option<ProviderProcess>,
    /// When the server last acted; observation windows start here.
    pub(super) mark: Duration,
    /// The accepted reconnect found by `ReconnectsWithin`.
    pub(super) reconnect: Option<Seen>,
    /// The server's actions, `(when, what)`, for the evidence.
    actions: Vec<(Duration, String)>,
    /// The provider's output lines, taken when it is stopped or found gone.
    output: Vec<String>,
}

/// What a wait for the provider's first bulk request found.
enum FirstBulk {
    Seen(Box<Seen>),
    /// Requests came, none to the bulk endpoint.
    NeverBulk(String),
    Failed(ProviderError),
}

impl<'a> ProviderWorld<'a> {
    pub fn new(env: &'a ProviderEnv, server: ScriptedServer) -> Self {
        Self {
            env,
            server,
            process: None,
            mark: Duration::ZERO,
            reconnect: None,
            actions: Vec::new(),
            output: Vec::new(),
        }
    }

    /// Stops the provider (SIGTERM, then SIGKILL, to its process group).
    pub async fn finish(&mut self) {
        if let Some(process) = self.process.take() {
            self.output = process.tail();
            process.stop().await;
        }
    }

    /// Records a server action taken at `at`, the scenario time read just before the action
    /// took effect: a provider can react within a millisecond, and a reaction must not fall
    /// before the mark its window starts at.
    fn act(&mut self, at: Duration, what: String) {
        self.mark = at;
        self.actions.push((at, what));
    }

    fn start(&mut self) -> Result<(), ProviderError> {
        if self.process.is_some() {
            return Ok(());
        }
        let endpoint = self.server.base_url();
        let at = self.server.now();
        let process = ProviderProcess::spawn(&self.env.command, &endpoint)?;
        self.act(
            at,
            format!("started the provider with OFREP_ENDPOINT={endpoint}"),
        );
        self.process = Some(process);
        Ok(())
    }

    /// Waits until `probe` finds something in the log or `deadline` (scenario time) passes; a
    /// provider that exits ends the wait early, since nothing more will come.
    pub(super) async fn wait_for<T>(
        &mut self,
        deadline: Duration,
        mut probe: impl FnMut(&[Seen]) -> Option<T>,
    ) -> Option<T> {
        loop {
            if let Some(found) = self.server.with_log(&mut probe) {
                return Some(found);
            }
            if self.server.now() >= deadline || self.gone() {
                return self.server.with_log(&mut probe);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Watches until `deadline` (scenario time), for windows that must run their full length.
    pub(super) async fn watch_until(&mut self, deadline: Duration) {
        let now = self.server.now();
        if deadline > now {
            tokio::time::sleep(deadline - now).await;
        }
    }

    /// Whether the provider has exited (its output is kept for the evidence).
    fn gone(&mut self) -> bool {
        let Some(process) = &mut self.process else {
            return false;
        };
        if process.exited().is_some() {
            self.output = process.tail();
            return true;
        }
        false
    }

    fn exit_status(&mut self) -> Option<String> {
        self.process
            .as_mut()
            .and_then(ProviderProcess::exited)
            .map(|status| status.to_string())
    }

    async fn first_bulk(&mut self) -> FirstBulk {
        if let Err(error) = self.start() {
            return FirstBulk::Failed(error);
        }
        let deadline = self.server.now() + self.env.timeout;
        let found = self
            .wait_for(deadline, |log| {
                log.iter()
                    .find(|s| s.route == Route::Bulk)
                    .cloned()
                    .map(Box::new)
            })
            .await;
        if let Some(first) = found {
            return FirstBulk::Seen(first);
        }
        if let Some(status) = self.exit_status() {
            if let Some(process) = &mut self.process {
                self.output = process.final_tail().await;
            }
            let last_line = self.output.last().cloned();
            return FirstBulk::Failed(ProviderError::Exited { status, last_line });
        }
        let (log, _) = self.server.requests();
        if log.is_empty() {
            if let Some(process) = &self.process {
                self.output = process.tail();
            }
            return FirstBulk::Failed(ProviderError::Silent {
                waited: self.env.timeout,
                last_line: self.output.last().cloned(),
            });
        }
        let targets: Vec<String> = log.iter().take(3).map(Seen::target).collect();
        let reason = format!(
            "the provider made {} request(s) in {}, none to POST /ofrep/v1/evaluate/flags ({}{}): a dynamic-context provider, which these rules do not apply to",
            log.len(),
            in_seconds(self.env.timeout),
            targets.join(", "),
            if log.len() > 3 { ", …" } else { "" }
        );
        if let Ok(mut slot) = self.env.never_bulk.lock() {
            slot.get_or_insert_with(|| reason.clone());
        }
        FirstBulk::NeverBulk(reason)
    }

    /// The scenario's evidence: the timeline of actions and requests, then the provider's
    /// last output lines.
    pub(super) fn evidence(&mut self) -> Vec<String> {
        if let Some(process) = &self.process {
            self.output = process.tail();
        }
        let (log, unlogged) = self.server.requests();
        timeline::render(&self.actions, &log, unlogged, &self.output)
    }

    /// Carries out a set-up, provider or server step; `None` for an observation, which
    /// `grading` judges (once the provider has been started).
    pub(super) async fn act_on(&mut self, action: &ProviderAction) -> Option<Outcome> {
        use ProviderAction as A;
        let at = self.server.now();
        let outcome = match action {
            A::Advertise(entry) => {
                self.server.advertise(entry.clone());
                Outcome::Pass
            }
            A::Retry(ms) => {
                self.server.set_retry(*ms);
                Outcome::Pass
            }
            A::RefuseStreams(status) => {
                self.server.refuse_streams(*status);
                self.act(at, format!("refuses stream requests with {status}"));
                Outcome::Pass
            }
            A::AnswerEvery(status) => {
                self.server.answer_every(*status);
                self.act(at, format!("answers every request {status}"));
                Outcome::Pass
            }
            A::NextBulk {
                status,
                retry_after,
            } => {
                self.server.answer_next_bulk(*status, *retry_after);
                self.act(
                    at,
                    format!(
                        "will answer the next bulk request {status} with Retry-After: {retry_after}"
                    ),
                );
                Outcome::Pass
            }
            A::Start => match self.start() {
                Ok(()) => Outcome::Pass,
                Err(error) => Outcome::Error(error.into()),
            },
            A::Running => match self.first_bulk().await {
                FirstBulk::Seen(first) => {
                    // Windows start when the provider is up: its first bulk request.
                    self.mark = first.at;
                    Outcome::Pass
                }
                FirstBulk::NeverBulk(reason) => Outcome::Skip(reason),
                FirstBulk::Failed(error) => Outcome::Error(error.into()),
            },
            A::FirstBulkContext => match self.first_bulk().await {
                FirstBulk::Seen(first) => {
                    self.mark = first.at;
                    match &first.context {
                        Ok(()) => Outcome::Pass,
                        Err(why) => fail(
                            "a JSON object with a `context` object as the body",
                            why.clone(),
                        ),
                    }
                }
                FirstBulk::NeverBulk(reason) => fail(
                    format!(
                        "POST /ofrep/v1/evaluate/flags within {}",
                        in_seconds(self.env.timeout)
                    ),
                    reason,
                ),
                FirstBulk::Failed(error) => Outcome::Error(error.into()),
            },
            A::Connected => {
                if self.process.is_none() {
                    return Some(Outcome::Error(ProviderError::NotStarted.into()));
                }
                let deadline = self.server.now() + self.env.timeout;
                let connected = self
                    .wait_for(deadline, |log| {
                        log.iter()
                            .find(|s| s.route.is_stream() && s.status == 200)
                            .map(|s| s.at)
                    })
                    .await;
                match connected {
                    Some(_) => {
                        tokio::time::sleep(SETTLE).await;
                        Outcome::Pass
                    }
                    None => fail(
                        format!(
                            "an accepted event-stream connection within {}",
                            in_seconds(self.env.timeout)
                        ),
                        timeline::stream_attempts(&self.server),
                    ),
                }
            }
            A::Event {
                etag,
                last_modified,
            } => {
                let streams = self
                    .server
                    .send_refetch(std::slice::from_ref(etag), *last_modified);
                let lm = last_modified
                    .map(|s| format!(", lastModified {s}"))
                    .unwrap_or_default();
                self.delivered(
                    at,
                    streams,
                    format!("sends refetchEvaluation (etag \"{etag}\"{lm})"),
                )
            }
            A::EventOfType(kind) => {
                let streams = self.server.send_other(kind);
                self.delivered(at, streams, format!("sends an event of type \"{kind}\""))
            }
            A::Burst(count) => {
                let etags: Vec<String> = (1..=*count).map(|n| format!("b{n}")).collect();
                let streams = self.server.send_refetch(&etags, None);
                self.delivered(
                    at,
                    streams,
                    format!("sends {count} refetchEvaluation events at once (etags b1…b{count})"),
                )
            }
            A::DropStreams => {
                let dropped = self.server.drop_streams();
                self.act(at, format!("drops {dropped} open stream(s)"));
                if dropped == 0 {
                    return Some(Outcome::Skip(
                        "the provider had no stream open for the server to drop".into(),
                    ));
                }
                Outcome::Pass
            }
            A::ChangeWithoutEvent => {
                self.server.change();
                self.act(at, "changes a flag without an event".into());
                Outcome::Pass
            }
            A::Wait(seconds) => {
                tokio::time::sleep(Duration::from_secs(*seconds)).await;
                Outcome::Pass
            }
            _ if self.process.is_none() => Outcome::Error(ProviderError::NotStarted.into()),
            _ => return None,
        };
        Some(outcome)
    }

    /// An event written to `streams` open streams: none means the provider was not listening,
    /// and what the scenario goes on to check would prove nothing.
    fn delivered(&mut self, at: Duration, streams: usize, what: String) -> Outcome {
        self.act(at, format!("{what} on {streams} open stream(s)"));
        if streams == 0 {
            return Outcome::Skip(
                "the provider had no stream open, so the event reached no one".into(),
            );
        }
        Outcome::Pass
    }
}
