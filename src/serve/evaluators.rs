//! flagd's `$evaluators`: shared rule fragments that a flag's `targeting` names with
//! `{"$ref": "name"}`, expanded in place as flagd does.
//!
//! The expansion is bounded by what it produces, not only by how deep it goes: evaluators that
//! refer to each other with fan-out (ten refs to one that has ten refs to one that ...) grow
//! exponentially from a file of a few hundred bytes (the "billion laughs" of XML entities). Every
//! copy is charged against one budget for the whole file, in JSON values and in string bytes,
//! before it is made, so a hostile file costs at most the budget in time and memory.

use std::collections::HashMap;

use serde_json::{Map, Value};

/// The most JSON values (objects, arrays, strings, numbers, ...) that copies of evaluators may
/// add to one file: a few hundred flags each naming a few dozen-node evaluator fit many times
/// over; a few tens of megabytes of memory at most.
pub const MAX_COPIED_VALUES: usize = 250_000;

/// The most string bytes (keys and values) that copies of evaluators may add to one file.
pub const MAX_COPIED_BYTES: usize = 16 * 1024 * 1024;

/// How deep a flag's `targeting` may nest once expanded, counting every object and array from
/// the `targeting` object down. A file alone cannot nest deeper than serde_json's 128 levels, so
/// any rule written out without `$ref` passes; the JsonLogic engine compiles and evaluates by
/// recursion, and this bound keeps it well inside a thread's stack.
pub const MAX_DEPTH: usize = 256;

/// Why a flag's `$ref`s could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpandError {
    /// A `$ref` names no evaluator: that flag is broken (it answers an error when evaluated,
    /// as in flagd), the rest of the file is fine.
    #[error("{0}")]
    UnknownEvaluator(String),
    /// A cycle, or an expansion past the depth or copy budget: the file is refused, since a
    /// file that makes the server do unbounded work is no file to serve.
    #[error("{0}")]
    Limit(String),
}

/// Expands the `$ref`s of each flag's targeting, charging every copy to one budget.
pub struct Expansion<'a> {
    evaluators: &'a Map<String, Value>,
    /// The size of each evaluator as written, measured once.
    sizes: HashMap<&'a str, Size>,
    left: Size,
    /// The evaluators being expanded, outermost first: a name met again is a cycle.
    stack: Vec<&'a str>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Size {
    values: usize,
    bytes: usize,
}

impl<'a> Expansion<'a> {
    pub fn new(evaluators: &'a Map<String, Value>) -> Self {
        Self {
            evaluators,
            sizes: HashMap::new(),
            left: Size {
                values: MAX_COPIED_VALUES,
                bytes: MAX_COPIED_BYTES,
            },
            stack: Vec::new(),
        }
    }

    /// Replaces every `{"$ref": name}` in `targeting` with a copy of `$evaluators.name`, itself
    /// expanded. Errors say what was exceeded and through which evaluators.
    pub fn expand(&mut self, targeting: &mut Value) -> Result<(), ExpandError> {
        self.stack.clear();
        self.expand_at(targeting, 1)
    }

    fn expand_at(&mut self, value: &mut Value, depth: usize) -> Result<(), ExpandError> {
        let children: Box<dyn Iterator<Item = &mut Value>> = match value {
            Value::Object(object) => {
                if let (1, Some(Value::String(name))) = (object.len(), object.get("$ref")) {
                    let copy = self.copy_of(name)?;
                    *value = copy;
                    // The copy takes the place of the `$ref` object, at the same depth.
                    let expanded = self.expand_at(value, depth);
                    self.stack.pop();
                    return expanded;
                }
                Box::new(object.values_mut())
            }
            Value::Array(items) => Box::new(items.iter_mut()),
            _ => return Ok(()),
        };
        if depth > MAX_DEPTH {
            return Err(ExpandError::Limit(format!(
                "`targeting` nests deeper than {MAX_DEPTH} levels{} (counted: the objects and \
                 arrays from `targeting` down, once `$ref`s are replaced by their evaluators)",
                self.through()
            )));
        }
        for child in children {
            self.expand_at(child, depth + 1)?;
        }
        Ok(())
    }

    /// A copy of evaluator `name`, charged to the budget; `name` is pushed on the stack.
    fn copy_of(&mut self, name: &str) -> Result<Value, ExpandError> {
        let Some((name, evaluator)) = self.evaluators.get_key_value(name) else {
            return Err(ExpandError::UnknownEvaluator(format!(
                "`$ref` to unknown evaluator `{name}`{}",
                self.through()
            )));
        };
        let name = name.as_str();
        if self.stack.contains(&name) {
            let mut cycle = self.stack.clone();
            cycle.push(name);
            return Err(ExpandError::Limit(format!(
                "`$ref` cycle: {} (an evaluator cannot contain itself)",
                chain(&cycle)
            )));
        }
        let size = *self
            .sizes
            .entry(name)
            .or_insert_with(|| Size::of(evaluator));
        self.stack.push(name);
        if size.values > self.left.values || size.bytes > self.left.bytes {
            return Err(ExpandError::Limit(format!(
                "expanding `$ref`s would copy more than {MAX_COPIED_VALUES} JSON values or \
                 {MAX_COPIED_BYTES} bytes of strings out of `$evaluators` (at {}; evaluators that \
                 refer to each other several times over grow exponentially)",
                chain(&self.stack)
            )));
        }
        self.left.values -= size.values;
        self.left.bytes -= size.bytes;
        Ok(evaluator.clone())
    }

    /// ` (through `a` → `b`)` when inside evaluators, else nothing.
    fn through(&self) -> String {
        if self.stack.is_empty() {
            String::new()
        } else {
            format!(" (through {})", chain(&self.stack))
        }
    }
}

fn chain(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|name| format!("`{name}`")).collect();
    quoted.join(" → ")
}

impl Size {
    /// Values and string bytes in `value`. Evaluators come from a parsed file, so the
    /// recursion is as deep as serde_json allows (128) at most.
    fn of(value: &Value) -> Self {
        let mut size = Self {
            values: 1,
            bytes: 0,
        };
        let mut add = |inner: Size| {
            size.values = size.values.saturating_add(inner.values);
            size.bytes = size.bytes.saturating_add(inner.bytes);
        };
        match value {
            Value::String(text) => add(Size {
                values: 0,
                bytes: text.len(),
            }),
            Value::Array(items) => items.iter().for_each(|item| add(Size::of(item))),
            Value::Object(object) => {
                for (key, item) in object {
                    add(Size {
                        values: 0,
                        bytes: key.len(),
                    });
                    add(Size::of(item));
                }
            }
            _ => {}
        }
        size
    }
}

#[cfg(test)]
#[path = "evaluators_tests.rs"]
mod tests;
