//! Tests of [`super`]: the aggregate runner against the in-memory store.
use super::*;
use crate::core::decider::Decider;
use crate::core::event::{EventId, NewEvent};
use crate::cqrs::model::{DeciderModel, IdSource};
use crate::cqrs::runtime::Signal;
use crate::store::contract::test_clock;
use crate::store::{AppendResult, ChangeNotifier, MemoryStore, ReadAllOptions};
use crate::Json;
use futures::executor::block_on;
use std::cell::Cell;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// A list that records the order of events: any lost, duplicated or reordered event shows.
struct Log;
impl Decider for Log {
    type State = Vec<u32>;
    type Command = Vec<u32>;
    type Event = Ev;
    type Error = String;
    fn initial_state() -> Vec<u32> {
        Vec::new()
    }
    fn evolve(mut s: Vec<u32>, e: &Ev) -> Vec<u32> {
        let Ev::Pushed(n) = e;
        s.push(*n);
        s
    }
    fn decide(c: &Vec<u32>, s: &Vec<u32>) -> std::result::Result<Vec<Ev>, String> {
        if c.contains(&0) {
            return Err(format!("zero refused after {} items", s.len()));
        }
        Ok(c.iter().map(|n| Ev::Pushed(*n)).collect())
    }
}
#[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
#[serde(tag = "type", content = "data")]
enum Ev {
    Pushed(u32),
}

fn ids() -> IdSource {
    let n = Arc::new(AtomicU64::new(1));
    Arc::new(move || {
        let mut b = [0u8; 16];
        b[8..].copy_from_slice(&n.fetch_add(1, Ordering::Relaxed).to_be_bytes());
        EventId::from_bytes(b)
    })
}

fn aggregate(every: Option<u64>) -> Aggregate<DeciderModel<Log>> {
    let mut config = AggregateConfig::new("log");
    config.snapshot = every.map_or(SnapshotPolicy::Never, SnapshotPolicy::Every);
    config.page_size = 7;
    Aggregate::new(DeciderModel::new(ids()), config).unwrap()
}

/// A tiny deterministic generator (xorshift) for the property tests.
struct Rng(u64);
impl Rng {
    fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[test]
fn snapshot_plus_tail_equals_a_full_replay() {
    for seed in 1..40u64 {
        let mut rng = Rng(seed * 7919);
        let every = 1 + rng.next(6);
        let store = MemoryStore::new(test_clock());
        let snap = aggregate(Some(every));
        let mut config = AggregateConfig::new("log");
        config.snapshot_version = 99; // ignores the snapshots `snap` takes: a full replay
        let plain = Aggregate::new(DeciderModel::<Log>::new(ids()), config).unwrap();
        let mut expected: Vec<u32> = Vec::new();
        for _ in 0..(1 + rng.next(25)) {
            let cmd: Vec<u32> = (0..1 + rng.next(4))
                .map(|_| 1 + rng.next(1000) as u32)
                .collect();
            expected.extend(&cmd);
            block_on(snap.execute(&store, "x", &cmd)).unwrap();
        }
        let with = block_on(snap.load(&store, "x", AsOf::Latest)).unwrap();
        let without = block_on(plain.load(&store, "x", AsOf::Latest)).unwrap();
        assert_eq!(with.state, expected, "seed {seed}");
        assert_eq!(with.state, without.state, "seed {seed}");
        assert_eq!(with.version, without.version);
        assert!(!without.from_snapshot);
        if with.version.0 >= every {
            assert!(with.from_snapshot, "seed {seed}: a snapshot was due");
            assert!(
                with.replayed < every as usize * 4 + 4,
                "seed {seed}: replayed {}",
                with.replayed
            );
        }
        for v in 0..=with.version.0 {
            let past = block_on(snap.load(&store, "x", AsOf::Version(Version(v)))).unwrap();
            assert_eq!(past.state, expected[..v as usize], "seed {seed} as of {v}");
            assert_eq!(past.version, Version(v));
        }
    }
}

#[test]
fn a_changed_snapshot_version_ignores_old_snapshots() {
    let store = MemoryStore::new(test_clock());
    let old = aggregate(Some(1));
    block_on(old.execute(&store, "x", &vec![1, 2])).unwrap();
    assert!(
        block_on(old.load(&store, "x", AsOf::Latest))
            .unwrap()
            .from_snapshot
    );
    let mut config = old.config().clone();
    config.snapshot_version = 2;
    let new = Aggregate::new(DeciderModel::<Log>::new(ids()), config).unwrap();
    let loaded = block_on(new.load(&store, "x", AsOf::Latest)).unwrap();
    assert!(!loaded.from_snapshot);
    assert_eq!(loaded.state, vec![1, 2]);
}

#[test]
fn a_corrupt_snapshot_falls_back_to_a_replay() {
    let store = MemoryStore::new(test_clock());
    let agg = aggregate(Some(1));
    block_on(agg.execute(&store, "x", &vec![5])).unwrap();
    block_on(store.put_state("snapshot:log-x", Json::parse(r#"{"schema":1}"#).unwrap())).unwrap();
    let loaded = block_on(agg.load(&store, "x", AsOf::Latest)).unwrap();
    assert_eq!((loaded.state, loaded.from_snapshot), (vec![5], false));
}

#[test]
fn time_travel_by_position_and_time() {
    let store = MemoryStore::new(test_clock());
    let agg = aggregate(Some(2));
    block_on(agg.execute(&store, "x", &vec![1])).unwrap();
    block_on(store.append(
        &StreamId::new("other").unwrap(),
        vec![NewEvent::new(
            EventId::from_bytes([0xaa; 16]),
            crate::EventType::new("T").unwrap(),
            Json::null(),
        )],
        ExpectedVersion::Any,
    ))
    .unwrap();
    block_on(agg.execute(&store, "x", &vec![2, 3])).unwrap();
    block_on(agg.execute(&store, "x", &vec![4])).unwrap();
    let at = |p| {
        block_on(agg.load(&store, "x", AsOf::Position(Position(p))))
            .unwrap()
            .state
    };
    assert_eq!(at(0), Vec::<u32>::new());
    assert_eq!(at(2), vec![1]);
    assert_eq!(at(4), vec![1, 2, 3]);
    assert_eq!(at(99), vec![1, 2, 3, 4]);
    let log = block_on(store.read_all(&ReadAllOptions::default())).unwrap();
    let at_time = |i: usize| {
        block_on(agg.load(&store, "x", AsOf::Time(log[i].timestamp)))
            .unwrap()
            .state
    };
    assert_eq!(at_time(1), vec![1]);
    assert_eq!(at_time(2), vec![1, 2, 3], "one append shares one timestamp");
    assert_eq!(at_time(4), vec![1, 2, 3, 4]);
}

#[test]
fn a_rejected_command_appends_nothing() {
    let store = MemoryStore::new(test_clock());
    let agg = aggregate(None);
    block_on(agg.execute(&store, "x", &vec![1])).unwrap();
    let err = block_on(agg.execute(&store, "x", &vec![2, 0])).unwrap_err();
    assert_eq!(
        err,
        Error::DeciderRejected {
            message: "zero refused after 1 items".into()
        }
    );
    assert_eq!(block_on(store.head()).unwrap(), Position(1));
}

/// A store where another writer appends just before each of the first `races` appends (and
/// stops `abort`, if set, as an app aborting meanwhile would).
struct Racy {
    inner: MemoryStore,
    races: Cell<u32>,
    abort: Option<Signal>,
}
impl EventStore for Racy {
    async fn append(
        &self,
        stream: &StreamId,
        events: Vec<NewEvent>,
        expected: ExpectedVersion,
    ) -> Result<AppendResult> {
        if self.races.get() > 0 {
            self.races.set(self.races.get() - 1);
            let intruder = NewEvent::new(
                ids()(),
                crate::EventType::new("Pushed").unwrap(),
                Json::parse("999").unwrap(),
            );
            let mut other = intruder;
            other.id = EventId::from_bytes([
                0xee,
                self.races.get() as u8,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                1,
            ]);
            self.inner
                .append(stream, vec![other], ExpectedVersion::Any)
                .await?;
            if let Some(abort) = &self.abort {
                abort.stop();
            }
        }
        self.inner.append(stream, events, expected).await
    }
    async fn read_stream(&self, s: &StreamId, o: &ReadStreamOptions) -> Result<Vec<RecordedEvent>> {
        self.inner.read_stream(s, o).await
    }
    async fn read_all(&self, o: &ReadAllOptions) -> Result<Vec<RecordedEvent>> {
        self.inner.read_all(o).await
    }
    async fn stream_version(&self, s: &StreamId) -> Result<Version> {
        self.inner.stream_version(s).await
    }
    async fn head(&self) -> Result<Position> {
        self.inner.head().await
    }
    fn changes(&self) -> &ChangeNotifier {
        self.inner.changes()
    }
}
impl StateStore for Racy {
    async fn get_state(&self, k: &str) -> Result<Option<Json>> {
        self.inner.get_state(k).await
    }
    async fn put_state(&self, k: &str, v: Json) -> Result<()> {
        self.inner.put_state(k, v).await
    }
    async fn delete_state(&self, k: &str) -> Result<()> {
        self.inner.delete_state(k).await
    }
}

#[test]
fn concurrent_appends_are_retried_then_reported() {
    let store = Racy {
        inner: MemoryStore::new(test_clock()),
        races: Cell::new(2),
        abort: None,
    };
    let agg = aggregate(None);
    let done = block_on(agg.execute(&store, "x", &vec![1])).unwrap();
    assert_eq!(
        done.state,
        vec![999, 999, 1],
        "decided again on the state with the intruders"
    );
    assert_eq!(done.version, Version(3));
    store.races.set(10);
    let err = block_on(agg.execute(&store, "x", &vec![2])).unwrap_err();
    assert_eq!(
        err.code(),
        "WRONG_EXPECTED_VERSION",
        "gives up after max_retries"
    );
    let state = block_on(agg.load(&store.inner, "x", AsOf::Latest))
        .unwrap()
        .state;
    assert!(!state.contains(&2), "the losing command wrote nothing");
}

#[test]
fn an_aborted_command_appends_nothing_and_an_abort_before_a_retry_stops_it() {
    let store = Racy {
        inner: MemoryStore::new(test_clock()),
        races: Cell::new(0),
        abort: None,
    };
    let agg = aggregate(None);
    block_on(agg.execute(&store, "x", &vec![1])).unwrap();
    let aborted = Signal::new();
    aborted.stop();
    let r = block_on(agg.execute_abortable(&store, "x", &vec![2], &aborted)).unwrap();
    assert!(r.is_none(), "aborted before it started");
    assert_eq!(
        block_on(store.head()).unwrap(),
        Position(1),
        "nothing appended"
    );

    // Another writer wins the first append and the app aborts meanwhile: no retry.
    let abort = Signal::new();
    let store = Racy {
        abort: Some(abort.clone()),
        races: Cell::new(1),
        ..store
    };
    let r = block_on(agg.execute_abortable(&store, "x", &vec![3], &abort)).unwrap();
    assert!(r.is_none(), "not retried after the abort");
    let state = block_on(agg.load(&store.inner, "x", AsOf::Latest))
        .unwrap()
        .state;
    assert_eq!(
        state,
        vec![1, 999],
        "only the other writer's event was added"
    );
}

/// A clock the test sets by hand.
fn manual_clock() -> (crate::store::Clock, Arc<std::sync::atomic::AtomicI64>) {
    let now = Arc::new(std::sync::atomic::AtomicI64::new(1_000_000));
    let read = now.clone();
    (
        Arc::new(move || Timestamp(read.load(Ordering::Relaxed))),
        now,
    )
}

fn snapshot_version(agg: &Aggregate<DeciderModel<Log>>, store: &MemoryStore) -> Option<u64> {
    let loaded = block_on(agg.load(store, "x", AsOf::Latest)).unwrap();
    loaded.snapshot.map(|s| s.version.0)
}

#[test]
fn a_policy_by_events_and_time_waits_for_both() {
    let (clock, now) = manual_clock();
    let store = MemoryStore::new(clock);
    let mut config = AggregateConfig::new("log");
    config.snapshot = SnapshotPolicy::After {
        events: 3,
        millis: 1_000,
    };
    let agg = Aggregate::new(DeciderModel::<Log>::new(ids()), config).unwrap();
    for n in 1..=2 {
        block_on(agg.execute(&store, "x", &vec![n])).unwrap();
    }
    assert_eq!(snapshot_version(&agg, &store), None, "2 events: not yet");
    block_on(agg.execute(&store, "x", &vec![3])).unwrap();
    assert_eq!(
        snapshot_version(&agg, &store),
        Some(3),
        "3 events and no snapshot before: taken"
    );
    now.fetch_add(500, Ordering::Relaxed);
    for n in 4..=8 {
        block_on(agg.execute(&store, "x", &vec![n])).unwrap();
    }
    assert_eq!(
        snapshot_version(&agg, &store),
        Some(3),
        "5 events since, but only 500 ms: not yet"
    );
    now.fetch_add(500, Ordering::Relaxed);
    block_on(agg.execute(&store, "x", &vec![9])).unwrap();
    assert_eq!(snapshot_version(&agg, &store), Some(9), "6 events and 1 s");
    now.fetch_add(60_000, Ordering::Relaxed);
    block_on(agg.execute(&store, "x", &vec![10, 11])).unwrap();
    assert_eq!(
        snapshot_version(&agg, &store),
        Some(9),
        "a minute but only 2 events: not yet"
    );
    let loaded = block_on(agg.load(&store, "x", AsOf::Latest)).unwrap();
    assert_eq!(loaded.state, (1..=11).collect::<Vec<u32>>());
    assert_eq!((loaded.replayed, loaded.version), (2, Version(11)));
}

#[test]
fn a_snapshot_taken_now_is_used_by_the_next_load() {
    let store = MemoryStore::new(test_clock());
    let agg = aggregate(None);
    assert_eq!(
        block_on(agg.take_snapshot(&store, "x", Timestamp(5))).unwrap(),
        None,
        "no events: nothing to snapshot"
    );
    assert_eq!(block_on(store.get_state("snapshot:log-x")).unwrap(), None);
    block_on(agg.execute(&store, "x", &vec![1, 2, 3])).unwrap();
    block_on(agg.execute(&store, "x", &vec![4])).unwrap();
    assert_eq!(snapshot_version(&agg, &store), None, "the policy is never");
    let taken = block_on(agg.take_snapshot(&store, "x", Timestamp(42)))
        .unwrap()
        .unwrap();
    assert_eq!(
        taken,
        SnapshotInfo {
            version: Version(4),
            taken: Timestamp(42)
        }
    );
    let loaded = block_on(agg.load(&store, "x", AsOf::Latest)).unwrap();
    assert_eq!(loaded.state, vec![1, 2, 3, 4]);
    assert_eq!((loaded.snapshot, loaded.replayed), (Some(taken), 0));
    block_on(agg.execute(&store, "x", &vec![5])).unwrap();
    let loaded = block_on(agg.load(&store, "x", AsOf::Latest)).unwrap();
    assert_eq!((loaded.state, loaded.replayed), (vec![1, 2, 3, 4, 5], 1));
    // Time travel to before the snapshot replays.
    let past = block_on(agg.load(&store, "x", AsOf::Version(Version(2)))).unwrap();
    assert_eq!((past.state, past.from_snapshot), (vec![1, 2], false));
}

#[test]
fn deleting_an_aggregates_snapshots_makes_loading_replay() {
    let store = MemoryStore::new(test_clock());
    let agg = aggregate(Some(2));
    block_on(agg.execute(&store, "x", &vec![1, 2, 3])).unwrap();
    block_on(agg.execute(&store, "y", &vec![7, 8])).unwrap();
    assert_eq!(snapshot_version(&agg, &store), Some(3));
    block_on(agg.delete_snapshots(&store, "x")).unwrap();
    let loaded = block_on(agg.load(&store, "x", AsOf::Latest)).unwrap();
    assert_eq!(
        (loaded.state, loaded.from_snapshot, loaded.replayed),
        (vec![1, 2, 3], false, 3)
    );
    let other = block_on(agg.load(&store, "y", AsOf::Latest)).unwrap();
    assert!(other.from_snapshot, "another id keeps its snapshot");
    // Deleting what is not there is fine; a bad id is refused and changes nothing.
    block_on(agg.delete_snapshots(&store, "x")).unwrap();
    let before = block_on(store.get_state("snapshot:log-y")).unwrap();
    let err = block_on(agg.delete_snapshots(&store, "")).unwrap_err();
    assert_eq!(err.code(), "INVALID_INPUT");
    assert_eq!(block_on(store.get_state("snapshot:log-y")).unwrap(), before);
    assert_eq!(
        block_on(store.read_stream(&agg.stream("x").unwrap(), &Default::default()))
            .unwrap()
            .len(),
        3,
        "the events are untouched"
    );
}

#[test]
fn a_snapshot_written_before_taken_existed_counts_from_its_last_event() {
    let (clock, now) = manual_clock();
    let store = MemoryStore::new(clock);
    let mut config = AggregateConfig::new("log");
    config.snapshot = SnapshotPolicy::After {
        events: 1,
        millis: 1_000,
    };
    let agg = Aggregate::new(DeciderModel::<Log>::new(ids()), config).unwrap();
    block_on(agg.execute(&store, "x", &vec![1])).unwrap();
    // An older record: no `taken` field.
    let old = format!(
        r#"{{"schema":1,"version":1,"position":1,"timestamp":{},"state":[1]}}"#,
        now.load(Ordering::Relaxed)
    );
    block_on(store.put_state("snapshot:log-x", Json::parse(&old).unwrap())).unwrap();
    now.fetch_add(999, Ordering::Relaxed);
    block_on(agg.execute(&store, "x", &vec![2])).unwrap();
    assert_eq!(snapshot_version(&agg, &store), Some(1));
    now.fetch_add(1, Ordering::Relaxed);
    block_on(agg.execute(&store, "x", &vec![3])).unwrap();
    assert_eq!(snapshot_version(&agg, &store), Some(3));
}

#[test]
fn as_of_picks_at_most_one_moment() {
    assert_eq!(AsOf::pick(None, None, None).unwrap(), AsOf::Latest);
    assert_eq!(
        AsOf::pick(Some(3), None, None).unwrap(),
        AsOf::Version(Version(3))
    );
    assert_eq!(
        AsOf::pick(None, Some(7), None).unwrap(),
        AsOf::Position(Position(7))
    );
    assert_eq!(
        AsOf::pick(None, None, Some(-5)).unwrap(),
        AsOf::Time(Timestamp(-5))
    );
    for (v, p, t) in [
        (Some(1), Some(1), None),
        (Some(1), None, Some(1)),
        (None, Some(1), Some(1)),
    ] {
        assert_eq!(AsOf::pick(v, p, t).unwrap_err().code(), "INVALID_INPUT");
    }
}

#[test]
fn the_registry_finds_a_streams_aggregate_by_its_longest_name() {
    let named = |name: &str| {
        let config = AggregateConfig::new(name);
        Rc::new(Aggregate::new(DeciderModel::<Log>::new(ids()), config).unwrap())
    };
    let registry = Registry::default();
    let (order, line) = (named("order"), named("order-line"));
    registry.define(order.clone());
    registry.define(line.clone());
    let (found, id) = registry.owner("order-line-7").unwrap();
    assert!(Rc::ptr_eq(&found, &line));
    assert_eq!(id, "7");
    let (found, id) = registry.owner("order-42").unwrap();
    assert!(Rc::ptr_eq(&found, &order));
    assert_eq!(id, "42");
    // The id is not empty, and the name is followed by '-'.
    assert!(registry.owner("order-").is_none());
    assert!(registry.owner("orders-1").is_none());
    assert!(registry.owner("cart-1").is_none());
    // A new definition of a name replaces the old one.
    let again = named("order");
    registry.define(again.clone());
    assert!(Rc::ptr_eq(&registry.owner("order-1").unwrap().0, &again));
}
