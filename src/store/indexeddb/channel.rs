//! Tells the other tabs of this origin that the log grew (BroadcastChannel).
//!
//! After each committed append transaction the store posts `{ head }` on the channel named
//! `eventfold:<database name>`; every other store open on that database feeds the head it
//! receives to its [`ChangeNotifier`](crate::store::ChangeNotifier), so its subscriptions read
//! the new events from IndexedDB, in position order. After a reset of the log it posts
//! `{ head, reset: true }`: the others forget what they remember of the log and count the
//! reset on their notifier ([`ResetStore`](crate::store::ResetStore)).

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

/// An open channel and its message handler; closed when dropped.
pub(crate) struct Channel {
    bc: BroadcastChannel,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
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
        Some(Channel {
            bc,
            _on_message: on_message,
        })
    }

    /// Posts the new head to the other tabs (best effort: a failed post only delays their
    /// subscriptions until the next one).
    pub fn post(&self, head: Position, reset: bool) {
        let msg = js_sys::Object::new();
        let set = |k: &str, v: JsValue| js_sys::Reflect::set(&msg, &JsValue::from_str(k), &v);
        if set("head", JsValue::from_f64(head.0 as f64)).is_ok()
            && (!reset || set("reset", JsValue::TRUE).is_ok())
        {
            let _ = self.bc.post_message(&msg);
        }
    }
}

impl Drop for Channel {
    fn drop(&mut self) {
        self.bc.set_onmessage(None);
        self.bc.close();
    }
}
