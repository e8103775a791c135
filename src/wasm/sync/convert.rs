//! The JavaScript values of sync that are not plain data (reports, the status and held streams
//! are, see `convert::plain`): rejections, failures, and the app's listeners.

use js_sys::{Array, Object, Reflect};
use wasm_bindgen::prelude::*;

use super::listeners::Listeners;
use crate::core::json::Json;
use crate::sync::client::Rejected;
use crate::sync::scheduler::{Failure, FailureKind};
use crate::wasm::error::to_js;

/// The callbacks given to `onStatus`, `onRejected` and `onConflict`.
#[derive(Default)]
pub(super) struct SyncListeners {
    pub(super) status: Listeners,
    pub(super) rejected: Listeners,
    pub(super) conflict: Listeners,
}

/// A failed exchange as the scheduler keeps it: the JavaScript error `now()` rejected with
/// (so `status.lastError` is that very object) and its class.
#[derive(Clone)]
pub(super) struct JsFailure {
    pub(super) kind: FailureKind,
    pub(super) error: JsValue,
}

impl Failure for JsFailure {
    fn kind(&self) -> FailureKind {
        self.kind
    }
}

impl serde::Serialize for JsFailure {
    /// The error itself (`status.lastError`).
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serde_wasm_bindgen::preserve::serialize(&self.error, s)
    }
}

fn set(o: &Object, k: &str, v: &JsValue) {
    let _ = Reflect::set(o, &JsValue::from_str(k), v);
}

/// `{ stream, command, events, error }` of a pending command or append dropped for good.
pub(super) fn rejected_to_js(rejected: Rejected) -> JsValue {
    let o = Object::new();
    set(&o, "stream", &JsValue::from_str(rejected.stream.as_str()));
    let command = rejected
        .command
        .as_ref()
        .and_then(|c| js_sys::JSON::parse(c.as_str()).ok())
        .unwrap_or(JsValue::UNDEFINED);
    set(&o, "command", &command);
    let events: Array = rejected
        .events
        .iter()
        .filter_map(|e| Json::from_value(e).ok())
        .filter_map(|j| js_sys::JSON::parse(j.as_str()).ok())
        .collect();
    set(&o, "events", &events);
    set(&o, "error", &to_js(rejected.error));
    o.into()
}
