//! What the two live-view classes (`Projection`, `ReadModel`) share: the engine's views keep
//! the subscriber lists ([`crate::cqrs::live::Subscribers`]) and run the lifecycle; here a
//! JavaScript callback is called and what it throws reported, the unsubscribe function made,
//! and `onProgress` called.

use std::rc::Rc;

use js_sys::Function;
use wasm_bindgen::prelude::*;

use crate::cqrs::live::Progress;
use crate::error::Result;
use crate::wasm::convert::get;

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

/// The JavaScript function returned by `subscribe`: `remove(view, id)` while the view lives
/// (calling it again is harmless: the id is gone).
pub(crate) fn unsubscriber<V: 'static>(view: &Rc<V>, id: u64, remove: fn(&V, u64)) -> JsValue {
    let view = Rc::downgrade(view);
    Closure::<dyn Fn()>::new(move || {
        if let Some(view) = view.upgrade() {
            remove(&view, id)
        }
    })
    .into_js_value()
}

/// `onProgress` of a definition as a progress callback (`{ processed, total }` per page).
pub(crate) fn on_progress(options: &JsValue) -> Result<impl FnMut(Progress) + 'static> {
    let callback = get(options, "onProgress")?.dyn_into::<Function>().ok();
    Ok(move |p: Progress| {
        if let Some(f) = &callback {
            let _ = f.call1(&JsValue::UNDEFINED, &crate::wasm::convert::plain(&p));
        }
    })
}
