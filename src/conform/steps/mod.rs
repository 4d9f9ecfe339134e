//! The step vocabulary: every sentence a scenario may use, with an example each. Steps are
//! matched once, when a file is loaded, into an [`Action`]; an unknown sentence is an error that
//! names file:line and the closest known step.
//!
//! Placeholders are self-delimiting, so matching needs no backtracking:
//! `{string}` a double-quoted string (`\"` and `\\` escapes; `{name}` inside it is replaced by a
//! remembered value when the step runs), `{int}` digits, `{name}` a word to remember a value as,
//! `{id}` a checklist id.

mod vocabulary;

pub use vocabulary::VOCABULARY;

/// A matched step, ready to run.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    SetContext(String),
    SetHeader(String, String),
    NoCredentials,
    Bulk {
        if_none_match: Option<String>,
        query: Option<String>,
        raw_body: Option<String>,
        origin: Option<String>,
    },
    Single {
        key: String,
        raw_body: Option<String>,
    },
    Preflight {
        origin: String,
        headers: String,
    },
    RememberEtag(String),
    RememberFlags(String),
    RememberFirstFlagKey(String),
    StatusIs(u16),
    StatusIsNot(u16),
    StatusOneOf(Vec<u16>),
    NoBody,
    HasEtag,
    EtagValid,
    EtagIs(String),
    EtagIsNot(String),
    HeaderIncludes(String, String),
    PassesCheck(String),
    AdvertisesStreams,
    BodyField(String, String),
    StatusOkUnlessFlagsEqual(String),
    Connect {
        last_event_id: Option<String>,
    },
    Disconnect,
    StreamIsEventStream,
    EventWithin(u64),
    ActivityWithin(u64),
    EventPassesCheck(String),
    StreamPassesCheck(String),
    RememberEventId(String),
    ChangeFlag,
    PollAnswers {
        seconds: u64,
        if_none_match: String,
        status: u16,
    },
    /// Refetch until a 200 with an ETag other than `if_none_match`, with or without the last
    /// event's metadata as query parameters.
    NewEtagWithin {
        seconds: u64,
        if_none_match: String,
        event_metadata: bool,
    },
    Wait(u64),
}

/// One captured placeholder.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Arg {
    Text(String),
    Int(u64),
}

/// The `i`th placeholder as text (an int as its digits).
pub(crate) fn text(args: &[Arg], i: usize) -> String {
    match args.get(i) {
        Some(Arg::Text(t)) => t.clone(),
        Some(Arg::Int(n)) => n.to_string(),
        None => String::new(),
    }
}

/// The `i`th placeholder as a number (0 when it is not one).
pub(crate) fn int(args: &[Arg], i: usize) -> u64 {
    match args.get(i) {
        Some(Arg::Int(n)) => *n,
        _ => 0,
    }
}

/// The `i`th placeholder as an HTTP status.
pub(crate) fn status(args: &[Arg], i: usize) -> Result<u16, ResolveError> {
    u16::try_from(int(args, i))
        .ok()
        .filter(|s| (100..=599).contains(s))
        .ok_or_else(|| ResolveError::NotAnHttpStatus(int(args, i)))
}

/// One vocabulary entry: group, pattern, example, help, and how it builds its action.
macro_rules! step {
    ($group:literal, $pattern:literal, $example:literal, $help:literal, $build:expr) => {
        $crate::conform::steps::StepDef {
            group: $group,
            pattern: $pattern,
            example: $example,
            help: $help,
            build: $build,
        }
    };
}

pub(crate) use step;

/// Why a step's text does not resolve to an [`Action`]. The loader puts `file:line: ` in front.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error("unknown step `{text}`; did you mean `{closest}`?")]
    UnknownStep { text: String, closest: &'static str },
    #[error("this step needs a doc string")]
    NeedsDocString,
    #[error("{0} is not an HTTP status")]
    NotAnHttpStatus(u64),
    /// An entry of `the status is one of "…"` that is not a number.
    #[error("`{0}` is not a status")]
    NotAStatus(String),
    #[error("`{0}` is not a checklist id")]
    NotACheckId(String),
}

pub(crate) type Build<A> = fn(&[Arg], Option<&str>) -> Result<A, ResolveError>;

/// One sentence of a vocabulary: the server suite's ([`VOCABULARY`], building an [`Action`]) or
/// the provider suite's (`conform::provider::steps`).
pub struct StepDef<A = Action> {
    pub group: &'static str,
    pub pattern: &'static str,
    pub example: &'static str,
    pub help: &'static str,
    pub(crate) build: Build<A>,
}

/// Matches one step's text (without its keyword) against the server vocabulary.
pub fn resolve(text: &str, docstring: Option<&str>) -> Result<Action, ResolveError> {
    resolve_in(VOCABULARY, text, docstring)
}

/// Matches one step's text (without its keyword) against `vocabulary`.
pub fn resolve_in<A>(
    vocabulary: &'static [StepDef<A>],
    text: &str,
    docstring: Option<&str>,
) -> Result<A, ResolveError> {
    let text = plural_units(text.trim());
    let text = text.as_str();
    for def in vocabulary {
        if let Some(args) = match_pattern(def.pattern, text) {
            return (def.build)(&args, docstring);
        }
    }
    Err(ResolveError::UnknownStep {
        text: text.to_owned(),
        closest: closest(vocabulary, text).map_or("", |def| def.pattern),
    })
}

/// `1 second` and `1 millisecond` read as the patterns' `{int} seconds` / `{int} milliseconds`,
/// so a scenario can be written as English ("within 1 second of reconnecting").
pub(crate) fn plural_units(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    let mut rest = text;
    while let Some(at) = rest.find("1 ") {
        let (before, after) = rest.split_at(at + 2);
        out.push_str(before);
        rest = after;
        // Only a lone `1`: `21 second` is not English, and is left for the matcher to refuse.
        let lone = before.len() == 2 || !before.as_bytes()[before.len() - 3].is_ascii_digit();
        for unit in ["second", "millisecond"] {
            let singular = rest
                .strip_prefix(unit)
                .is_some_and(|tail| !tail.starts_with(|c: char| c.is_alphanumeric()));
            if lone && singular {
                out.push_str(unit);
                out.push('s');
                rest = &rest[unit.len()..];
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The entry of `vocabulary` whose pattern is nearest to `text` (Levenshtein over characters).
pub fn closest<A>(vocabulary: &'static [StepDef<A>], text: &str) -> Option<&'static StepDef<A>> {
    vocabulary
        .iter()
        .min_by_key(|def| levenshtein(&strip_placeholders(def.pattern), &strip_placeholders(text)))
}

/// Placeholder values make distances meaningless; compare the words around them.
fn strip_placeholders(text: &str) -> String {
    let mut out = String::new();
    let mut in_quote = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if in_quote => {
                chars.next();
            }
            '"' => {
                in_quote = !in_quote;
                if in_quote {
                    out.push_str("{string}");
                }
            }
            _ if in_quote => {}
            _ => out.push(c),
        }
    }
    out
}

/// The edit distance between two strings, in characters.
pub(crate) fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

/// Matches `text` against `pattern`, returning the placeholder values, or `None`.
pub(crate) fn match_pattern(pattern: &str, text: &str) -> Option<Vec<Arg>> {
    let mut args = Vec::new();
    let mut rest = text;
    let mut pattern = pattern;
    while !pattern.is_empty() {
        if let Some(after) = pattern.strip_prefix('{') {
            let end = after.find('}')?;
            let (kind, tail) = (&after[..end], &after[end + 1..]);
            let (arg, remaining) = match kind {
                "string" => quoted(rest)?,
                "int" => {
                    let digits = rest
                        .find(|c: char| !c.is_ascii_digit())
                        .unwrap_or(rest.len());
                    let n = rest[..digits].parse().ok()?;
                    (Arg::Int(n), &rest[digits..])
                }
                "name" | "id" => {
                    let end = rest
                        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
                        .unwrap_or(rest.len());
                    if end == 0 {
                        return None;
                    }
                    (Arg::Text(rest[..end].to_owned()), &rest[end..])
                }
                _ => return None,
            };
            args.push(arg);
            rest = remaining;
            pattern = tail;
        } else {
            let end = pattern.find('{').unwrap_or(pattern.len());
            rest = rest.strip_prefix(&pattern[..end])?;
            pattern = &pattern[end..];
        }
    }
    rest.is_empty().then_some(args)
}

/// A double-quoted string at the start of `text`, unescaped, and what follows it.
fn quoted(text: &str) -> Option<(Arg, &str)> {
    let inner = text.strip_prefix('"')?;
    let mut value = String::new();
    let mut chars = inner.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => value.push(chars.next()?.1),
            '"' => return Some((Arg::Text(value), &inner[i + 1..])),
            _ => value.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_example_resolves_to_its_own_pattern() {
        for def in VOCABULARY {
            let (text, doc) = match def.example.split_once('\n') {
                Some((first, _)) => (first, Some("{\"targetingKey\": \"user-2\"}")),
                None => (def.example, None),
            };
            let first_match = VOCABULARY
                .iter()
                .find(|d| match_pattern(d.pattern, text).is_some())
                .map(|d| d.pattern);
            assert_eq!(first_match, Some(def.pattern), "example `{text}`");
            assert!(
                resolve(text, doc).is_ok(),
                "example `{text}`: {:?}",
                resolve(text, doc)
            );
        }
    }

    #[test]
    fn placeholders_capture_strings_ints_and_names() {
        assert_eq!(
            resolve(
                "I request a bulk evaluation with If-None-Match \"W/\\\"x\\\"\" and query \"a=1\"",
                None
            ),
            Ok(Action::Bulk {
                if_none_match: Some("W/\"x\"".into()),
                query: Some("a=1".into()),
                raw_body: None,
                origin: None
            })
        );
        assert_eq!(
            resolve("the status is 304", None),
            Ok(Action::StatusIs(304))
        );
        assert_eq!(
            resolve("I remember the ETag as etag", None),
            Ok(Action::RememberEtag("etag".into()))
        );
        assert_eq!(
            resolve("the status is one of \"401, 403\"", None),
            Ok(Action::StatusOneOf(vec![401, 403]))
        );
    }

    #[test]
    fn longer_patterns_are_not_swallowed_by_shorter_ones() {
        assert_eq!(
            resolve("the status is not 304", None),
            Ok(Action::StatusIsNot(304))
        );
        assert!(matches!(
            resolve("I request a bulk evaluation with query \"a=1\"", None),
            Ok(Action::Bulk { query: Some(_), .. })
        ));
    }

    #[test]
    fn bad_arguments_and_unknown_steps_are_explained() {
        assert!(
            resolve("the status is 999", None)
                .unwrap_err()
                .to_string()
                .contains("not an HTTP status")
        );
        assert!(
            resolve("the answer passes check no-such-check", None)
                .unwrap_err()
                .to_string()
                .contains("not a checklist id")
        );
        let err = resolve("the statu is 200", None).unwrap_err().to_string();
        assert!(err.contains("did you mean `the status is {int}`"), "{err}");
        let err = resolve("I requests a bulk evaluations", None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("did you mean `I request a bulk evaluation`"),
            "{err}"
        );
    }

    #[test]
    fn one_second_reads_as_the_plural_pattern() {
        assert_eq!(
            plural_units("within 1 second of reconnecting"),
            "within 1 seconds of reconnecting"
        );
        assert_eq!(
            plural_units("I wait 1 millisecond"),
            "I wait 1 milliseconds"
        );
        assert_eq!(plural_units("for 1 seconds"), "for 1 seconds");
        assert_eq!(plural_units("21 second"), "21 second");
        assert_eq!(plural_units("1 secondary"), "1 secondary");
        assert_eq!(resolve("I wait 1 millisecond", None), Ok(Action::Wait(1)));
    }

    #[test]
    fn an_unterminated_string_does_not_match() {
        assert!(resolve("the ETag is \"abc", None).is_err());
    }
}
