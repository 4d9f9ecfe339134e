//! Steps that judge the last answer (status, ETag, headers, body, the checks `ofrep fetch` runs)
//! and steps that remember part of it for later strings.

use std::time::Duration;

use super::{Outcome, StepError, World, fail, passes_if_present, subjects};
use crate::protocol::checks;
use crate::protocol::document::Document;
use crate::protocol::etag::{EntityTag, EtagVerdict};
use crate::protocol::wire;

/// How long the wire replay of a 304 waits for body bytes after the head.
const REPLAY_WAIT: Duration = Duration::from_millis(300);

impl World<'_> {
    pub(super) fn remember_etag(&mut self, name: &str) -> Result<Outcome, StepError> {
        Ok(match self.last()?.answer.etag() {
            Some(etag) => {
                let etag = etag.to_owned();
                self.memory.insert(name.to_owned(), etag);
                Outcome::Pass
            }
            None => fail("an ETag header", "none"),
        })
    }

    pub(super) fn remember_flags(&mut self, name: &str) -> Outcome {
        match self.last_flags() {
            Some(flags) => {
                self.remembered_flags
                    .insert(name.to_owned(), flags.flags_digest());
                Outcome::Pass
            }
            None => fail("a bulk answer with flags", self.last_summary()),
        }
    }

    pub(super) fn remember_first_flag_key(&mut self, name: &str) -> Outcome {
        let key = self.last_flags().and_then(|f| {
            f.flags()?
                .find_map(|i| i.get("key")?.as_str().map(str::to_owned))
        });
        match key {
            Some(key) => {
                self.memory.insert(name.to_owned(), key);
                Outcome::Pass
            }
            None => fail("a bulk answer with at least one flag", self.last_summary()),
        }
    }

    pub(super) fn remember_event_id(&mut self, name: &str) -> Outcome {
        match self.event.as_ref().and_then(|e| e.id.clone()) {
            Some(id) => {
                self.memory.insert(name.to_owned(), id);
                Outcome::Pass
            }
            None => fail("an event with an id", "no id"),
        }
    }

    pub(super) fn status_check(
        &self,
        ok: impl Fn(u16) -> bool,
        expected: &str,
    ) -> Result<Outcome, StepError> {
        let status = self.last()?.answer.status;
        Ok(if ok(status) {
            Outcome::Pass
        } else {
            fail(format!("status {expected}"), status.to_string())
        })
    }

    pub(super) fn status_one_of(&self, list: &[u16]) -> Result<Outcome, StepError> {
        let text = list
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(" or ");
        self.status_check(|s| list.contains(&s), &text)
    }

    pub(super) async fn no_body(&mut self) -> Result<Outcome, StepError> {
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
        Ok(
            match wire::replay(&url, &method, &headers, &body, REPLAY_WAIT).await {
                None => Outcome::Pass,
                Some(Err(why)) => {
                    return Err(StepError::Replay(why));
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
            },
        )
    }

    pub(super) fn has_etag(&self) -> Result<Outcome, StepError> {
        Ok(match self.last()?.answer.etag() {
            Some(_) => Outcome::Pass,
            None => fail("an ETag header", "none"),
        })
    }

    pub(super) fn etag_valid(&self) -> Result<Outcome, StepError> {
        let etag = self.last()?.answer.etag().map(str::to_owned);
        Ok(match EtagVerdict::of(etag.as_deref()) {
            EtagVerdict::Strong | EtagVerdict::Weak => Outcome::Pass,
            verdict => fail(
                "an RFC 9110 entity-tag",
                format!("{} ({verdict})", etag.unwrap_or_default()),
            ),
        })
    }

    pub(super) fn etag_is(&self, value: &str) -> Result<Outcome, StepError> {
        let value = self.substitute(value)?;
        Ok(match self.last()?.answer.etag() {
            Some(etag) if etag == value => Outcome::Pass,
            other => fail(format!("ETag {value}"), other.unwrap_or("none").to_owned()),
        })
    }

    pub(super) fn etag_is_not(&self, value: &str) -> Result<Outcome, StepError> {
        let value = self.substitute(value)?;
        Ok(match self.last()?.answer.etag() {
            Some(etag) if opaque(etag) != opaque(&value) => Outcome::Pass,
            other => fail(
                format!("an ETag other than {value}"),
                other.unwrap_or("none").to_owned(),
            ),
        })
    }

    pub(super) fn header_includes(&self, name: &str, value: &str) -> Result<Outcome, StepError> {
        let value = self.substitute(value)?;
        let header = self.last()?.answer.header(name).map(str::to_owned);
        let listed = header.as_deref().is_some_and(|h| {
            h.split(',')
                .map(str::trim)
                .any(|item| item == "*" || item.eq_ignore_ascii_case(&value))
        });
        Ok(if listed {
            Outcome::Pass
        } else {
            fail(
                format!("{name} listing {value}"),
                header.unwrap_or_else(|| "no such header".into()),
            )
        })
    }

    pub(super) fn passes_check(&self, id: &str) -> Result<Outcome, StepError> {
        let answer = &self.last()?.answer;
        Ok(passes_if_present(
            id,
            subjects::in_answer(id, answer),
            checks::all(answer),
        ))
    }

    pub(super) fn advertises_streams(&self) -> Outcome {
        match self.stream_url() {
            Ok(_) => Outcome::Pass,
            Err(why) => fail("an `eventStreams` entry of type sse", why.to_string()),
        }
    }

    pub(super) fn body_field(&self, path: &str, value: &str) -> Result<Outcome, StepError> {
        let expected = crate::protocol::context::parse_value(&self.substitute(value)?);
        // The first name is looked up in the document, so only that member is ever built.
        let body = self.last()?.answer.body.json();
        let (first, rest) = match path.split_once('.') {
            Some((first, rest)) => (first, Some(rest)),
            None => (path, None),
        };
        let member = body.and_then(|b| b.get(first));
        let found = member.as_deref().and_then(|m| match rest {
            None => Some(m),
            Some(rest) => rest.split('.').try_fold(m, |v, key| v.get(key)),
        });
        Ok(match found {
            Some(actual) if *actual == expected => Outcome::Pass,
            Some(actual) => fail(format!("`{path}` = {expected}"), actual.to_string()),
            None => fail(
                format!("`{path}` = {expected}"),
                format!("no `{path}` in the body"),
            ),
        })
    }

    pub(super) fn status_ok_unless_flags_equal(&self, name: &str) -> Result<Outcome, StepError> {
        let status = self.last()?.answer.status;
        let remembered =
            self.remembered_flags
                .get(name)
                .ok_or_else(|| StepError::NoFlagsRemembered {
                    name: name.to_owned(),
                })?;
        let same = self
            .last_bulk
            .as_ref()
            .is_some_and(|current| current.has("flags") && current.flags_digest() == *remembered);
        Ok(match status {
            200 => Outcome::Pass,
            304 if same => Outcome::Pass,
            other => fail(
                "200, since this context's flags differ from the ones that ETag was for",
                other.to_string(),
            ),
        })
    }

    /// The last 200 body, when it has `flags`: kept as a document (a large answer's flags are
    /// compared item by item, never held as a tree).
    fn last_flags(&self) -> Option<Document> {
        self.last
            .as_ref()
            .filter(|e| e.answer.status == 200)?
            .answer
            .body
            .json()
            .filter(|body| body.has("flags"))
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
}

/// The opaque part of an entity-tag (the text itself when it is not one), for comparing tags.
pub(super) fn opaque(tag: &str) -> String {
    EntityTag::parse(tag).map_or_else(|| tag.trim().to_owned(), |t| t.opaque.to_owned())
}
