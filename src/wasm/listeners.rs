//! Subscribers of projections and read models as JavaScript functions: the engine's live views
//! keep the lists ([`crate::cqrs::live::Subscribers`]); here a callback is called and what it
//! throws reported, and the unsubscribe function is made.

use js_sys::Function;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/src/wasm/js/bindings.js")]
extern "C" {
    #[wasm_bindgen(js_name = reportListenerError)]
    fn report_listener_error(what: &str, error: &JsValue);
}

/// Calls `callback(arg)`; what it throws is reported with `console.error` (naming `what`) and
/// otherwise ignored, so one failing subscriber never stops the others or the fold that
/// notifies them.
pub(crate) fn call(callback: &Function, arg: &JsValue, what: &str) {
    if let Err(e) = callback.call1(&JsValue::UNDEFINED, arg) {
        report_listener_error(what, &e);
    }
}

/// The JavaScript function returned by `subscribe`: runs `unsubscribe` (which must be harmless
/// when called again).
pub(crate) fn unsubscriber(unsubscribe: impl Fn() + 'static) -> JsValue {
    Closure::<dyn Fn()>::new(unsubscribe).into_js_value()
}
