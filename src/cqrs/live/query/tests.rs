//! Tests of live queries over a source the test drives: the subscribe contract, stable
//! snapshots, one evaluation at a time with none missed, following only while subscribed.

use std::cell::{Cell, RefCell};
use std::future::poll_fn;
use std::rc::Rc;
use std::task::Poll;

use futures::executor::LocalPool;
use futures::task::LocalSpawnExt;

use super::{LiveQuery, Source, Spawner};
use crate::cqrs::live::Subscribers;
use crate::cqrs::runtime::LocalBoxFuture;
use crate::error::{Error, Result};

/// A source answering `value` (an error while `failing`), one poll after it is asked.
#[derive(Clone, Default)]
struct Fake {
    value: Rc<Cell<i64>>,
    failing: Rc<Cell<bool>>,
    watchers: Rc<Subscribers<()>>,
    evaluations: Rc<Cell<usize>>,
    /// Changes the value and reports it while the next evaluation runs.
    change_during: Rc<Cell<Option<i64>>>,
}

impl Fake {
    fn change(&self, value: i64) {
        self.value.set(value);
        self.watchers.notify(&());
    }
}

impl Source for Fake {
    type Answer = i64;

    fn watch(&self, changed: Box<dyn Fn()>) -> u64 {
        self.watchers.subscribe(move |_| changed())
    }

    fn unwatch(&self, id: u64) {
        self.watchers.unsubscribe(id)
    }

    fn evaluate(&self) -> LocalBoxFuture<'static, Result<Option<i64>>> {
        self.evaluations.set(self.evaluations.get() + 1);
        let this = self.clone();
        let mut polled = false;
        Box::pin(async move {
            poll_fn(|cx| {
                if polled {
                    return Poll::Ready(());
                }
                polled = true;
                cx.waker().wake_by_ref();
                Poll::Pending
            })
            .await;
            let answer = this.value.get();
            if let Some(v) = this.change_during.take() {
                this.change(v);
            }
            if this.failing.get() {
                return Err(Error::invalid("the source failed"));
            }
            Ok(Some(answer))
        })
    }
}

/// What a subscriber heard (the snapshots' values).
type Heard = Rc<RefCell<Vec<Option<i64>>>>;

/// A live query of `fake` whose snapshots are fresh `Rc`s (so identity shows), and what its
/// subscriber heard.
fn live(pool: &LocalPool, fake: &Fake) -> (LiveQuery<Rc<i64>>, Heard) {
    let spawner = pool.spawner();
    let spawn: Spawner = Rc::new(move |f| spawner.spawn_local(f).unwrap());
    let q = LiveQuery::new(fake.clone(), Box::new(|v: &i64| Ok(Rc::new(*v))), spawn);
    (q, Rc::new(RefCell::new(Vec::new())))
}

fn listen(q: &LiveQuery<Rc<i64>>, heard: &Heard) -> u64 {
    let h = heard.clone();
    q.subscribe(move |s| h.borrow_mut().push(s.as_deref().copied()))
}

#[test]
fn subscribing_calls_back_at_once_then_after_each_change_with_a_stable_snapshot() {
    let mut pool = LocalPool::new();
    let fake = Fake::default();
    fake.value.set(1);
    let (q, heard) = live(&pool, &fake);
    assert_eq!(q.snapshot(), None);
    assert_eq!(
        fake.evaluations.get(),
        0,
        "nothing is evaluated before a subscriber"
    );
    listen(&q, &heard);
    assert_eq!(*heard.borrow(), [None], "called at once with the snapshot");
    pool.run_until_stalled();
    assert_eq!(*heard.borrow(), [None, Some(1)]);
    let first = q.snapshot().unwrap();
    assert!(
        Rc::ptr_eq(&first, &q.snapshot().unwrap()),
        "same snapshot between changes"
    );

    // The source reports a change but the answer is the same: the snapshot is kept.
    fake.change(1);
    pool.run_until_stalled();
    assert_eq!(fake.evaluations.get(), 2);
    assert_eq!(
        *heard.borrow(),
        [None, Some(1)],
        "no call for an equal answer"
    );
    assert!(Rc::ptr_eq(&first, &q.snapshot().unwrap()));

    fake.change(2);
    pool.run_until_stalled();
    assert_eq!(*heard.borrow(), [None, Some(1), Some(2)]);
    assert_eq!(*q.snapshot().unwrap(), 2);
    assert!(!Rc::ptr_eq(&first, &q.snapshot().unwrap()));
}

#[test]
fn one_evaluation_at_a_time_and_a_change_during_one_is_not_missed() {
    let mut pool = LocalPool::new();
    let fake = Fake::default();
    let (q, heard) = live(&pool, &fake);
    listen(&q, &heard);
    fake.change(5);
    fake.change(6);
    pool.run_until_stalled();
    assert_eq!(
        fake.evaluations.get(),
        1,
        "changes before it ran share one evaluation"
    );
    assert_eq!(*heard.borrow(), [None, Some(6)]);

    // The answer changes while an evaluation runs (after it read 7): one more follows.
    fake.change_during.set(Some(8));
    fake.change(7);
    pool.run_until_stalled();
    assert_eq!(fake.evaluations.get(), 3);
    assert_eq!(*heard.borrow(), [None, Some(6), Some(7), Some(8)]);
    assert_eq!(q.snapshot().as_deref(), Some(&8));
}

#[test]
fn follows_the_source_only_while_subscribed_and_catches_up_on_the_next_subscriber() {
    let mut pool = LocalPool::new();
    let fake = Fake::default();
    fake.value.set(1);
    let (q, heard) = live(&pool, &fake);
    let a = listen(&q, &heard);
    let b = q.subscribe(|_| {});
    pool.run_until_stalled();
    assert!(!fake.watchers.is_empty());
    q.unsubscribe(a);
    assert!(!fake.watchers.is_empty(), "one subscriber left");
    q.unsubscribe(b);
    q.unsubscribe(b);
    assert!(
        fake.watchers.is_empty(),
        "the last one leaving stops watching"
    );

    fake.change(3);
    pool.run_until_stalled();
    assert_eq!(
        fake.evaluations.get(),
        1,
        "nothing evaluated while nobody listens"
    );
    assert_eq!(
        q.snapshot().as_deref(),
        Some(&1),
        "the snapshot is the last answer"
    );
    assert_eq!(*heard.borrow(), [None, Some(1)]);

    let heard2 = Rc::new(RefCell::new(Vec::new()));
    listen(&q, &heard2);
    assert_eq!(*heard2.borrow(), [Some(1)]);
    pool.run_until_stalled();
    assert_eq!(
        *heard2.borrow(),
        [Some(1), Some(3)],
        "evaluated again on subscribe"
    );
}

#[test]
fn a_failed_evaluation_keeps_the_last_snapshot_and_reports_the_error() {
    let mut pool = LocalPool::new();
    let fake = Fake::default();
    fake.value.set(1);
    let (q, heard) = live(&pool, &fake);
    listen(&q, &heard);
    pool.run_until_stalled();
    let before = q.snapshot().unwrap();
    fake.failing.set(true);
    fake.change(2);
    pool.run_until_stalled();
    assert_eq!(q.error().map(|e| e.code()), Some("INVALID_INPUT"));
    assert!(Rc::ptr_eq(&before, &q.snapshot().unwrap()));
    assert_eq!(*heard.borrow(), [None, Some(1)]);
    fake.failing.set(false);
    fake.change(2);
    pool.run_until_stalled();
    assert_eq!(q.error(), None);
    assert_eq!(*heard.borrow(), [None, Some(1), Some(2)]);
}

#[test]
fn dropping_the_query_stops_watching() {
    let pool = LocalPool::new();
    let fake = Fake::default();
    let (q, heard) = live(&pool, &fake);
    listen(&q, &heard);
    assert!(!fake.watchers.is_empty());
    drop(q);
    drop(pool);
    assert!(fake.watchers.is_empty());
}
