//! Live queries: the answer of one query over a live view (a read model's query or record, a
//! projection's state) kept as a snapshot while someone listens, for UI frameworks. The
//! contract is the one React's `useSyncExternalStore`, Svelte stores and Vue's `shallowRef`
//! need: [`LiveQuery::subscribe`] calls back at once and after each change and hands back an
//! id to unsubscribe by, and [`LiveQuery::snapshot`] answers synchronously with the same
//! value (the same JavaScript object) until the answer really changes.
//!
//! A live query follows its [`Source`] only while it has subscribers: the first one starts
//! watching (and evaluates the query), the last one leaving stops it, so a component that
//! unmounts costs nothing. Each change the source reports marks the answer stale; one
//! evaluation runs at a time (changes during it run one more afterwards, none is missed), and
//! an answer equal to the last one keeps the snapshot as it is.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use crate::cqrs::runtime::LocalBoxFuture;
use crate::error::{Error, Result};

use super::subscribers::Subscribers;

/// Runs a background future (the JavaScript binding: `spawn_local`; tests: a local pool).
pub type Spawner = Rc<dyn Fn(LocalBoxFuture<'static, ()>)>;

/// Where a live query's answers come from: what tells it of changes and what evaluates it.
pub trait Source: 'static {
    /// What one evaluation answers; an answer equal to the last keeps the snapshot.
    type Answer: PartialEq + 'static;

    /// Starts calling `changed` each time the answer may have changed; returns the id
    /// [`unwatch`](Self::unwatch) takes.
    fn watch(&self, changed: Box<dyn Fn()>) -> u64;

    /// Stops the calls of [`watch`](Self::watch) `id`.
    fn unwatch(&self, id: u64);

    /// Evaluates the query now: `None` while there is no answer yet (a projection that has
    /// not caught up), which keeps the snapshot.
    fn evaluate(&self) -> LocalBoxFuture<'static, Result<Option<Self::Answer>>>;
}

/// How a live query's answer becomes the snapshot the application reads (the JavaScript
/// binding parses records into JavaScript values once per change).
pub type Convert<A, T> = Box<dyn Fn(&A) -> Result<T>>;

struct State<A, T> {
    answer: Option<A>,
    snapshot: Option<T>,
    error: Option<Error>,
    /// The id of the source watch while someone listens.
    watching: Option<u64>,
    /// The answer may have changed since the last evaluation started.
    stale: bool,
    /// An evaluation task is running.
    running: bool,
}

struct Inner<S: Source, T> {
    source: S,
    convert: Convert<S::Answer, T>,
    spawn: Spawner,
    state: RefCell<State<S::Answer, T>>,
    subscribers: Subscribers<Option<T>>,
}

impl<S: Source, T: Clone + 'static> Inner<S, T> {
    /// Marks the answer stale and starts an evaluation task unless one runs.
    fn invalidate(self: &Rc<Self>) {
        let start = {
            let mut s = self.state.borrow_mut();
            s.stale = true;
            let start = !s.running && s.watching.is_some();
            s.running |= start;
            start
        };
        if start {
            let this = self.clone();
            (self.spawn)(Box::pin(async move { this.evaluate_while_stale().await }));
        }
    }

    async fn evaluate_while_stale(self: Rc<Self>) {
        loop {
            {
                let mut s = self.state.borrow_mut();
                if !s.stale || s.watching.is_none() {
                    s.running = false;
                    return;
                }
                s.stale = false;
            }
            let answer = self.source.evaluate().await;
            if let Some(snapshot) = self.keep(answer) {
                self.subscribers.notify(&Some(snapshot));
            }
        }
    }

    /// Keeps an evaluation's outcome; returns the new snapshot when it changed.
    fn keep(&self, answer: Result<Option<S::Answer>>) -> Option<T> {
        let mut s = self.state.borrow_mut();
        let answer = match answer {
            Ok(Some(a)) => a,
            Ok(None) => return None,
            Err(e) => {
                s.error = Some(e);
                return None;
            }
        };
        if s.answer.as_ref() == Some(&answer) {
            s.error = None;
            return None;
        }
        match (self.convert)(&answer) {
            Ok(snapshot) => {
                s.answer = Some(answer);
                s.snapshot = Some(snapshot.clone());
                s.error = None;
                Some(snapshot)
            }
            Err(e) => {
                s.error = Some(e);
                None
            }
        }
    }
}

impl<S: Source, T> Drop for Inner<S, T> {
    fn drop(&mut self) {
        if let Some(id) = self.state.get_mut().watching.take() {
            self.source.unwatch(id);
        }
    }
}

/// A subscriber of a live query: called with the snapshot.
type Callback<T> = Box<dyn Fn(&Option<T>)>;

/// What [`LiveQuery`] needs of its inner part, whatever its source.
trait Live<T> {
    fn snapshot(&self) -> Option<T>;
    fn error(&self) -> Option<Error>;
    fn subscribe(self: Rc<Self>, callback: Callback<T>) -> u64;
    fn unsubscribe(&self, id: u64);
}

impl<S: Source, T: Clone + 'static> Live<T> for Inner<S, T> {
    fn snapshot(&self) -> Option<T> {
        self.state.borrow().snapshot.clone()
    }

    fn error(&self) -> Option<Error> {
        self.state.borrow().error.clone()
    }

    fn subscribe(self: Rc<Self>, callback: Callback<T>) -> u64 {
        let current = self.snapshot();
        callback(&current);
        let id = self.subscribers.subscribe(callback);
        let first = self.state.borrow().watching.is_none();
        if first {
            let weak: Weak<Self> = Rc::downgrade(&self);
            let watch = self.source.watch(Box::new(move || {
                if let Some(inner) = weak.upgrade() {
                    inner.invalidate();
                }
            }));
            self.state.borrow_mut().watching = Some(watch);
            // What changed while nobody listened is not known: evaluate again.
            self.invalidate();
        }
        id
    }

    fn unsubscribe(&self, id: u64) {
        self.subscribers.unsubscribe(id);
        if self.subscribers.is_empty() {
            let watching = self.state.borrow_mut().watching.take();
            if let Some(watch) = watching {
                self.source.unwatch(watch);
            }
        }
    }
}

/// A query's answer kept up to date while someone listens: see the [module docs](self).
/// Clones share it.
pub struct LiveQuery<T> {
    inner: Rc<dyn Live<T>>,
}

impl<T> Clone for LiveQuery<T> {
    fn clone(&self) -> Self {
        LiveQuery {
            inner: self.inner.clone(),
        }
    }
}

impl<T: Clone + 'static> LiveQuery<T> {
    /// A live query over `source`, whose answers `convert` turns into snapshots, evaluated in
    /// tasks `spawn` runs. Nothing is evaluated before the first subscriber.
    pub fn new<S: Source>(source: S, convert: Convert<S::Answer, T>, spawn: Spawner) -> Self {
        let inner: Rc<dyn Live<T>> = Rc::new(Inner {
            source,
            convert,
            spawn,
            state: RefCell::new(State {
                answer: None,
                snapshot: None,
                error: None,
                watching: None,
                stale: false,
                running: false,
            }),
            subscribers: Subscribers::default(),
        });
        LiveQuery { inner }
    }

    /// The last answer (`None` before the first evaluation settled): the same value until the
    /// answer changes. While nobody listens it is not kept up to date.
    pub fn snapshot(&self) -> Option<T> {
        self.inner.snapshot()
    }

    /// Why the last evaluation failed, if it did (the snapshot stays the last good answer).
    pub fn error(&self) -> Option<Error> {
        self.inner.error()
    }

    /// Calls `callback` at once with the snapshot, then after each change of it; returns the
    /// id [`unsubscribe`](Self::unsubscribe) takes. The first subscriber starts following the
    /// source and evaluates the query.
    pub fn subscribe(&self, callback: impl Fn(&Option<T>) + 'static) -> u64 {
        self.inner.clone().subscribe(Box::new(callback))
    }

    /// Removes a subscriber (nothing happens when it is gone already); the last one leaving
    /// stops following the source.
    pub fn unsubscribe(&self, id: u64) {
        self.inner.unsubscribe(id)
    }
}

#[cfg(test)]
mod tests;
