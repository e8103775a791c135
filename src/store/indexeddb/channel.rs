//! Tells the other tabs of this origin that the log grew (BroadcastChannel).
//!
//! After each committed append transaction the store posts `{ head }` on the channel named
//! `eventfold:<database name>`; every other store open on that database feeds the head it
//! receives to its [`ChangeNotifier`](crate::store::ChangeNotifier), so its subscriptions read
//! the new events from IndexedDB, in position order. After a reset of the log it posts
//! `{ head, reset: true }` at once (never throttled): the others forget what they remember of
//! the log and count the reset on their notifier ([`ResetStore`](crate::store::ResetStore)).
//!
//! Posts of heads are throttled to one per [`POST_INTERVAL_MS`]: a post costs ~0.4–0.6 ms of
//! the page's main thread (and work in the browser process), which a bulk import committing a
//! transaction every few milliseconds paid per transaction. A head committed within the
//! interval is posted when it ends (the newest one only), and on close, so other tabs always
//! learn the last head, at most one interval late.

use std::cell::Cell;
use std::rc::Rc;

use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{BroadcastChannel, MessageEvent};

use super::codec::MAX_SAFE;
use crate::core::event::Position;

/// The channel name used for database `db_name`.
pub(crate) fn channel_name(db_name: &str) -> String {
    format!("eventfold:{db_name}")
}

/// Shortest time between two posts, in milliseconds. Measured in the bulk import (a): a post
/// costs ~0.4–0.6 ms of main thread in headless Chromium, so 16 ms still spent ~3 % of the
/// import on posts; 50 ms keeps other tabs' live views well under a tenth of a second late.
pub(crate) const POST_INTERVAL_MS: f64 = 50.0;

/// An open channel and its message handler; closed when dropped.
pub(crate) struct Channel {
    bc: BroadcastChannel,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    throttle: Rc<Throttle>,
    flush: Closure<dyn FnMut()>,
}

/// The throttling state of the posts.
struct Throttle {
    bc: BroadcastChannel,
    /// When the last post was sent (`Date.now()`), or -∞.
    last: Cell<f64>,
    /// The newest head not posted yet.
    pending: Cell<Option<Position>>,
    /// The timer that will post `pending`.
    timer: Cell<Option<JsValue>>,
}

impl Throttle {
    fn send(&self, head: Position, reset: bool) {
        self.last.set(js_sys::Date::now());
        let msg = js_sys::Object::new();
        let set = |k: &str, v: JsValue| js_sys::Reflect::set(&msg, &JsValue::from_str(k), &v);
        if set("head", JsValue::from_f64(head.0 as f64)).is_ok()
            && (!reset || set("reset", JsValue::TRUE).is_ok())
        {
            let _ = self.bc.post_message(&msg);
        }
    }

    fn flush(&self) {
        self.timer.set(None);
        if let Some(head) = self.pending.take() {
            self.send(head, false);
        }
    }
}

/// Calls `globalThis[name](args…)` (`setTimeout` / `clearTimeout`, in windows and workers).
pub(super) fn call_global(name: &str, args: &js_sys::Array) -> Option<JsValue> {
    let global = js_sys::global();
    let f: js_sys::Function = js_sys::Reflect::get(&global, &JsValue::from_str(name))
        .ok()?
        .dyn_into()
        .ok()?;
    f.apply(&global, args).ok()
}

impl Channel {
    /// Opens the channel of `db_name`, calling `on_head` with each head another tab posts
    /// (and whether it is the head of a reset).
    /// `None` where BroadcastChannel is unavailable: the store then only sees its own appends
    /// live (reads always see everything).
    pub fn open(db_name: &str, on_head: Rc<dyn Fn(Position, bool)>) -> Option<Self> {
        let bc = BroadcastChannel::new(&channel_name(db_name)).ok()?;
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
            let data = ev.data();
            let head = js_sys::Reflect::get(&data, &JsValue::from_str("head"))
                .ok()
                .and_then(|h| h.as_f64());
            let reset = js_sys::Reflect::get(&data, &JsValue::from_str("reset"))
                .ok()
                .and_then(|r| r.as_bool())
                .unwrap_or(false);
            if let Some(h) = head.filter(|h| h.is_finite() && *h >= 0.0 && *h <= MAX_SAFE) {
                on_head(Position(h as u64), reset);
            }
        });
        bc.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        let throttle = Rc::new(Throttle {
            bc: bc.clone(),
            last: Cell::new(f64::NEG_INFINITY),
            pending: Cell::new(None),
            timer: Cell::new(None),
        });
        let t = throttle.clone();
        let flush = Closure::<dyn FnMut()>::new(move || t.flush());
        Some(Channel {
            bc,
            _on_message: on_message,
            throttle,
            flush,
        })
    }

    /// Posts the new head to the other tabs, now or at the end of the current interval (best
    /// effort: a failed post only delays their subscriptions until the next one). The head of
    /// a reset is posted at once, replacing any head waiting for its interval.
    pub fn post(&self, head: Position, reset: bool) {
        let t = &self.throttle;
        if reset {
            if let Some(id) = t.timer.take() {
                let _ = call_global("clearTimeout", &js_sys::Array::of1(&id));
            }
            let _ = t.pending.take();
            t.send(head, true);
            return;
        }
        let waited = js_sys::Date::now() - t.last.get();
        let scheduled = {
            let timer = t.timer.take();
            let some = timer.is_some();
            t.timer.set(timer);
            some
        };
        if !scheduled && waited >= POST_INTERVAL_MS {
            t.send(head, false);
            return;
        }
        t.pending
            .set(Some(t.pending.get().map_or(head, |p| p.max(head))));
        if !scheduled {
            let delay = (POST_INTERVAL_MS - waited).clamp(0.0, POST_INTERVAL_MS);
            let args = js_sys::Array::of2(self.flush.as_ref(), &JsValue::from_f64(delay));
            match call_global("setTimeout", &args) {
                Some(id) => t.timer.set(Some(id)),
                // No timers here: post now rather than never.
                None => t.flush(),
            }
        }
    }
}

impl Drop for Channel {
    fn drop(&mut self) {
        if let Some(id) = self.throttle.timer.take() {
            let _ = call_global("clearTimeout", &js_sys::Array::of1(&id));
        }
        self.throttle.flush();
        self.bc.set_onmessage(None);
        self.bc.close();
    }
}
