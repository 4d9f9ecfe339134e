//! `--until KEY=VALUE`: the conditions a CI job waits for (pure).

use serde_json::Value;

use crate::diff::FlagSet;
use crate::protocol::context::parse_value;

#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub key: String,
    /// Compared as JSON when the text parses as JSON, else as a string.
    pub expected: Value,
}

impl Condition {
    pub fn parse(text: &str) -> Result<Self, String> {
        let (key, value) = text.split_once('=').ok_or_else(|| {
            format!("--until `{text}` has no `=`; write it as KEY=VALUE, e.g. new-checkout=true")
        })?;
        let key = key.trim();
        if key.is_empty() {
            return Err(format!("--until `{text}` has an empty flag key"));
        }
        Ok(Self {
            key: key.to_owned(),
            expected: parse_value(value.trim()),
        })
    }

    pub fn holds(&self, flags: &FlagSet) -> bool {
        flags
            .get(&self.key)
            .and_then(|f| f.value.as_ref())
            .and_then(|v| v.parse())
            .as_ref()
            == Some(&self.expected)
    }

    /// Why the condition does not hold yet, for the deadline message.
    pub fn unmet_reason(&self, flags: &FlagSet) -> String {
        let now = match flags.get(&self.key) {
            None => "absent".to_owned(),
            Some(state) => match (&state.value, &state.error_code) {
                (Some(value), _) => value.to_string(),
                (None, Some(code)) => format!(
                    "an error ({})",
                    code.parse().as_ref().and_then(Value::as_str).unwrap_or("?")
                ),
                (None, None) => "the code default (no value)".to_owned(),
            },
        };
        format!("`{}` is {now}, waiting for {}", self.key, self.expected)
    }
}

/// True when there are conditions and every one holds.
pub fn all_hold(conditions: &[Condition], flags: &FlagSet) -> bool {
    !conditions.is_empty() && conditions.iter().all(|c| c.holds(flags))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::flag_set;
    use serde_json::json;

    fn flags() -> FlagSet {
        flag_set(
            json!([
                {"key": "on", "value": true, "reason": "STATIC"},
                {"key": "name", "value": "blue", "reason": "STATIC"},
                {"key": "count", "value": 10, "reason": "STATIC"},
                {"key": "text-ten", "value": "10", "reason": "STATIC"},
                {"key": "broken", "errorCode": "GENERAL"},
            ])
            .as_array()
            .unwrap(),
        )
    }

    #[test]
    fn values_compare_as_json_when_they_parse_else_as_strings() {
        assert!(Condition::parse("on=true").unwrap().holds(&flags()));
        assert!(Condition::parse("name=blue").unwrap().holds(&flags()));
        assert!(Condition::parse("count=10").unwrap().holds(&flags()));
        assert!(!Condition::parse("text-ten=10").unwrap().holds(&flags()));
        assert!(Condition::parse("text-ten=\"10\"").unwrap().holds(&flags()));
        assert!(!Condition::parse("on=false").unwrap().holds(&flags()));
    }

    #[test]
    fn every_condition_must_hold_and_none_means_never() {
        let c = vec![
            Condition::parse("on=true").unwrap(),
            Condition::parse("count=10").unwrap(),
        ];
        assert!(all_hold(&c, &flags()));
        assert!(!all_hold(&[], &flags()));
    }

    #[test]
    fn unmet_conditions_say_what_the_flag_is_now() {
        let f = flags();
        assert_eq!(
            Condition::parse("on=false").unwrap().unmet_reason(&f),
            "`on` is true, waiting for false"
        );
        assert_eq!(
            Condition::parse("nope=1").unwrap().unmet_reason(&f),
            "`nope` is absent, waiting for 1"
        );
        assert!(
            Condition::parse("broken=1")
                .unwrap()
                .unmet_reason(&f)
                .contains("GENERAL")
        );
    }

    #[test]
    fn malformed_conditions_are_rejected() {
        assert!(Condition::parse("novalue").is_err());
        assert!(Condition::parse("=1").is_err());
    }
}
