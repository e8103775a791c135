//! The `ready()` promise of background followers (projections, read models): pending until the
//! first catch-up settles, then resolved, or rejected with the error that stopped the follower.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Promise};
use wasm_bindgen::JsValue;

/// The resolve and reject functions of a pending promise.
pub(crate) type Resolvers = (Function, Function);

/// Settles every promise in `waiters` with `outcome`.
pub(crate) fn settle_all(waiters: Vec<Resolvers>, outcome: &Result<JsValue, JsValue>) {
    for (resolve, reject) in waiters {
        let _ = match outcome {
            Ok(v) => resolve.call1(&JsValue::UNDEFINED, v),
            Err(e) => reject.call1(&JsValue::UNDEFINED, e),
        };
    }
}

#[derive(Default)]
struct State {
    settled: bool,
    error: Option<JsValue>,
    waiters: Vec<Resolvers>,
}

/// Shared readiness of one follower.
#[derive(Clone, Default)]
pub(crate) struct Ready(Rc<RefCell<State>>);

impl Ready {
    /// A promise settled by the next (or the last) [`settle`](Self::settle).
    pub(crate) fn promise(&self) -> Promise {
        let state = self.0.clone();
        Promise::new(&mut |resolve, reject| {
            let mut s = state.borrow_mut();
            match (&s.error, s.settled) {
                (Some(e), true) => drop(reject.call1(&JsValue::UNDEFINED, e)),
                (None, true) => drop(resolve.call0(&JsValue::UNDEFINED)),
                _ => s.waiters.push((resolve, reject)),
            }
        })
    }

    /// Records the outcome of a catch-up and settles the waiting promises.
    pub(crate) fn settle(&self, outcome: Result<(), JsValue>) {
        let waiters = {
            let mut s = self.0.borrow_mut();
            s.settled = true;
            s.error = outcome.as_ref().err().cloned();
            std::mem::take(&mut s.waiters)
        };
        settle_all(waiters, &outcome.map(|()| JsValue::UNDEFINED));
    }

    /// The error that stopped the follower, if any.
    pub(crate) fn error(&self) -> Option<JsValue> {
        self.0.borrow().error.clone()
    }

    /// Forgets the error (a rebuild starts over).
    pub(crate) fn clear_error(&self) {
        self.0.borrow_mut().error = None;
    }
}
