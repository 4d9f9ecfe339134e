//! What a scenario keeps to prove its verdict: each exchange's request and response lines with
//! their headers and bodies (bodies cut to [`BODY_LIMIT`] bytes), stream observations, and notes.
//! Everything is redacted on the way in. A polling loop that sends the same request and gets the
//! same answer fifty times keeps the first and the last exchange and says how many more were
//! like them, so the evidence proves without flooding.

use std::borrow::Cow;

use serde_json::Value;

use crate::protocol::client::Exchange;
use crate::redact::Redactor;

/// How much of a body the evidence shows: enough to see its shape and the field at fault.
pub const BODY_LIMIT: usize = 300;

/// Bodies up to this size are parsed to redact the URLs in them as JSON; of a larger one only
/// this much is kept, and read as text.
pub const KEPT: usize = 64 << 10;

/// A scenario's evidence, in the order it was seen.
#[derive(Debug, Default)]
pub struct Evidence {
    entries: Vec<Entry>,
}

#[derive(Debug)]
enum Entry {
    Line(String),
    Exchange {
        /// What makes two exchanges alike: the request as sent and the response's status.
        key: Vec<String>,
        first: Vec<String>,
        /// The latest of the exchanges like `first`, and how many there were after it.
        last: Option<Vec<String>>,
        repeats: usize,
    },
}

impl Evidence {
    /// One observation or note (`< event …`, `* a flag was changed …`).
    pub fn push(&mut self, line: String) {
        self.entries.push(Entry::Line(line));
    }

    /// One request and its answer; `sent` is the request body as sent (empty for none),
    /// `received` the start of the answer's body (see [`kept`]) and `whole` its length.
    pub fn exchange(
        &mut self,
        exchange: &Exchange,
        sent: &[u8],
        (received, whole): (&[u8], usize),
        r: &Redactor,
    ) {
        let transcript = exchange.transcript(r);
        let split = transcript
            .iter()
            .position(|line| line.starts_with('<'))
            .unwrap_or(transcript.len());
        let (request, response) = transcript.split_at(split);
        let mut key = request.to_vec();
        key.extend(body_lines('>', sent, sent.len(), r));
        key.extend(response.first().cloned());
        let mut lines = request.to_vec();
        lines.extend(body_lines('>', sent, sent.len(), r));
        lines.extend(response.iter().cloned());
        lines.extend(body_lines('<', received, whole, r));
        if let Some(Entry::Exchange {
            key: previous,
            last,
            repeats,
            ..
        }) = self.entries.last_mut()
            && *previous == key
        {
            *last = Some(lines);
            *repeats += 1;
            return;
        }
        self.entries.push(Entry::Exchange {
            key,
            first: lines,
            last: None,
            repeats: 0,
        });
    }

    /// The lines a report shows, leaving this empty.
    pub fn take(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        for entry in std::mem::take(&mut self.entries) {
            match entry {
                Entry::Line(line) => out.push(line),
                Entry::Exchange {
                    first,
                    last,
                    repeats,
                    ..
                } => {
                    out.extend(first);
                    if repeats > 1 {
                        out.push(format!("* {} more like this", repeats - 1));
                    }
                    out.extend(last.into_iter().flatten());
                }
            }
        }
        out
    }
}

/// A body as evidence: nothing when empty, else a blank `>`/`<` line (where HTTP has its blank
/// line) and the body on one line, redacted and cut to [`BODY_LIMIT`] bytes.
fn body_lines(side: char, bytes: &[u8], whole: usize, r: &Redactor) -> Vec<String> {
    if whole == 0 {
        return Vec::new();
    }
    vec![
        side.to_string(),
        format!("{side} {}", body(bytes, whole, r)),
    ]
}

/// What of a body the evidence keeps: at most [`KEPT`] bytes from its start.
pub fn kept(bytes: &[u8]) -> (&[u8], usize) {
    (&bytes[..bytes.len().min(KEPT)], bytes.len())
}

/// The body (`bytes`, the first of `whole`) as one line of text, redacted, at most
/// [`BODY_LIMIT`] bytes of it.
pub fn body(bytes: &[u8], whole: usize, r: &Redactor) -> String {
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        // A cut in the middle of a character is the cut, not bad UTF-8.
        Err(e) if e.error_len().is_none() && bytes.len() < whole => {
            std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default()
        }
        Err(_) => return format!("({whole} bytes, not UTF-8)"),
    };
    let parsed = (bytes.len() == whole)
        .then(|| serde_json::from_str::<Value>(text).ok())
        .flatten();
    let shown = match parsed {
        Some(mut value) => {
            redact_json(&mut value, r);
            Cow::Owned(value.to_string())
        }
        None => redact_text(text, r),
    };
    let one_line = shown.replace('\r', "\\r").replace('\n', "\\n");
    truncate(&one_line, BODY_LIMIT, whole)
}

/// `text` cut to at most `limit` bytes on a character boundary, saying how long the whole was.
fn truncate(text: &str, limit: usize, whole: usize) -> String {
    if text.len() <= limit {
        return text.to_owned();
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({whole} bytes in all)", &text[..end])
}

/// Masks the secrets of every string that is a URL or a path with a query (an event stream's
/// `url` or `requestUri` may carry a token).
fn redact_json(value: &mut Value, r: &Redactor) {
    match value {
        Value::String(text) if looks_like_url(text) => {
            if let Cow::Owned(masked) = r.url(text) {
                *text = masked;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| redact_json(v, r)),
        Value::Object(map) => map.values_mut().for_each(|v| redact_json(v, r)),
        _ => {}
    }
}

fn looks_like_url(text: &str) -> bool {
    text.contains("://") || (text.starts_with('/') && text.contains('?'))
}

/// The same for text that is not JSON: each word that is a URL loses its secrets.
fn redact_text<'a>(text: &'a str, r: &Redactor) -> Cow<'a, str> {
    if r.show_secrets || !text.contains("://") {
        return Cow::Borrowed(text);
    }
    let separator = |c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>');
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        let end = rest.find(separator).unwrap_or(rest.len());
        let (word, tail) = rest.split_at(end);
        if word.contains("://") {
            out.push_str(&r.url(word));
        } else {
            out.push_str(word);
        }
        let sep = tail.chars().next().map_or(0, char::len_utf8);
        out.push_str(&tail[..sep]);
        rest = &tail[sep..];
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::answer::{Answer, Body, Endpoint};

    const R: Redactor = Redactor {
        show_secrets: false,
    };

    fn exchange(status: u16, date: &str) -> Exchange {
        Exchange {
            method: "POST".into(),
            url: "http://127.0.0.1:1/ofrep/v1/evaluate/flags"
                .parse()
                .unwrap(),
            request_headers: vec![
                ("if-none-match".into(), "\"v1\"".into()),
                ("authorization".into(), "Bearer s3cret".into()),
            ],
            answer: Answer {
                endpoint: Endpoint::Bulk,
                status,
                headers: vec![("date".into(), date.into())],
                body: Body::Empty,
            },
            reason: "OK",
            elapsed: std::time::Duration::ZERO,
            redirected_to: None,
            proxy: None,
        }
    }

    #[test]
    fn an_exchange_shows_request_and_response_lines_headers_and_bodies_redacted() {
        let mut evidence = Evidence::default();
        let answer = br#"{"flags":[],"eventStreams":[{"type":"sse","url":"https://s.example/e?token=s3cret"}]}"#;
        evidence.exchange(&exchange(200, "d1"), br#"{"context":{}}"#, kept(answer), &R);
        let lines = evidence.take();
        assert_eq!(
            lines,
            [
                "> POST http://127.0.0.1:1/ofrep/v1/evaluate/flags",
                "> if-none-match: \"v1\"",
                "> authorization: Bearer <redacted>",
                ">",
                "> {\"context\":{}}",
                "< 200 OK",
                "< date: d1",
                "<",
                "< {\"flags\":[],\"eventStreams\":[{\"type\":\"sse\",\"url\":\"https://s.example/e?<redacted>\"}]}",
            ]
        );
        assert!(evidence.take().is_empty(), "take leaves it empty");
    }

    #[test]
    fn fifty_alike_exchanges_show_the_first_and_the_last_and_how_many_more() {
        let mut evidence = Evidence::default();
        evidence.push("* a flag was changed through the trigger".into());
        for n in 1..=50 {
            evidence.exchange(&exchange(304, &format!("d{n}")), b"", (b"", 0), &R);
        }
        evidence.exchange(&exchange(200, "d51"), b"", (b"", 0), &R);
        let lines = evidence.take();
        let dates: Vec<&str> = lines
            .iter()
            .filter(|l| l.starts_with("< date") || l.contains("more like this"))
            .map(String::as_str)
            .collect();
        assert_eq!(
            dates,
            [
                "< date: d1",
                "* 48 more like this",
                "< date: d50",
                "< date: d51"
            ]
        );
        // The note, the first, the count, the last alike, then the different one: 5 lines each.
        assert_eq!(lines.len(), 1 + 5 + 1 + 5 + 5, "{lines:#?}");
    }

    #[test]
    fn two_alike_exchanges_are_both_shown_without_a_count() {
        let mut evidence = Evidence::default();
        evidence.exchange(&exchange(304, "d1"), b"", (b"", 0), &R);
        evidence.exchange(&exchange(304, "d2"), b"", (b"", 0), &R);
        let lines = evidence.take();
        assert!(!lines.iter().any(|l| l.contains("more like this")));
        assert_eq!(lines.iter().filter(|l| l.starts_with("< date")).count(), 2);
    }

    #[test]
    fn long_bodies_are_cut_on_a_character_boundary_and_say_their_size() {
        let text = "é".repeat(400);
        let shown = body(text.as_bytes(), 800, &R);
        assert!(shown.ends_with("… (800 bytes in all)"), "{shown}");
        assert!(shown.len() <= BODY_LIMIT + "… (800 bytes in all)".len());
        assert_eq!(body(b"short", 5, &R), "short");
        assert_eq!(body(&[0xff, 0xfe], 2, &R), "(2 bytes, not UTF-8)");
        assert_eq!(body(b"a\r\nb", 4, &R), "a\\r\\nb");
        // Only the start of a large body is kept, cut anywhere, even inside a character.
        let large = format!(
            "{{\"url\":\"https://h.example/?token=s3cret\",\"x\":\"{}\"}}",
            "é".repeat(KEPT)
        );
        let (start, whole) = kept(large.as_bytes());
        assert_eq!((start.len(), whole), (KEPT, large.len()));
        let shown = body(&start[..KEPT - 1], whole, &R);
        assert!(
            shown.starts_with("{\"url\":\"https://h.example/?<redacted>\""),
            "{shown}"
        );
        assert!(!shown.contains("s3cret"));
    }

    #[test]
    fn text_bodies_lose_the_secrets_of_their_urls() {
        assert_eq!(
            body(b"see <https://h.example/x?token=s3cret> now", 41, &R),
            "see <https://h.example/x?<redacted>> now"
        );
        let json = br#"{"requestUri":"/events?token=s3cret","reason":"why?"}"#;
        assert_eq!(
            body(json, json.len(), &R),
            r#"{"requestUri":"/events?<redacted>","reason":"why?"}"#
        );
        let shown = Redactor::new(true);
        assert!(body(json, json.len(), &shown).contains("s3cret"));
    }
}
