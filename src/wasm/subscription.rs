//! `store.subscribe(options, callback)`: catch-up, then live delivery of batches in position
//! order, until `close()`.

use std::cell::Cell;
use std::rc::Rc;

use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::core::event::{Position, RecordedEvent};
use crate::cqrs::runtime::Signal;
use crate::engine::subscription::{deliver, Stopped};
use crate::engine::Store;
use crate::store::EventFilter;
use crate::wasm::convert::recorded_to_js;
use crate::wasm::error::to_js;

#[wasm_bindgen(module = "/src/wasm/js/bindings.js")]
extern "C" {
    /// The function `store.subscribe(options, callback)` returns around a subscription.
    pub(crate) fn unsubscriber(sub: Subscription, signal: &JsValue) -> Function;

    /// The async iterator `store.subscribe(options)` returns: `push` is the subscription's
    /// callback, `end` its end, `attach` hands the iterator out.
    pub(crate) type BatchChannel;
    #[wasm_bindgen(js_name = batchChannel)]
    pub(crate) fn batch_channel() -> BatchChannel;
    #[wasm_bindgen(method, getter, structural)]
    pub(crate) fn push(this: &BatchChannel) -> Function;
    #[wasm_bindgen(method, getter, structural)]
    pub(crate) fn end(this: &BatchChannel) -> Function;
    #[wasm_bindgen(method, structural)]
    pub(crate) fn attach(this: &BatchChannel, sub: Subscription, signal: &JsValue) -> JsValue;
}

/// A live subscription to a store's events, held by the function or the async iterator
/// `store.subscribe` returns (src/wasm/js/bindings.js, "subscriptions").
#[wasm_bindgen]
pub struct Subscription {
    stop: Signal,
    checkpoint: Rc<Cell<Position>>,
}

#[wasm_bindgen]
impl Subscription {
    /// Stops delivery. A batch already being delivered finishes; no other batch follows.
    pub fn close(&self) {
        self.stop.stop();
    }

    /// Whether the subscription has stopped (closed, the store closed, or a callback failed).
    #[wasm_bindgen(getter)]
    pub fn closed(&self) -> bool {
        self.stop.is_stopped()
    }

    /// The position of the last event delivered.
    #[wasm_bindgen(getter)]
    pub fn checkpoint(&self) -> f64 {
        self.checkpoint.get().0 as f64
    }
}

/// Starts delivering to `callback` in the background. When the callback returns a promise,
/// the next batch waits for it. When it throws or rejects, or reading fails, the subscription
/// stops and `on_error` (if a function) receives the error. `on_end` is called once it has
/// stopped, for any reason.
pub(crate) fn start(
    store: Store,
    after: Position,
    filter: EventFilter,
    batch_size: usize,
    callback: Function,
    on_error: Option<Function>,
    on_end: Option<Function>,
) -> Subscription {
    let sub = Subscription {
        stop: Signal::new(),
        checkpoint: Rc::new(Cell::new(after)),
    };
    let (stop, checkpoint) = (sub.stop.clone(), sub.checkpoint.clone());
    crate::wasm::promise::spawn(async move {
        let sink = |batch: Vec<RecordedEvent>| {
            let returned = recorded_to_js(&batch)
                .map_err(to_js)
                .and_then(|events| callback.call1(&JsValue::UNDEFINED, &events));
            async move {
                if let Some(p) = returned?.dyn_ref::<Promise>() {
                    JsFuture::from(p.clone()).await?;
                }
                Ok::<(), JsValue>(())
            }
        };
        let outcome = deliver(store, after, filter, batch_size, &stop, &checkpoint, sink).await;
        stop.stop();
        let error = match outcome {
            Ok(()) => None,
            Err(Stopped::Read(e)) => Some(to_js(e)),
            Err(Stopped::Sink(thrown)) => Some(thrown),
        };
        if let Some(error) = error {
            match on_error {
                Some(f) => {
                    let _ = f.call1(&JsValue::UNDEFINED, &error);
                }
                None => web_console_error(&error),
            }
        }
        if let Some(f) = on_end {
            let _ = f.call0(&JsValue::UNDEFINED);
        }
    });
    sub
}

fn web_console_error(e: &JsValue) {
    let console = js_sys::Reflect::get(&js_sys::global(), &"console".into()).ok();
    if let Some(console) = console {
        if let Ok(f) = js_sys::Reflect::get(&console, &"error".into()) {
            if let Some(f) = f.dyn_ref::<Function>() {
                let _ = f.call2(&console, &"eventfold subscription stopped:".into(), e);
            }
        }
    }
}
