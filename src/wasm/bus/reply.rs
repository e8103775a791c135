//! Values crossing back from JavaScript handlers: replies as the promise outcome a caller
//! sees, thrown values as core errors ([`crate::cqrs::bus::failure`] keeps the codes), JSON
//! results, and the promise of a bus method.

use js_sys::Reflect;
use wasm_bindgen::prelude::*;

use crate::core::json::Json;
use crate::error::{Error, Result};
use crate::wasm::bus::Reply;
use crate::wasm::error::{message_of, to_js};

pub(crate) fn set(o: &JsValue, key: &str, v: &JsValue) {
    let _ = Reflect::set(o, &JsValue::from_str(key), v);
}

/// Whether a thrown value is an `EventfoldError`.
fn is_eventfold(thrown: &JsValue) -> bool {
    thrown.is_object()
        && Reflect::get(thrown, &"name".into())
            .ok()
            .and_then(|n| n.as_string())
            .as_deref()
            == Some("EventfoldError")
}

/// A thrown value as a core error (for dead letters and saga records).
pub(crate) fn error_from_js(thrown: &JsValue) -> Error {
    let code = is_eventfold(thrown)
        .then(|| Reflect::get(thrown, &"code".into()).ok())
        .flatten()
        .and_then(|c| c.as_string());
    crate::cqrs::bus::failure(code.as_deref(), message_of(thrown))
}

/// A reply as the promise outcome a JavaScript caller sees.
pub(crate) fn settle(r: Result<Reply>) -> Reply {
    match r {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(thrown)) if is_eventfold(&thrown) => Err(thrown),
        Ok(Err(thrown)) => {
            let js = to_js(error_from_js(&thrown));
            set(&js, "cause", &thrown);
            Err(js)
        }
        Err(e) => Err(to_js(e)),
    }
}

/// A JavaScript value's JSON (`null` for `undefined`).
pub(crate) fn js_json(v: &JsValue) -> Result<Json> {
    if v.is_undefined() {
        return Ok(Json::null());
    }
    let text = js_sys::JSON::stringify(v)
        .ok()
        .and_then(|s| s.as_string())
        .ok_or_else(|| Error::invalid("the value is not JSON"))?;
    Ok(Json::parse(text)?)
}
