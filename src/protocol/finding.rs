//! A finding: one requirement from `shared/ofrep-checklist.md` that an answer broke (or, for
//! INFO, something worth reporting). The id is the checklist's, so reports and JUnit agree.

use serde::Serialize;

/// How a finding grades, from the checklist: MUST fails, SHOULD warns, INFO never grades.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Must,
    Should,
    Info,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Must => "MUST",
            Self::Should => "SHOULD",
            Self::Info => "INFO",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub id: &'static str,
    pub level: Level,
    pub message: String,
}

impl Finding {
    pub fn must(id: &'static str, message: impl Into<String>) -> Self {
        Self {
            id,
            level: Level::Must,
            message: message.into(),
        }
    }

    pub fn should(id: &'static str, message: impl Into<String>) -> Self {
        Self {
            id,
            level: Level::Should,
            message: message.into(),
        }
    }

    pub fn info(id: &'static str, message: impl Into<String>) -> Self {
        Self {
            id,
            level: Level::Info,
            message: message.into(),
        }
    }
}
