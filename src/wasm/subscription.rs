//! `store.subscribe(options, callback)`: catch-up, then live delivery of batches in position
//! order, until `close()`.

use std::cell::RefCell;
use std::future::{poll_fn, Future};
use std::rc::Rc;
use std::task::{Poll, Waker};

use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::core::event::Position;
use crate::engine::Store;
use crate::store::{EventFilter, Subscription as CoreSubscription};
use crate::wasm::error::to_js;

#[derive(Default)]
struct CloseSignal {
    closed: bool,
    waker: Option<Waker>,
}

/// A live subscription to a store's events; `close()` stops it.
///
/// ```ts
/// const sub = store.subscribe({ after: 0, streamPrefix: "order-" }, (events) => render(events));
/// sub.close();
/// ```
#[wasm_bindgen]
pub struct Subscription {
    signal: Rc<RefCell<CloseSignal>>,
    checkpoint: Rc<RefCell<Position>>,
}

#[wasm_bindgen]
impl Subscription {
    /// Stops delivery. A batch already being delivered finishes; no other batch follows.
    pub fn close(&self) {
        let mut s = self.signal.borrow_mut();
        s.closed = true;
        if let Some(w) = s.waker.take() {
            w.wake();
        }
    }

    /// Whether the subscription has stopped (closed, the store closed, or a callback failed).
    #[wasm_bindgen(getter)]
    pub fn closed(&self) -> bool {
        self.signal.borrow().closed
    }

    /// The position of the last event delivered.
    #[wasm_bindgen(getter)]
    pub fn checkpoint(&self) -> f64 {
        self.checkpoint.borrow().0 as f64
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
    let signal = Rc::new(RefCell::new(CloseSignal::default()));
    let checkpoint = Rc::new(RefCell::new(after));
    let sub = Subscription {
        signal: signal.clone(),
        checkpoint: checkpoint.clone(),
    };
    crate::wasm::promise::spawn(async move {
        let mut core = CoreSubscription::new(std::rc::Rc::new(store), after, filter, batch_size);
        let result: Result<(), JsValue> = async {
            loop {
                let next = {
                    let mut next = std::pin::pin!(core.next_batch());
                    poll_fn(|cx| {
                        let mut s = signal.borrow_mut();
                        if s.closed {
                            return Poll::Ready(None);
                        }
                        s.waker = Some(cx.waker().clone());
                        drop(s);
                        next.as_mut().poll(cx).map(Some)
                    })
                    .await
                };
                let batch = match next {
                    None | Some(Ok(None)) => return Ok(()),
                    Some(Err(e)) => return Err(to_js(e)),
                    Some(Ok(Some(batch))) => batch,
                };
                let events = crate::wasm::convert::recorded_to_js(&batch).map_err(to_js)?;
                let returned = callback.call1(&JsValue::UNDEFINED, &events)?;
                if let Some(p) = returned.dyn_ref::<Promise>() {
                    JsFuture::from(p.clone()).await?;
                }
                *checkpoint.borrow_mut() = core.checkpoint();
                if signal.borrow().closed {
                    return Ok(());
                }
            }
        }
        .await;
        signal.borrow_mut().closed = true;
        if let Err(e) = result {
            match on_error {
                Some(f) => {
                    let _ = f.call1(&JsValue::UNDEFINED, &e);
                }
                None => web_console_error(&e),
            }
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
