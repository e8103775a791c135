//! User functions from JavaScript as a [`Model`] (aggregates) and a [`Projection`]: batches of
//! events cross the boundary once per batch and are folded by a JavaScript loop.

use std::cell::RefCell;

use js_sys::{Array, Function};
use wasm_bindgen::prelude::*;

use crate::core::event::{NewEvent, RecordedEvent};
use crate::core::json::Json;
use crate::cqrs::live::Batch;
use crate::cqrs::{Applied, Model, Projection};
use crate::error::{Error, Result};
use crate::wasm::batch::JsBatch;
use crate::wasm::convert::new_events;
use crate::wasm::error::message_of;

#[wasm_bindgen(module = "/src/wasm/js/bindings.js")]
extern "C" {
    #[wasm_bindgen(js_name = foldEvents)]
    fn fold_events(evolve: &Function, state: &JsValue, events: &JsValue) -> Array;
}

#[wasm_bindgen(module = "/src/wasm/js/bindings.js")]
extern "C" {
    #[wasm_bindgen(js_name = encodeJson, catch)]
    fn encode_json(value: &JsValue, path: &str) -> std::result::Result<String, JsValue>;
}

/// A function option of a definition object, or `INVALID_INPUT` naming it.
pub(crate) fn function(options: &JsValue, key: &str, what: &str) -> Result<Function> {
    crate::wasm::convert::get(options, key)?
        .dyn_into::<Function>()
        .map_err(|_| Error::invalid(format!("{what} needs a function `{key}`")))
}

/// Folds `events` with a JavaScript `evolve`; on a throw, `EVOLVE_FAILED` naming the event.
fn fold(evolve: &Function, state: JsValue, events: &[RecordedEvent]) -> Result<JsValue> {
    let parsed = crate::wasm::convert::recorded_to_js(events)?;
    let out = fold_events(evolve, &state, &parsed);
    let applied = out.get(1).as_f64().map_or(0, |n| n as usize);
    let thrown = out.get(2);
    if thrown.is_undefined() {
        return Ok(out.get(0));
    }
    let event = events.get(applied);
    Err(Error::EvolveFailed {
        position: event.map(|e| e.position).unwrap_or_default(),
        message: match event {
            Some(e) => format!(
                "evolve threw on event {} ({}) of {}: {}",
                e.id,
                e.event_type,
                e.stream,
                message_of(&thrown)
            ),
            None => message_of(&thrown),
        },
    })
}

/// Folds parsed events (a JavaScript array, upcast) with a JavaScript `evolve`: the state
/// after them and how many there were, or an `EVOLVE_FAILED` naming the event that threw.
pub(crate) fn fold_parsed(
    evolve: &Function,
    state: &JsValue,
    parsed: &JsValue,
) -> Result<(JsValue, usize)> {
    let out = fold_events(evolve, state, parsed);
    let applied = out.get(1).as_f64().map_or(0, |n| n as usize);
    let thrown = out.get(2);
    if thrown.is_undefined() {
        return Ok((out.get(0), applied));
    }
    let event = Array::from(parsed).get(applied as u32);
    let field = |k: &str| js_sys::Reflect::get(&event, &JsValue::from_str(k)).unwrap_or_default();
    Err(Error::EvolveFailed {
        position: crate::core::event::Position(field("position").as_f64().unwrap_or(0.0) as u64),
        message: format!(
            "evolve threw on event {} ({}) of {}: {}",
            field("id").as_string().unwrap_or_default(),
            field("type").as_string().unwrap_or_default(),
            field("stream").as_string().unwrap_or_default(),
            message_of(&thrown)
        ),
    })
}

fn encode_state(state: &JsValue) -> Result<Json> {
    encode_json(state, "state")
        .map(Json::trusted)
        .map_err(|e| Error::invalid(format!("the state cannot be stored: {}", message_of(&e))))
}

fn decode_state(json: &Json) -> Result<JsValue> {
    js_sys::JSON::parse(json.as_str()).map_err(|e| Error::invalid(message_of(&e)))
}

/// An aggregate written in JavaScript: `{ initialState(), evolve(state, event), decide(command, state) }`.
pub(crate) struct JsModel {
    pub initial_state: Function,
    pub evolve: Function,
    pub decide: Function,
    /// What the last rejecting `decide` threw, to hand to the caller as `cause`.
    pub last_rejection: RefCell<Option<JsValue>>,
}

impl Model for JsModel {
    type State = JsValue;
    type Command = JsValue;

    fn initial_state(&self) -> Result<JsValue> {
        self.initial_state
            .call0(&JsValue::UNDEFINED)
            .map_err(|e| Error::invalid(format!("initialState threw: {}", message_of(&e))))
    }

    fn evolve(&self, state: JsValue, events: &[RecordedEvent]) -> Result<JsValue> {
        fold(&self.evolve, state, events)
    }

    fn encode_command(&self, command: &JsValue) -> Option<Json> {
        encode_json(command, "command").ok().map(Json::trusted)
    }

    fn decide(&self, command: &JsValue, state: &JsValue) -> Result<Vec<NewEvent>> {
        let events = match self.decide.call2(&JsValue::UNDEFINED, command, state) {
            Ok(events) => events,
            Err(thrown) => {
                let message = message_of(&thrown);
                *self.last_rejection.borrow_mut() = Some(thrown);
                return Err(Error::DeciderRejected { message });
            }
        };
        if events.is_undefined() || events.is_null() {
            return Ok(Vec::new());
        }
        if events.is_instance_of::<js_sys::Promise>() {
            return Err(Error::invalid(
                "decide must return an array of events synchronously, not a Promise",
            ));
        }
        if !Array::is_array(&events) {
            return Err(Error::invalid(
                "decide must return an array of events (or throw to reject)",
            ));
        }
        new_events(&events)
            .map_err(|e| Error::invalid(format!("decide returned a malformed event: {e}")))
    }

    fn encode_state(&self, state: &JsValue) -> Result<Json> {
        encode_state(state)
    }

    fn decode_state(&self, json: &Json) -> Result<JsValue> {
        decode_state(json)
    }
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = structuredClone, catch)]
    fn structured_clone(value: &JsValue) -> std::result::Result<JsValue, JsValue>;
}

/// A projection written in JavaScript: `{ init(), evolve(state, event) }`, folding pages of
/// JavaScript events with one call into JavaScript per page.
pub(crate) struct JsProjection {
    pub init: Function,
    pub evolve: Function,
}

impl Projection<JsBatch> for JsProjection {
    type State = JsValue;

    fn init(&self) -> Result<JsValue> {
        self.init
            .call0(&JsValue::UNDEFINED)
            .map_err(|e| Error::invalid(format!("init threw: {}", message_of(&e))))
    }

    fn evolve(&self, state: &mut JsValue, events: &JsBatch) -> Applied {
        let out = fold_events(&self.evolve, state, events.array());
        *state = out.get(0);
        let applied = out.get(1).as_f64().map_or(0, |n| n as usize);
        let thrown = out.get(2);
        let error = (!thrown.is_undefined()).then(|| Error::EvolveFailed {
            position: events.position(applied),
            message: format!(
                "evolve threw on {}: {}",
                events.describe(applied),
                message_of(&thrown)
            ),
        });
        Applied { applied, error }
    }

    fn encode_state(&self, state: &JsValue) -> Result<Json> {
        encode_state(state)
    }

    fn decode_state(&self, json: &Json) -> Result<JsValue> {
        decode_state(json)
    }

    /// A structured clone (faster than through JSON).
    fn fork(&self, state: &JsValue) -> Result<JsValue> {
        structured_clone(state).map_err(|e| Error::invalid(message_of(&e)))
    }
}
