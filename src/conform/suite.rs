//! The two suites `conform` runs: the server suite (`scenarios/*.feature`, grading a server) and
//! the provider suite (`scenarios/provider/*.feature`, grading a provider by what it sends).
//! What differs between them beyond their step vocabularies: the built-in files, and the
//! checklist table their ids come from.

use super::scenario::{self, Source};
use crate::protocol::checklist::{self, Level};

/// The checklist table a suite is held to, and the ids in it that no scenario can check.
#[derive(Debug, Clone, Copy)]
pub struct Checklist {
    pub ids: &'static [(&'static str, Level)],
    pub not_observable: &'static [(&'static str, &'static str)],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Suite {
    Server,
    Provider,
}

impl Suite {
    pub fn builtin(self) -> Vec<Source> {
        match self {
            Self::Server => scenario::builtin(),
            Self::Provider => scenario::builtin_provider(),
        }
    }

    pub fn checklist(self) -> Checklist {
        match self {
            Self::Server => Checklist {
                ids: checklist::CHECKLIST,
                not_observable: checklist::NOT_OBSERVABLE,
            },
            Self::Provider => Checklist {
                ids: checklist::CLIENT_CHECKLIST,
                not_observable: checklist::CLIENT_NOT_OBSERVABLE,
            },
        }
    }
}
