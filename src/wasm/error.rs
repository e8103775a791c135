//! Turning eventfold errors into JavaScript errors: a real `Error` (with a stack, so
//! `instanceof Error` holds) whose `name` is `"EventfoldError"`, with a stable `code` and the
//! error's structured fields.

use js_sys::Reflect;
use wasm_bindgen::{JsCast, JsValue};

use crate::core::expected::ExpectedVersion;
use crate::error::{Error, ErrorField};

fn set(target: &JsValue, key: &str, value: impl Into<JsValue>) {
    // Setting a property on a fresh Error object cannot fail.
    let _ = Reflect::set(target, &JsValue::from_str(key), &value.into());
}

/// The JavaScript value of an expected version: its number, or its name.
pub(crate) fn expected_to_js(expected: ExpectedVersion) -> JsValue {
    match expected {
        ExpectedVersion::Exact(v) => JsValue::from_f64(v.0 as f64),
        other => JsValue::from_str(&other.to_string()),
    }
}

/// The error declarations of the `.d.ts`, from the one table in `src/error/table.rs`.
#[wasm_bindgen::prelude::wasm_bindgen(typescript_custom_section)]
const TS_ERRORS: &str = crate::error::TS_DECLARATIONS;

/// Converts an [`Error`] into a JavaScript `Error` named `EventfoldError`, with the fields the
/// error table declares for its code.
pub(crate) fn to_js(err: Error) -> JsValue {
    let js = js_sys::Error::new(&err.to_string());
    js.set_name("EventfoldError");
    let v: JsValue = js.into();
    set(&v, "code", err.code());
    for (key, value) in err.js_fields() {
        let value = match value {
            ErrorField::Str(s) => JsValue::from_str(&s),
            ErrorField::Num(n) => JsValue::from_f64(n),
            ErrorField::Expected(e) => expected_to_js(e),
        };
        set(&v, key, value);
    }
    v
}

/// The message of a thrown JavaScript value (an `Error`'s message, or its string form).
pub(crate) fn message_of(thrown: &JsValue) -> String {
    if let Some(e) = thrown.dyn_ref::<js_sys::Error>() {
        return String::from(e.message());
    }
    thrown.as_string().unwrap_or_else(|| format!("{thrown:?}"))
}
