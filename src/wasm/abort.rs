//! `options.signal` (an `AbortSignal`) of long calls: the signal stops an engine
//! [`Signal`](crate::cqrs::runtime::Signal), which the engine checks (an aggregate's command
//! before its append) or races a wait against (`ready`, `rebuild`). A call it ends rejects with
//! `signal.reason` (a `DOMException` named `AbortError` unless the app gave another), as
//! `fetch` does; which steps an abort may interrupt is the engine's rule.

use std::future::Future;

use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;

use crate::cqrs::runtime::Signal;
use crate::error::{Error, Result};
use crate::wasm::convert::get;
use crate::wasm::error::{message_of, to_js};
use crate::wasm::promise::to_promise;

#[wasm_bindgen(typescript_custom_section)]
const TS_ABORT_OPTIONS: &'static str = r#"
/** Options of a long call that can be aborted. */
export interface AbortOptions {
  /** Aborting it rejects the call with `signal.reason` (an `AbortError` by default). */
  signal?: AbortSignal;
}
"#;

#[wasm_bindgen]
extern "C" {
    /// `AbortOptions` in TypeScript.
    #[wasm_bindgen(typescript_type = "AbortOptions")]
    pub type AbortOptionsArg;
}

#[wasm_bindgen(module = "/src/wasm/js/bindings.js")]
extern "C" {
    #[wasm_bindgen(js_name = watchAbort, catch)]
    fn watch_abort(signal: &JsValue, stop: &Function) -> std::result::Result<Function, JsValue>;
    #[wasm_bindgen(js_name = abortReason)]
    fn abort_reason(signal: &JsValue) -> JsValue;
}

/// The abort signal of one call, watched until the call is dropped.
pub(crate) struct Abort {
    signal: JsValue,
    engine: Signal,
    unwatch: Option<Function>,
}

impl Abort {
    /// Watches `options.signal` (none: a signal that never stops).
    ///
    /// # Errors
    /// `INVALID_INPUT` when `signal` is not an `AbortSignal`.
    pub(crate) fn from_options(options: Option<AbortOptionsArg>) -> Result<Abort> {
        let options = options.map_or(JsValue::UNDEFINED, JsValue::from);
        let signal = get(&options, "signal")?;
        let engine = Signal::new();
        if signal.is_undefined() {
            return Ok(Abort {
                signal,
                engine,
                unwatch: None,
            });
        }
        let stopper = engine.clone();
        let stop = Closure::<dyn Fn()>::new(move || stopper.stop()).into_js_value();
        let unwatch = watch_abort(&signal, stop.unchecked_ref())
            .map_err(|e| Error::invalid(message_of(&e)))?;
        Ok(Abort {
            signal,
            engine,
            unwatch: Some(unwatch),
        })
    }

    /// The engine's side of the signal.
    pub(crate) fn signal(&self) -> &Signal {
        &self.engine
    }

    /// Whether the signal has aborted.
    pub(crate) fn aborted(&self) -> bool {
        self.engine.is_stopped()
    }

    /// Settles with `f`'s outcome (`undefined` when it succeeds), or rejects with the
    /// signal's reason when it aborts first (`f` is dropped: a wait, never a write).
    pub(crate) fn settled(self, f: impl Future<Output = Result<()>> + 'static) -> Promise {
        to_promise(async move {
            match self.engine.until_stopped(f).await {
                Some(r) => r.map(|()| JsValue::UNDEFINED).map_err(to_js),
                None => Err(self.reason()),
            }
        })
    }

    /// What the aborted call rejects with: `signal.reason`.
    pub(crate) fn reason(&self) -> JsValue {
        abort_reason(&self.signal)
    }
}

impl Drop for Abort {
    fn drop(&mut self) {
        if let Some(unwatch) = self.unwatch.take() {
            let _ = unwatch.call0(&JsValue::UNDEFINED);
        }
    }
}
