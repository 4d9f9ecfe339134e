//! The reporting layer: the only place that decides how results look. Core modules hand it
//! values; it writes human text or JSON.

pub mod conform;
pub mod fetch;
pub mod serve;
pub mod shell;
mod ui;
pub mod watch;
mod workflow;

pub use ui::Ui;
pub use workflow::{JsonOut, json_text, write_pretty};

use std::borrow::Cow;

use anstyle::{AnsiColor, Style};

use crate::protocol::finding::Level;

/// The styles human output uses; all plain when colour is off. anstyle styles are plain values
/// rendered inline, so there is no global colour switch to forget to set.
#[derive(Debug, Clone, Copy)]
pub struct Palette {
    pub good: Style,
    pub warn: Style,
    pub bad: Style,
    pub dim: Style,
    pub strong: Style,
    pub key: Style,
}

impl Palette {
    pub fn new(colour: bool) -> Self {
        if !colour {
            let plain = Style::new();
            return Self {
                good: plain,
                warn: plain,
                bad: plain,
                dim: plain,
                strong: plain,
                key: plain,
            };
        }
        Self {
            good: AnsiColor::Green.on_default(),
            warn: AnsiColor::Yellow.on_default(),
            bad: AnsiColor::Red.on_default().bold(),
            dim: Style::new().dimmed(),
            strong: Style::new().bold(),
            key: AnsiColor::Cyan.on_default(),
        }
    }

    /// `text` wrapped in `style` (and nothing when the style is plain).
    pub fn paint(&self, style: Style, text: impl std::fmt::Display) -> String {
        format!("{style}{text}{style:#}")
    }

    pub fn level(&self, level: Level) -> Style {
        match level {
            Level::Must => self.bad,
            Level::Should => self.warn,
            Level::Info => self.dim,
        }
    }
}

/// Text that came from a server, made safe for a terminal and a CI log: every control
/// character (C0, DEL, C1: ESC among them, which would let a server move the cursor, recolour
/// or retitle the terminal) is written as `\u{1b}`; printable Unicode is kept. So are, in the
/// same notation, a `#` that could be the second of a `##[` (`#\u{23}[`) and a `:` the text
/// starts with (`\u{3a}:`), which GitHub's runner would read as a workflow command anywhere in
/// a line, or at its start (see [`workflow`]). Applied to every server-supplied string in human
/// output and `-v` lines, whether or not colour is on; JSON goes through [`JsonOut`].
pub fn shown(text: &str) -> Cow<'_, str> {
    let marks = workflow::marks(text);
    if marks.is_empty() && !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut marks = marks.into_iter().peekable();
    let mut out = String::with_capacity(text.len() + 8);
    for (at, c) in text.char_indices() {
        if c.is_control() || marks.next_if_eq(&at).is_some() {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// The top-level error on stderr, as `error: what happened` and a `hint:` line where there is
/// one. Messages may quote a server (a status reason, a URL), so each line is [`shown`].
pub fn error(error: &crate::error::Error) {
    let safe = |text: &str| -> String {
        text.lines()
            .map(|line| shown(line).into_owned())
            .collect::<Vec<_>>()
            .join("\n")
    };
    eprintln!("error: {}", safe(&error.to_string()));
    if let Some(hint) = error.hint() {
        eprintln!("hint: {}", safe(hint));
    }
}

/// Pads `text` to `width` characters (not bytes: keys and values may be any Unicode).
pub fn pad(text: &str, width: usize) -> String {
    let len = text.chars().count();
    format!("{text}{}", " ".repeat(width.saturating_sub(len)))
}

/// Shortens `text` to at most `max` characters with an ellipsis.
pub fn ellipsize(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let kept: String = text.chars().take(max.saturating_sub(1)).collect();
    format!("{kept}…")
}

/// Milliseconds with a precision that suits the size.
pub fn millis(duration: std::time::Duration) -> String {
    let ms = duration.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_palettes_add_no_escape_codes() {
        assert_eq!(Palette::new(false).paint(Palette::new(false).bad, "x"), "x");
        assert!(
            Palette::new(true)
                .paint(Palette::new(true).bad, "x")
                .contains('\u{1b}')
        );
    }

    #[test]
    fn server_text_loses_its_control_characters_but_keeps_unicode() {
        assert_eq!(shown("plain é ✓"), "plain é ✓");
        assert_eq!(shown("a\u{1b}[31mred"), "a\\u{1b}[31mred");
        assert_eq!(
            shown("bell\u{7}\u{7f}\u{9b}\n"),
            "bell\\u{7}\\u{7f}\\u{9b}\\u{a}"
        );
        assert!(matches!(shown("ok"), Cow::Borrowed(_)));
    }

    #[test]
    fn server_text_cannot_write_a_github_workflow_command() {
        assert_eq!(shown("x##[error]pwned"), "x#\\u{23}[error]pwned");
        assert_eq!(shown("##[stop-commands]t"), "#\\u{23}[stop-commands]t");
        // ESC counts for nothing in the runner's search, so `#`, ESC, `[` is `##[` as well.
        assert_eq!(shown("##\u{1b}[0m"), "#\\u{23}\\u{1b}[0m");
        assert_eq!(shown("#\u{ad}#[x"), "#\u{ad}\\u{23}[x");
        // Next to other text and our colour codes: the ends count as `#` and `[`.
        assert_eq!(shown("tag##"), "tag#\\u{23}");
        assert_eq!(shown("#[x"), "\\u{23}[x");
        // A line that starts, after its indent, with the text: `::` would start a command.
        assert_eq!(shown("::error::x"), "\\u{3a}:error::x");
        assert_eq!(shown(" ::warning::x"), " \\u{3a}:warning::x");
        for plain in ["#1", "C# [x]", "a::b", "https://[::1]:8080/", "é ✓ 中文"] {
            assert!(matches!(shown(plain), Cow::Borrowed(_)), "{plain}");
        }
    }

    #[test]
    fn padding_and_ellipsis_count_characters() {
        assert_eq!(pad("é", 3), "é  ");
        assert_eq!(ellipsize("abcdef", 4), "abc…");
        assert_eq!(ellipsize("abc", 4), "abc");
    }
}
