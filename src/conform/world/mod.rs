//! One scenario's state and how each step acts on it. A step ends `Pass`, `Fail` (expected vs
//! actual), `Skip` (it cannot apply here) or `Error` (it could not be carried out); the runner
//! turns that into the scenario's grade.
//!
//! This module holds the state, `{name}` substitution and the dispatch from a step's [`Action`]
//! to the function that carries it out; each kind of step lives in its own module.

mod assertions;
mod error;
mod evidence;
mod requests;
mod streams;
mod subjects;
mod triggers;

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Map, Value};
use url::Url;

use super::steps::Action;
use crate::protocol::client::{Client, Exchange};
use crate::protocol::document::{Document, FlagsDigest};
use crate::protocol::finding::Finding;
use crate::redact::Redactor;
use crate::sse::parser::Event;
use streams::StreamState;

pub use error::StepError;
pub use evidence::Evidence;
pub use streams::event_metadata;
pub use triggers::{ChangeTrigger, TriggerError};

#[derive(Debug)]
pub enum Outcome {
    Pass,
    Fail {
        expected: String,
        actual: String,
    },
    Skip(String),
    /// A check found nothing to look at (the reason says what is absent): it neither passes
    /// nor fails, and a scenario in which no check had anything to look at is skipped.
    NothingToCheck(String),
    /// The server did not answer within the timeout: the scenario fails on it, whatever kind
    /// of step it happened in (the message says what waited and for how long).
    Slow(String),
    Error(StepError),
}

/// Passes when none of `findings` has this checklist id; fails with their messages otherwise.
/// `absent` is why the check has nothing to look at, if it has not: then that is the outcome.
fn passes_if_present(id: &str, absent: Option<String>, findings: Vec<Finding>) -> Outcome {
    match absent {
        Some(why) => Outcome::NothingToCheck(format!("nothing for {id} to check: {why}")),
        None => passes(id, findings),
    }
}

/// Passes when none of `findings` has this checklist id; fails with their messages otherwise.
fn passes(id: &str, findings: Vec<Finding>) -> Outcome {
    let broken: Vec<String> = findings
        .into_iter()
        .filter(|f| f.id == id)
        .map(|f| f.message)
        .collect();
    if broken.is_empty() {
        Outcome::Pass
    } else {
        fail(format!("no `{id}` violation"), broken.join("; "))
    }
}

/// A check that did not hold: what was expected and what was seen.
pub(crate) fn fail(expected: impl Into<String>, actual: impl Into<String>) -> Outcome {
    Outcome::Fail {
        expected: expected.into(),
        actual: actual.into(),
    }
}

/// What every scenario shares: how to reach the server, and how to change a flag.
pub struct RunEnv {
    pub client: Client,
    pub base: Url,
    pub context: Map<String, Value>,
    pub trigger: Option<ChangeTrigger>,
    pub redactor: Redactor,
    /// Set when an open stream sent no event within the limit after a change: later waits for
    /// the same thing fail at once instead of waiting again (a silent server would otherwise
    /// cost every event-dependent scenario the full wait).
    pub silent_after_change: std::sync::atomic::AtomicBool,
}

pub struct World<'a> {
    env: &'a RunEnv,
    context: Map<String, Value>,
    headers: Vec<(String, String)>,
    credentials: bool,
    last: Option<Exchange>,
    /// The body the last request sent, to replay it on the wire.
    last_body: Vec<u8>,
    /// The JSON body of the last bulk 200, for `eventStreams` and flags.
    last_bulk: Option<Document>,
    memory: HashMap<String, String>,
    /// Remembered as digests: the flags of a large answer are not held twice (issue 11).
    remembered_flags: HashMap<String, FlagsDigest>,
    stream: StreamState,
    /// A flag changed while the stream was open, so an event is due on it.
    changed_while_open: bool,
    event: Option<Event>,
    /// Exchanges and stream observations, redacted, for the report.
    pub evidence: Evidence,
}

impl Drop for World<'_> {
    fn drop(&mut self) {
        self.stream.close();
    }
}

impl<'a> World<'a> {
    pub fn new(env: &'a RunEnv) -> Self {
        Self {
            env,
            context: env.context.clone(),
            headers: Vec::new(),
            credentials: true,
            last: None,
            last_body: Vec::new(),
            last_bulk: None,
            memory: HashMap::new(),
            remembered_flags: HashMap::new(),
            stream: StreamState::None,
            changed_while_open: false,
            event: None,
            evidence: Evidence::default(),
        }
    }

    pub async fn run(&mut self, action: &Action) -> Outcome {
        match self.step(action).await {
            Ok(outcome) => outcome,
            Err(slow @ StepError::Slow { .. }) => Outcome::Slow(slow.to_string()),
            Err(cause) => Outcome::Error(cause),
        }
    }

    /// `Err` is a step that could not be carried out.
    async fn step(&mut self, action: &Action) -> Result<Outcome, StepError> {
        match action {
            Action::SetContext(text) => self.set_context(text),
            Action::SetHeader(name, value) => self.set_header(name, value),
            Action::NoCredentials => Ok(self.drop_credentials()),
            Action::Bulk {
                if_none_match,
                query,
                raw_body,
                origin,
            } => {
                self.bulk(
                    if_none_match.as_deref(),
                    query.as_deref(),
                    raw_body.as_deref(),
                    origin.as_deref(),
                )
                .await
            }
            Action::Single { key, raw_body } => self.single(key, raw_body.as_deref()).await,
            Action::Preflight { origin, headers } => self.preflight(origin, headers).await,
            Action::RememberEtag(name) => self.remember_etag(name),
            Action::RememberFlags(name) => Ok(self.remember_flags(name)),
            Action::RememberFirstFlagKey(name) => Ok(self.remember_first_flag_key(name)),
            Action::RememberEventId(name) => Ok(self.remember_event_id(name)),
            Action::StatusIs(expected) => {
                self.status_check(|s| s == *expected, &expected.to_string())
            }
            Action::StatusIsNot(unexpected) => {
                self.status_check(|s| s != *unexpected, &format!("anything but {unexpected}"))
            }
            Action::StatusOneOf(list) => self.status_one_of(list),
            Action::NoBody => self.no_body().await,
            Action::HasEtag => self.has_etag(),
            Action::EtagValid => self.etag_valid(),
            Action::EtagIs(value) => self.etag_is(value),
            Action::EtagIsNot(value) => self.etag_is_not(value),
            Action::HeaderIncludes(name, value) => self.header_includes(name, value),
            Action::PassesCheck(id) => self.passes_check(id),
            Action::AdvertisesStreams => Ok(self.advertises_streams()),
            Action::BodyField(path, value) => self.body_field(path, value),
            Action::StatusOkUnlessFlagsEqual(name) => self.status_ok_unless_flags_equal(name),
            Action::Connect { last_event_id } => {
                let last_event_id = last_event_id
                    .as_deref()
                    .map(|id| self.substitute(id))
                    .transpose()?;
                self.connect(last_event_id).await
            }
            Action::Disconnect => Ok(self.disconnect()),
            Action::StreamIsEventStream => self.stream_is_event_stream(),
            Action::EventWithin(seconds) => self.wait_for(*seconds, true).await,
            Action::ActivityWithin(seconds) => self.wait_for(*seconds, false).await,
            Action::EventPassesCheck(id) => self.event_passes_check(id),
            Action::StreamPassesCheck(id) => Ok(self.stream_passes_check(id).await),
            Action::ChangeFlag => self.change_flag().await,
            Action::PollAnswers {
                seconds,
                if_none_match,
                status,
            } => self.poll_answers(*seconds, if_none_match, *status).await,
            Action::NewEtagWithin {
                seconds,
                if_none_match,
                event_metadata,
            } => {
                self.new_etag_within(*seconds, if_none_match, *event_metadata)
                    .await
            }
            Action::Wait(ms) => {
                tokio::time::sleep(Duration::from_millis(*ms)).await;
                Ok(Outcome::Pass)
            }
        }
    }

    /// Replaces each `{name}` (a word) with the value remembered under that name. Braces around
    /// anything else (JSON) are left alone.
    fn substitute(&self, text: &str) -> Result<String, StepError> {
        substitute(text, &self.memory)
    }

    fn last(&self) -> Result<&Exchange, StepError> {
        self.last.as_ref().ok_or(StepError::NoRequestYet)
    }
}

/// [`World::substitute`] over any memory, so it can be tested without a server.
fn substitute(text: &str, memory: &HashMap<String, String>) -> Result<String, StepError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let word_end = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .unwrap_or(after.len());
        if word_end > 0 && after[word_end..].starts_with('}') {
            let name = &after[..word_end];
            let value = memory.get(name).ok_or_else(|| StepError::NotRemembered {
                name: name.to_owned(),
            })?;
            out.push_str(value);
            rest = &after[word_end + 1..];
        } else {
            out.push('{');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memory(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect()
    }

    #[test]
    fn a_remembered_word_in_braces_is_replaced_by_its_value() {
        let memory = memory(&[("etag", "\"v1\""), ("flag-key", "beta_flag")]);
        assert_eq!(
            substitute("W/{etag} for {flag-key}", &memory).unwrap(),
            "W/\"v1\" for beta_flag"
        );
    }

    #[test]
    fn json_braces_are_left_alone() {
        let memory = memory(&[("a", "replaced")]);
        assert_eq!(substitute("{\"a\": 1}", &memory).unwrap(), "{\"a\": 1}");
        assert_eq!(
            substitute("{\"context\": {\"targetingKey\": \"{a}\"}}", &memory).unwrap(),
            "{\"context\": {\"targetingKey\": \"replaced\"}}"
        );
    }

    #[test]
    fn empty_braces_and_braces_around_spaces_are_untouched() {
        let memory = memory(&[("x", "replaced")]);
        assert_eq!(substitute("{}", &memory).unwrap(), "{}");
        assert_eq!(substitute("{ x }", &memory).unwrap(), "{ x }");
        assert_eq!(substitute("a { b", &memory).unwrap(), "a { b");
    }

    #[test]
    fn an_unknown_name_is_an_error_that_names_it() {
        let error = substitute("If-None-Match {etag}", &memory(&[])).unwrap_err();
        assert!(
            matches!(&error, StepError::NotRemembered { name } if name == "etag"),
            "{error:?}"
        );
        assert_eq!(error.to_string(), "nothing is remembered as `etag`");
    }
}
