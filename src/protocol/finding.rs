//! A finding: one requirement from `shared/ofrep-checklist.md` that an answer broke (or, for
//! INFO, something worth reporting). The id is the checklist's, so reports and JUnit agree.

use serde::Serialize;

use super::checklist;
pub use super::checklist::Level;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub id: &'static str,
    pub level: Level,
    pub message: String,
}

impl Finding {
    /// A finding against checklist requirement `id`, graded at the level the checklist gives it
    /// ([`checklist::CHECKLIST`]), so no call site can grade a requirement differently.
    pub fn new(id: &'static str, message: impl Into<String>) -> Self {
        let level = checklist::level_of(id);
        debug_assert!(level.is_some(), "`{id}` is not in the checklist table");
        Self {
            id,
            level: level.unwrap_or(Level::Must),
            message: message.into(),
        }
    }
}
