//! GitHub Actions workflow commands in text a server wrote (issue 11): where the runner would
//! find one, and how [`shown`](super::shown) and every JSON document keep it from finding any.
//!
//! The runner reads each line of a step's stdout and stderr as a command two ways
//! (`ActionCommandManager.TryProcessCommand`): `::name::value` once leading whitespace is trimmed
//! (`ActionCommand.TryParseV2`), and the older `##[name]value` *anywhere in the line*
//! (`ActionCommand.TryParse`), for every command it knows: `error`, `warning`, `notice` and
//! `debug`, `group`, `add-mask`, `set-output`, `save-state`, `echo`, `add-matcher`, and
//! `stop-commands`, which turns every later command off (ours too) until its token comes back.
//! Both look with .NET's culture-sensitive `IndexOf`/`StartsWith`, which under ICU skip
//! characters that weigh nothing: controls (ESC too, so our own colour codes), soft hyphens,
//! zero-width joiners, variation selectors. So `#`, ESC, `[` is `##[` to the runner as well.
//!
//! Human output escapes, in each piece of server text, a `#` that could be the second of a
//! `##[` and a `:` the piece starts with ([`marks`]); JSON writes such a `#` as `\u0023`
//! ([`JsonOut`]), the same string once parsed. Always, not only under `GITHUB_ACTIONS`: output
//! saved to a file is often printed by a later step.

use std::io::{self, Write};

use serde::Serialize;

/// Where a scan stands between two bytes: after nothing of note, or after a `#` and only
/// skippable bytes since.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Plain,
    AfterHash,
}

/// What a scan of some bytes found.
#[derive(Debug)]
struct Scan {
    /// The `#`s each followed, past skippable bytes only, by `[`: the second of a `##[`.
    marks: Vec<usize>,
    /// The state after the last byte.
    end: State,
    /// A `#` that would be such a second one if a `[` followed the bytes.
    held: Option<usize>,
}

/// A byte the runner's search may skip: ASCII controls and, as JSON streams past in pieces
/// that may split a character, every byte of every non-ASCII character (a superset of the
/// characters ICU ignores; a `#` escaped for nothing is still the same `#`).
fn skippable(byte: u8) -> bool {
    !(0x20..0x7f).contains(&byte)
}

/// Finds every `#` that is the second of a `#`, `#`, `[` with only skippable bytes between,
/// starting in `state` (so a `#` may come from an earlier piece).
fn scan(bytes: &[u8], mut state: State) -> Scan {
    let mut marks = Vec::new();
    let mut held = None;
    let mut at = 0;
    while let Some(&byte) = bytes.get(at) {
        match (state, held) {
            (State::Plain, _) => match memchr::memchr(b'#', &bytes[at..]) {
                Some(offset) => {
                    at += offset;
                    state = State::AfterHash;
                }
                None => break,
            },
            (State::AfterHash, None) if byte == b'#' => held = Some(at),
            (State::AfterHash, Some(hash)) if byte == b'[' => {
                marks.push(hash);
                held = None;
                state = State::Plain;
            }
            // `###`: the middle one is followed by `#`, not `[`; the last may still be.
            (State::AfterHash, Some(_)) if byte == b'#' => held = Some(at),
            (State::AfterHash, _) if skippable(byte) => {}
            (State::AfterHash, _) => {
                held = None;
                state = State::Plain;
            }
        }
        at += 1;
    }
    Scan {
        marks,
        end: state,
        held,
    }
}

/// Whether the runner's `StartsWith` may skip `c`: a control or a character that weighs
/// nothing in Unicode collation (format characters and the other default-ignorable code
/// points).
fn invisible(c: char) -> bool {
    c.is_control()
        || matches!(u32::from(c),
            0xad | 0x34f | 0x61c | 0x600..=0x605 | 0x6dd | 0x70f | 0x890..=0x891 | 0x8e2
            | 0x115f..=0x1160 | 0x17b4..=0x17b5 | 0x180b..=0x180f | 0x200b..=0x200f
            | 0x202a..=0x202e | 0x2060..=0x206f | 0x3164 | 0xfe00..=0xfe0f | 0xfeff | 0xffa0
            | 0xfff0..=0xfffb | 0x110bd | 0x110cd | 0x13430..=0x1343f | 0x1bca0..=0x1bca3
            | 0x1d173..=0x1d17a | 0xe0000..=0xe0fff)
}

/// The byte offsets, in order, of the characters of a piece of server text that human output
/// must write escaped (besides its controls): a `#` that could be the second of a `##[`, and a
/// `:` that starts the piece after whitespace and invisible characters (a `::` command once
/// the runner trims the line). Pieces are put next to each other and to our colour codes
/// (ESC, then `[`), so the start of the piece counts as a `#` before it and its end as a `[`
/// after it: no `##[` can then form of a `#` the piece holds, whatever is around it.
pub(super) fn marks(text: &str) -> Vec<usize> {
    let scan = scan(text.as_bytes(), State::AfterHash);
    let mut marks = scan.marks;
    marks.extend(scan.held);
    let colon = text
        .char_indices()
        .find(|(_, c)| !(c.is_whitespace() || invisible(*c)))
        .filter(|(_, c)| *c == ':');
    if let Some((at, _)) = colon {
        // Before the first `#` mark: a `#` mark needs a `#` before it, so none is at the start.
        marks.insert(0, at);
    }
    marks
}

/// A writer for serialized JSON that writes the second `#` of every `##[` as `\u0023`: valid
/// JSON and the same string once parsed, since a `#` only occurs inside strings. Whole pieces
/// go through as they are, without a copy; only a `#` that the next piece may turn into one
/// waits for it. [`JsonOut::finish`] writes what waits.
pub struct JsonOut<'a> {
    out: &'a mut dyn Write,
    state: State,
    /// From a held `#` to the end of the last piece.
    waiting: Vec<u8>,
}

impl<'a> JsonOut<'a> {
    pub fn new(out: &'a mut dyn Write) -> Self {
        Self {
            out,
            state: State::Plain,
            waiting: Vec::new(),
        }
    }

    /// Writes what still waits (a `#` at the end of the document is just a `#`).
    pub fn finish(mut self) -> io::Result<()> {
        self.out.write_all(&self.waiting)?;
        self.waiting.clear();
        self.out.flush()
    }

    fn piece(&mut self, bytes: &[u8]) -> io::Result<()> {
        let scan = scan(bytes, self.state);
        let ready = scan.held.unwrap_or(bytes.len());
        let mut from = 0;
        for hash in scan.marks {
            self.out.write_all(&bytes[from..hash])?;
            self.out.write_all(br"\u0023")?;
            from = hash + 1;
        }
        self.out.write_all(&bytes[from..ready])?;
        self.waiting.extend_from_slice(&bytes[ready..]);
        // What waits starts at a `#` after a `#`: the next piece goes on from there.
        self.state = if scan.held.is_some() {
            State::AfterHash
        } else {
            scan.end
        };
        Ok(())
    }
}

impl Write for JsonOut<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.waiting.is_empty() {
            self.piece(buf)?;
        } else {
            // Rare (a piece that ends in `#`, `#` and skippable bytes): the piece after it is
            // scanned from the held `#` on.
            let mut joined = std::mem::take(&mut self.waiting);
            joined.extend_from_slice(buf);
            self.piece(&joined)?;
        }
        Ok(buf.len())
    }

    /// Flushes what is written; a held `#` keeps waiting for the piece after it.
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// `value` as pretty-printed JSON, through [`JsonOut`]. serde_json writes a document in
/// millions of pieces of a few bytes; a buffer in front gathers them, so the scan (and the
/// stream behind it) sees few large ones.
pub fn write_pretty(out: &mut dyn Write, value: &impl Serialize) -> io::Result<()> {
    let mut json = JsonOut::new(out);
    let mut buffered = io::BufWriter::with_capacity(64 * 1024, &mut json);
    serde_json::to_writer_pretty(&mut buffered, value)?;
    buffered.flush()?;
    drop(buffered);
    json.finish()
}

/// `value` as one line of compact JSON, through [`JsonOut`].
pub fn json_text(value: &impl Serialize) -> String {
    let mut bytes = Vec::new();
    let mut json = JsonOut::new(&mut bytes);
    // Writing to a Vec fails only if `value`'s Serialize does (a map with non-string keys),
    // which no value `ofrep` writes does; the text is UTF-8, `\u0023` being ASCII.
    if serde_json::to_writer(&mut json, value).is_err() || json.finish().is_err() {
        return String::new();
    }
    String::from_utf8(bytes).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    /// `value` written through [`JsonOut`] in pieces of `size` bytes.
    fn in_pieces(value: &Value, size: usize) -> String {
        let text = serde_json::to_string_pretty(value).unwrap();
        let mut bytes = Vec::new();
        let mut json = JsonOut::new(&mut bytes);
        for piece in text.as_bytes().chunks(size) {
            json.write_all(piece).unwrap();
        }
        json.finish().unwrap();
        String::from_utf8(bytes).unwrap()
    }

    /// What the runner's culture-sensitive search sees: the text without what it skips.
    fn as_the_runner_reads(text: &str) -> String {
        text.chars().filter(|c| !invisible(*c)).collect()
    }

    const HOSTILE: &[&str] = &[
        "##[error]pwned",
        "x##[stop-commands]token",
        "###[warning]w",
        "#\u{ad}#\u{200d}[add-mask]m",
        "#\u{7f}#\u{9b}[debug]d",
        "##\u{1b}[0m",
        "##",
        "#",
        "#[",
        "a##b#[c]##",
        "é#日#[",
    ];

    #[test]
    fn json_has_no_command_and_parses_to_the_same_value() {
        let keys: serde_json::Map<String, Value> = HOSTILE
            .iter()
            .map(|s| (s.to_string(), json!([s])))
            .collect();
        let value = json!({
            "flags": HOSTILE.iter().map(|s| json!({"key": s, "variant": s})).collect::<Vec<_>>(),
            "metadata": keys,
        });
        let whole = serde_json::to_string_pretty(&value).unwrap();
        assert!(whole.contains("##[error]"), "the test must start hostile");
        for size in [1, 2, 3, 5, 7, 64, usize::MAX] {
            let safe = in_pieces(&value, size);
            assert!(
                !as_the_runner_reads(&safe).contains("##["),
                "pieces of {size}:\n{safe}"
            );
            assert!(safe.contains(r"#\u0023[error]"), "{safe}");
            let parsed: Value = serde_json::from_str(&safe).unwrap();
            assert_eq!(parsed, value, "pieces of {size}");
        }
    }

    #[test]
    fn a_pretty_document_larger_than_the_buffer_has_no_command_either() {
        let value = json!(
            (0..20_000)
                .map(|n| HOSTILE[n % HOSTILE.len()])
                .collect::<Vec<_>>()
        );
        let mut bytes = Vec::new();
        write_pretty(&mut bytes, &value).unwrap();
        let safe = String::from_utf8(bytes).unwrap();
        assert!(safe.len() > 4 * 64 * 1024, "{} bytes", safe.len());
        assert!(!as_the_runner_reads(&safe).contains("##["));
        assert_eq!(serde_json::from_str::<Value>(&safe).unwrap(), value);
    }

    #[test]
    fn json_without_a_command_is_written_as_it_is() {
        let value = json!({"a": "#1 [x] ##", "b": "# [", "c": "é#[", "d": "#"});
        assert_eq!(
            in_pieces(&value, 1),
            serde_json::to_string_pretty(&value).unwrap()
        );
        assert_eq!(json_text(&value), value.to_string());
        assert_eq!(
            json_text(&json!({"k": "##[error]x"})),
            r##"{"k":"#\u0023[error]x"}"##
        );
    }

    #[test]
    fn a_piece_ending_in_two_hashes_waits_for_the_next() {
        let mut bytes = Vec::new();
        let mut json = JsonOut::new(&mut bytes);
        json.write_all(b"\"##").unwrap();
        json.write_all("\u{ad}".as_bytes()).unwrap();
        json.write_all(b"[\"").unwrap();
        json.finish().unwrap();
        assert_eq!(String::from_utf8(bytes).unwrap(), "\"#\\u0023\u{ad}[\"");
    }

    #[test]
    fn marks_cover_both_hash_ends_and_a_leading_colon() {
        assert_eq!(marks("plain # text: ##"), vec![15]);
        assert_eq!(marks("##[error]"), vec![1]);
        assert_eq!(marks("#"), vec![0]);
        assert_eq!(marks("#[x"), vec![0]);
        assert_eq!(marks("#x"), Vec::<usize>::new());
        assert_eq!(marks("C# and C++"), Vec::<usize>::new());
        assert_eq!(marks("::error::x"), vec![0]);
        assert_eq!(marks(" \u{ad}:warning::x"), vec![3]);
        assert_eq!(marks("a::b"), Vec::<usize>::new());
        assert_eq!(marks("中文: x"), Vec::<usize>::new());
    }
}
