//! The lifecycle of a live view: resume → catch up → follow (new events in the log, a synced
//! store's pending changes) → rebuild on request or restart on a log reset → close. One driver
//! ([`run`]) for projections and read models; what differs between them is their [`LiveFold`].

use std::cell::RefCell;
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::rc::Rc;
use std::task::{Poll, Waker};

use crate::core::event::Position;
use crate::engine::Store;
use crate::error::{Error, Result};
use crate::store::EventStore;

use super::fold::{catch_up, Fold, Progress};

/// A [`Fold`] that lives: it resumes from what it persisted, restarts from position 0, and
/// shows its result (with a synced store's pending events on top) after each catch-up.
#[allow(async_fn_in_trait)]
pub trait LiveFold: Fold<Store> {
    /// Loads what was persisted, to resume from its checkpoint (a persisted fold of another
    /// version is discarded: the fold starts from 0).
    ///
    /// # Errors
    /// Store failures, or user code failing to make the initial state.
    async fn resume(&mut self, store: &Store) -> Result<()>;

    /// Discards what was persisted and starts again from position 0 (a rebuild, or the log
    /// was reset).
    ///
    /// # Errors
    /// Store failures, or user code failing to make the initial state.
    async fn restart(&mut self, store: &Store) -> Result<()>;

    /// Shows the folded result to the application after a catch-up (also after a failed
    /// one, or when only the pending events changed): `pending` is the store's pending-change
    /// count now ([`Store::pending_head`]); what is shown includes those pending events and
    /// is never persisted.
    async fn show(&mut self, store: &Store, pending: Position);
}

#[derive(Default)]
struct Control {
    /// The outcome of the last catch-up (`None` before the first one settled).
    outcome: Option<Result<()>>,
    checkpoint: Position,
    /// Rebuilds asked for, started and finished (generations), and how the last one ended.
    requested: u64,
    started: u64,
    done: u64,
    last: Option<Result<()>>,
    closed: bool,
    /// Why the view ended (closed, or its store closed): what later calls settle with.
    ended: Option<Error>,
    runner: Option<Waker>,
    waiters: Vec<Waker>,
}

impl Control {
    fn wake_all(&mut self) {
        std::mem::take(&mut self.waiters)
            .into_iter()
            .for_each(Waker::wake);
    }
}

/// The handle of a live view: readiness, rebuild, close and the checkpoint. Clones share it;
/// the view itself runs in the future [`run`] returns.
#[derive(Clone)]
pub struct View {
    what: Rc<str>,
    control: Rc<RefCell<Control>>,
}

impl View {
    /// A handle for a view described as `what` in errors ("projection totals").
    pub fn new(what: impl Into<String>) -> Self {
        View {
            what: Rc::from(what.into()),
            control: Rc::default(),
        }
    }

    /// Settles once the view has caught up (or stopped): `Ok` when caught up, the error that
    /// stopped it otherwise. Once settled, with the outcome of the latest catch-up.
    pub fn ready(&self) -> impl Future<Output = Result<()>> + 'static {
        let control = self.control.clone();
        poll_fn(move |cx| {
            let mut c = control.borrow_mut();
            if let Some(outcome) = &c.outcome {
                return Poll::Ready(outcome.clone());
            }
            if let Some(e) = &c.ended {
                return Poll::Ready(Err(e.clone()));
            }
            c.waiters.push(cx.waker().clone());
            Poll::Pending
        })
    }

    /// Asks the view to discard what it persisted and fold the whole log again (this also
    /// clears an error that stopped it). The future settles when that catch-up has: `Ok`, or
    /// the error that stopped it. Rebuilds asked for while one is waiting to start share it.
    pub fn rebuild(&self) -> impl Future<Output = Result<()>> + 'static {
        let generation = {
            let mut c = self.control.borrow_mut();
            if c.ended.is_none() {
                if c.requested == c.started {
                    c.requested += 1;
                }
                if let Some(w) = c.runner.take() {
                    w.wake();
                }
            }
            c.requested
        };
        let control = self.control.clone();
        poll_fn(move |cx| {
            let mut c = control.borrow_mut();
            if c.done >= generation {
                if let Some(last) = &c.last {
                    return Poll::Ready(last.clone());
                }
            }
            if let Some(e) = &c.ended {
                return Poll::Ready(Err(e.clone()));
            }
            c.waiters.push(cx.waker().clone());
            Poll::Pending
        })
    }

    /// Stops following the log (what was persisted stays). Idempotent.
    pub fn close(&self) {
        let mut c = self.control.borrow_mut();
        c.closed = true;
        if let Some(w) = c.runner.take() {
            w.wake();
        }
    }

    /// Whether [`close`](Self::close) was called or the view ended with its store.
    pub fn is_closed(&self) -> bool {
        let c = self.control.borrow();
        c.closed || c.ended.is_some()
    }

    /// The position of the last event folded in (or scanned past).
    pub fn checkpoint(&self) -> Position {
        self.control.borrow().checkpoint
    }

    /// The error that stopped the view, if one did (a rebuild clears it).
    pub fn error(&self) -> Option<Error> {
        match &self.control.borrow().outcome {
            Some(Err(e)) => Some(e.clone()),
            _ => None,
        }
    }

    fn set_checkpoint(&self, checkpoint: Position) {
        self.control.borrow_mut().checkpoint = checkpoint;
    }

    /// The rebuild generation to start now, if one was asked for.
    fn take_rebuild(&self) -> Option<u64> {
        let mut c = self.control.borrow_mut();
        (c.requested > c.started).then(|| {
            c.started = c.requested;
            c.requested
        })
    }

    fn settle(&self, outcome: Result<()>, rebuild: Option<u64>) {
        let mut c = self.control.borrow_mut();
        if let Some(generation) = rebuild {
            c.done = generation;
            c.last = Some(outcome.clone());
        }
        c.outcome = Some(outcome);
        c.wake_all();
    }

    /// A rebuild clears the error: `ready()` no longer rejects while it runs.
    fn clear_error(&self) {
        let mut c = self.control.borrow_mut();
        if matches!(c.outcome, Some(Err(_))) {
            c.outcome = Some(Ok(()));
        }
    }

    fn end(&self, store_closed: bool) {
        let mut c = self.control.borrow_mut();
        c.ended = Some(if store_closed && !c.closed {
            Error::StoreClosed {
                reason: format!("the store of {} was closed", self.what),
            }
        } else {
            Error::invalid(format!("{} was closed", self.what))
        });
        c.runner = None;
        c.wake_all();
    }
}

/// What ended a wait for more work.
enum Woken {
    /// More to do: new events, a reset, pending changes, a rebuild request.
    Work,
    /// The view was closed.
    Closed,
    /// The store was closed.
    StoreClosed,
}

/// Waits for work: new events beyond `checkpoint` (any position, for a stopped view: then
/// only a log reset counts), a change of the pending set beyond `pending`, a rebuild
/// request, or the end.
async fn wait(
    view: &View,
    store: &Store,
    checkpoint: Option<Position>,
    pending: Position,
) -> Woken {
    let beyond = checkpoint.unwrap_or(Position(u64::MAX));
    let mut log = pin!(store.changes().wait_beyond(beyond));
    let mut pending_wait = pin!(store.pending_changed_beyond(pending));
    let mut pending_done = false;
    poll_fn(|cx| {
        {
            let mut c = view.control.borrow_mut();
            if c.closed {
                return Poll::Ready(Woken::Closed);
            }
            if c.requested > c.started {
                return Poll::Ready(Woken::Work);
            }
            c.runner = Some(cx.waker().clone());
        }
        if !pending_done {
            if let Poll::Ready(changed) = pending_wait.as_mut().poll(cx) {
                pending_done = true;
                if changed {
                    return Poll::Ready(Woken::Work);
                }
            }
        }
        match log.as_mut().poll(cx) {
            Poll::Ready(true) => Poll::Ready(Woken::Work),
            Poll::Ready(false) => Poll::Ready(Woken::StoreClosed),
            Poll::Pending => Poll::Pending,
        }
    })
    .await
}

/// Runs a live view until it is closed or its store closes: resumes `fold` from what it
/// persisted, catches it up, shows it, then follows: each new event in the log, pending
/// change, rebuild request ([`View::rebuild`]) or log reset ([`ChangeNotifier::resets`]
/// moved) runs another round. A failing event stops the view at the last good one
/// ([`View::error`]) until a rebuild or a log reset. `progress` is told after every page.
///
/// [`ChangeNotifier::resets`]: crate::store::ChangeNotifier::resets
pub async fn run<F: LiveFold>(
    store: Store,
    mut fold: F,
    view: View,
    mut progress: impl FnMut(Progress),
) {
    let mut failed = fold.resume(&store).await.err();
    let mut resets = store.changes().resets();
    loop {
        let reset = store.changes().resets() != resets;
        resets = store.changes().resets();
        let rebuild = view.take_rebuild();
        if reset || rebuild.is_some() {
            view.clear_error();
            failed = fold.restart(&store).await.err();
        }
        view.set_checkpoint(fold.checkpoint());
        if failed.is_none() {
            let result = catch_up(&store, &mut fold, |p| {
                view.set_checkpoint(p.checkpoint);
                progress(p);
            })
            .await;
            failed = result.err();
        }
        view.set_checkpoint(fold.checkpoint());
        let pending = store.pending_head();
        fold.show(&store, pending).await;
        view.settle(failed.clone().map_or(Ok(()), Err), rebuild);
        let checkpoint = failed.is_none().then(|| fold.checkpoint());
        match wait(&view, &store, checkpoint, pending).await {
            Woken::Work => {}
            Woken::Closed => return view.end(false),
            Woken::StoreClosed => return view.end(true),
        }
    }
}
