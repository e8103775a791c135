//! Delivering a subscription (`store.subscribe`): catch up, then follow the log, handing each
//! batch to a sink and waiting for it before the next, until the app closes it, the store
//! closes, reading fails or the sink fails. The binding supplies only the sink (call the
//! callback, await what it returns).

use std::cell::Cell;
use std::future::Future;
use std::rc::Rc;

use crate::core::event::{Position, RecordedEvent};
use crate::cqrs::runtime::Signal;
use crate::engine::Store;
use crate::error::Error;
use crate::store::{EventFilter, Subscription};

/// Why a delivery stopped other than by a close.
#[derive(Debug)]
pub enum Stopped<E> {
    /// Reading the store failed.
    Read(Error),
    /// The sink failed (the callback threw or its promise rejected).
    Sink(E),
}

/// Delivers the events of `store` after `after` that pass `filter`, in batches of at most
/// `batch_size`, in position order, to `sink`; each batch waits for the previous one's future.
/// `checkpoint` follows the last position delivered. Returns `Ok` when `stop` is stopped or the
/// store closes.
///
/// # Errors
/// [`Stopped::Read`] when reading fails, [`Stopped::Sink`] when the sink fails; nothing is
/// delivered after either.
pub async fn deliver<E, F, Fut>(
    store: Store,
    after: Position,
    filter: EventFilter,
    batch_size: usize,
    stop: &Signal,
    checkpoint: &Rc<Cell<Position>>,
    mut sink: F,
) -> Result<(), Stopped<E>>
where
    F: FnMut(Vec<RecordedEvent>) -> Fut,
    Fut: Future<Output = Result<(), E>>,
{
    let mut subscription = Subscription::new(Rc::new(store), after, filter, batch_size);
    loop {
        let mut next = None;
        if !stop
            .wait_for(async { next = Some(subscription.next_batch().await) })
            .await
        {
            return Ok(());
        }
        let batch = match next {
            None => continue, // woken without a batch: look again
            Some(Ok(None)) => return Ok(()),
            Some(Ok(Some(batch))) => batch,
            Some(Err(e)) => return Err(Stopped::Read(e)),
        };
        sink(batch).await.map_err(Stopped::Sink)?;
        checkpoint.set(subscription.checkpoint());
        if stop.is_stopped() {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::expected::ExpectedVersion;
    use crate::store::contract::{evs, sid, test_clock};
    use crate::store::{EventStore, MemoryStore};
    use futures::executor::LocalPool;
    use futures::task::LocalSpawnExt;
    use std::cell::RefCell;

    #[test]
    fn batches_in_order_then_live_until_stopped_and_a_failing_sink_stops_it() {
        let store = Store::memory(MemoryStore::new(test_clock()));
        let mut pool = LocalPool::new();
        pool.run_until(async {
            store
                .append(&sid("a-1"), evs(0..5), ExpectedVersion::Any)
                .await
                .unwrap();
        });
        let seen = Rc::new(RefCell::new(Vec::new()));
        let (stop, checkpoint) = (Signal::new(), Rc::new(Cell::new(Position(0))));
        let (s, seen2, stop2, cp2) = (
            store.clone(),
            seen.clone(),
            stop.clone(),
            checkpoint.clone(),
        );
        let outcome = Rc::new(RefCell::new(None));
        let out2 = outcome.clone();
        pool.spawner()
            .spawn_local(async move {
                let r = deliver(
                    s,
                    Position(1),
                    EventFilter::default(),
                    2,
                    &stop2,
                    &cp2,
                    |b| {
                        seen2
                            .borrow_mut()
                            .push(b.iter().map(|e| e.position.0).collect::<Vec<_>>());
                        async { Ok::<(), ()>(()) }
                    },
                )
                .await;
                *out2.borrow_mut() = Some(r.is_ok());
            })
            .unwrap();
        pool.run_until_stalled();
        assert_eq!(*seen.borrow(), vec![vec![2, 3], vec![4, 5]]);
        assert_eq!(checkpoint.get(), Position(5));
        pool.run_until(async {
            store
                .append(&sid("a-2"), evs(5..6), ExpectedVersion::Any)
                .await
                .unwrap();
        });
        pool.run_until_stalled();
        assert_eq!(
            seen.borrow().last(),
            Some(&vec![6]),
            "live after the catch-up"
        );
        stop.stop();
        pool.run_until_stalled();
        assert_eq!(*outcome.borrow(), Some(true));

        let r = pool.run_until(deliver(
            store.clone(),
            Position(0),
            EventFilter::default(),
            10,
            &Signal::new(),
            &Rc::new(Cell::new(Position(0))),
            |_| async { Err::<(), &str>("thrown") },
        ));
        assert!(matches!(r, Err(Stopped::Sink("thrown"))));
    }
}
