//! Tests of [`super`]: the projection runner against the in-memory store.
use super::*;
use crate::core::event::{EventId, EventType, NewEvent, StreamId};
use crate::core::expected::ExpectedVersion;
use crate::store::contract::test_clock;
use crate::store::MemoryStore;
use futures::executor::block_on;
use std::cell::Cell;

/// Sums `data` (a number); fails on the event whose data is `fail_on`.
struct Sum {
    fail_on: Option<i64>,
    applied: Cell<usize>,
}

impl Projection for Sum {
    type State = i64;
    fn init(&self) -> Result<i64> {
        Ok(0)
    }
    fn evolve(&self, state: &mut i64, events: &[RecordedEvent]) -> Applied {
        for (i, e) in events.iter().enumerate() {
            let n: i64 = e.data.decode().unwrap_or(0);
            if Some(n) == self.fail_on {
                let error = Error::EvolveFailed {
                    position: e.position,
                    message: format!("cannot add {n}"),
                };
                return Applied {
                    applied: i,
                    error: Some(error),
                };
            }
            *state += n;
            self.applied.set(self.applied.get() + 1);
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

fn sum(fail_on: Option<i64>) -> Sum {
    Sum {
        fail_on,
        applied: Cell::new(0),
    }
}

fn runner(p: Sum, version: u32) -> ProjectionRunner<Sum> {
    let filter = EventFilter {
        stream_prefixes: vec!["n-".into()],
        types: None,
    };
    ProjectionRunner::new(p, "sum", version, filter)
        .unwrap()
        .with_page_size(3)
}

fn append(store: &MemoryStore, stream: &str, values: &[i64]) {
    let events = values
        .iter()
        .map(|v| {
            let mut b = [0u8; 16];
            b[..8].copy_from_slice(&(*v as u64).to_be_bytes());
            b[8..].copy_from_slice(&store_len(store).to_be_bytes());
            NewEvent::new(
                EventId::from_bytes(b),
                EventType::new("N").unwrap(),
                Json::from_value(v).unwrap(),
            )
        })
        .collect();
    block_on(store.append(
        &StreamId::new(stream).unwrap(),
        events,
        ExpectedVersion::Any,
    ))
    .unwrap();
}

fn store_len(store: &MemoryStore) -> u64 {
    block_on(store.head()).unwrap().0
}

#[test]
fn catches_up_persists_and_resumes_from_its_checkpoint() {
    let store = MemoryStore::new(test_clock());
    append(&store, "n-1", &[1, 2, 3, 4]);
    append(&store, "other", &[100]);
    append(&store, "n-2", &[10]);
    let r = runner(sum(None), 1);
    let mut progress = Vec::new();
    let (s, res) = block_on(async {
        r.catch_up(&store, r.load(&store).await.unwrap(), |p, t| {
            progress.push((p, t))
        })
        .await
    });
    res.unwrap();
    assert_eq!(
        s,
        ProjectionState {
            state: 20,
            checkpoint: Position(6)
        }
    );
    assert_eq!(progress.last(), Some(&(6, 6)));
    append(&store, "n-1", &[5]);
    let again = runner(sum(None), 1);
    let loaded = block_on(again.load(&store)).unwrap();
    assert_eq!(
        loaded, s,
        "the persisted state and checkpoint come back together"
    );
    let (s2, res) = block_on(again.catch_up(&store, loaded, |_, _| {}));
    res.unwrap();
    assert_eq!(s2.state, 25);
    assert_eq!(
        again.projection().applied.get(),
        1,
        "only the new event is applied"
    );
}

#[test]
fn a_new_version_rebuilds_from_the_log() {
    let store = MemoryStore::new(test_clock());
    append(&store, "n-1", &[1, 2]);
    let r = runner(sum(None), 1);
    let (s, _) = block_on(async {
        r.catch_up(&store, r.load(&store).await.unwrap(), |_, _| {})
            .await
    });
    assert_eq!(s.state, 3);
    let v2 = runner(sum(None), 2);
    assert_eq!(
        block_on(v2.load(&store)).unwrap(),
        ProjectionState {
            state: 0,
            checkpoint: Position(0)
        }
    );
}

#[test]
fn a_failing_evolve_stops_at_the_last_good_event_and_resumes_after_a_fix() {
    let store = MemoryStore::new(test_clock());
    append(&store, "n-1", &[1, 2, 3, 13, 5, 6]);
    let broken = runner(sum(Some(13)), 1);
    let (s, res) = block_on(async {
        broken
            .catch_up(&store, broken.load(&store).await.unwrap(), |_, _| {})
            .await
    });
    assert_eq!(
        res.unwrap_err(),
        Error::EvolveFailed {
            position: Position(4),
            message: "cannot add 13".into()
        }
    );
    assert_eq!(
        s,
        ProjectionState {
            state: 6,
            checkpoint: Position(3)
        }
    );
    assert_eq!(
        block_on(broken.load(&store)).unwrap(),
        s,
        "the last good state is persisted"
    );
    let fixed = runner(sum(None), 1);
    let (s, res) = block_on(async {
        fixed
            .catch_up(&store, fixed.load(&store).await.unwrap(), |_, _| {})
            .await
    });
    res.unwrap();
    assert_eq!(s.state, 30);
    assert_eq!(
        fixed.projection().applied.get(),
        3,
        "resumed after the checkpoint"
    );
}

#[test]
fn state_as_of_a_position() {
    let store = MemoryStore::new(test_clock());
    append(&store, "n-1", &[1, 2, 3, 4, 5, 6, 7]);
    let r = runner(sum(None), 1);
    assert_eq!(block_on(r.state_at(&store, Position(0))).unwrap(), 0);
    assert_eq!(block_on(r.state_at(&store, Position(4))).unwrap(), 10);
    assert_eq!(block_on(r.state_at(&store, Position(100))).unwrap(), 28);
}
