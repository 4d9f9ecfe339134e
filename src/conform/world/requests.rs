//! Steps that shape and send requests: the context, extra headers, credentials, bulk and single
//! evaluations, CORS preflights, and the polling loops that ask again until something holds.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::assertions::opaque;
use super::evidence;
use super::streams::event_metadata;
use super::{Outcome, StepError, World, fail};
use crate::protocol::answer::Endpoint;
use crate::protocol::client::RawRequest;

/// How often the polling steps ask again.
const POLL_EVERY: Duration = Duration::from_millis(100);

impl World<'_> {
    pub(super) fn set_context(&mut self, text: &str) -> Result<Outcome, StepError> {
        let text = self.substitute(text)?;
        match serde_json::from_str(&text) {
            Ok(Value::Object(map)) => {
                self.context = map;
                Ok(Outcome::Pass)
            }
            _ => Err(StepError::NotAJsonObject { text }),
        }
    }

    pub(super) fn set_header(&mut self, name: &str, value: &str) -> Result<Outcome, StepError> {
        let value = self.substitute(value)?;
        self.headers.push((name.to_owned(), value));
        Ok(Outcome::Pass)
    }

    pub(super) fn drop_credentials(&mut self) -> Outcome {
        self.credentials = false;
        Outcome::Pass
    }

    pub(super) async fn bulk(
        &mut self,
        if_none_match: Option<&str>,
        query: Option<&str>,
        raw_body: Option<&str>,
        origin: Option<&str>,
    ) -> Result<Outcome, StepError> {
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
        let body = self.body_or_context(raw_body)?;
        self.send(
            reqwest::Method::POST,
            Endpoint::Bulk,
            query,
            headers,
            Some(body),
        )
        .await?;
        Ok(Outcome::Pass)
    }

    pub(super) async fn single(
        &mut self,
        key: &str,
        raw_body: Option<&str>,
    ) -> Result<Outcome, StepError> {
        let key = self.substitute(key)?;
        let body = self.body_or_context(raw_body)?;
        let headers = vec![("accept".to_owned(), "application/json".to_owned())];
        self.send(
            reqwest::Method::POST,
            Endpoint::Single { key },
            vec![],
            headers,
            Some(body),
        )
        .await?;
        Ok(Outcome::Pass)
    }

    pub(super) async fn preflight(
        &mut self,
        origin: &str,
        headers: &str,
    ) -> Result<Outcome, StepError> {
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
        Ok(Outcome::Pass)
    }

    pub(super) async fn poll_answers(
        &mut self,
        seconds: u64,
        if_none_match: &str,
        status: u16,
    ) -> Result<Outcome, StepError> {
        let etag = self.substitute(if_none_match)?;
        let expected = format!("{status} within {seconds} s");
        self.poll(seconds, &etag, Vec::new(), expected, |got, _| got == status)
            .await
    }

    /// Refetches until a 200 with an ETag other than `if_none_match`, with the last event's
    /// metadata as query parameters when `with_metadata`.
    pub(super) async fn new_etag_within(
        &mut self,
        seconds: u64,
        if_none_match: &str,
        with_metadata: bool,
    ) -> Result<Outcome, StepError> {
        let etag = self.substitute(if_none_match)?;
        let query = if with_metadata {
            event_metadata(self.event.as_ref().ok_or(StepError::NoEventYet)?)
        } else {
            Vec::new()
        };
        let old = opaque(&etag);
        let expected = format!("a 200 with a new ETag within {seconds} s");
        self.poll(seconds, &etag, query, expected, |got, new| {
            got == 200 && new.map(opaque).as_deref() != Some(old.as_str())
        })
        .await
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
    ) -> Result<Outcome, StepError> {
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

    /// The step's own body (substituted) when it has one, else the context.
    fn body_or_context(&self, raw_body: Option<&str>) -> Result<Vec<u8>, StepError> {
        Ok(match raw_body {
            Some(raw) => self.substitute(raw)?.into_bytes(),
            None => self.context_body(),
        })
    }

    pub(super) fn context_body(&self) -> Vec<u8> {
        serde_json::json!({ "context": self.context })
            .to_string()
            .into_bytes()
    }

    /// Sends one request, records the evidence and the answer, and returns the status.
    pub(super) async fn send(
        &mut self,
        method: reqwest::Method,
        endpoint: Endpoint,
        query: Vec<(String, String)>,
        mut headers: Vec<(String, String)>,
        body: Option<Vec<u8>>,
    ) -> Result<u16, StepError> {
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
        let started = Instant::now();
        let received = match self.env.client.exchange_raw(&raw).await {
            Ok(received) => received,
            Err(error) => {
                let (limit, waited) = (self.env.client.config().timeout, started.elapsed());
                if !crate::conform::probe::timed_out(waited, limit) {
                    return Err(StepError::Transport(error));
                }
                let what = format!("{} /{}", raw.method, raw.endpoint.path());
                self.evidence.push(format!("> {what}"));
                self.evidence.push(format!("* {error}"));
                return Err(StepError::Slow {
                    what,
                    limit,
                    waited,
                });
            }
        };
        let (start, whole) = evidence::kept(&received.bytes);
        let start = start.to_vec();
        let exchange = received.classify();
        self.evidence.exchange(
            &exchange,
            &self.last_body,
            (&start, whole),
            &self.env.redactor,
        );
        let status = exchange.answer.status;
        if status == 200 && exchange.answer.endpoint == Endpoint::Bulk {
            self.last_bulk = exchange.answer.body.json().cloned();
        }
        self.last = Some(exchange);
        Ok(status)
    }
}
