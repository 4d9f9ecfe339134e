//! Entity tags and `If-None-Match` (RFC 9110 §8.8.3 and §13.1.2).
//!
//! The client grades the ETag a server sends; the reference server decides 304s with the same
//! code, so both sides agree on what a valid tag and a match are.

use std::fmt;

/// What an `ETag` header value is, as a verdict a person can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EtagVerdict {
    /// `"opaque"`
    Strong,
    /// `W/"opaque"`
    Weak,
    /// Present but not an RFC 9110 entity-tag (unquoted, stray characters, ...).
    Invalid,
    /// No `ETag` header at all.
    Missing,
}

impl EtagVerdict {
    pub fn of(header: Option<&str>) -> Self {
        match header.map(EntityTag::parse) {
            None => Self::Missing,
            Some(Some(tag)) if tag.weak => Self::Weak,
            Some(Some(_)) => Self::Strong,
            Some(None) => Self::Invalid,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Strong => "strong",
            Self::Weak => "weak",
            Self::Invalid => "not an RFC 9110 entity-tag",
            Self::Missing => "missing",
        }
    }
}

impl fmt::Display for EtagVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A parsed entity-tag: `W/` or not, and the opaque part without its quotes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityTag<'a> {
    pub weak: bool,
    pub opaque: &'a str,
}

impl<'a> EntityTag<'a> {
    /// Parses exactly one entity-tag; surrounding whitespace is allowed, anything else is not.
    pub fn parse(text: &'a str) -> Option<Self> {
        let (tag, rest) = Self::parse_prefix(text.trim())?;
        rest.is_empty().then_some(tag)
    }

    /// Parses one entity-tag at the start of `text`, returning it and the unparsed rest.
    fn parse_prefix(text: &'a str) -> Option<(Self, &'a str)> {
        let (weak, text) = match text.strip_prefix("W/") {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let inner = text.strip_prefix('"')?;
        let end = inner.find('"')?;
        let opaque = &inner[..end];
        // etagc = %x21 / %x23-7E / obs-text: no spaces, no controls, no quotes (found above).
        if !opaque
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x7e).contains(&b) || b >= 0x80)
        {
            return None;
        }
        Some((Self { weak, opaque }, &inner[end + 1..]))
    }
}

/// `If-None-Match` as RFC 9110 defines it: `*` or a comma-separated list of entity-tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IfNoneMatch<'a> {
    Any,
    Tags(Vec<EntityTag<'a>>),
}

impl<'a> IfNoneMatch<'a> {
    /// Parses the header. Members that are not entity-tags are kept as opaque strings compared
    /// literally, because the OFREP spec's own examples send unquoted ETags and a server that
    /// echoes them back should still be able to answer 304.
    pub fn parse(text: &'a str) -> Self {
        let text = text.trim();
        if text == "*" {
            return Self::Any;
        }
        let mut tags = Vec::new();
        let mut rest = text;
        loop {
            rest = rest.trim_start_matches([' ', '\t', ',']);
            if rest.is_empty() {
                break;
            }
            if let Some((tag, after)) = EntityTag::parse_prefix(rest) {
                tags.push(tag);
                rest = after;
            } else {
                let end = rest.find(',').unwrap_or(rest.len());
                let literal = rest[..end].trim();
                tags.push(EntityTag {
                    weak: false,
                    opaque: literal,
                });
                rest = &rest[end..];
            }
        }
        Self::Tags(tags)
    }

    /// Weak comparison (RFC 9110 §8.8.3.2), the one `If-None-Match` uses: `W/` is ignored and
    /// the opaque parts must be equal. `current` is the full ETag header value of the
    /// representation.
    pub fn matches(&self, current: &str) -> bool {
        let current = EntityTag::parse(current).map_or(current.trim(), |tag| tag.opaque);
        match self {
            Self::Any => true,
            Self::Tags(tags) => tags.iter().any(|tag| tag.opaque == current),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_follow_rfc_9110() {
        assert_eq!(EtagVerdict::of(Some("\"abc\"")), EtagVerdict::Strong);
        assert_eq!(EtagVerdict::of(Some("W/\"abc\"")), EtagVerdict::Weak);
        assert_eq!(EtagVerdict::of(Some("\"\"")), EtagVerdict::Strong);
        assert_eq!(EtagVerdict::of(Some("abc")), EtagVerdict::Invalid);
        assert_eq!(EtagVerdict::of(Some("\"a b\"")), EtagVerdict::Invalid);
        assert_eq!(EtagVerdict::of(Some("\"abc\"x")), EtagVerdict::Invalid);
        assert_eq!(EtagVerdict::of(Some("w/\"abc\"")), EtagVerdict::Invalid);
        assert_eq!(EtagVerdict::of(Some("\"abc")), EtagVerdict::Invalid);
        assert_eq!(EtagVerdict::of(None), EtagVerdict::Missing);
    }

    #[test]
    fn star_matches_anything() {
        assert!(IfNoneMatch::parse(" * ").matches("\"x\""));
    }

    #[test]
    fn lists_match_any_member() {
        let inm = IfNoneMatch::parse("\"a\", W/\"b\" ,\"c\"");
        assert!(inm.matches("\"b\""));
        assert!(inm.matches("\"c\""));
        assert!(!inm.matches("\"d\""));
    }

    #[test]
    fn weak_comparison_ignores_the_weak_prefix_on_both_sides() {
        assert!(IfNoneMatch::parse("W/\"a\"").matches("\"a\""));
        assert!(IfNoneMatch::parse("\"a\"").matches("W/\"a\""));
    }

    #[test]
    fn unquoted_values_compare_literally() {
        assert!(IfNoneMatch::parse("abc123").matches("abc123"));
        assert!(!IfNoneMatch::parse("abc123").matches("\"abc1234\""));
    }

    #[test]
    fn empty_header_matches_nothing() {
        assert!(!IfNoneMatch::parse("").matches("\"a\""));
    }

    #[test]
    fn a_quote_inside_a_tag_ends_it() {
        assert_eq!(EntityTag::parse("\"a\"b\""), None);
    }
}
