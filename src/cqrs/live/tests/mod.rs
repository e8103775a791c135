//! Tests of the live-view runtime: the shared catch-up loop (`catch_up.rs`, with a recording
//! fold) and the lifecycle (`view.rs`, through a projection over the in-memory store, with a
//! replica for pending events). The helpers here serve the read model tests too.

mod catch_up;
mod view;

use std::cell::Cell;
use std::future::Future;
use std::rc::Rc;

use futures::executor::LocalPool;
use futures::task::LocalSpawnExt;

use crate::core::append::StoreLimits;
use crate::core::event::{EventId, EventType, NewEvent, StreamId};
use crate::core::expected::ExpectedVersion;
use crate::core::json::Json;
use crate::engine::Store;
use crate::store::contract::test_clock;
use crate::store::{EventStore, LogReset, MemoryStore, ResetStore};

/// A store on the in-memory backend.
pub(crate) fn store() -> Store {
    Store::memory(MemoryStore::new(test_clock()))
}

/// Appends one event per value (data = the value) to `stream`, whoever the store routes it to.
pub(crate) fn append<S: EventStore>(pool: &mut LocalPool, store: &S, stream: &str, values: &[i64]) {
    let head = pool.run_until(store.head()).unwrap().0;
    let events = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let mut b = [0u8; 16];
            b[..8].copy_from_slice(&(head + i as u64).to_be_bytes());
            b[8..].copy_from_slice(&(*v as u64).to_be_bytes());
            b[15] ^= stream.len() as u8;
            NewEvent::new(
                EventId::from_bytes(b),
                EventType::new("N").unwrap(),
                Json::from_value(v).unwrap(),
            )
        })
        .collect();
    pool.run_until(store.append(
        &StreamId::new(stream).unwrap(),
        events,
        ExpectedVersion::Any,
    ))
    .unwrap();
}

/// Attaches a sync replica for streams starting with `scope`: appends to them become pending.
pub(crate) fn sync(store: &Store, scope: &str) {
    store
        .attach_sync(vec![scope.into()], StoreLimits::default(), test_clock())
        .unwrap();
}

/// Resets the log: drops the streams starting with `dropped` and forgets derived state.
pub(crate) fn reset(pool: &mut LocalPool, store: &Store, dropped: &str) {
    let replica = store.replica().expect("a replica (call sync first)");
    let drops = |s: &str| s.starts_with(dropped);
    let forgets = |k: &str| k.starts_with("projection:") || k.starts_with("readmodel:");
    let reset = LogReset {
        drops: &drops,
        forgets: &forgets,
        rewrites: Vec::new(),
    };
    pool.run_until(replica.inner().reset_log(&reset)).unwrap();
}

/// Spawns `run` on `pool`; the flag tells when it has ended.
pub(crate) fn spawn_tracked(
    pool: &mut LocalPool,
    run: impl Future<Output = ()> + 'static,
) -> Rc<Cell<bool>> {
    let ended = Rc::new(Cell::new(false));
    let e = ended.clone();
    pool.spawner()
        .spawn_local(async move {
            run.await;
            e.set(true);
        })
        .unwrap();
    ended
}
