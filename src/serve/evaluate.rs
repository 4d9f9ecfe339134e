//! Evaluating one flag for one context, the way flagd does, into an OFREP answer item.
//!
//! Reasons: STATIC (no rule), TARGETING_MATCH (the rule chose a variant), DEFAULT (the rule chose
//! nothing), DISABLED (flagd ≥ 0.13 answers disabled flags as a success with no value or variant,
//! open-feature/flagd#1966), ERROR (as an error item `{key, errorCode, errorDetails}`).

use datalogic_rs::{ErrorKind, Session};
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::{Map, Value, json};

use super::flags::{ENGINE, Flag, FlagSet, Targeting};

/// One evaluated flag: the answer item and whether it is an error item.
pub struct Answer<'a> {
    pub item: Item<'a>,
    pub is_error: bool,
}

/// An answer item, borrowing from the flag set and serialised straight into the response: a bulk
/// answer over 10,000 flags builds no `Value` tree and copies no variant value (copying them was
/// most of a bulk request's CPU, in glibc malloc and free).
#[derive(Serialize)]
#[serde(untagged)]
pub enum Item<'a> {
    Success {
        key: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        value: Option<&'a Value>,
        #[serde(skip_serializing_if = "Option::is_none")]
        variant: Option<&'a str>,
        reason: &'static str,
        #[serde(skip_serializing_if = "Metadata::is_empty")]
        metadata: Metadata<'a>,
    },
    Failure {
        key: &'a str,
        #[serde(rename = "errorCode")]
        error_code: &'static str,
        #[serde(rename = "errorDetails")]
        error_details: String,
    },
}

/// A flag's metadata as flagd gives it: the set's, with the flag's own merged over it (a key in
/// both keeps the set's position and takes the flag's value).
pub struct Metadata<'a> {
    set: &'a Map<String, Value>,
    flag: &'a Map<String, Value>,
}

impl Metadata<'_> {
    fn is_empty(&self) -> bool {
        self.set.is_empty() && self.flag.is_empty()
    }
}

impl Serialize for Metadata<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for (key, value) in self.set {
            map.serialize_entry(key, self.flag.get(key).unwrap_or(value))?;
        }
        for (key, value) in self.flag {
            if !self.set.contains_key(key) {
                map.serialize_entry(key, value)?;
            }
        }
        map.end()
    }
}

/// Evaluates flags for one request's context. It builds the JsonLogic data (the context plus
/// `$flagd`) once and reuses one arena session, so a bulk request over many flags does not copy
/// the context per flag.
pub struct Evaluator {
    data: Value,
    session: Session<'static>,
}

impl Evaluator {
    /// `timestamp` is Unix seconds, shown to rules as `$flagd.timestamp`.
    pub fn new(context: &Map<String, Value>, timestamp: u64) -> Self {
        let mut data = context.clone();
        data.insert(
            "$flagd".to_owned(),
            json!({"flagKey": "", "timestamp": timestamp}),
        );
        Self {
            data: Value::Object(data),
            session: ENGINE.session(),
        }
    }

    pub fn evaluate<'a>(&mut self, set: &'a FlagSet, flag: &'a Flag) -> Answer<'a> {
        if !flag.enabled {
            return success(set, flag, None, "DISABLED");
        }
        let rule = match &flag.targeting {
            // No default variant means "the code default": no value, reason DEFAULT, as flagd.
            Targeting::None => {
                let reason = if flag.default_variant.is_some() {
                    "STATIC"
                } else {
                    "DEFAULT"
                };
                return success(set, flag, flag.default_variant.as_deref(), reason);
            }
            Targeting::Invalid(message) => {
                let details = format!("targeting rule does not compile: {message}");
                return failure(&flag.key, "PARSE_ERROR", details);
            }
            Targeting::Rule(rule) => rule,
        };
        self.data["$flagd"]["flagKey"] = Value::String(flag.key.clone());
        // The session keeps its arena between calls; resetting bounds it to one evaluation.
        self.session.reset();
        match self.session.eval_into::<Value, _>(rule, &self.data) {
            Ok(chosen) => choose(set, flag, chosen),
            // An operator this engine lacks is a rule it cannot read, like one that does not
            // compile.
            Err(e) if matches!(e.kind, ErrorKind::InvalidOperator(_)) => {
                let details = format!("targeting rule uses an unsupported operator: {e}");
                failure(&flag.key, "PARSE_ERROR", details)
            }
            Err(e) => failure(&flag.key, "GENERAL", format!("targeting rule failed: {e}")),
        }
    }
}

/// The answer for what a rule returned.
fn choose<'a>(set: &'a FlagSet, flag: &'a Flag, chosen: Value) -> Answer<'a> {
    // flagd: null means "no match" (the default variant); a boolean names the variant "true" or
    // "false"; a string names a variant; anything else is an error.
    let name = match chosen {
        Value::Null => return success(set, flag, flag.default_variant.as_deref(), "DEFAULT"),
        Value::String(name) => name,
        Value::Bool(b) => b.to_string(),
        other => {
            return failure(
                &flag.key,
                "GENERAL",
                format!("targeting rule returned {other}, not a variant name"),
            );
        }
    };
    if flag.variants.contains_key(&name) {
        success(set, flag, Some(&name), "TARGETING_MATCH")
    } else {
        failure(
            &flag.key,
            "GENERAL",
            format!("targeting rule chose variant `{name}`, which the flag does not have"),
        )
    }
}

/// A success item; `variant: None` means the answer carries no value (code default).
fn success<'a>(
    set: &'a FlagSet,
    flag: &'a Flag,
    variant: Option<&str>,
    reason: &'static str,
) -> Answer<'a> {
    let chosen = variant.and_then(|name| flag.variants.get_key_value(name));
    Answer {
        item: Item::Success {
            key: &flag.key,
            value: chosen.map(|(_, value)| value),
            variant: chosen.map(|(name, _)| name.as_str()),
            reason,
            metadata: Metadata {
                set: &set.metadata,
                flag: &flag.metadata,
            },
        },
        is_error: false,
    }
}

fn failure<'a>(key: &'a str, code: &'static str, details: String) -> Answer<'a> {
    Answer {
        item: Item::Failure {
            key,
            error_code: code,
            error_details: details,
        },
        is_error: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set() -> FlagSet {
        FlagSet::parse(
            r#"{"flags": {
              "static": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "on"},
              "off": {"state": "DISABLED", "variants": {"on": true}, "defaultVariant": "on"},
              "plan": {"state": "ENABLED", "variants": {"pro": "gold", "free": "grey"}, "defaultVariant": "free",
                "targeting": {"if": [{"==": [{"var": "plan"}, "pro"]}, "pro", null]}},
              "bool": {"state": "ENABLED", "variants": {"true": 1, "false": 0}, "defaultVariant": "false",
                "targeting": {"starts_with": [{"var": "email"}, "admin"]}},
              "key": {"state": "ENABLED", "variants": {"mine": "yes", "other": "no"}, "defaultVariant": "other",
                "targeting": {"if": [{"==": [{"var": "$flagd.flagKey"}, "key"]}, "mine", "other"]}},
              "ghost": {"state": "ENABLED", "variants": {"a": 1}, "defaultVariant": "a", "targeting": {"if": [true, "b", "a"]}},
              "weird": {"state": "ENABLED", "variants": {"a": 1}, "defaultVariant": "a", "targeting": {"no_such_operator": [1, 2]}},
              "frac": {"state": "ENABLED", "variants": {"a": 1, "b": 2}, "defaultVariant": "a",
                "targeting": {"fractional": [["a", 50], ["b", 50]]}},
              "semver": {"state": "ENABLED", "variants": {"new": 1, "old": 0}, "defaultVariant": "old",
                "targeting": {"if": [{"sem_ver": [{"var": "version"}, ">=", "1.2.0"]}, "new", "old"]}},
              "codeDefault": {"state": "ENABLED", "variants": {"a": 1}, "defaultVariant": null},
              "number": {"state": "ENABLED", "variants": {"a": 1}, "defaultVariant": "a", "targeting": {"+": [1, 2]}}
            }, "metadata": {"set": "demo"}}"#,
            "test",
        )
        .unwrap()
    }

    fn eval(key: &str, context: Value) -> Value {
        let set = set();
        let flag = set.get(key).unwrap();
        let Value::Object(context) = context else {
            panic!("context must be an object")
        };
        let answer = Evaluator::new(&context, 1_700_000_000).evaluate(&set, flag);
        serde_json::to_value(&answer.item).unwrap()
    }

    #[test]
    fn a_flag_without_targeting_is_static() {
        assert_eq!(
            eval("static", json!({})),
            json!({"key": "static", "value": true, "variant": "on", "reason": "STATIC", "metadata": {"set": "demo"}})
        );
    }

    #[test]
    fn a_null_default_variant_means_the_code_default() {
        assert_eq!(
            eval("codeDefault", json!({})),
            json!({"key": "codeDefault", "reason": "DEFAULT", "metadata": {"set": "demo"}})
        );
    }

    #[test]
    fn a_disabled_flag_has_no_value() {
        let item = eval("off", json!({}));
        assert_eq!(item["reason"], "DISABLED");
        assert!(item.get("value").is_none() && item.get("variant").is_none());
    }

    #[test]
    fn targeting_depends_on_the_context() {
        let pro = eval("plan", json!({"plan": "pro"}));
        assert_eq!(
            (pro["value"].clone(), pro["reason"].clone()),
            (json!("gold"), json!("TARGETING_MATCH"))
        );
        let free = eval("plan", json!({"plan": "free"}));
        assert_eq!(
            (free["value"].clone(), free["reason"].clone()),
            (json!("grey"), json!("DEFAULT"))
        );
    }

    #[test]
    fn a_boolean_result_names_a_variant_and_flagd_string_operators_work() {
        assert_eq!(
            eval("bool", json!({"email": "admin@example.com"}))["value"],
            1
        );
        assert_eq!(
            eval("bool", json!({"email": "user@example.com"}))["value"],
            0
        );
    }

    #[test]
    fn flagd_fractional_is_stable_per_targeting_key_and_sem_ver_compares_versions() {
        let first = eval("frac", json!({"targetingKey": "user-1"}));
        assert_eq!(first["reason"], "TARGETING_MATCH");
        assert_eq!(eval("frac", json!({"targetingKey": "user-1"})), first);
        let variants: std::collections::HashSet<String> = (0..40)
            .map(|i| {
                eval("frac", json!({"targetingKey": format!("user-{i}")}))["variant"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(variants.len(), 2, "a 50/50 split uses both buckets");
        assert_eq!(eval("semver", json!({"version": "1.10.0"}))["value"], 1);
        assert_eq!(eval("semver", json!({"version": "1.1.9"}))["value"], 0);
    }

    #[test]
    fn a_rule_that_returns_a_number_is_an_error_item() {
        assert_eq!(eval("number", json!({}))["errorCode"], "GENERAL");
    }

    #[test]
    fn rules_see_the_flag_key_under_dollar_flagd() {
        assert_eq!(eval("key", json!({}))["value"], "yes");
    }

    #[test]
    fn an_unknown_variant_or_operator_is_an_error_item_not_a_crash() {
        let ghost = eval("ghost", json!({}));
        assert_eq!(ghost["errorCode"], "GENERAL");
        let weird = eval("weird", json!({"targetingKey": "u"}));
        assert_eq!(weird["key"], "weird");
        assert_eq!(weird["errorCode"], "PARSE_ERROR", "{weird}");
        assert!(
            weird["errorDetails"]
                .as_str()
                .unwrap()
                .contains("no_such_operator"),
            "{weird}"
        );
    }
}
