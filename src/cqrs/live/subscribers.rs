//! The subscribers of a live view: callbacks told after each change, each with an id to
//! unsubscribe by.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

type Callback<T> = Rc<dyn Fn(&T)>;

/// Callbacks to tell of changes of type `T`.
pub struct Subscribers<T> {
    list: RefCell<Vec<(u64, Callback<T>)>>,
    next: Cell<u64>,
}

impl<T> Default for Subscribers<T> {
    fn default() -> Self {
        Subscribers {
            list: RefCell::new(Vec::new()),
            next: Cell::new(0),
        }
    }
}

impl<T> Subscribers<T> {
    /// Adds `callback`; returns the id that [`unsubscribe`](Self::unsubscribe) takes.
    pub fn subscribe(&self, callback: impl Fn(&T) + 'static) -> u64 {
        let id = self.next.get() + 1;
        self.next.set(id);
        self.list.borrow_mut().push((id, Rc::new(callback)));
        id
    }

    /// Removes the callback `id` (nothing happens when it is gone already).
    pub fn unsubscribe(&self, id: u64) {
        self.list.borrow_mut().retain(|(i, _)| *i != id);
    }

    /// Whether nobody listens.
    pub fn is_empty(&self) -> bool {
        self.list.borrow().is_empty()
    }

    /// Calls every callback with `change` (a callback may subscribe or unsubscribe while they
    /// run: the ones subscribed when the notification started are called).
    pub fn notify(&self, change: &T) {
        let callbacks: Vec<Callback<T>> =
            self.list.borrow().iter().map(|(_, f)| f.clone()).collect();
        for f in callbacks {
            f(change);
        }
    }
}
