//! The engine's own events (saga steps in `$saga-…`, dead letters in `$deadletter-…`): written
//! from a `{"type", "data"}`-tagged `Serialize` value, read back field by field.
//!
//! Reading goes through one generic path: the data object becomes a map of raw JSON values,
//! and each field the event type needs is taken from it. A derived `Deserialize` for an
//! adjacently tagged enum would do the same job, but its code is large (it buffers the
//! content and repeats a struct visitor per variant), and the npm package carries it.
//! Like the derived code, the reader ignores unknown fields and fails on a missing required
//! one or a value of the wrong type.

use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::core::event::{EventId, EventType, NewEvent, Position};
use crate::core::json::Json;
use crate::error::{Error, Result};

/// A `{"type", "data"}`-tagged value as a new event with id `id`.
///
/// # Errors
/// [`crate::error::Error::InvalidInput`] if `value` does not serialize to such an object.
pub(crate) fn to_event<T: Serialize>(id: EventId, value: &T) -> Result<NewEvent> {
    tagged_event(id, &Json::from_value(value)?)
}

fn tagged_event(id: EventId, tagged: &Json) -> Result<NewEvent> {
    let not_tagged = |e: String| Error::invalid(format!("not a tagged event: {e}"));
    let f = Fields::parse(tagged).map_err(not_tagged)?;
    let event_type = f.string("type").map_err(not_tagged)?;
    let data = f.opt("data", Fields::json).map_err(not_tagged)?;
    Ok(NewEvent::new(
        id,
        EventType::new(event_type)?,
        data.unwrap_or_else(Json::null),
    ))
}

/// Why stored data could not be read (the caller adds which record it was).
pub(crate) type FieldResult<T> = std::result::Result<T, String>;

/// The fields of a JSON object, each still raw JSON, in the order they came (a repeated
/// name reads as its last value). A plain list, not a map: objects here have a handful of
/// fields, and a map type would add its own copy of the tree code to the wasm.
pub(crate) struct Fields(Vec<(String, Json)>);

impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Fields;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Fields, A::Error> {
                let mut fields = Vec::new();
                while let Some(entry) = map.next_entry::<String, Json>()? {
                    fields.push(entry);
                }
                Ok(Fields(fields))
            }
        }
        d.deserialize_map(V)
    }
}

impl Fields {
    /// Reads a JSON object.
    ///
    /// # Errors
    /// If `data` is not an object.
    pub(crate) fn parse(data: &Json) -> FieldResult<Fields> {
        serde_json::from_str(data.as_str()).map_err(|e: serde_json::Error| e.to_string())
    }

    fn get(&self, name: &str) -> Option<&Json> {
        self.0.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    fn raw(&self, name: &str) -> FieldResult<&Json> {
        self.get(name)
            .ok_or_else(|| format!("missing field `{name}`"))
    }

    fn value(&self, name: &str) -> FieldResult<Value> {
        serde_json::from_str(self.raw(name)?.as_str()).map_err(|e| e.to_string())
    }

    /// A required field, as its JSON text.
    pub(crate) fn json(&self, name: &str) -> FieldResult<Json> {
        self.raw(name).cloned()
    }

    /// A required object field.
    pub(crate) fn object(&self, name: &str) -> FieldResult<Fields> {
        Fields::parse(self.raw(name)?).map_err(|e| format!("field `{name}`: {e}"))
    }

    /// A required non-negative integer field.
    pub(crate) fn u64(&self, name: &str) -> FieldResult<u64> {
        self.value(name)?
            .as_u64()
            .ok_or_else(|| invalid(name, "a non-negative integer"))
    }

    /// A required index field.
    pub(crate) fn usize(&self, name: &str) -> FieldResult<usize> {
        usize::try_from(self.u64(name)?).map_err(|_| invalid(name, "an index"))
    }

    /// A required `u32` field.
    pub(crate) fn u32(&self, name: &str) -> FieldResult<u32> {
        u32::try_from(self.u64(name)?).map_err(|_| format!("field `{name}` is out of range"))
    }

    /// A required position field.
    pub(crate) fn position(&self, name: &str) -> FieldResult<Position> {
        self.u64(name).map(Position)
    }

    /// A required boolean field.
    pub(crate) fn bool(&self, name: &str) -> FieldResult<bool> {
        self.value(name)?
            .as_bool()
            .ok_or_else(|| invalid(name, "a boolean"))
    }

    /// A required string field.
    pub(crate) fn string(&self, name: &str) -> FieldResult<String> {
        match self.value(name)? {
            Value::String(s) => Ok(s),
            _ => Err(invalid(name, "a string")),
        }
    }

    /// A required event id field.
    pub(crate) fn event_id(&self, name: &str) -> FieldResult<EventId> {
        EventId::parse(self.string(name)?).map_err(|e| e.to_string())
    }

    /// An optional field (missing or `null`: `None`) read with `read`.
    pub(crate) fn opt<T>(
        &self,
        name: &str,
        read: fn(&Self, &str) -> FieldResult<T>,
    ) -> FieldResult<Option<T>> {
        match self.get(name).map(Json::as_str) {
            None | Some("null") => Ok(None),
            Some(_) => read(self, name).map(Some),
        }
    }

    /// A required integer field (may be negative).
    pub(crate) fn i64(&self, name: &str) -> FieldResult<i64> {
        self.value(name)?
            .as_i64()
            .ok_or_else(|| invalid(name, "an integer"))
    }
}

fn invalid(name: &str, expected: &str) -> String {
    format!("invalid type for field `{name}`, expected {expected}")
}

/// Checks that the data of a variant without fields is `null` (what the writer stores).
///
/// # Errors
/// For any other value.
pub(crate) fn unit(data: &Json) -> FieldResult<()> {
    serde_json::from_str::<()>(data.as_str()).map_err(|e| e.to_string())
}

/// The error for an event type the reader does not know.
pub(crate) fn unknown_type(event_type: &EventType) -> String {
    format!("unknown variant `{event_type}`")
}

#[cfg(test)]
mod tests;
