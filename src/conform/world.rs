//! One scenario's state and how each step acts on it. A step ends `Pass`, `Fail` (expected vs
//! actual), `Skip` (it cannot apply here) or `Error` (it could not be carried out); the runner
//! turns that into the scenario's grade.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use url::Url;

use super::steps::Action;
use crate::protocol::answer::Endpoint;
use crate::protocol::checks;
use crate::protocol::client::{Client, Exchange, RawRequest};
use crate::protocol::etag::{EntityTag, EtagVerdict};
use crate::protocol::event_streams;
use crate::protocol::wire;
use crate::redact::Redactor;
use crate::sse::connection::{self, ConnectRequest, Opened};
use crate::sse::parser::{Event, Item, Limits, Problem};

/// How often the polling steps ask again.
const POLL_EVERY: Duration = Duration::from_millis(100);

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Pass,
    Fail { expected: String, actual: String },
    Skip(String),
    Error(String),
}

/// Passes when none of `findings` has this checklist id; fails with their messages otherwise.
fn passes(id: &str, findings: Vec<crate::protocol::finding::Finding>) -> Outcome {
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

fn fail(expected: impl Into<String>, actual: impl Into<String>) -> Outcome {
    Outcome::Fail {
        expected: expected.into(),
        actual: actual.into(),
    }
}

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

struct OpenStream {
    status: u16,
    content_type: Option<String>,
    items: mpsc::UnboundedReceiver<Result<Item, String>>,
    task: JoinHandle<()>,
    problems: Vec<Problem>,
    ended: Option<String>,
}

/// How the last connection attempt went.
enum StreamState {
    None,
    Open(OpenStream),
    Refused {
        status: u16,
        content_type: Option<String>,
    },
    Failed(String),
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
    last_bulk: Option<Value>,
    memory: HashMap<String, String>,
    remembered_flags: HashMap<String, Value>,
    stream: StreamState,
    /// A flag changed while the stream was open, so an event is due on it.
    changed_while_open: bool,
    event: Option<Event>,
    /// Exchanges and stream observations, redacted, for the report.
    pub evidence: Vec<String>,
}

impl Drop for World<'_> {
    fn drop(&mut self) {
        if let StreamState::Open(stream) = &self.stream {
            stream.task.abort();
        }
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
            evidence: Vec::new(),
        }
    }

    pub async fn run(&mut self, action: &Action) -> Outcome {
        match self.step(action).await {
            Ok(outcome) => outcome,
            Err(cause) => Outcome::Error(cause),
        }
    }

    /// `Err` is a step that could not be carried out.
    async fn step(&mut self, action: &Action) -> Result<Outcome, String> {
        Ok(match action {
            Action::SetContext(text) => {
                let text = self.substitute(text)?;
                match serde_json::from_str(&text) {
                    Ok(Value::Object(map)) => {
                        self.context = map;
                        Outcome::Pass
                    }
                    _ => return Err(format!("the context `{text}` is not a JSON object")),
                }
            }
            Action::SetHeader(name, value) => {
                self.headers.push((name.clone(), self.substitute(value)?));
                Outcome::Pass
            }
            Action::NoCredentials => {
                self.credentials = false;
                Outcome::Pass
            }
            Action::Bulk {
                if_none_match,
                query,
                raw_body,
                origin,
            } => {
                let mut headers = vec![("accept".to_owned(), "application/json".to_owned())];
                if let Some(etag) = if_none_match {
                    headers.push(("if-none-match".to_owned(), self.substitute(etag)?));
                }
                if let Some(origin) = origin {
                    headers.push(("origin".to_owned(), self.substitute(origin)?));
                }
                let query = match query {
                    Some(q) => url::form_urlencoded::parse(self.substitute(q)?.as_bytes())
                        .into_owned()
                        .collect(),
                    None => Vec::new(),
                };
                let body = match raw_body {
                    Some(raw) => self.substitute(raw)?.into_bytes(),
                    None => self.context_body(),
                };
                self.send(
                    reqwest::Method::POST,
                    Endpoint::Bulk,
                    query,
                    headers,
                    Some(body),
                )
                .await?;
                Outcome::Pass
            }
            Action::Single { key, raw_body } => {
                let key = self.substitute(key)?;
                let body = match raw_body {
                    Some(raw) => self.substitute(raw)?.into_bytes(),
                    None => self.context_body(),
                };
                let headers = vec![("accept".to_owned(), "application/json".to_owned())];
                self.send(
                    reqwest::Method::POST,
                    Endpoint::Single { key },
                    vec![],
                    headers,
                    Some(body),
                )
                .await?;
                Outcome::Pass
            }
            Action::Preflight { origin, headers } => {
                let request_headers = vec![
                    ("origin".to_owned(), self.substitute(origin)?),
                    (
                        "access-control-request-method".to_owned(),
                        "POST".to_owned(),
                    ),
                    (
                        "access-control-request-headers".to_owned(),
                        self.substitute(headers)?,
                    ),
                ];
                // Browsers send no credentials on a preflight.
                let saved = std::mem::replace(&mut self.credentials, false);
                let sent = self
                    .send(
                        reqwest::Method::OPTIONS,
                        Endpoint::Bulk,
                        vec![],
                        request_headers,
                        None,
                    )
                    .await;
                self.credentials = saved;
                sent?;
                Outcome::Pass
            }
            Action::RememberEtag(name) => match self.last()?.answer.etag() {
                Some(etag) => {
                    self.memory.insert(name.clone(), etag.to_owned());
                    Outcome::Pass
                }
                None => fail("an ETag header", "none"),
            },
            Action::RememberFlags(name) => match self.last_flags() {
                Some(flags) => {
                    self.remembered_flags.insert(name.clone(), flags);
                    Outcome::Pass
                }
                None => fail("a bulk answer with flags", self.last_summary()),
            },
            Action::RememberFirstFlagKey(name) => {
                let key = self.last_flags().and_then(|f| {
                    f.as_array()?
                        .iter()
                        .find_map(|i| i.get("key")?.as_str().map(str::to_owned))
                });
                match key {
                    Some(key) => {
                        self.memory.insert(name.clone(), key);
                        Outcome::Pass
                    }
                    None => fail("a bulk answer with at least one flag", self.last_summary()),
                }
            }
            Action::RememberEventId(name) => match self.event.as_ref().and_then(|e| e.id.clone()) {
                Some(id) => {
                    self.memory.insert(name.clone(), id);
                    Outcome::Pass
                }
                None => fail("an event with an id", "no id"),
            },
            Action::StatusIs(expected) => {
                self.status_check(|s| s == *expected, &expected.to_string())?
            }
            Action::StatusIsNot(unexpected) => {
                self.status_check(|s| s != *unexpected, &format!("anything but {unexpected}"))?
            }
            Action::StatusOneOf(list) => {
                let text = list
                    .iter()
                    .map(u16::to_string)
                    .collect::<Vec<_>>()
                    .join(" or ");
                self.status_check(|s| list.contains(&s), &text)?
            }
            Action::NoBody => {
                let last = self.last()?;
                if let Some(evidence) = checks::bulk::body_evidence(&last.answer) {
                    return Ok(fail("no body", evidence));
                }
                if last.answer.status != 304 {
                    return Ok(Outcome::Pass);
                }
                // HTTP clients drop a 304's body unread: replay the request and look at the wire.
                let (url, method, headers) = (
                    last.url.clone(),
                    last.method.clone(),
                    last.request_headers.clone(),
                );
                let body = self.last_body.clone();
                match wire::replay(&url, &method, &headers, &body, Duration::from_millis(300)).await
                {
                    None => Outcome::Pass,
                    Some(Err(why)) => {
                        return Err(format!("replaying the request over TCP failed: {why}"));
                    }
                    Some(Ok(replay)) => {
                        self.evidence.push(format!(
                            "* replayed over TCP: {}, {} byte(s) after the head",
                            replay.status_line, replay.bytes_after_head
                        ));
                        if replay.status_line.contains(" 304") && replay.bytes_after_head > 0 {
                            fail(
                                "no body",
                                format!(
                                    "{} bytes followed the 304 head on the wire",
                                    replay.bytes_after_head
                                ),
                            )
                        } else {
                            Outcome::Pass
                        }
                    }
                }
            }
            Action::HasEtag => match self.last()?.answer.etag() {
                Some(_) => Outcome::Pass,
                None => fail("an ETag header", "none"),
            },
            Action::EtagValid => {
                let etag = self.last()?.answer.etag().map(str::to_owned);
                match EtagVerdict::of(etag.as_deref()) {
                    EtagVerdict::Strong | EtagVerdict::Weak => Outcome::Pass,
                    verdict => fail(
                        "an RFC 9110 entity-tag",
                        format!("{} ({verdict})", etag.unwrap_or_default()),
                    ),
                }
            }
            Action::EtagIs(value) => {
                let value = self.substitute(value)?;
                match self.last()?.answer.etag() {
                    Some(etag) if etag == value => Outcome::Pass,
                    other => fail(format!("ETag {value}"), other.unwrap_or("none").to_owned()),
                }
            }
            Action::EtagIsNot(value) => {
                let value = self.substitute(value)?;
                match self.last()?.answer.etag() {
                    Some(etag) if opaque(etag) != opaque(&value) => Outcome::Pass,
                    other => fail(
                        format!("an ETag other than {value}"),
                        other.unwrap_or("none").to_owned(),
                    ),
                }
            }
            Action::HeaderIncludes(name, value) => {
                let value = self.substitute(value)?;
                let header = self.last()?.answer.header(name).map(str::to_owned);
                let listed = header.as_deref().is_some_and(|h| {
                    h.split(',')
                        .map(str::trim)
                        .any(|item| item == "*" || item.eq_ignore_ascii_case(&value))
                });
                if listed {
                    Outcome::Pass
                } else {
                    fail(
                        format!("{name} listing {value}"),
                        header.unwrap_or_else(|| "no such header".into()),
                    )
                }
            }
            Action::PassesCheck(id) => passes(id, checks::all(&self.last()?.answer)),
            Action::AdvertisesStreams => match self.stream_url() {
                Ok(_) => Outcome::Pass,
                Err(why) => fail("an `eventStreams` entry of type sse", why),
            },
            Action::BodyField(path, value) => {
                let expected = crate::protocol::context::parse_value(&self.substitute(value)?);
                let body = self.last()?.answer.body.json().cloned();
                let found = body
                    .as_ref()
                    .and_then(|b| path.split('.').try_fold(b, |v, key| v.get(key)));
                match found {
                    Some(actual) if *actual == expected => Outcome::Pass,
                    Some(actual) => fail(format!("`{path}` = {expected}"), actual.to_string()),
                    None => fail(
                        format!("`{path}` = {expected}"),
                        format!("no `{path}` in the body"),
                    ),
                }
            }
            Action::StatusOkUnlessFlagsEqual(name) => {
                let status = self.last()?.answer.status;
                let remembered = self
                    .remembered_flags
                    .get(name)
                    .cloned()
                    .ok_or_else(|| format!("no flags remembered as `{name}`"))?;
                let current = self
                    .last_bulk
                    .as_ref()
                    .and_then(|b| b.get("flags"))
                    .cloned();
                match status {
                    200 => Outcome::Pass,
                    304 if current.as_ref() == Some(&remembered) => Outcome::Pass,
                    other => fail(
                        "200, since this context's flags differ from the ones that ETag was for",
                        other.to_string(),
                    ),
                }
            }
            Action::Connect { last_event_id } => {
                let last_event_id = last_event_id
                    .as_deref()
                    .map(|id| self.substitute(id))
                    .transpose()?;
                self.connect(last_event_id).await?
            }
            Action::Disconnect => {
                if let StreamState::Open(stream) = &self.stream {
                    stream.task.abort();
                }
                self.stream = StreamState::None;
                Outcome::Pass
            }
            Action::StreamIsEventStream => match &self.stream {
                StreamState::Open(s) => {
                    self.evidence.push(format!(
                        "< stream {} {}",
                        s.status,
                        s.content_type.as_deref().unwrap_or("")
                    ));
                    Outcome::Pass
                }
                StreamState::Refused {
                    status,
                    content_type,
                } => fail(
                    "200 with Content-Type text/event-stream",
                    format!(
                        "{status} with Content-Type {}",
                        content_type.as_deref().unwrap_or("(none)")
                    ),
                ),
                StreamState::Failed(why) => {
                    fail("200 with Content-Type text/event-stream", why.clone())
                }
                StreamState::None => {
                    return Err("no stream: connect to the advertised event stream first".into());
                }
            },
            Action::EventWithin(seconds) => self.wait_for(*seconds, true).await?,
            Action::ActivityWithin(seconds) => self.wait_for(*seconds, false).await?,
            Action::EventPassesCheck(id) => {
                let event = self
                    .event
                    .as_ref()
                    .ok_or("no event yet: wait for one first")?;
                passes(id, checks::sse::event(event))
            }
            Action::StreamPassesCheck(id) => {
                self.drain(Duration::from_millis(200)).await;
                let StreamState::Open(stream) = &self.stream else {
                    return Ok(Outcome::Skip("the event stream is not open".into()));
                };
                passes(id, checks::sse::stream(&stream.problems))
            }
            Action::ChangeFlag => {
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
                self.changed_while_open = matches!(self.stream, StreamState::Open(_));
                Outcome::Pass
            }
            Action::PollAnswers {
                seconds,
                if_none_match,
                status,
            } => {
                let etag = self.substitute(if_none_match)?;
                let expected = format!("{status} within {seconds} s");
                self.poll(*seconds, &etag, Vec::new(), expected, |got, _| {
                    got == *status
                })
                .await?
            }
            Action::NewEtagWithin {
                seconds,
                if_none_match,
                event_metadata: with_metadata,
            } => {
                let etag = self.substitute(if_none_match)?;
                let query = if *with_metadata {
                    event_metadata(
                        self.event
                            .as_ref()
                            .ok_or("no event yet: wait for one first")?,
                    )
                } else {
                    Vec::new()
                };
                let old = opaque(&etag);
                let expected = format!("a 200 with a new ETag within {seconds} s");
                self.poll(*seconds, &etag, query, expected, |got, new| {
                    got == 200 && new.map(opaque).as_deref() != Some(old.as_str())
                })
                .await?
            }
            Action::Wait(ms) => {
                tokio::time::sleep(Duration::from_millis(*ms)).await;
                Outcome::Pass
            }
        })
    }

    /// Asks for a bulk evaluation with `If-None-Match: etag` every [`POLL_EVERY`] until `done`
    /// (given the status and the new ETag) holds, or `seconds` pass.
    async fn poll(
        &mut self,
        seconds: u64,
        etag: &str,
        query: Vec<(String, String)>,
        expected: String,
        done: impl Fn(u16, Option<&str>) -> bool,
    ) -> Result<Outcome, String> {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        loop {
            let headers = vec![("if-none-match".to_owned(), etag.to_owned())];
            let body = self.context_body();
            let got = self
                .send(
                    reqwest::Method::POST,
                    Endpoint::Bulk,
                    query.clone(),
                    headers,
                    Some(body),
                )
                .await?;
            if done(got, self.last.as_ref().and_then(|e| e.answer.etag())) {
                return Ok(Outcome::Pass);
            }
            if Instant::now() >= deadline {
                return Ok(fail(expected, format!("{got} until the deadline")));
            }
            tokio::time::sleep(POLL_EVERY).await;
        }
    }

    fn context_body(&self) -> Vec<u8> {
        serde_json::json!({ "context": self.context })
            .to_string()
            .into_bytes()
    }

    /// Replaces each `{name}` (a word) with the value remembered under that name. Braces around
    /// anything else (JSON) are left alone.
    fn substitute(&self, text: &str) -> Result<String, String> {
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
                let value = self
                    .memory
                    .get(name)
                    .ok_or_else(|| format!("nothing is remembered as `{name}`"))?;
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

    fn last(&self) -> Result<&Exchange, String> {
        self.last
            .as_ref()
            .ok_or_else(|| "no request has been made yet".to_owned())
    }

    fn last_flags(&self) -> Option<Value> {
        self.last
            .as_ref()
            .filter(|e| e.answer.status == 200)?
            .answer
            .body
            .json()?
            .get("flags")
            .cloned()
    }

    fn last_summary(&self) -> String {
        match &self.last {
            None => "no answer".into(),
            Some(e) => format!(
                "{} {}",
                e.answer.status,
                e.answer.body.problem().unwrap_or_default()
            )
            .trim()
            .to_owned(),
        }
    }

    fn status_check(&self, ok: impl Fn(u16) -> bool, expected: &str) -> Result<Outcome, String> {
        let status = self.last()?.answer.status;
        Ok(if ok(status) {
            Outcome::Pass
        } else {
            fail(format!("status {expected}"), status.to_string())
        })
    }

    /// Sends one request, records the evidence and the answer, and returns the status.
    async fn send(
        &mut self,
        method: reqwest::Method,
        endpoint: Endpoint,
        query: Vec<(String, String)>,
        mut headers: Vec<(String, String)>,
        body: Option<Vec<u8>>,
    ) -> Result<u16, String> {
        headers.extend(self.headers.iter().cloned());
        self.last_body = body.clone().unwrap_or_default();
        let raw = RawRequest {
            method,
            endpoint,
            query,
            headers,
            body,
            configured_headers: self.credentials,
        };
        let exchange = self
            .env
            .client
            .exchange(&raw)
            .await
            .map_err(|e| e.to_string())?;
        self.evidence
            .extend(exchange.transcript(&self.env.redactor));
        let status = exchange.answer.status;
        if status == 200 && exchange.answer.endpoint == Endpoint::Bulk {
            self.last_bulk = exchange.answer.body.json().cloned();
        }
        self.last = Some(exchange);
        Ok(status)
    }

    fn stream_url(&self) -> Result<Url, String> {
        let body = self.last_bulk.as_ref().ok_or("no bulk answer yet")?;
        let entries = event_streams::entries(body, &self.env.base);
        if entries.is_empty() {
            return Err("the answer has no `eventStreams`".into());
        }
        entries
            .into_iter()
            .filter(|e| e.kind.as_deref() == Some("sse"))
            .find_map(|e| e.resolved.ok())
            .ok_or_else(|| "no `eventStreams` entry of type sse resolves to a URL".into())
    }

    async fn connect(&mut self, last_event_id: Option<String>) -> Result<Outcome, String> {
        if self.last_bulk.is_none() {
            let body = self.context_body();
            self.send(
                reqwest::Method::POST,
                Endpoint::Bulk,
                vec![],
                vec![],
                Some(body),
            )
            .await?;
        }
        let url = match self.stream_url() {
            Ok(url) => url,
            Err(why) => {
                return Ok(Outcome::Skip(format!(
                    "the server advertises no event stream ({why})"
                )));
            }
        };
        if let StreamState::Open(old) = &self.stream {
            old.task.abort();
        }
        self.changed_while_open = false;
        let headers = if self.credentials {
            self.env
                .client
                .config()
                .headers
                .iter()
                .map(|h| (h.name.clone(), h.value.clone()))
                .collect()
        } else {
            Vec::new()
        };
        let request = ConnectRequest {
            url: url.clone(),
            headers,
            last_event_id: last_event_id.clone(),
            connect_timeout: self.env.client.config().timeout,
            limits: Limits::default(),
        };
        let shown = self.env.redactor.url(url.as_str()).into_owned();
        let resume = last_event_id
            .map(|id| format!(" (Last-Event-ID: {id})"))
            .unwrap_or_default();
        self.evidence.push(format!("> GET {shown}{resume}"));
        Ok(
            match connection::open(self.env.client.stream_http(), &request).await {
                Ok(Opened::Stream(mut conn)) => {
                    let (status, content_type) = (conn.status, conn.content_type.clone());
                    self.evidence.push(format!(
                        "< {status} {}",
                        content_type.as_deref().unwrap_or("")
                    ));
                    let (tx, items) = mpsc::unbounded_channel();
                    let task = tokio::spawn(async move {
                        while let Some(item) = conn.next().await {
                            if tx.send(item.map_err(|e| e.to_string())).is_err() {
                                break;
                            }
                        }
                    });
                    self.stream = StreamState::Open(OpenStream {
                        status,
                        content_type,
                        items,
                        task,
                        problems: vec![],
                        ended: None,
                    });
                    Outcome::Pass
                }
                Ok(Opened::Refused(refusal)) => {
                    self.evidence.push(format!(
                        "< {} {}",
                        refusal.status,
                        refusal.content_type.as_deref().unwrap_or("")
                    ));
                    let actual = format!(
                        "{} with Content-Type {}",
                        refusal.status,
                        refusal.content_type.as_deref().unwrap_or("(none)")
                    );
                    self.stream = StreamState::Refused {
                        status: refusal.status,
                        content_type: refusal.content_type,
                    };
                    fail("200 with Content-Type text/event-stream", actual)
                }
                Err(e) => {
                    self.evidence.push(format!("< {e}"));
                    self.stream = StreamState::Failed(e.to_string());
                    fail("an open event stream", e.to_string())
                }
            },
        )
    }

    /// Waits for the next event (or, with `events_only` false, any comment or event).
    async fn wait_for(&mut self, seconds: u64, events_only: bool) -> Result<Outcome, String> {
        use std::sync::atomic::Ordering;
        let after_change = self.changed_while_open && events_only;
        if after_change && self.env.silent_after_change.load(Ordering::Relaxed) {
            return Ok(fail(
                format!("an event within {seconds} s of a change"),
                "none arrived after an earlier scenario's change either (see sse-notify)",
            ));
        }
        let outcome = self.wait_for_item(seconds, events_only).await?;
        if after_change && matches!(outcome, Outcome::Fail { .. }) {
            self.env.silent_after_change.store(true, Ordering::Relaxed);
        }
        Ok(outcome)
    }

    async fn wait_for_item(&mut self, seconds: u64, events_only: bool) -> Result<Outcome, String> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
        let StreamState::Open(stream) = &mut self.stream else {
            return Ok(Outcome::Skip("the event stream is not open".into()));
        };
        let what = if events_only {
            "an event"
        } else {
            "a comment or an event"
        };
        loop {
            if let Some(why) = &stream.ended {
                return Ok(fail(
                    format!("{what} within {seconds} s"),
                    format!("the stream ended: {why}"),
                ));
            }
            match tokio::time::timeout_at(deadline, stream.items.recv()).await {
                Err(_) => {
                    return Ok(fail(
                        format!("{what} within {seconds} s"),
                        "nothing arrived",
                    ));
                }
                Ok(None) => stream.ended = Some("the server closed it".into()),
                Ok(Some(Err(e))) => stream.ended = Some(e),
                Ok(Some(Ok(item))) => match item {
                    Item::Event(event) => {
                        self.evidence.push(format!(
                            "< event id={:?} event={} data={}",
                            event.id, event.event_type, event.data
                        ));
                        self.event = Some(event);
                        return Ok(Outcome::Pass);
                    }
                    Item::Comment(text) if !events_only => {
                        self.evidence.push(format!("< comment {text:?}"));
                        return Ok(Outcome::Pass);
                    }
                    Item::Problem(problem) => stream.problems.push(problem),
                    Item::Comment(_) | Item::Retry(_) => {}
                },
            }
        }
    }

    /// Reads whatever the stream has sent within `window`, keeping its problems.
    async fn drain(&mut self, window: Duration) {
        let StreamState::Open(stream) = &mut self.stream else {
            return;
        };
        let deadline = tokio::time::Instant::now() + window;
        while let Ok(Some(Ok(item))) = tokio::time::timeout_at(deadline, stream.items.recv()).await
        {
            match item {
                Item::Problem(problem) => stream.problems.push(problem),
                Item::Event(event) => self.event = Some(event),
                Item::Comment(_) | Item::Retry(_) => {}
            }
        }
    }
}

/// `flagConfigEtag` / `flagConfigLastModified` from an event's data, as a provider sends them.
pub fn event_metadata(event: &Event) -> Vec<(String, String)> {
    let Ok(data) = serde_json::from_str::<Value>(&event.data) else {
        return vec![];
    };
    let mut query = Vec::new();
    if let Some(etag) = data.get("etag").and_then(Value::as_str) {
        query.push(("flagConfigEtag".to_owned(), etag.to_owned()));
    }
    match data.get("lastModified") {
        Some(Value::String(s)) => query.push(("flagConfigLastModified".to_owned(), s.clone())),
        Some(Value::Number(n)) => query.push(("flagConfigLastModified".to_owned(), n.to_string())),
        _ => {}
    }
    query
}

/// The opaque part of an entity-tag (the text itself when it is not one), for comparing tags.
fn opaque(tag: &str) -> String {
    EntityTag::parse(tag).map_or_else(|| tag.trim().to_owned(), |t| t.opaque.to_owned())
}
