//! The evaluation context sent with every request: a file, then `-c key=value`, then
//! `--targeting-key`, each layer overriding the one before.

use serde_json::{Map, Value};

/// Builds the context object. Errors name the bad part and are meant for a usage error.
pub fn build(
    base: Option<Value>,
    pairs: &[String],
    targeting_key: Option<&str>,
) -> Result<Map<String, Value>, String> {
    let mut context = match base {
        None => Map::new(),
        Some(Value::Object(map)) => map,
        Some(other) => {
            return Err(format!(
                "the context file holds {}, not a JSON object",
                kind_of(&other)
            ));
        }
    };
    for pair in pairs {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| format!("context `{pair}` has no `=`; write it as key=value"))?;
        let key = key.trim();
        if key.is_empty() {
            return Err(format!("context `{pair}` has an empty key"));
        }
        context.insert(key.to_owned(), parse_value(value));
    }
    if let Some(key) = targeting_key {
        context.insert("targetingKey".to_owned(), Value::String(key.to_owned()));
    }
    if let Some(key) = context.get("targetingKey")
        && !key.is_string()
    {
        return Err(format!(
            "`targetingKey` must be a string, not {}",
            kind_of(key)
        ));
    }
    Ok(context)
}

/// A value that parses as JSON is JSON (`42`, `true`, `["a"]`, `"quoted"`); anything else is a
/// string, so `plan=premium` needs no quoting.
pub fn parse_value(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

/// Parses a context file's text, naming line and column on failure.
pub fn parse_file(text: &str) -> Result<Value, String> {
    serde_json::from_str(text)
        .map_err(|e| format!("line {}, column {}: {}", e.line(), e.column(), describe(&e)))
}

fn describe(error: &serde_json::Error) -> String {
    // serde_json appends " at line L column C"; we print those ourselves.
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

pub fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_that_parse_as_json_are_json() {
        let ctx = build(
            None,
            &[
                "age=42".into(),
                "beta=true".into(),
                "plan=premium".into(),
                "tags=[\"a\"]".into(),
            ],
            None,
        )
        .unwrap();
        assert_eq!(
            Value::Object(ctx),
            json!({"age": 42, "beta": true, "plan": "premium", "tags": ["a"]})
        );
    }

    #[test]
    fn layers_override_in_order() {
        let file = json!({"targetingKey": "from-file", "plan": "free", "country": "CA"});
        let ctx = build(Some(file), &["plan=premium".into()], Some("flag")).unwrap();
        assert_eq!(
            Value::Object(ctx),
            json!({"targetingKey": "flag", "plan": "premium", "country": "CA"})
        );
    }

    #[test]
    fn bad_parts_are_named() {
        assert!(
            build(None, &["novalue".into()], None)
                .unwrap_err()
                .contains("novalue")
        );
        assert!(
            build(None, &["=x".into()], None)
                .unwrap_err()
                .contains("empty key")
        );
        assert!(
            build(Some(json!([1])), &[], None)
                .unwrap_err()
                .contains("an array")
        );
        assert!(
            build(None, &["targetingKey=7".into()], None)
                .unwrap_err()
                .contains("targetingKey")
        );
    }

    #[test]
    fn file_errors_name_line_and_column() {
        let err = parse_file("{\n  \"a\": 1,\n}").unwrap_err();
        assert!(err.starts_with("line 3, column 1"), "{err}");
    }
}
