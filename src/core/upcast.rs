//! Upcasting: steps registered per event type and schema version turn old event shapes into the
//! current one as events are read; stored events are never rewritten.
//!
//! The rule, in one place for every read path (Rust [`RecordedEvent`]s, and JavaScript values on
//! the JS fast path, through [`Lift`]):
//! - an event's schema version is its `metadata.schemaVersion` when that is an integer ≥ 1,
//!   else 1;
//! - while a step is registered for `(type, version)`, the event goes through it and comes out
//!   at `version + 1` (the step may also change the type; `metadata.schemaVersion` is stamped);
//! - more than [`MAX_STEPS`] steps on one event is a loop, reported as `INVALID_INPUT`.
//!
//! ```
//! use eventfold::core::upcast::{Lifted, Upcasters};
//! use eventfold::{EventId, EventType, Json, Position, RecordedEvent, StreamId, Timestamp, Version};
//! let mut upcasters = Upcasters::new();
//! // v1 stored a price in units; v2 stores minor units.
//! upcasters.register("ItemAdded", 1, |e: &RecordedEvent| -> eventfold::Result<Lifted> {
//!     let v1: serde_json::Value = e.data.decode()?;
//!     let minor = (v1["price"].as_f64().unwrap_or(0.0) * 100.0).round() as i64;
//!     Ok(Lifted::data(Json::from_value(&serde_json::json!({ "priceMinor": minor }))?))
//! })?;
//! let old = RecordedEvent {
//!     id: EventId::from_bytes([1; 16]), stream: StreamId::new("order-1")?,
//!     event_type: EventType::new("ItemAdded")?, data: Json::parse(r#"{"price":12.5}"#)?,
//!     metadata: Json::parse("{}")?, version: Version(1), position: Position(1), timestamp: Timestamp(0),
//! };
//! let current = upcasters.apply(old)?;
//! assert_eq!(current.data.as_str(), r#"{"priceMinor":1250}"#);
//! assert_eq!(current.metadata.as_str(), r#"{"schemaVersion":2}"#);
//! # Ok::<(), eventfold::Error>(())
//! ```

use std::collections::HashMap;
use std::rc::Rc;

use serde_json::{Map, Value};

use crate::core::event::{EventType, RecordedEvent};
use crate::core::json::Json;
use crate::error::{Error, Result};

/// Steps on one event beyond which a chain of upcasters counts as a loop.
pub const MAX_STEPS: u32 = 64;

/// What a step makes of an event: its data in the next schema version, and optionally a new
/// type and metadata (the schema version is stamped on top).
#[derive(Clone, Debug, PartialEq)]
pub struct Lifted {
    /// The new type, if the step renames the event.
    pub event_type: Option<EventType>,
    /// The data in the next schema version.
    pub data: Json,
    /// The new metadata (an object), if the step changes it.
    pub metadata: Option<Json>,
}

impl Lifted {
    /// A step that changes only the data.
    pub fn data(data: Json) -> Self {
        Lifted {
            event_type: None,
            data,
            metadata: None,
        }
    }
}

/// What the upcasting rule reads of an event, in any representation.
pub trait Versioned {
    /// The event's type (`None` when the representation has none: it is left alone).
    fn event_type(&self) -> Option<String>;

    /// `metadata.schemaVersion` when it is an integer ≥ 1, else 1.
    fn schema_version(&self) -> u32;
}

/// An event representation a step of kind `S` can lift.
pub trait Lift<S: ?Sized>: Versioned + Sized {
    /// Runs `step` on the event and returns the next event, stamped with schema version `to`.
    ///
    /// # Errors
    /// What the step failed with, or a step result of the wrong shape.
    fn lift(self, step: &S, to: u32) -> Result<Self>;
}

/// The upcasters of one store, by event type and schema version. Generic over the step, so a
/// registry of Rust closures and one of JavaScript functions follow the same rule.
pub struct Upcasters<S: ?Sized> {
    steps: HashMap<String, HashMap<u32, Rc<S>>>,
}

impl<S: ?Sized> Default for Upcasters<S> {
    fn default() -> Self {
        Upcasters {
            steps: HashMap::new(),
        }
    }
}

impl<S: ?Sized> Upcasters<S> {
    /// No upcasters.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Whether none is registered (reads then skip upcasting entirely).
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Whether events of `event_type` may need upcasting.
    pub fn covers(&self, event_type: &str) -> bool {
        self.steps.contains_key(event_type)
    }

    /// The event types that have upcasters.
    pub fn types(&self) -> impl Iterator<Item = &str> {
        self.steps.keys().map(String::as_str)
    }

    /// Registers `step`, lifting events of `event_type` from schema version `from` to
    /// `from + 1`.
    ///
    /// # Errors
    /// `INVALID_INPUT` for an empty type, version 0, or a step already registered there.
    pub fn register_step(&mut self, event_type: &str, from: u32, step: Rc<S>) -> Result<()> {
        if event_type.is_empty() {
            return Err(Error::invalid("an upcaster needs an event type"));
        }
        if from == 0 {
            return Err(Error::invalid("schema versions start at 1"));
        }
        let versions = self.steps.entry(event_type.to_owned()).or_default();
        if versions.contains_key(&from) {
            return Err(Error::invalid(format!(
                "an upcaster of {event_type} from schema version {from} is already registered"
            )));
        }
        versions.insert(from, step);
        Ok(())
    }

    /// The event in its current shape (see the module docs for the rule).
    ///
    /// # Errors
    /// What a step failed with; `INVALID_INPUT` for a loop of more than [`MAX_STEPS`].
    pub fn apply_to<E: Lift<S>>(&self, mut event: E) -> Result<E> {
        if self.steps.is_empty() {
            return Ok(event);
        }
        let Some(event_type) = event.event_type() else {
            return Ok(event);
        };
        let Some(mut versions) = self.steps.get(&event_type) else {
            return Ok(event);
        };
        let first = event_type;
        let mut current = first.clone();
        for steps in 0.. {
            let from = event.schema_version();
            let Some(step) = versions.get(&from) else {
                return Ok(event);
            };
            if steps >= MAX_STEPS {
                return Err(Error::invalid(format!(
                    "the upcasters of {first} loop (more than {MAX_STEPS} steps)"
                )));
            }
            event = event.lift(step, from + 1).map_err(|e| match e {
                Error::InvalidInput { message } => Error::invalid(format!(
                    "the upcaster of {current} v{from} failed: {message}"
                )),
                other => other,
            })?;
            match event.event_type() {
                Some(t) if t == current => {}
                Some(t) => match self.steps.get(&t) {
                    Some(v) => {
                        versions = v;
                        current = t;
                    }
                    None => return Ok(event),
                },
                None => return Ok(event),
            }
        }
        Ok(event)
    }
}

/// A Rust step: reads the old event, returns what it becomes.
pub type RustStep = dyn Fn(&RecordedEvent) -> Result<Lifted>;

impl Upcasters<RustStep> {
    /// A registry of Rust steps.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a Rust step (see [`register_step`](Self::register_step)).
    ///
    /// # Errors
    /// As `register_step`.
    pub fn register(
        &mut self,
        event_type: &str,
        from: u32,
        step: impl Fn(&RecordedEvent) -> Result<Lifted> + 'static,
    ) -> Result<()> {
        self.register_step(event_type, from, Rc::new(step))
    }

    /// The event in its current shape.
    ///
    /// # Errors
    /// As [`apply_to`](Self::apply_to).
    pub fn apply(&self, event: RecordedEvent) -> Result<RecordedEvent> {
        self.apply_to(event)
    }
}

/// `metadata.schemaVersion` of a metadata object's JSON text, when it is an integer ≥ 1.
pub fn schema_version_of(metadata: &Json) -> u32 {
    #[derive(serde::Deserialize)]
    struct Meta {
        #[serde(rename = "schemaVersion")]
        schema_version: Option<Value>,
    }
    metadata
        .decode::<Meta>()
        .ok()
        .and_then(|m| m.schema_version)
        .and_then(|v| v.as_u64())
        .and_then(|v| u32::try_from(v).ok())
        .filter(|v| *v >= 1)
        .unwrap_or(1)
}

/// `metadata` with `schemaVersion` set to `version`.
///
/// # Errors
/// `INVALID_INPUT` when `metadata` is not an object.
pub fn stamp(metadata: &Json, version: u32) -> Result<Json> {
    let mut map: Map<String, Value> = metadata
        .decode()
        .map_err(|_| Error::invalid("an upcast event's metadata must be an object"))?;
    map.insert("schemaVersion".into(), Value::from(version));
    Ok(Json::from_value(&map)?)
}

impl Versioned for RecordedEvent {
    fn event_type(&self) -> Option<String> {
        Some(self.event_type.as_str().to_owned())
    }

    fn schema_version(&self) -> u32 {
        schema_version_of(&self.metadata)
    }
}

impl Lift<RustStep> for RecordedEvent {
    fn lift(self, step: &RustStep, to: u32) -> Result<Self> {
        let lifted = step(&self)?;
        let metadata = stamp(lifted.metadata.as_ref().unwrap_or(&self.metadata), to)?;
        Ok(RecordedEvent {
            event_type: lifted.event_type.unwrap_or(self.event_type),
            data: lifted.data,
            metadata,
            ..self
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::event::{EventId, Position, StreamId, Timestamp, Version};

    fn event(event_type: &str, data: &str, metadata: &str) -> RecordedEvent {
        RecordedEvent {
            id: EventId::from_bytes([1; 16]),
            stream: StreamId::new("s-1").unwrap(),
            event_type: EventType::new(event_type).unwrap(),
            data: Json::parse(data).unwrap(),
            metadata: Json::parse(metadata).unwrap(),
            version: Version(1),
            position: Position(1),
            timestamp: Timestamp(0),
        }
    }

    fn wrap(key: &'static str) -> impl Fn(&RecordedEvent) -> Result<Lifted> {
        move |e: &RecordedEvent| {
            Ok(Lifted::data(Json::parse(format!(
                "{{\"{key}\":{}}}",
                e.data.as_str()
            ))?))
        }
    }

    #[test]
    fn steps_chain_from_the_stored_version_and_stamp_the_last() {
        let mut u = Upcasters::new();
        u.register("A", 1, wrap("v2")).unwrap();
        u.register("A", 2, wrap("v3")).unwrap();
        let e = u.apply(event("A", "1", r#"{"k":true}"#)).unwrap();
        assert_eq!(e.data.as_str(), r#"{"v3":{"v2":1}}"#);
        assert_eq!(e.metadata.as_str(), r#"{"k":true,"schemaVersion":3}"#);
        // Stored at version 2: only the second step runs.
        let e = u.apply(event("A", "1", r#"{"schemaVersion":2}"#)).unwrap();
        assert_eq!(e.data.as_str(), r#"{"v3":1}"#);
        // Current, other types, and non-integer versions (read as 1) behave as the rule says.
        let e = u.apply(event("A", "1", r#"{"schemaVersion":3}"#)).unwrap();
        assert_eq!(e.data.as_str(), "1");
        assert_eq!(u.apply(event("B", "1", "{}")).unwrap().data.as_str(), "1");
        let e = u
            .apply(event("A", "1", r#"{"schemaVersion":"2"}"#))
            .unwrap();
        assert_eq!(e.data.as_str(), r#"{"v3":{"v2":1}}"#);
    }

    #[test]
    fn a_renaming_step_continues_with_the_new_types_steps() {
        let mut u = Upcasters::new();
        u.register("Old", 1, |_: &RecordedEvent| {
            Ok(Lifted {
                event_type: Some(EventType::new("New")?),
                data: Json::parse("0")?,
                metadata: None,
            })
        })
        .unwrap();
        u.register("New", 2, wrap("n3")).unwrap();
        let e = u.apply(event("Old", "9", "{}")).unwrap();
        assert_eq!(e.event_type.as_str(), "New");
        assert_eq!(e.data.as_str(), r#"{"n3":0}"#);
        assert_eq!(e.metadata.as_str(), r#"{"schemaVersion":3}"#);
    }

    #[test]
    fn registration_rules_loops_and_failures_are_typed_errors() {
        let mut u = Upcasters::new();
        assert_eq!(
            u.register("", 1, wrap("x")).unwrap_err().code(),
            "INVALID_INPUT"
        );
        assert_eq!(
            u.register("A", 0, wrap("x")).unwrap_err().code(),
            "INVALID_INPUT"
        );
        u.register("A", 1, wrap("x")).unwrap();
        assert_eq!(
            u.register("A", 1, wrap("y")).unwrap_err().code(),
            "INVALID_INPUT"
        );
        // A step that keeps the version where it was cannot loop: the stamp moves it on. A
        // rename back and forth can: A@1 -> B@2 -> A@3 ... is bounded by MAX_STEPS.
        let mut looping = Upcasters::new();
        for v in 1..200u32 {
            let to = if v % 2 == 1 { "B" } else { "A" };
            let from = if v % 2 == 1 { "A" } else { "B" };
            looping
                .register(from, v, move |_: &RecordedEvent| {
                    Ok(Lifted {
                        event_type: Some(EventType::new(to)?),
                        data: Json::parse("0")?,
                        metadata: None,
                    })
                })
                .unwrap();
        }
        let err = looping.apply(event("A", "0", "{}")).unwrap_err();
        assert!(err.to_string().contains("loop"), "{err}");
        let mut failing = Upcasters::new();
        failing
            .register("A", 1, |_: &RecordedEvent| Err(Error::invalid("no")))
            .unwrap();
        let err = failing.apply(event("A", "0", "{}")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid input: the upcaster of A v1 failed: no"
        );
        // Metadata that is not an object cannot be stamped.
        assert_eq!(
            u.apply(event("A", "0", "[]")).unwrap_err().code(),
            "INVALID_INPUT"
        );
    }
}
