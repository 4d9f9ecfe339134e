use serde_json::json;

use super::*;
use crate::serve::flags::{ENGINE, FlagSet};

fn expand(evaluators: Value, mut targeting: Value) -> Result<Value, String> {
    let Value::Object(evaluators) = evaluators else {
        panic!("evaluators must be an object")
    };
    Expansion::new(&evaluators)
        .expand(&mut targeting)
        .map_err(|e| e.to_string())?;
    Ok(targeting)
}

/// `{"if": [true, {"if": [true, ... "on" ...]}, "off"]}`: two levels per `if`.
fn nested_ifs(levels: usize, innermost: Value) -> Value {
    (0..levels).fold(innermost, |inner, _| json!({"if": [true, inner, "off"]}))
}

/// `lol0` is a string; each `lolN` is an array of ten `$ref`s to `lol(N-1)`.
fn laughs(levels: usize) -> Value {
    let mut evaluators = Map::new();
    evaluators.insert("lol0".to_owned(), json!("ha ha ha ha ha ha ha ha"));
    for level in 1..=levels {
        let refs = vec![json!({"$ref": format!("lol{}", level - 1)}); 10];
        evaluators.insert(format!("lol{level}"), json!({"cat": refs}));
    }
    Value::Object(evaluators)
}

#[test]
fn refs_are_replaced_by_their_evaluators_recursively() {
    let evaluators = json!({
        "isPro": {"==": [{"var": "plan"}, "pro"]},
        "proOrBeta": {"or": [{"$ref": "isPro"}, {"var": "beta"}]},
    });
    let expanded = expand(
        evaluators,
        json!({"if": [{"$ref": "proOrBeta"}, "on", "off"]}),
    );
    assert_eq!(
        expanded.unwrap(),
        json!({"if": [{"or": [{"==": [{"var": "plan"}, "pro"]}, {"var": "beta"}]}, "on", "off"]})
    );
    // An object with `$ref` and other keys is not a reference.
    let kept = json!({"$ref": "isPro", "other": 1});
    assert_eq!(expand(json!({}), kept.clone()).unwrap(), kept);
}

#[test]
fn unknown_evaluators_and_cycles_are_named() {
    let unknown = expand(json!({"a": {"$ref": "b"}}), json!({"$ref": "a"})).unwrap_err();
    assert!(
        unknown.contains("unknown evaluator `b` (through `a`)"),
        "{unknown}"
    );
    let cycle = expand(
        json!({"a": {"!": {"$ref": "b"}}, "b": [{"$ref": "a"}]}),
        json!({"$ref": "a"}),
    )
    .unwrap_err();
    assert!(cycle.contains("`$ref` cycle: `a` → `b` → `a`"), "{cycle}");
}

#[test]
fn the_same_evaluator_used_twice_side_by_side_is_no_cycle() {
    let expanded = expand(
        json!({"x": {"var": "x"}, "pair": [{"$ref": "x"}, {"$ref": "x"}]}),
        json!({"$ref": "pair"}),
    );
    assert_eq!(expanded.unwrap(), json!([{"var": "x"}, {"var": "x"}]));
}

#[test]
fn a_billion_laughs_is_refused_quickly_naming_the_evaluators() {
    let started = std::time::Instant::now();
    let error = expand(laughs(9), json!({"$ref": "lol9"})).unwrap_err();
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert!(
        error.contains("more than 250000 JSON values") && error.contains("`lol9` → `lol8`"),
        "{error}"
    );
    // Five levels copy about 10^5 values: inside the budget.
    assert!(expand(laughs(4), json!({"$ref": "lol4"})).is_ok());
}

#[test]
fn big_strings_count_against_the_byte_budget() {
    let big = "x".repeat(1024 * 1024);
    let error = expand(
        json!({"big": big, "many": vec![json!({"$ref": "big"}); 17]}),
        json!({"$ref": "many"}),
    )
    .unwrap_err();
    assert!(error.contains("bytes of strings"), "{error}");
}

#[test]
fn the_budget_is_shared_by_every_flag_of_a_file() {
    let Value::Object(evaluators) = laughs(4) else {
        unreachable!()
    };
    let mut expansion = Expansion::new(&evaluators);
    let mut failed = None;
    for round in 0..10 {
        if let Err(e) = expansion.expand(&mut json!({"$ref": "lol4"})) {
            failed = Some((round, e));
            break;
        }
    }
    let (round, error) = failed.expect("ten copies of 10^4 laughs exceed the budget");
    assert!((1..10).contains(&round), "{round}: {error}");
}

#[test]
fn depth_is_counted_in_objects_and_arrays_through_refs() {
    // 128 `if`s nest 256 levels: the bound.
    assert!(expand(json!({}), nested_ifs(128, json!("on"))).is_ok());
    let error = expand(json!({}), nested_ifs(129, json!("on"))).unwrap_err();
    assert!(
        error.contains("deeper than 256 levels")
            && error.contains("counted: the objects and arrays"),
        "{error}"
    );
    let deep = json!({"deep": nested_ifs(100, json!("on")), "deeper": nested_ifs(30, json!({"$ref": "deep"}))});
    let error = expand(deep, json!({"$ref": "deeper"})).unwrap_err();
    assert!(error.contains("(through `deeper` → `deep`)"), "{error}");
}

#[test]
fn a_rule_as_deep_as_the_bound_compiles_and_evaluates_on_a_small_stack() {
    // Tokio's worker threads have 2 MiB of stack; debug builds use the most of it.
    let evaluated = std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(|| {
            let rule = expand(json!({}), nested_ifs(MAX_DEPTH / 2, json!("on"))).unwrap();
            let logic = ENGINE.compile(&rule).unwrap();
            let value: Value = ENGINE.session().eval_into(&logic, &json!({})).unwrap();
            let text = serde_json::to_string(&rule).unwrap();
            drop(rule);
            (value, text.len())
        })
        .unwrap()
        .join()
        .expect("no stack overflow");
    assert_eq!(evaluated.0, json!("on"));
}

#[test]
fn a_file_nested_as_deep_as_json_allows_loads() {
    // serde_json refuses more than 128 levels; 61 `if`s inside the file's own 5 are just under.
    let targeting = nested_ifs(61, json!("on"));
    let text =
        json!({"flags": {"deep": {"state": "ENABLED", "variants": {"on": true, "off": false},
        "defaultVariant": "off", "targeting": targeting}}})
        .to_string();
    let set = FlagSet::parse(&text, "deep.json").unwrap();
    assert!(set.get("deep").is_some());
}
