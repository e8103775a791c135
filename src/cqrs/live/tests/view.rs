//! The lifecycle of a live view, through a projection.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use futures::executor::LocalPool;

use super::{append, reset, spawn_tracked, store, sync};
use crate::core::event::{Position, RecordedEvent};
use crate::core::json::Json;
use crate::cqrs::live::{Progress, Recorded};
use crate::cqrs::{Applied, Projection, ProjectionRunner, ProjectionView};
use crate::engine::Store;
use crate::error::{Error, Result};
use crate::store::{EventFilter, StateStore};

/// Sums the values of `n-` streams; fails on `poison` while it is set.
#[derive(Clone, Default)]
pub(crate) struct Sum {
    pub(crate) poison: Rc<Cell<Option<i64>>>,
    /// Adds each value twice while set (a changed fold for the same events).
    pub(crate) double: Rc<Cell<bool>>,
    pub(crate) evolved: Rc<Cell<usize>>,
}

impl Projection for Sum {
    type State = i64;

    fn init(&self) -> Result<i64> {
        Ok(0)
    }

    fn evolve(&self, state: &mut i64, events: &[RecordedEvent]) -> Applied {
        for (i, e) in events.iter().enumerate() {
            let n: i64 = e.data.decode().unwrap_or(0);
            if Some(n) == self.poison.get() {
                return Applied {
                    applied: i,
                    error: Some(Error::EvolveFailed {
                        position: e.position,
                        message: format!("cannot add {n}"),
                    }),
                };
            }
            *state += if self.double.get() { 2 * n } else { n };
            self.evolved.set(self.evolved.get() + 1);
        }
        Applied {
            applied: events.len(),
            error: None,
        }
    }

    fn encode_state(&self, s: &i64) -> Result<Json> {
        Ok(Json::from_value(s)?)
    }

    fn decode_state(&self, j: &Json) -> Result<i64> {
        Ok(j.decode()?)
    }
}

type SumView = ProjectionView<Sum, Recorded, [RecordedEvent]>;

struct Running {
    pool: LocalPool,
    store: Store,
    view: SumView,
    sum: Sum,
    seen: Rc<RefCell<Vec<i64>>>,
    progress: Rc<RefCell<Vec<Progress>>>,
    ended: Rc<Cell<bool>>,
}

fn start(pool: LocalPool, store: Store, page_size: usize) -> Running {
    start_with(pool, store, Sum::default(), page_size)
}

fn start_with(mut pool: LocalPool, store: Store, sum: Sum, page_size: usize) -> Running {
    let filter = EventFilter {
        stream_prefixes: vec!["n-".into()],
        types: None,
    };
    let runner = ProjectionRunner::new(sum.clone(), "sum", 1, filter)
        .unwrap()
        .with_page_size(page_size);
    let progress = Rc::new(RefCell::new(Vec::new()));
    let p = progress.clone();
    let (view, run) = ProjectionView::start(store.clone(), runner, Recorded, move |x| {
        p.borrow_mut().push(x)
    })
    .unwrap();
    let seen = Rc::new(RefCell::new(Vec::new()));
    let s = seen.clone();
    view.subscribe(move |state| s.borrow_mut().push(*state));
    let ended = spawn_tracked(&mut pool, run);
    pool.run_until_stalled();
    Running {
        pool,
        store,
        view,
        sum,
        seen,
        progress,
        ended,
    }
}

fn persisted(pool: &mut LocalPool, store: &Store) -> Option<String> {
    pool.run_until(store.get_state("projection:sum"))
        .unwrap()
        .map(|j| j.as_str().to_owned())
}

#[test]
fn a_view_catches_up_in_pages_then_follows_new_appends() {
    let mut pool = LocalPool::new();
    let store = store();
    append(&mut pool, &store, "n-1", &[1; 7]);
    append(&mut pool, &store, "other", &[100]);
    let mut r = start(pool, store, 3);
    assert_eq!(r.pool.run_until(r.view.ready()), Ok(()));
    assert_eq!(
        (r.view.state(), r.view.checkpoint()),
        (Some(7), Position(8))
    );
    assert_eq!(
        *r.seen.borrow(),
        [7],
        "subscribers hear the caught-up state once"
    );
    let progress: Vec<_> = r
        .progress
        .borrow()
        .iter()
        .map(|p| (p.processed, p.total))
        .collect();
    assert_eq!(progress, [(3, 8), (6, 8), (8, 8)], "one report per page");
    assert_eq!(
        persisted(&mut r.pool, &r.store).as_deref(),
        Some(r#"{"version":1,"checkpoint":8,"state":7}"#)
    );

    append(&mut r.pool, &r.store, "n-2", &[10, 20]);
    r.pool.run_until_stalled();
    assert_eq!(
        (r.view.state(), r.view.checkpoint()),
        (Some(37), Position(10))
    );
    assert_eq!(*r.seen.borrow(), [7, 37]);
    append(&mut r.pool, &r.store, "other", &[5]);
    r.pool.run_until_stalled();
    assert_eq!(
        r.view.checkpoint(),
        Position(11),
        "filtered-out events move the checkpoint"
    );
    assert_eq!(
        *r.seen.borrow(),
        [7, 37, 37],
        "subscribers hear of every new checkpoint"
    );
}

#[test]
fn a_view_resumes_from_its_persisted_checkpoint() {
    let mut pool = LocalPool::new();
    let store = store();
    append(&mut pool, &store, "n-1", &[1, 2, 3]);
    let mut r = start(pool, store.clone(), 100);
    r.pool.run_until(r.view.ready()).unwrap();
    r.view.close();
    r.pool.run_until_stalled();
    append(&mut r.pool, &store, "n-1", &[4]);
    let mut again = start(r.pool, store, 100);
    again.pool.run_until(again.view.ready()).unwrap();
    assert_eq!(again.view.state(), Some(10));
    assert_eq!(again.sum.evolved.get(), 1, "only the new event is folded");
}

#[test]
fn rebuild_folds_the_log_again_and_settles_every_waiter() {
    let mut pool = LocalPool::new();
    let store = store();
    append(&mut pool, &store, "n-1", &[1, 2, 3, 4]);
    let mut r = start(pool, store, 3);
    r.pool.run_until(r.view.ready()).unwrap();
    assert_eq!(r.sum.evolved.get(), 4);
    let (first, second) = (r.view.rebuild(), r.view.rebuild());
    let (a, b) = r.pool.run_until(futures::future::join(first, second));
    assert_eq!((a, b), (Ok(()), Ok(())));
    assert_eq!(
        r.sum.evolved.get(),
        8,
        "one rebuild for both requests: the log folded once more"
    );
    assert_eq!(r.view.state(), Some(10));
    assert_eq!(
        *r.seen.borrow(),
        [10, 10],
        "subscribers hear of the rebuilt state"
    );
    r.sum.double.set(true);
    assert_eq!(r.pool.run_until(r.view.rebuild()), Ok(()));
    assert_eq!(
        r.view.state(),
        Some(20),
        "a changed fold shows at the same checkpoint"
    );
    assert_eq!(*r.seen.borrow(), [10, 10, 20]);
    r.sum.double.set(false);
    // A rebuild asked for after that one started is another one.
    assert_eq!(r.pool.run_until(r.view.rebuild()), Ok(()));
    assert_eq!(r.sum.evolved.get(), 16);
}

#[test]
fn an_evolve_error_stops_at_the_last_good_event_and_a_rebuild_clears_it() {
    let mut pool = LocalPool::new();
    let store = store();
    append(&mut pool, &store, "n-1", &[1, 2, 13, 4]);
    let sum_poison = Rc::new(Cell::new(Some(13)));
    let sum = Sum {
        poison: sum_poison.clone(),
        ..Sum::default()
    };
    let mut r = start_with(pool, store, sum, 100);
    let err = r.pool.run_until(r.view.ready()).unwrap_err();
    assert_eq!(
        err,
        Error::EvolveFailed {
            position: Position(3),
            message: "cannot add 13".into()
        }
    );
    assert_eq!(r.view.error(), Some(err.clone()));
    assert_eq!(
        (r.view.state(), r.view.checkpoint()),
        (Some(3), Position(2))
    );
    assert_eq!(
        persisted(&mut r.pool, &r.store).as_deref(),
        Some(r#"{"version":1,"checkpoint":2,"state":3}"#),
        "the last good state is persisted"
    );
    append(&mut r.pool, &r.store, "n-1", &[5]);
    r.pool.run_until_stalled();
    assert_eq!(
        r.view.checkpoint(),
        Position(2),
        "a stopped view does not move"
    );

    sum_poison.set(None);
    assert_eq!(r.pool.run_until(r.view.rebuild()), Ok(()));
    assert_eq!(r.view.error(), None);
    assert_eq!(r.pool.run_until(r.view.ready()), Ok(()));
    assert_eq!(
        (r.view.state(), r.view.checkpoint()),
        (Some(25), Position(5))
    );
}

#[test]
fn a_log_reset_restarts_the_view_from_position_0() {
    let mut pool = LocalPool::new();
    let store = store();
    sync(&store, "s-");
    append(&mut pool, &store, "n-1", &[1, 2]);
    append(&mut pool, &store, "n-2", &[10]);
    let mut r = start(pool, store, 100);
    r.pool.run_until(r.view.ready()).unwrap();
    assert_eq!(r.view.state(), Some(13));
    reset(&mut r.pool, &r.store, "n-1");
    r.pool.run_until_stalled();
    assert_eq!(
        r.view.state(),
        Some(10),
        "folded again from 0 over what the reset kept"
    );
    assert_eq!(r.sum.evolved.get(), 3 + 1);
    assert_eq!(*r.seen.borrow(), [13, 10]);
}

#[test]
fn pending_events_are_shown_on_top_and_never_persisted() {
    let mut pool = LocalPool::new();
    let store = store();
    sync(&store, "n-9");
    append(&mut pool, &store, "n-1", &[1, 2]);
    let mut r = start(pool, store, 100);
    r.pool.run_until(r.view.ready()).unwrap();
    append(&mut r.pool, &r.store, "n-9", &[100]);
    r.pool.run_until_stalled();
    assert_eq!(r.pool.run_until(r.store.pending_events()).unwrap().len(), 1);
    assert_eq!(r.view.state(), Some(103), "the pending event is shown");
    assert_eq!(
        r.view.checkpoint(),
        Position(2),
        "the confirmed log did not move"
    );
    assert_eq!(
        persisted(&mut r.pool, &r.store).as_deref(),
        Some(r#"{"version":1,"checkpoint":2,"state":3}"#),
        "what is persisted has no pending event"
    );
    append(&mut r.pool, &r.store, "n-1", &[10]);
    r.pool.run_until_stalled();
    assert_eq!(
        r.view.state(),
        Some(113),
        "confirmed events fold under the pending ones"
    );
    assert_eq!(
        persisted(&mut r.pool, &r.store).as_deref(),
        Some(r#"{"version":1,"checkpoint":3,"state":13}"#)
    );
    assert_eq!(*r.seen.borrow(), [3, 103, 113]);
}

#[test]
fn close_ends_the_view_and_later_rebuilds_fail() {
    let mut pool = LocalPool::new();
    let store = store();
    append(&mut pool, &store, "n-1", &[1]);
    let mut r = start(pool, store, 100);
    r.pool.run_until(r.view.ready()).unwrap();
    let waiting = r.view.rebuild();
    r.view.close();
    r.view.close();
    r.pool.run_until_stalled();
    assert!(r.ended.get(), "the view's future ended");
    assert!(r.view.is_closed());
    // The rebuild asked for before close may have run or not; it settles either way.
    let _ = r.pool.run_until(waiting);
    let err = r.pool.run_until(r.view.rebuild()).unwrap_err();
    assert_eq!(err.code(), "INVALID_INPUT");
    append(&mut r.pool, &r.store, "n-1", &[5]);
    r.pool.run_until_stalled();
    assert_eq!(r.view.state(), Some(1), "a closed view does not follow");
}

#[test]
fn a_closing_store_ends_the_view() {
    let pool = LocalPool::new();
    let store = store();
    let mut r = start(pool, store, 100);
    r.pool.run_until(r.view.ready()).unwrap();
    r.store.close();
    r.pool.run_until_stalled();
    assert!(r.ended.get());
    assert_eq!(
        r.pool.run_until(r.view.rebuild()).unwrap_err().code(),
        "STORE_CLOSED"
    );
}
