//! Upcasting: transforms registered per event type and schema version turn old event shapes
//! into the current one as events are read. Stored events are never rewritten.

use std::rc::Rc;

use js_sys::{Function, Map};
use wasm_bindgen::prelude::*;

use crate::core::event::RecordedEvent;
use crate::error::{Error, Result};
use crate::wasm::convert::recorded_to_js;
use crate::wasm::error::message_of;

#[wasm_bindgen(module = "/src/wasm/js/bindings.js")]
extern "C" {
    #[wasm_bindgen(js_name = upcastEvents, catch)]
    fn upcast_events(upcasters: &Map, events: &JsValue) -> std::result::Result<JsValue, JsValue>;
}

/// The upcasters of one store: event type → (schema version → function).
#[derive(Clone)]
pub(crate) struct Upcasters(Rc<Map>);

impl Upcasters {
    pub(crate) fn new() -> Self {
        Upcasters(Rc::new(Map::new()))
    }

    /// Registers `f` to lift events of `event_type` from schema version `from` to `from + 1`.
    pub(crate) fn register(&self, event_type: &str, from: u32, f: Function) -> Result<()> {
        if event_type.is_empty() {
            return Err(Error::invalid("an upcaster needs an event type"));
        }
        if from == 0 {
            return Err(Error::invalid("schema versions start at 1"));
        }
        let key = JsValue::from_str(event_type);
        let versions = match self.0.get(&key).dyn_into::<Map>() {
            Ok(m) => m,
            Err(_) => {
                let m = Map::new();
                self.0.set(&key, &m);
                m
            }
        };
        let version = JsValue::from_f64(f64::from(from));
        if versions.has(&version) {
            return Err(Error::invalid(format!(
                "an upcaster of {event_type} from schema version {from} is already registered"
            )));
        }
        versions.set(&version, &f);
        Ok(())
    }

    /// Parsed events (a JavaScript array) in their current shape.
    pub(crate) fn apply(&self, parsed: JsValue) -> Result<JsValue> {
        if self.0.size() == 0 {
            return Ok(parsed);
        }
        upcast_events(&self.0, &parsed)
            .map_err(|e| Error::invalid(format!("upcasting failed: {}", message_of(&e))))
    }

    /// Recorded events as JavaScript objects in their current shape.
    pub(crate) fn to_js(&self, events: &[RecordedEvent]) -> Result<JsValue> {
        let parsed = recorded_to_js(events)?;
        if self.0.size() == 0 {
            return Ok(parsed);
        }
        upcast_events(&self.0, &parsed)
            .map_err(|e| Error::invalid(format!("upcasting failed: {}", message_of(&e))))
    }
}
