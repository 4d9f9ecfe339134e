//! The built-in demo flag set and the "next change" that `--demo`, `POST /control/change` with
//! an empty body, and `conform --embedded` make.

use super::flags::{FlagSet, Targeting};

/// Boolean, string, integer, float and object flags, a disabled flag, a flag that depends on the
/// context (`plan`, `email`) and one whose rule chooses a variant that does not exist (an error).
pub const DEMO_FLAGS: &str = include_str!("demo-flags.json");

pub fn demo_flags() -> FlagSet {
    // Checked by `the_demo_flags_parse` below; a broken edit of the file fails the tests, so the
    // fallback is never served.
    FlagSet::parse(DEMO_FLAGS, "demo-flags.json").unwrap_or_else(|_| {
        FlagSet::parse(r#"{"flags": {}}"#, "empty")
            .unwrap_or_else(|_| unreachable!("an empty flag set is valid"))
    })
}

/// The next built-in change: the first enabled flag without targeting that has two or more
/// variants moves to the variant after its default. `None` when no flag can change.
pub fn next_change(set: &FlagSet) -> Option<(String, String)> {
    set.flags().iter().find_map(|flag| {
        if !flag.enabled || !matches!(flag.targeting, Targeting::None) || flag.variants.len() < 2 {
            return None;
        }
        let names: Vec<&String> = flag.variants.keys().collect();
        let current = flag
            .default_variant
            .as_ref()
            .and_then(|d| names.iter().position(|n| *n == d));
        let next = current.map_or(0, |i| (i + 1) % names.len());
        Some((flag.key.clone(), names[next].clone()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serve::evaluate::Evaluator;
    use crate::serve::flags::Flag;
    use serde_json::{Map, Value};

    #[test]
    fn the_demo_flags_parse() {
        FlagSet::parse(DEMO_FLAGS, "demo-flags.json").unwrap();
    }

    #[test]
    fn the_demo_set_covers_every_kind_of_answer() {
        let set = demo_flags();
        let answers: Vec<Value> = set
            .flags()
            .iter()
            .map(|f| answer(&set, f, &Map::new()))
            .collect();
        let has = |test: &dyn Fn(&Value) -> bool| answers.iter().any(test);
        assert!(has(&|a| a["value"].is_boolean()));
        assert!(has(&|a| a["value"].is_string()));
        assert!(has(&|a| a["value"].is_i64()));
        assert!(has(&|a| a["value"].is_f64()));
        assert!(has(&|a| a["value"].is_object()));
        assert!(has(&|a| a["reason"] == "DISABLED"));
        assert!(has(&|a| a["errorCode"].is_string()));
        let premium = set.get("premium-support").unwrap();
        let mut context = Map::new();
        context.insert("plan".into(), "premium".into());
        assert_eq!(answer(&set, premium, &context)["reason"], "TARGETING_MATCH");
    }

    fn answer(set: &FlagSet, flag: &Flag, context: &Map<String, Value>) -> Value {
        let item = Evaluator::new(context, 0).evaluate(set, flag).item;
        serde_json::to_value(item).unwrap()
    }

    #[test]
    fn the_next_change_cycles_through_variants() {
        let set = demo_flags();
        let (key, variant) = next_change(&set).unwrap();
        assert_eq!((key.as_str(), variant.as_str()), ("new-checkout", "on"));
        let changed = set.with_default_variant(&key, &variant).unwrap();
        assert_eq!(next_change(&changed).unwrap().1, "off");
    }
}
