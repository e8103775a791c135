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

/// A live subscription to a store's events; `close()` stops it.
///
/// ```ts
/// const sub = store.subscribe({ after: 0, streamPrefix: "order-" }, (events) => render(events));
/// sub.close();
/// ```
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
/// stops and `on_error` (if a function) receives the error.
pub(crate) fn start(
    store: Store,
    after: Position,
    filter: EventFilter,
    batch_size: usize,
    callback: Function,
    on_error: Option<Function>,
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
            Ok(()) => return,
            Err(Stopped::Read(e)) => to_js(e),
            Err(Stopped::Sink(thrown)) => thrown,
        };
        match on_error {
            Some(f) => {
                let _ = f.call1(&JsValue::UNDEFINED, &error);
            }
            None => web_console_error(&error),
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
