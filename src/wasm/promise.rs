//! One non-generic bridge from Rust futures to JavaScript promises. `future_to_promise` is
//! generic over the future, so calling it with each method's own future type copies its
//! machinery into the wasm once per method (several KB each); boxing first keeps one copy.

use std::future::Future;
use std::pin::Pin;

use js_sys::Promise;
use wasm_bindgen::JsValue;

use crate::wasm::error::to_js;

type BoxedFuture = Pin<Box<dyn Future<Output = Result<JsValue, JsValue>>>>;

fn bridge(f: BoxedFuture) -> Promise {
    wasm_bindgen_futures::future_to_promise(f)
}

/// Runs `f` and settles a promise with its outcome.
pub(crate) fn to_promise(f: impl Future<Output = Result<JsValue, JsValue>> + 'static) -> Promise {
    bridge(Box::pin(f))
}

/// Runs `f` as a promise, turning its error into an `EventfoldError`.
pub(crate) fn promise(f: impl Future<Output = crate::error::Result<JsValue>> + 'static) -> Promise {
    to_promise(async move { f.await.map_err(to_js) })
}

/// Runs `f` in the background (one copy of the task machinery for every caller, like
/// [`to_promise`]).
pub(crate) fn spawn(f: impl Future<Output = ()> + 'static) {
    let boxed: Pin<Box<dyn Future<Output = ()>>> = Box::pin(f);
    wasm_bindgen_futures::spawn_local(boxed);
}
