//! The listener lists of a `Sync` (`onStatus`, `onRejected`, `onConflict`): `subscribe` adds a
//! callback and returns its unsubscribe function (calling it again is harmless); a notification
//! calls every callback with one value, reporting what one throws with `console.error`.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::Function;
use wasm_bindgen::prelude::*;

use crate::wasm::live::call;

/// Callbacks by subscription number.
#[derive(Default)]
pub(super) struct Listeners {
    list: Vec<(u32, Function)>,
    next: u32,
}

impl Listeners {
    /// The callbacks now (a callback may unsubscribe while they are being called).
    pub(super) fn snapshot(&self) -> Vec<Function> {
        self.list.iter().map(|(_, f)| f.clone()).collect()
    }
}

/// Adds `callback` to the listeners `of` picks in `shared`; returns the JavaScript function
/// that removes it again (a no-op once removed or once `shared` is gone).
pub(super) fn subscribe<T: 'static>(
    shared: &Rc<RefCell<T>>,
    of: fn(&mut T) -> &mut Listeners,
    callback: Function,
) -> JsValue {
    let id = {
        let mut s = shared.borrow_mut();
        let listeners = of(&mut s);
        listeners.next += 1;
        listeners.list.push((listeners.next, callback));
        listeners.next
    };
    let shared = Rc::downgrade(shared);
    Closure::<dyn FnMut()>::new(move || {
        if let Some(shared) = shared.upgrade() {
            of(&mut shared.borrow_mut()).list.retain(|(i, _)| *i != id);
        }
    })
    .into_js_value()
}

/// Calls each of `callbacks` with `arg`; what one throws is reported with `console.error`
/// (naming `what`) and otherwise ignored, so one failing subscriber never stops the others or
/// the fold that notifies them.
pub(super) fn call_all(callbacks: Vec<Function>, arg: &JsValue, what: &str) {
    for f in callbacks {
        call(&f, arg, what);
    }
}
