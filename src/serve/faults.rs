//! Fault modes: ways to misbehave on purpose, each breaking one checklist id. Keep this list,
//! the `--help` text in `cli.rs` and [`Fault::breaks`] in step.

use std::fmt;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    NoEtag,
    UnquotedEtag,
    IgnoreIfNoneMatch,
    Stale304,
    NotModifiedWithBody,
    SseDown,
    SseWrongContentType,
    SseNamedEvents,
    SseNotJson,
    SseSilent,
    DropStreamsEvery(Duration),
    Slow(Duration),
    Status(u16),
}

/// Every fault's name, whether it takes a value, and the checklist id it breaks.
pub const KNOWN: &[(&str, Option<&str>, &str)] = &[
    ("no-etag", None, "bulk-etag-present"),
    ("unquoted-etag", None, "bulk-etag-syntax"),
    ("ignore-if-none-match", None, "bulk-304-on-match"),
    ("stale-304", None, "bulk-200-on-stale"),
    ("304-with-body", None, "bulk-304-no-body"),
    ("sse-down", None, "sse-content-type"),
    ("sse-wrong-content-type", None, "sse-content-type"),
    ("sse-named-events", None, "sse-event-message"),
    ("sse-not-json", None, "sse-data-json"),
    ("sse-silent", None, "sse-notify"),
    ("drop-streams-every", Some("DURATION"), "sse-keepalive"),
    ("slow", Some("DURATION"), "core-endpoints"),
    ("status", Some("CODE"), "core-endpoints"),
];

/// Why a `--fault` value is not a fault mode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FaultError {
    #[error("unknown fault `{name}`; the fault modes are {}", known_names())]
    Unknown { name: String },
    #[error("fault `{name}` takes no value")]
    TakesNoValue { name: String },
    #[error("fault `{name}` needs a value: `{name}={kind}`")]
    NeedsValue { name: String, kind: &'static str },
    /// `reason` is the duration parser's own sentence.
    #[error("fault `{name}`: {reason}")]
    BadDuration { name: String, reason: String },
    #[error("fault `{name}`: the duration must be above zero")]
    ZeroDuration { name: String },
    #[error("fault `status`: `{value}` is not an HTTP status from 200 to 599")]
    BadStatus { value: String },
}

fn known_names() -> String {
    let names: Vec<&str> = KNOWN.iter().map(|(n, _, _)| *n).collect();
    names.join(", ")
}

impl Fault {
    /// Parses `NAME` or `NAME=VALUE`.
    pub fn parse(text: &str) -> Result<Self, FaultError> {
        let (name, value) = match text.split_once('=') {
            Some((name, value)) => (name.trim(), Some(value.trim())),
            None => (text.trim(), None),
        };
        let Some(&(_, wants, _)) = KNOWN.iter().find(|(known, _, _)| *known == name) else {
            return Err(FaultError::Unknown {
                name: name.to_owned(),
            });
        };
        let value = match (wants, value) {
            (None, Some(_)) => {
                return Err(FaultError::TakesNoValue {
                    name: name.to_owned(),
                });
            }
            (Some(kind), None) => {
                return Err(FaultError::NeedsValue {
                    name: name.to_owned(),
                    kind,
                });
            }
            (_, value) => value.unwrap_or_default(),
        };
        let duration = || match crate::units::parse_duration(value) {
            Ok(d) if d.is_zero() => Err(FaultError::ZeroDuration {
                name: name.to_owned(),
            }),
            Ok(d) => Ok(d),
            Err(reason) => Err(FaultError::BadDuration {
                name: name.to_owned(),
                reason,
            }),
        };
        Ok(match name {
            "no-etag" => Self::NoEtag,
            "unquoted-etag" => Self::UnquotedEtag,
            "ignore-if-none-match" => Self::IgnoreIfNoneMatch,
            "stale-304" => Self::Stale304,
            "304-with-body" => Self::NotModifiedWithBody,
            "sse-down" => Self::SseDown,
            "sse-wrong-content-type" => Self::SseWrongContentType,
            "sse-named-events" => Self::SseNamedEvents,
            "sse-not-json" => Self::SseNotJson,
            "sse-silent" => Self::SseSilent,
            "drop-streams-every" => Self::DropStreamsEvery(duration()?),
            "slow" => Self::Slow(duration()?),
            _ => {
                let code: u16 = value
                    .parse()
                    .ok()
                    .filter(|c| (200..=599).contains(c))
                    .ok_or_else(|| FaultError::BadStatus {
                        value: value.to_owned(),
                    })?;
                Self::Status(code)
            }
        })
    }

    pub fn name(&self) -> &'static str {
        match self {
            Self::NoEtag => "no-etag",
            Self::UnquotedEtag => "unquoted-etag",
            Self::IgnoreIfNoneMatch => "ignore-if-none-match",
            Self::Stale304 => "stale-304",
            Self::NotModifiedWithBody => "304-with-body",
            Self::SseDown => "sse-down",
            Self::SseWrongContentType => "sse-wrong-content-type",
            Self::SseNamedEvents => "sse-named-events",
            Self::SseNotJson => "sse-not-json",
            Self::SseSilent => "sse-silent",
            Self::DropStreamsEvery(_) => "drop-streams-every",
            Self::Slow(_) => "slow",
            Self::Status(_) => "status",
        }
    }

    /// The checklist id(s) this fault breaks.
    pub fn breaks(&self) -> &'static str {
        let name = self.name();
        KNOWN
            .iter()
            .find(|(n, _, _)| *n == name)
            .map_or("", |(_, _, id)| id)
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DropStreamsEvery(d) | Self::Slow(d) => {
                write!(f, "{}={}", self.name(), humantime::format_duration(*d))
            }
            Self::Status(code) => write!(f, "status={code}"),
            _ => f.write_str(self.name()),
        }
    }
}

/// The set of active faults, asked by the handlers.
#[derive(Debug, Clone, Default)]
pub struct Faults(Vec<Fault>);

impl Faults {
    pub fn new(faults: Vec<Fault>) -> Self {
        Self(faults)
    }

    pub fn has(&self, fault: &Fault) -> bool {
        self.0.contains(fault)
    }

    pub fn slow(&self) -> Option<Duration> {
        self.0.iter().find_map(|f| match f {
            Fault::Slow(d) => Some(*d),
            _ => None,
        })
    }

    pub fn drop_streams_every(&self) -> Option<Duration> {
        self.0.iter().find_map(|f| match f {
            Fault::DropStreamsEvery(d) => Some(*d),
            _ => None,
        })
    }

    pub fn status(&self) -> Option<u16> {
        self.0.iter().find_map(|f| match f {
            Fault::Status(code) => Some(*code),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_fault_parses_and_round_trips() {
        for (name, value, _) in KNOWN {
            let text = match value {
                Some("CODE") => format!("{name}=429"),
                Some(_) => format!("{name}=2s"),
                _ => (*name).to_owned(),
            };
            let fault = Fault::parse(&text).unwrap();
            assert_eq!(fault.to_string(), text);
            assert!(!fault.breaks().is_empty());
        }
    }

    #[test]
    fn values_are_parsed_and_checked() {
        assert_eq!(
            Fault::parse("slow=250ms"),
            Ok(Fault::Slow(Duration::from_millis(250)))
        );
        assert_eq!(Fault::parse("status=503"), Ok(Fault::Status(503)));
        assert!(
            Fault::parse("status=42")
                .unwrap_err()
                .to_string()
                .contains("200 to 599")
        );
        assert!(
            Fault::parse("slow")
                .unwrap_err()
                .to_string()
                .contains("slow=DURATION")
        );
        assert!(
            Fault::parse("slow=0s")
                .unwrap_err()
                .to_string()
                .contains("above zero")
        );
        assert!(
            Fault::parse("no-etag=1")
                .unwrap_err()
                .to_string()
                .contains("takes no value")
        );
    }

    #[test]
    fn an_unknown_fault_lists_the_known_ones() {
        let error = Fault::parse("explode").unwrap_err().to_string();
        assert!(
            error.contains("unknown fault `explode`") && error.contains("stale-304"),
            "{error}"
        );
    }
}
