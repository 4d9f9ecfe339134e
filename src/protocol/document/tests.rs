use super::*;

/// Documents whose tree, error and pretty output a `Document` must reproduce exactly.
const SAMPLES: &[&str] = &[
    r#"{"flags":[{"key":"a","value":true,"reason":"STATIC"},{"key":"b\u00e9\n","value":1.5e3}],"metadata":{"v":1}}"#,
    r#"  {"metadata":{},"flags":[],"eventStreams":[{"type":"sse"}]}  "#,
    r#"{"flags":"nope","x":1}"#,
    r#"{"flags":[1],"other":2,"flags":[{"key":"second"}]}"#,
    r#"{"flags":[1],"flags":{"k":"object wins"}}"#,
    r#"{"flags":{"k":1},"flags":[2,3]}"#,
    r#"{"errorCode":"PARSE_ERROR"}"#,
    r#"[1,2]"#,
    r#""text""#,
    r#"{"flags":[[[[]]],null,"s",-0,12345678901234567890]}"#,
];

const BROKEN: &[&str] = &[
    r#"{"flags":[{"key":"a"}"#,
    r#"{"flags":[1e400]}"#,
    r#"{"flags":[1]} trailing"#,
    r#"{"flags":[1],}"#,
    r#"{"flags":["\ud800"]}"#,
    r#"{"flags":[1] "x":2}"#,
];

#[test]
fn documents_equal_the_tree_they_stand_for() {
    for text in SAMPLES {
        let tree: Value = serde_json::from_str(text).unwrap();
        let document = Document::parse((*text).to_owned()).unwrap();
        assert_eq!(document.to_value(), tree, "{text}");
        assert_eq!(
            serde_json::to_string_pretty(&document).unwrap(),
            serde_json::to_string_pretty(&tree).unwrap(),
            "{text}"
        );
        assert_eq!(document.is_object(), tree.is_object());
        for name in ["flags", "metadata", "x", "missing"] {
            assert_eq!(
                document.get(name).map(Cow::into_owned),
                tree.get(name).cloned(),
                "{name} of {text}"
            );
        }
        let items: Option<Vec<Value>> = document.flags().map(Iterator::collect);
        assert_eq!(
            items,
            tree.get("flags").and_then(Value::as_array).cloned(),
            "{text}"
        );
    }
}

#[test]
fn flags_digests_are_equal_exactly_when_the_flags_are() {
    let digest = |text: &str| Document::parse(text.to_owned()).unwrap().flags_digest();
    let a = r#"{"flags":[{"key":"a","value":1},{"key":"b"}],"x":1}"#;
    // Other members, whitespace and member order inside an item do not matter, as for Values.
    assert_eq!(
        digest(a),
        digest(r#"{"flags":[{"value":1, "key":"a"}, {"key":"b"}]}"#)
    );
    for other in [
        r#"{"flags":[{"key":"a","value":1}]}"#,
        r#"{"flags":[{"key":"b"},{"key":"a","value":1}]}"#,
        r#"{"flags":[{"key":"a","value":1.0},{"key":"b"}]}"#,
        r#"{"flags":[{"key":"a","value":"1"},{"key":"b"}]}"#,
        r#"{"flags":"no"}"#,
        r#"{"other":[]}"#,
    ] {
        assert_ne!(digest(a), digest(other), "{other}");
    }
    assert_eq!(digest(r#"{"flags":1}"#), digest(r#"{"flags":1}"#));
    assert_eq!(
        digest(r#"{"x":1}"#),
        digest(r#"{"y":2}"#),
        "both without flags"
    );
    // The same flags held as a tree (a small body) and as text (a bulk answer) agree.
    let tree = Document::Tree(serde_json::from_str(a).unwrap());
    assert_eq!(tree.flags_digest(), digest(a));
    let doc = Document::parse(a.to_owned()).unwrap();
    assert!(doc.has("flags") && doc.has("x") && !doc.has("y"));
}

#[test]
fn a_bulk_answer_keeps_its_flags_as_text() {
    let document = Document::parse(SAMPLES[0].to_owned()).unwrap();
    assert!(matches!(document, Document::Bulk(_)));
    assert_eq!(document.flags().unwrap().len(), 2);
}

#[test]
fn broken_documents_fail_with_the_trees_own_error() {
    for text in BROKEN {
        let expected = serde_json::from_str::<Value>(text).unwrap_err().to_string();
        let error = Document::parse((*text).to_owned()).unwrap_err().to_string();
        assert_eq!(error, expected, "{text}");
    }
}

#[test]
fn nesting_beyond_the_parsers_limit_is_an_error_not_a_crash() {
    let text = format!(
        "{{\"flags\":[{}{}]}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    assert!(Document::parse(text).is_err());
}
