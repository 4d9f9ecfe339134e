//! A JSON body that may be large, held so that it costs about its own size in memory: the items
//! of a top-level `flags` array stay as text and are parsed one at a time when read (a 60 MB bulk
//! answer held as a `serde_json::Value` tree costs several times that, issue 11); everything else
//! is an ordinary tree.

use std::borrow::Cow;
use std::ops::Range;
use std::sync::Arc;

use serde::de::{self, MapAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserializer as _, Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// A parsed JSON document.
#[derive(Debug, Clone, PartialEq)]
pub enum Document {
    /// Anything but an object with a `flags` array: small bodies (errors, single evaluations).
    Tree(Value),
    /// An object with a `flags` array, shared: a copy of the document costs nothing.
    Bulk(Arc<Bulk>),
}

/// An object whose `flags` array is kept as text.
#[derive(Debug, Clone, PartialEq)]
pub struct Bulk {
    text: String,
    /// Every member in the order received; `flags` holds its place as `null`.
    members: Map<String, Value>,
    /// Where each item of `flags` is in `text`; every item is known to parse.
    items: Vec<Range<usize>>,
}

/// The member that is kept as text.
const FLAGS: &str = "flags";

impl Document {
    /// Parses `text`; the error is exactly the one parsing it into a `Value` gives.
    pub fn parse(text: String) -> Result<Self, serde_json::Error> {
        if !text.trim_start().starts_with('{') {
            return serde_json::from_str(&text).map(Self::Tree);
        }
        match split(&text) {
            Ok((members, Some(items))) => Ok(Self::Bulk(Arc::new(Bulk {
                text,
                members,
                items,
            }))),
            Ok((members, None)) => Ok(Self::Tree(Value::Object(members))),
            // Parsing the whole tree gives the error a reader expects, with its position.
            Err(_) => serde_json::from_str(&text).map(Self::Tree),
        }
    }

    pub fn is_object(&self) -> bool {
        match self {
            Self::Tree(value) => value.is_object(),
            Self::Bulk(_) => true,
        }
    }

    /// A top-level member. `flags` of a bulk document is built on demand: to read the flags
    /// without building them all, use [`Document::flags`].
    pub fn get(&self, name: &str) -> Option<Cow<'_, Value>> {
        match self {
            Self::Tree(value) => value.get(name).map(Cow::Borrowed),
            Self::Bulk(bulk) if name == FLAGS => {
                Some(Cow::Owned(Value::Array(bulk.iter().collect())))
            }
            Self::Bulk(bulk) => bulk.members.get(name).map(Cow::Borrowed),
        }
    }

    /// Whether the top level has that member (without building it).
    pub fn has(&self, name: &str) -> bool {
        match self {
            Self::Tree(value) => value.get(name).is_some(),
            Self::Bulk(bulk) => bulk.members.contains_key(name),
        }
    }

    /// A fingerprint of `flags`: two are equal exactly when the `flags` members are equal as
    /// `serde_json::Value`s, item by item (barring a 128-bit hash collision), at the cost of a few bytes instead of the document, so a
    /// scenario can remember the flags of a 60 MB answer without holding it (issue 11).
    pub fn flags_digest(&self) -> FlagsDigest {
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        match self.flags() {
            Some(items) => {
                hasher.update(b"items");
                for item in items {
                    hash_value(&mut hasher, &item);
                }
            }
            None => match self.get(FLAGS) {
                Some(value) => hash_value(&mut hasher, &value),
                None => hasher.update(b"absent"),
            },
        }
        FlagsDigest(hasher.digest128())
    }

    /// The items of `flags`, when it is an array, each parsed as it is read.
    pub fn flags(&self) -> Option<Items<'_>> {
        match self {
            Self::Tree(value) => value
                .get(FLAGS)
                .and_then(Value::as_array)
                .map(|items| Items::Tree(items.iter())),
            Self::Bulk(bulk) => Some(bulk.iter()),
        }
    }

    /// The document as a tree: borrowed when it is one, built when it is a bulk answer.
    pub fn tree(&self) -> Cow<'_, Value> {
        match self {
            Self::Tree(value) => Cow::Borrowed(value),
            Self::Bulk(_) => Cow::Owned(self.to_value()),
        }
    }

    /// The whole document as one tree (it costs what the tree costs).
    pub fn to_value(&self) -> Value {
        match self {
            Self::Tree(value) => value.clone(),
            Self::Bulk(bulk) => {
                let mut members = bulk.members.clone();
                if let Some(flags) = members.get_mut(FLAGS) {
                    *flags = Value::Array(bulk.iter().collect());
                }
                Value::Object(members)
            }
        }
    }
}

/// What [`Document::flags_digest`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlagsDigest(u128);

/// Feeds `value` to `hasher` so that values equal as `serde_json::Value`s hash alike: object
/// members in key order (a `Map` compares without regard to order), every part length-prefixed
/// so that no two values give the same bytes.
fn hash_value(hasher: &mut xxhash_rust::xxh3::Xxh3, value: &Value) {
    let text = |hasher: &mut xxhash_rust::xxh3::Xxh3, text: &str| {
        hasher.update(&(text.len() as u64).to_le_bytes());
        hasher.update(text.as_bytes());
    };
    match value {
        Value::Null => hasher.update(b"n"),
        Value::Bool(b) => hasher.update(if *b { b"t" } else { b"f" }),
        // Number equality is by representation (1 and 1.0 differ), as its text is.
        Value::Number(n) => {
            hasher.update(b"#");
            text(hasher, &n.to_string());
        }
        Value::String(s) => {
            hasher.update(b"s");
            text(hasher, s);
        }
        Value::Array(items) => {
            hasher.update(b"[");
            hasher.update(&(items.len() as u64).to_le_bytes());
            for item in items {
                hash_value(hasher, item);
            }
        }
        Value::Object(map) => {
            hasher.update(b"{");
            hasher.update(&(map.len() as u64).to_le_bytes());
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_by(|a, b| a.0.cmp(b.0));
            for (key, member) in members {
                text(hasher, key);
                hash_value(hasher, member);
            }
        }
    }
}

impl Bulk {
    fn iter(&self) -> Items<'_> {
        Items::Text {
            text: &self.text,
            spans: self.items.iter(),
        }
    }
}

/// The items of a `flags` array, parsed one at a time.
#[derive(Debug, Clone)]
pub enum Items<'a> {
    Tree(std::slice::Iter<'a, Value>),
    Text {
        text: &'a str,
        spans: std::slice::Iter<'a, Range<usize>>,
    },
}

impl Iterator for Items<'_> {
    type Item = Value;

    fn next(&mut self) -> Option<Value> {
        match self {
            Self::Tree(items) => items.next().cloned(),
            // Every span was parsed once already, so this cannot fail; `null` keeps the count.
            Self::Text { text, spans } => spans.next().map(|span| {
                text.get(span.clone())
                    .and_then(|item| serde_json::from_str(item).ok())
                    .unwrap_or(Value::Null)
            }),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            Self::Tree(items) => items.size_hint(),
            Self::Text { spans, .. } => spans.size_hint(),
        }
    }
}

impl ExactSizeIterator for Items<'_> {}

/// Serialised exactly as the tree it stands for would be, one item at a time.
impl Serialize for Document {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Tree(value) => value.serialize(serializer),
            Self::Bulk(bulk) => {
                let mut map = serializer.serialize_map(Some(bulk.members.len()))?;
                for (name, value) in &bulk.members {
                    if name == FLAGS {
                        map.serialize_entry(name, &ItemsOut(bulk.iter()))?;
                    } else {
                        map.serialize_entry(name, value)?;
                    }
                }
                map.end()
            }
        }
    }
}

/// `flags` items as a JSON array, each parsed only while it is written.
pub struct ItemsOut<'a>(pub Items<'a>);

impl Serialize for ItemsOut<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let items = self.0.clone();
        let mut seq = serializer.serialize_seq(Some(items.len()))?;
        for item in items {
            seq.serialize_element(&item)?;
        }
        seq.end()
    }
}

type Split = (Map<String, Value>, Option<Vec<Range<usize>>>);

/// Reads a top-level object: every member into a tree except a `flags` array, whose items are
/// checked to parse and then located. Duplicate names behave as in a `Value` (the last value
/// wins, in the first one's place).
fn split(text: &str) -> Result<Split, serde_json::Error> {
    let mut reader = serde_json::Deserializer::from_str(text);
    let split = (&mut reader).deserialize_map(TopLevel { text })?;
    reader.end()?;
    Ok(split)
}

struct TopLevel<'t> {
    text: &'t str,
}

impl<'de> Visitor<'de> for TopLevel<'de> {
    type Value = Split;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Split, A::Error> {
        let mut members = Map::new();
        let mut items = None;
        while let Some(name) = map.next_key::<String>()? {
            if name != FLAGS {
                let value: Value = map.next_value()?;
                members.insert(name, value);
                continue;
            }
            let raw: &'de RawValue = map.next_value()?;
            match locate_items(self.text, raw).map_err(de::Error::custom)? {
                Some(spans) => {
                    items = Some(spans);
                    members.insert(name, Value::Null);
                }
                None => {
                    items = None;
                    let value = serde_json::from_str(raw.get()).map_err(de::Error::custom)?;
                    members.insert(name, value);
                }
            }
        }
        Ok((members, items))
    }
}

/// The spans of an array's items within `text`, each checked to parse; `None` when `raw` is not
/// an array.
fn locate_items(
    text: &str,
    raw: &RawValue,
) -> Result<Option<Vec<Range<usize>>>, serde_json::Error> {
    if !raw.get().starts_with('[') {
        return Ok(None);
    }
    let items: Vec<&RawValue> = serde_json::from_str(raw.get())?;
    let base = text.as_ptr() as usize;
    let mut spans = Vec::with_capacity(items.len());
    for item in items {
        // Parsed and dropped: what a reader later builds from this span is known to succeed.
        serde_json::from_str::<Value>(item.get())?;
        let start = (item.get().as_ptr() as usize).saturating_sub(base);
        spans.push(start..start + item.get().len());
    }
    Ok(Some(spans))
}

#[cfg(test)]
mod tests;
