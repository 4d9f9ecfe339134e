//! The event-stream parser of the WHATWG HTML standard (§9.2.5 "Parsing an event stream" and
//! §9.2.6 "Interpreting an event stream"): bytes in, items out, no I/O.
//!
//! Where the standard silently ignores something, this parser also says so with an
//! [`Item::Problem`], because `conform` grades exactly those things (`sse-utf8`, `sse-retry`) and
//! `watch` warns about them. It never panics and its memory is bounded by [`Limits`] whatever the
//! input: chunk boundaries anywhere (inside a CRLF, inside the BOM, inside a UTF-8 sequence) give
//! the same items as the whole stream fed at once.

use std::fmt;

/// A UTF-8 byte order mark; one at the very start of the stream is not part of the first line.
const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

/// How much of an invalid `retry` value a problem keeps: enough to recognise it in a message,
/// not so much that a hostile line fills the report.
const SHOWN_VALUE_CHARS: usize = 40;

/// Line buffers that grew past this are shrunk back after the line, so that one long line does
/// not pin its memory for the rest of a long-running `watch`.
const KEPT_CAPACITY: usize = 64 * 1024;

/// What bounds the parser's memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The longest line kept, in bytes, without its line end. Longer lines are discarded.
    pub max_line: usize,
    /// The largest `data` of one event, in bytes (data lines joined with LF). Larger events are
    /// discarded.
    pub max_event_data: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_line: 1024 * 1024,
            max_event_data: 4 * 1024 * 1024,
        }
    }
}

impl Limits {
    /// For OFREP clients (`watch`, `conform`): an OFREP event is a signal of a few hundred bytes
    /// (`type`, `etag`, `lastModified`), so 64 KiB leaves room for much larger ones while keeping
    /// a queue of events small enough to bound the memory of a client under any stream.
    pub const SIGNALS: Limits = Limits {
        max_line: 64 * 1024,
        max_event_data: 64 * 1024,
    };
}

/// One thing the stream said, in stream order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Event(Event),
    /// The text after the `:` of a comment line, unchanged (keep-alives; `sse-keepalive`).
    Comment(String),
    /// A valid `retry` field: the reconnection time in milliseconds (saturating).
    Retry(u64),
    /// Something the standard tells a client to ignore or repair, which a check or a warning
    /// should see.
    Problem(Problem),
}

impl Item {
    /// The event, if this item is one.
    pub fn event(&self) -> Option<&Event> {
        match self {
            Self::Event(event) => Some(event),
            _ => None,
        }
    }
}

/// A dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The type a browser dispatches: the `event` field, or `message` when it is absent or empty.
    pub event_type: String,
    /// The raw `event` value if the event had such a line (`sse-event-message`).
    pub named: Option<String>,
    /// The data lines joined with LF.
    pub data: String,
    /// The `id` field of this event, if it had a valid one (`sse-id`).
    pub id: Option<String>,
    /// The stream's last-event-ID buffer after this event: what `Last-Event-ID` would carry.
    pub last_event_id: String,
}

/// Something wrong with the stream; every variant displays as one line. `line` is 1-based and
/// counts line ends as the standard does (CRLF, LF and CR each end one line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The line was not valid UTF-8 and was decoded with U+FFFD replacements (`sse-utf8`).
    InvalidUtf8 { line: usize },
    /// A line exceeded the limit; it was discarded up to the next line end, and unless it was a
    /// comment, so was the event it belonged to (its data could not be known whole).
    LineTooLong { line: usize, limit: usize },
    /// An event's data exceeded the limit at this line; the event was discarded.
    DataTooLarge { line: usize, limit: usize },
    /// An `id` containing U+0000, which the standard ignores.
    IdWithNul { line: usize },
    /// An `id` with other control characters: no `Last-Event-ID` header can carry it, so it is
    /// ignored like one with NUL and the last good id stays the one to resume from.
    IdNotAHeader { line: usize },
    /// A `retry` that is not ASCII digits only, which the standard ignores (`sse-retry`). An
    /// empty value counts too: it has no number to set the reconnection time to. `value` is cut
    /// to a few dozen characters.
    InvalidRetry { line: usize, value: String },
    /// At the end of the stream, a partial line or an event without its blank line was discarded.
    UnterminatedEvent,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidUtf8 { line } => {
                write!(f, "line {line} is not valid UTF-8 (decoded with replacement characters)")
            }
            Self::LineTooLong { line, limit } => {
                write!(f, "line {line} is longer than {limit} bytes and was discarded")
            }
            Self::DataTooLarge { line, limit } => write!(
                f,
                "the data of the event at line {line} is larger than {limit} bytes; the event was discarded"
            ),
            Self::IdWithNul { line } => {
                write!(f, "the id at line {line} contains a NUL character and was ignored")
            }
            Self::IdNotAHeader { line } => write!(
                f,
                "the id at line {line} contains control characters, which no Last-Event-ID header can carry, and was ignored"
            ),
            // escape_debug keeps the message on one line and control characters off the terminal.
            Self::InvalidRetry { line, value } => write!(
                f,
                "the retry value \"{}\" at line {line} is not digits only and was ignored",
                value.escape_debug()
            ),
            Self::UnterminatedEvent => f.write_str(
                "the stream ended inside an event (no blank line after it); the partial event was discarded",
            ),
        }
    }
}

/// Where the parser is with respect to the optional BOM at the stream start.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Start {
    /// These bytes so far match a prefix of the BOM; more input decides.
    Undecided(Vec<u8>),
    /// Past the BOM (or there was none): every byte belongs to lines.
    Decided,
}

/// An incremental event-stream parser; feed it chunks of any size.
#[derive(Debug, Clone)]
pub struct Parser {
    limits: Limits,
    start: Start,
    /// The current line, without its line end; at most `limits.max_line` bytes.
    line: Vec<u8>,
    /// The current line exceeded the limit: drop its bytes until the next line end.
    skipping_line: bool,
    /// The last line ended with CR: an LF right after it (maybe in the next chunk) belongs to it.
    after_cr: bool,
    /// 1-based number of the current line.
    line_number: usize,
    /// The event being built.
    data: String,
    event_type: Option<String>,
    event_id: Option<String>,
    /// The event lost data to a limit and will not be dispatched.
    discarded: bool,
    last_event_id: String,
}

impl Parser {
    pub fn new(limits: Limits) -> Self {
        Self::resume(limits, String::new())
    }

    /// A parser for a reconnection: the standard keeps the last-event-ID buffer across
    /// connections, so events of the new stream report it until they set their own.
    pub fn resume(limits: Limits, last_event_id: String) -> Self {
        Self {
            limits,
            start: Start::Undecided(Vec::with_capacity(BOM.len())),
            line: Vec::new(),
            skipping_line: false,
            after_cr: false,
            line_number: 1,
            data: String::new(),
            event_type: None,
            event_id: None,
            discarded: false,
            last_event_id,
        }
    }

    /// The last-event-ID buffer: the value to send as `Last-Event-ID` on reconnection.
    pub fn last_event_id(&self) -> &str {
        &self.last_event_id
    }

    /// Parses the next chunk of the stream.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Item> {
        let mut out = Vec::new();
        let rest = self.skip_bom(bytes, &mut out);
        self.consume(rest, &mut out);
        out
    }

    /// Ends the stream. A partial line and an event without its blank line are discarded, as the
    /// standard says, and reported. The parser is then ready for a new stream; only the
    /// last-event-ID buffer survives.
    pub fn finish(&mut self) -> Vec<Item> {
        let mut out = Vec::new();
        // Bytes held back as a possible BOM that the stream never completed are ordinary bytes.
        if let Start::Undecided(held) = std::mem::replace(&mut self.start, Start::Decided) {
            self.consume(&held, &mut out);
        }
        let partial_line = !self.line.is_empty() || self.skipping_line;
        let pending_event = !self.data.is_empty() || self.event_type.is_some() || self.discarded;
        if partial_line || pending_event {
            out.push(Item::Problem(Problem::UnterminatedEvent));
        }
        let last_event_id = std::mem::take(&mut self.last_event_id);
        *self = Self::resume(self.limits, last_event_id);
        out
    }

    /// Strips one BOM at the stream start, holding back a partial BOM until the next chunk shows
    /// whether it is one. Returns the bytes that belong to lines.
    fn skip_bom<'a>(&mut self, bytes: &'a [u8], out: &mut Vec<Item>) -> &'a [u8] {
        let Start::Undecided(held) = &mut self.start else {
            return bytes;
        };
        let mut used = 0;
        while held.len() < BOM.len() {
            let Some(&byte) = bytes.get(used) else {
                // Still a BOM prefix; the next chunk (or finish) decides.
                return &[];
            };
            if byte != BOM[held.len()] {
                // Not a BOM: what was held back is the start of the first line.
                let held = std::mem::take(held);
                self.start = Start::Decided;
                self.consume(&held, out);
                return &bytes[used..];
            }
            held.push(byte);
            used += 1;
        }
        self.start = Start::Decided;
        &bytes[used..]
    }

    /// Splits bytes into lines; CRLF, LF and CR each end a line.
    fn consume(&mut self, mut bytes: &[u8], out: &mut Vec<Item>) {
        loop {
            if self.after_cr {
                let Some(&first) = bytes.first() else { return };
                self.after_cr = false;
                if first == b'\n' {
                    bytes = &bytes[1..];
                }
            }
            match bytes.iter().position(|&b| b == b'\n' || b == b'\r') {
                None => {
                    self.append(bytes, out);
                    return;
                }
                Some(end) => {
                    self.append(&bytes[..end], out);
                    self.end_line(out);
                    self.after_cr = bytes[end] == b'\r';
                    bytes = &bytes[end + 1..];
                }
            }
        }
    }

    /// Adds bytes to the current line, or starts skipping it once it is too long.
    fn append(&mut self, bytes: &[u8], out: &mut Vec<Item>) {
        if self.skipping_line || bytes.is_empty() {
            return;
        }
        if self.line.len() + bytes.len() <= self.limits.max_line {
            self.line.extend_from_slice(bytes);
            return;
        }
        // A comment can go without harm; any other field may have carried data we cannot see
        // whole (the field name may not even be known), so its event must not be dispatched.
        let comment = self.line.first().or(bytes.first()) == Some(&b':');
        if !comment {
            self.discard_event();
        }
        self.skipping_line = true;
        self.line.clear();
        out.push(Item::Problem(Problem::LineTooLong {
            line: self.line_number,
            limit: self.limits.max_line,
        }));
    }

    fn end_line(&mut self, out: &mut Vec<Item>) {
        if self.skipping_line {
            self.skipping_line = false;
        } else {
            let line = std::mem::take(&mut self.line);
            self.process_line(&line, out);
            // Reuse the allocation for the next line unless a long line made it large.
            self.line = line;
            self.line.clear();
        }
        self.line.shrink_to(KEPT_CAPACITY);
        self.line_number = self.line_number.saturating_add(1);
    }

    /// §9.2.6: one complete line.
    fn process_line(&mut self, bytes: &[u8], out: &mut Vec<Item>) {
        let text = String::from_utf8_lossy(bytes);
        if matches!(text, std::borrow::Cow::Owned(_)) {
            out.push(Item::Problem(Problem::InvalidUtf8 {
                line: self.line_number,
            }));
        }
        if text.is_empty() {
            self.dispatch(out);
            return;
        }
        if let Some(comment) = text.strip_prefix(':') {
            out.push(Item::Comment(comment.to_owned()));
            return;
        }
        let (field, value) = match text.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (text.as_ref(), ""),
        };
        match field {
            "event" => self.event_type = Some(value.to_owned()),
            "data" => self.add_data(value, out),
            "id" if value.contains('\0') => out.push(Item::Problem(Problem::IdWithNul {
                line: self.line_number,
            })),
            "id" if !fits_a_header(value) => out.push(Item::Problem(Problem::IdNotAHeader {
                line: self.line_number,
            })),
            "id" => {
                self.last_event_id = value.to_owned();
                self.event_id = Some(value.to_owned());
            }
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                out.push(Item::Retry(parse_digits(value)));
            }
            "retry" => out.push(Item::Problem(Problem::InvalidRetry {
                line: self.line_number,
                value: value.chars().take(SHOWN_VALUE_CHARS).collect(),
            })),
            // The standard ignores unknown fields.
            _ => {}
        }
    }

    fn add_data(&mut self, value: &str, out: &mut Vec<Item>) {
        if self.discarded {
            return;
        }
        // The buffer holds every line followed by LF; the dispatched data drops the last LF.
        if self.data.len() + value.len() > self.limits.max_event_data {
            self.discard_event();
            out.push(Item::Problem(Problem::DataTooLarge {
                line: self.line_number,
                limit: self.limits.max_event_data,
            }));
            return;
        }
        self.data.push_str(value);
        self.data.push('\n');
    }

    /// Drops the data of the current event and refuses to dispatch it; the id and retry fields
    /// of its remaining lines still apply, as they do for any event.
    fn discard_event(&mut self) {
        self.discarded = true;
        self.data = String::new();
    }

    /// A blank line: dispatch the event, if it has data and lost none.
    fn dispatch(&mut self, out: &mut Vec<Item>) {
        let mut data = std::mem::take(&mut self.data);
        let named = self.event_type.take();
        let id = self.event_id.take();
        let discarded = std::mem::replace(&mut self.discarded, false);
        if discarded || data.is_empty() {
            return;
        }
        data.pop();
        let event_type = match named.as_deref() {
            None | Some("") => "message".to_owned(),
            Some(name) => name.to_owned(),
        };
        out.push(Item::Event(Event {
            event_type,
            named,
            data,
            id,
            last_event_id: self.last_event_id.clone(),
        }));
    }

    #[cfg(test)]
    fn buffered(&self) -> usize {
        self.line.capacity() + self.data.capacity()
    }
}

/// Whether a header value can carry `id` as it is: any byte but the control characters (HTAB
/// allowed), as `http::HeaderValue` and RFC 9110 §5.5 say.
fn fits_a_header(id: &str) -> bool {
    id.bytes().all(|b| b == b'\t' || (b >= 0x20 && b != 0x7F))
}

/// Base-ten digits to a number, saturating: a retry of more than 584 million years means "never"
/// just as well.
fn parse_digits(digits: &str) -> u64 {
    digits.bytes().fold(0u64, |n, d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    })
}

#[cfg(test)]
mod tests;
