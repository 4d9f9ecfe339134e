//! flagd's flag-definition JSON (`{"flags": {key: {state, variants, defaultVariant, targeting?,
//! metadata?}}, "metadata"?, "$evaluators"?}`), parsed and validated into a [`FlagSet`].
//!
//! Errors name `origin:line:column`: serde_json reports where the JSON breaks, and for a JSON file
//! that parses but is not a valid flag set we point at the offending flag's key in the text, so an
//! editor can jump there.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use datalogic_rs::{Engine, Logic};
use serde_json::{Map, Value};

use super::evaluators::{ExpandError, Expansion};

/// One JsonLogic engine for the process: compiled rules are evaluated by the engine that compiled
/// them, and the engine holds no per-request state (a `Session` does).
pub(crate) static ENGINE: LazyLock<Engine> = LazyLock::new(Engine::new);

/// A validated flag set, in file order.
#[derive(Clone)]
pub struct FlagSet {
    flags: Vec<Flag>,
    index: HashMap<String, usize>,
    /// Flag-set metadata, sent as the bulk answer's `metadata` and merged under each flag's own.
    pub metadata: Map<String, Value>,
    /// The definition as parsed (with `$ref`s resolved): what the configuration token hashes and
    /// what a control change edits.
    raw: Value,
}

#[derive(Clone)]
pub struct Flag {
    pub key: String,
    pub enabled: bool,
    pub variants: Map<String, Value>,
    /// `None` means "use the code default": the answer carries no value.
    pub default_variant: Option<String>,
    pub targeting: Targeting,
    pub metadata: Map<String, Value>,
}

#[derive(Clone)]
pub enum Targeting {
    /// No rule, or `{}`: the default variant, reason STATIC.
    None,
    Rule(Arc<Logic>),
    /// The rule does not compile (an operator this engine lacks, a malformed argument). The flag
    /// answers an error item instead of failing the whole file, as flagd does at evaluation time.
    Invalid(String),
}

impl std::fmt::Debug for FlagSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Compiled rules have no useful Debug form; the keys say which set this is.
        f.debug_struct("FlagSet")
            .field("flags", &self.index.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl FlagSet {
    /// Parses flag-definition JSON; `origin` names the file in error messages.
    pub fn parse(text: &str, origin: &str) -> Result<Self, String> {
        let value: Value = serde_json::from_str(text).map_err(|e| {
            format!(
                "{origin}:{}:{}: {}",
                e.line(),
                // serde_json says column 0 for "before the first character" (an early EOF).
                e.column().max(1),
                describe_json_error(&e)
            )
        })?;
        Self::from_value(value).map_err(|e| {
            let (line, column) = e.key.as_deref().map_or((1, 1), |key| locate(text, key));
            format!("{origin}:{line}:{column}: {}", e.message)
        })
    }

    /// Validates an already-parsed definition. Errors carry the flag key they concern so
    /// [`FlagSet::parse`] can turn it into a position.
    pub fn from_value(mut raw: Value) -> Result<Self, Invalid> {
        let top = raw.as_object_mut().ok_or_else(|| {
            Invalid::at_top("the file must be a JSON object with a `flags` object")
        })?;
        let evaluators = match top.get("$evaluators") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(evaluators)) => evaluators.clone(),
            Some(_) => return Err(Invalid::at_top("`$evaluators` must be an object")),
        };
        let metadata = match top.get("metadata") {
            None | Some(Value::Null) => Map::new(),
            Some(value) => metadata_of(value).map_err(Invalid::at_top)?,
        };
        let Some(Value::Object(flags_json)) = top.get_mut("flags") else {
            return Err(Invalid::at_top(
                "the file needs a `flags` object mapping flag keys to definitions",
            ));
        };
        let mut expansion = Expansion::new(&evaluators);
        let mut flags = Vec::with_capacity(flags_json.len());
        let mut index = HashMap::with_capacity(flags_json.len());
        for (key, definition) in flags_json.iter_mut() {
            // A `$ref` to no evaluator breaks that flag only: it answers an error item when
            // evaluated, as flagd does (flagd-testbed's flags have one on purpose). A cycle or
            // an expansion past the budgets refuses the file.
            let unresolved = match definition.get_mut("targeting").map(|t| expansion.expand(t)) {
                Some(Err(ExpandError::UnknownEvaluator(message))) => Some(message),
                Some(Err(ExpandError::Limit(message))) => {
                    return Err(Invalid::at(key, format!("flag `{key}`: {message}")));
                }
                Some(Ok(())) | None => None,
            };
            let mut flag =
                Flag::from_value(key, definition).map_err(|message| Invalid::at(key, message))?;
            if let Some(message) = unresolved {
                flag.targeting = Targeting::Invalid(message);
            }
            index.insert(key.clone(), flags.len());
            flags.push(flag);
        }
        Ok(Self {
            flags,
            index,
            metadata,
            raw,
        })
    }

    pub fn flags(&self) -> &[Flag] {
        &self.flags
    }

    pub fn get(&self, key: &str) -> Option<&Flag> {
        self.index.get(key).map(|&i| &self.flags[i])
    }

    pub fn raw(&self) -> &Value {
        &self.raw
    }

    /// A copy of this set whose flag `key` defaults to `variant`: what a control change does.
    pub fn with_default_variant(&self, key: &str, variant: &str) -> Result<Self, String> {
        let flag = self.get(key).ok_or_else(|| format!("no flag `{key}`"))?;
        if !flag.variants.contains_key(variant) {
            let known: Vec<&str> = flag.variants.keys().map(String::as_str).collect();
            return Err(format!(
                "flag `{key}` has no variant `{variant}` (it has {})",
                known.join(", ")
            ));
        }
        let mut raw = self.raw.clone();
        if let Some(definition) = raw.pointer_mut(&format!("/flags/{}", pointer_escape(key))) {
            definition["defaultVariant"] = Value::String(variant.to_owned());
        }
        Self::from_value(raw).map_err(|e| e.message)
    }
}

impl Flag {
    fn from_value(key: &str, definition: &Value) -> Result<Self, String> {
        let object = definition
            .as_object()
            .ok_or_else(|| format!("flag `{key}` must be an object"))?;
        let enabled = match object.get("state").and_then(Value::as_str) {
            Some("ENABLED") => true,
            Some("DISABLED") => false,
            _ => {
                return Err(format!(
                    "flag `{key}`: `state` must be \"ENABLED\" or \"DISABLED\""
                ));
            }
        };
        let variants = match object.get("variants") {
            Some(Value::Object(variants)) if !variants.is_empty() => variants.clone(),
            _ => {
                return Err(format!(
                    "flag `{key}`: `variants` must be a non-empty object"
                ));
            }
        };
        for (name, value) in &variants {
            // OFREP values are boolean, string, number or object (checklist single-value-type).
            if value.is_null() || value.is_array() {
                return Err(format!(
                    "flag `{key}`: variant `{name}` is {}; OFREP values are booleans, strings, numbers or objects",
                    if value.is_null() { "null" } else { "an array" }
                ));
            }
        }
        let default_variant = match object.get("defaultVariant") {
            None | Some(Value::Null) => None,
            Some(Value::String(name)) if variants.contains_key(name) => Some(name.clone()),
            Some(Value::String(name)) => {
                let known: Vec<&str> = variants.keys().map(String::as_str).collect();
                return Err(format!(
                    "flag `{key}`: defaultVariant `{name}` is not one of the variants ({})",
                    known.join(", ")
                ));
            }
            Some(_) => return Err(format!("flag `{key}`: `defaultVariant` must be a string")),
        };
        let targeting = match object.get("targeting") {
            None | Some(Value::Null) => Targeting::None,
            Some(Value::Object(rule)) if rule.is_empty() => Targeting::None,
            Some(rule @ Value::Object(_)) => match ENGINE.compile(rule) {
                Ok(logic) => Targeting::Rule(Arc::new(logic)),
                Err(e) => Targeting::Invalid(e.to_string()),
            },
            Some(_) => {
                return Err(format!(
                    "flag `{key}`: `targeting` must be a JsonLogic object"
                ));
            }
        };
        let metadata = match object.get("metadata") {
            None | Some(Value::Null) => Map::new(),
            Some(value) => metadata_of(value).map_err(|e| format!("flag `{key}`: {e}"))?,
        };
        Ok(Self {
            key: key.to_owned(),
            enabled,
            variants,
            default_variant,
            targeting,
            metadata,
        })
    }
}

/// A validation error, and the flag key whose definition it is about (`None`: the top level).
#[derive(Debug)]
pub struct Invalid {
    pub key: Option<String>,
    pub message: String,
}

impl Invalid {
    fn at(key: &str, message: String) -> Self {
        Self {
            key: Some(key.to_owned()),
            message,
        }
    }

    fn at_top(message: impl Into<String>) -> Self {
        Self {
            key: None,
            message: message.into(),
        }
    }
}

/// Metadata values are booleans, strings or numbers only (checklist metadata-values).
fn metadata_of(value: &Value) -> Result<Map<String, Value>, String> {
    let object = value.as_object().ok_or("`metadata` must be an object")?;
    for (name, value) in object {
        if !(value.is_boolean() || value.is_string() || value.is_number()) {
            return Err(format!(
                "metadata `{name}` must be a boolean, string or number"
            ));
        }
    }
    Ok(object.clone())
}

/// Where `"key":` first appears in `text`, as 1-based line and column. serde_json keeps no
/// positions in a `Value`, and a key is almost always unique in a flag file, so the first
/// occurrence of the quoted key followed by a colon is where a person would look.
fn locate(text: &str, key: &str) -> (usize, usize) {
    let needle = serde_json::to_string(key).unwrap_or_default();
    let mut from = 0;
    while let Some(found) = text[from..].find(&needle) {
        let at = from + found;
        let after = &text[at + needle.len()..];
        if after.trim_start().starts_with(':') {
            let before = &text[..at];
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |n| n + 1) + 1;
            return (line, column);
        }
        from = at + needle.len();
    }
    (1, 1)
}

fn describe_json_error(error: &serde_json::Error) -> String {
    // serde_json appends " at line L column C"; the position is already in front.
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(cut) => text[..cut].to_owned(),
        None => text,
    }
}

/// JSON Pointer escaping (RFC 6901) for a flag key used as a path segment.
fn pointer_escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<FlagSet, String> {
        FlagSet::parse(text, "flags.json")
    }

    #[test]
    fn a_valid_file_parses_in_order() {
        let set = parse(
            r#"{"flags": {
                "b": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "on"},
                "a": {"state": "DISABLED", "variants": {"x": "y"}, "defaultVariant": "x", "metadata": {"team": "web"}}
            }, "metadata": {"version": 3}}"#,
        )
        .unwrap();
        let keys: Vec<&str> = set.flags().iter().map(|f| f.key.as_str()).collect();
        assert_eq!(keys, ["b", "a"]);
        assert!(!set.get("a").unwrap().enabled);
        assert_eq!(set.metadata["version"], 3);
    }

    #[test]
    fn malformed_json_names_line_and_column() {
        let error = parse("{\n  \"flags\": {\n    \"a\": {,}\n  }\n}").unwrap_err();
        assert!(error.starts_with("flags.json:3:11: "), "{error}");
        let truncated = parse("{\"flags\": {\n").unwrap_err();
        assert!(truncated.starts_with("flags.json:2:1: "), "{truncated}");
    }

    #[test]
    fn an_unknown_default_variant_points_at_the_flag() {
        let text = "{\"flags\": {\n  \"ok\": {\"state\": \"ENABLED\", \"variants\": {\"a\": 1}, \"defaultVariant\": \"a\"},\n  \"bad\": {\"state\": \"ENABLED\", \"variants\": {\"a\": 1}, \"defaultVariant\": \"b\"}\n}}";
        let error = parse(text).unwrap_err();
        assert!(error.starts_with("flags.json:3:3: "), "{error}");
        assert!(
            error.contains("defaultVariant `b` is not one of the variants (a)"),
            "{error}"
        );
    }

    #[test]
    fn structural_errors_are_reported() {
        assert!(parse("[]").unwrap_err().contains("JSON object"));
        assert!(parse("{}").unwrap_err().contains("`flags` object"));
        let no_state = r#"{"flags": {"a": {"variants": {"a": 1}, "defaultVariant": "a"}}}"#;
        assert!(parse(no_state).unwrap_err().contains("`state`"));
        let array_value = r#"{"flags": {"a": {"state": "ENABLED", "variants": {"a": [1]}, "defaultVariant": "a"}}}"#;
        assert!(parse(array_value).unwrap_err().contains("an array"));
        let bad_metadata = r#"{"flags": {"a": {"state": "ENABLED", "variants": {"a": 1}, "defaultVariant": "a", "metadata": {"x": {}}}}}"#;
        assert!(parse(bad_metadata).unwrap_err().contains("metadata `x`"));
    }

    #[test]
    fn evaluator_refs_are_resolved_and_an_unknown_one_breaks_only_its_flag() {
        let text = r#"{"$evaluators": {"isPro": {"==": [{"var": "plan"}, "pro"]}},
            "flags": {"a": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
              "targeting": {"if": [{"$ref": "isPro"}, "on", "off"]}}}}"#;
        let set = parse(text).unwrap();
        assert!(matches!(
            set.get("a").unwrap().targeting,
            Targeting::Rule(_)
        ));
        let unknown = text.replace("\"$ref\": \"isPro\"", "\"$ref\": \"nope\"");
        let set = parse(&unknown).unwrap();
        assert!(matches!(
            &set.get("a").unwrap().targeting,
            Targeting::Invalid(message) if message.contains("unknown evaluator `nope`")
        ));
    }

    #[test]
    fn a_rule_with_an_unknown_operator_does_not_stop_the_file_loading() {
        let text = r#"{"flags": {"a": {"state": "ENABLED", "variants": {"on": true}, "defaultVariant": "on",
            "targeting": {"no_such_op": [1]}}}}"#;
        let set = parse(text).unwrap();
        assert!(matches!(
            set.get("a").unwrap().targeting,
            Targeting::Invalid(_) | Targeting::Rule(_)
        ));
    }

    #[test]
    fn a_control_change_sets_the_default_variant() {
        let set = parse(r#"{"flags": {"a/b": {"state": "ENABLED", "variants": {"x": 1, "y": 2}, "defaultVariant": "x"}}}"#).unwrap();
        let changed = set.with_default_variant("a/b", "y").unwrap();
        assert_eq!(
            changed.get("a/b").unwrap().default_variant.as_deref(),
            Some("y")
        );
        assert!(
            set.with_default_variant("a/b", "z")
                .unwrap_err()
                .contains("no variant `z`")
        );
        assert!(set.with_default_variant("c", "x").is_err());
    }
}
