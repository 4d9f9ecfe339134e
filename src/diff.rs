//! The difference between two bulk answers, flag by flag (pure).
//!
//! A flag changed when its value, variant, reason or error changed. Object values are also
//! compared member by member so a person sees which member moved.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// One JSON value kept as the text it arrived as: 16 bytes and one allocation instead of a
/// parse tree, compared by text (a server writes the same value the same way), parsed only when
/// a diff line or a condition needs the value itself.
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
pub struct Json(Box<RawValue>);

impl Json {
    pub fn of(value: &Value) -> Self {
        // Serialising a `Value` cannot fail; `null` stands in if it somehow did.
        Self(serde_json::value::to_raw_value(value).unwrap_or_else(|_| RawValue::NULL.to_owned()))
    }

    pub fn text(&self) -> &str {
        self.0.get()
    }

    pub fn parse(&self) -> Option<Value> {
        serde_json::from_str(self.text()).ok()
    }
}

impl PartialEq for Json {
    fn eq(&self, other: &Self) -> bool {
        self.text() == other.text()
    }
}

impl std::fmt::Display for Json {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.text())
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Box::<RawValue>::deserialize(deserializer).map(Self)
    }
}

/// The parts of one flag's evaluation that `watch` reports.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FlagState {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Json>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<Json>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<Json>,
    #[serde(rename = "errorCode", skip_serializing_if = "Option::is_none")]
    pub error_code: Option<Json>,
    #[serde(rename = "errorDetails", skip_serializing_if = "Option::is_none")]
    pub error_details: Option<Json>,
}

impl FlagState {
    pub fn of(item: &Value) -> Self {
        let field = |name: &str| item.get(name).filter(|v| !v.is_null()).map(Json::of);
        Self {
            value: field("value"),
            variant: field("variant"),
            reason: field("reason"),
            error_code: field("errorCode"),
            error_details: field("errorDetails"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    Added,
    Removed,
    Changed,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlagChange {
    pub key: String,
    pub kind: ChangeKind,
    pub before: Option<FlagState>,
    pub after: Option<FlagState>,
}

/// A flag set keyed by flag key. Items without a string key cannot be followed and are skipped.
pub type FlagSet = BTreeMap<String, FlagState>;

/// Reads the `flags` array of a bulk answer into a keyed set.
pub fn flag_set(flags: &[Value]) -> FlagSet {
    flags
        .iter()
        .filter_map(|item| Some((item.get("key")?.as_str()?.to_owned(), FlagState::of(item))))
        .collect()
}

/// A bulk answer as `watch` keeps it: the flags it diffs, where the `flags` array sits in the
/// body (so a snapshot can show it exactly as received without a copy), and `eventStreams`.
/// Per-flag metadata and anything else is skipped while parsing, so a 10,000-flag answer never
/// becomes a JSON tree in memory.
#[derive(Debug)]
pub struct BulkAnswer {
    pub flags: FlagSet,
    /// The byte range of the `flags` array in the parsed body.
    pub flags_span: std::ops::Range<usize>,
    pub event_streams: Option<Value>,
}

/// Why a bulk 200 body cannot be followed. The text completes a sentence such as "the first
/// answer is not a usable bulk evaluation: …".
#[derive(Debug, thiserror::Error)]
pub enum UnusableBulk {
    #[error("the body is not a JSON object ({0})")]
    NotAnObject(serde_json::Error),
    /// What a refetch says: it only reads `flags`, so it cannot tell a non-object from a broken one.
    #[error("the body is not a usable bulk answer ({0})")]
    Unreadable(serde_json::Error),
    #[error("it has no `flags` array")]
    NoFlags,
    #[error("{0}")]
    BadFlags(serde_json::Error),
}

/// Parses a bulk 200 body, keeping the `flags` array as received too (for a snapshot); the
/// error says what makes the body unusable.
pub fn parse_bulk(bytes: &[u8]) -> Result<BulkAnswer, UnusableBulk> {
    #[derive(Deserialize)]
    struct Envelope<'a> {
        #[serde(borrow)]
        flags: Option<&'a RawValue>,
        #[serde(rename = "eventStreams")]
        event_streams: Option<Value>,
    }
    let envelope: Envelope = serde_json::from_slice(bytes).map_err(UnusableBulk::NotAnObject)?;
    let raw = envelope.flags.ok_or(UnusableBulk::NoFlags)?;
    let mut reader = serde_json::Deserializer::from_str(raw.get());
    let flags = serde::Deserializer::deserialize_seq(&mut reader, FlagsVisitor)
        .map_err(UnusableBulk::BadFlags)?;
    // The raw value borrows from `bytes`, so its position there is its offset from the start.
    let start = (raw.get().as_ptr() as usize).saturating_sub(bytes.as_ptr() as usize);
    let flags_span = start..start + raw.get().len();
    Ok(BulkAnswer {
        flags,
        flags_span,
        event_streams: envelope.event_streams,
    })
}

/// Parses only the flags of a bulk 200 body: what a refetch needs, with nothing else kept.
pub fn parse_flags(bytes: &[u8]) -> Result<FlagSet, UnusableBulk> {
    #[derive(Deserialize)]
    struct FlagsOnly {
        #[serde(default, deserialize_with = "flag_set_field")]
        flags: Option<FlagSet>,
    }
    let only: FlagsOnly = serde_json::from_slice(bytes).map_err(UnusableBulk::Unreadable)?;
    only.flags.ok_or(UnusableBulk::NoFlags)
}

fn flag_set_field<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<FlagSet>, D::Error> {
    deserializer.deserialize_seq(FlagsVisitor).map(Some)
}

/// Reads a `flags` array item by item straight into a [`FlagSet`], taking only the fields a diff
/// looks at; items that are not objects with a string `key` are skipped (the checks report them).
struct FlagsVisitor;

impl<'de> serde::de::Visitor<'de> for FlagsVisitor {
    type Value = FlagSet;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a `flags` array")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<FlagSet, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(FlagItem(item)) = seq.next_element::<FlagItem>()? {
            items.extend(item);
        }
        // Collecting builds the map in bulk from sorted entries, packing its nodes full; inserting
        // one by one in key order would leave them half empty (twice the memory).
        Ok(items.into_iter().collect())
    }
}

/// One item of `flags`: `Some` for an object with a string `key`. Fields other than the ones a
/// diff looks at (metadata above all) are skipped as they are read, never allocated.
struct FlagItem(Option<(String, FlagState)>);

impl<'de> Deserialize<'de> for FlagItem {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ItemVisitor).map(FlagItem)
    }
}

struct ItemVisitor;

impl<'de> serde::de::Visitor<'de> for ItemVisitor {
    type Value = Option<(String, FlagState)>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a flag evaluation")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut key = None;
        let mut state = FlagState::default();
        while let Some(name) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            let slot = match name.as_ref() {
                "key" => {
                    key = match map.next_value::<Value>()? {
                        Value::String(key) => Some(key),
                        _ => None,
                    };
                    continue;
                }
                "value" => &mut state.value,
                "variant" => &mut state.variant,
                "reason" => &mut state.reason,
                "errorCode" => &mut state.error_code,
                "errorDetails" => &mut state.error_details,
                _ => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                    continue;
                }
            };
            *slot = map
                .next_value::<Option<Json>>()?
                .filter(|raw| raw.text() != "null");
        }
        Ok(key.map(|key| (key, state)))
    }

    // Anything that is not an object is not a flag: read past it.
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// Every flag that was added, removed or changed, sorted by key.
pub fn diff(before: &FlagSet, after: &FlagSet) -> Vec<FlagChange> {
    let mut changes = Vec::new();
    for (key, old) in before {
        match after.get(key) {
            None => changes.push(FlagChange {
                key: key.clone(),
                kind: ChangeKind::Removed,
                before: Some(old.clone()),
                after: None,
            }),
            Some(new) if new != old => changes.push(FlagChange {
                key: key.clone(),
                kind: ChangeKind::Changed,
                before: Some(old.clone()),
                after: Some(new.clone()),
            }),
            Some(_) => {}
        }
    }
    for (key, new) in after {
        if !before.contains_key(key) {
            changes.push(FlagChange {
                key: key.clone(),
                kind: ChangeKind::Added,
                before: None,
                after: Some(new.clone()),
            });
        }
    }
    changes.sort_by(|a, b| a.key.cmp(&b.key));
    changes
}

/// Brings a flag set up to date with changes computed from it.
pub fn apply(flags: &mut FlagSet, changes: &[FlagChange]) {
    for change in changes {
        match &change.after {
            Some(state) => {
                flags.insert(change.key.clone(), state.clone());
            }
            None => {
                flags.remove(&change.key);
            }
        }
    }
}

/// One member of an object value that differs: its dotted path, old and new (absent = `None`).
#[derive(Debug, Clone, PartialEq)]
pub struct MemberChange {
    pub path: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// Member-by-member differences of two object values, recursing into nested objects. Returns
/// nothing unless both are objects.
pub fn member_changes(before: &Value, after: &Value) -> Vec<MemberChange> {
    let mut out = Vec::new();
    if let (Value::Object(a), Value::Object(b)) = (before, after) {
        walk("", a, b, &mut out);
    }
    out
}

fn walk(
    prefix: &str,
    before: &Map<String, Value>,
    after: &Map<String, Value>,
    out: &mut Vec<MemberChange>,
) {
    let mut keys: Vec<&String> = before.keys().chain(after.keys()).collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match (before.get(key), after.get(key)) {
            (Some(Value::Object(a)), Some(Value::Object(b))) => walk(&path, a, b, out),
            (a, b) if a != b => out.push(MemberChange {
                path,
                before: a.cloned(),
                after: b.cloned(),
            }),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests;
