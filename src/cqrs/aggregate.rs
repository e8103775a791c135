//! Command handling: load an aggregate (snapshot + the events after it), decide, append with
//! the loaded version as the expected version, retry on a concurrent write. Also loading as of
//! a version, a position or a time (time travel).

use crate::core::event::{Position, RecordedEvent, StreamId, Timestamp, Version};
use crate::core::expected::ExpectedVersion;
use crate::cqrs::model::Model;
use crate::cqrs::snapshot::{self, SnapshotRecord};
use crate::error::{Error, Result};
use crate::store::{Direction, EventStore, ReadStreamOptions, StateStore};

/// How an aggregate is stored and handled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AggregateConfig {
    /// The aggregate's name, its stream category: aggregate `order` with id `42` lives in
    /// stream `order-42`.
    pub name: String,
    /// Take a snapshot every this many events (`None`: never).
    pub snapshot_every: Option<u64>,
    /// The shape version of the state in snapshots; change it when the state's shape or
    /// `evolve` changes, and older snapshots are ignored.
    pub snapshot_version: u32,
    /// How many times `execute` reloads and decides again after a concurrent append.
    pub max_retries: u32,
    /// Events read per page while loading.
    pub page_size: usize,
}

impl AggregateConfig {
    /// Defaults: no snapshots, snapshot version 1, 3 retries, pages of 1000 events.
    pub fn new(name: impl Into<String>) -> Self {
        AggregateConfig {
            name: name.into(),
            snapshot_every: None,
            snapshot_version: 1,
            max_retries: 3,
            page_size: 1000,
        }
    }
}

/// Which past state to load.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AsOf {
    /// The current state.
    #[default]
    Latest,
    /// After the event with this stream version.
    Version(Version),
    /// After the stream's last event at or before this global position.
    Position(Position),
    /// After the stream's last event recorded at or before this time.
    Time(Timestamp),
}

impl AsOf {
    fn includes(self, version: Version, position: Position, timestamp: Timestamp) -> bool {
        match self {
            AsOf::Latest => true,
            AsOf::Version(v) => version <= v,
            AsOf::Position(p) => position <= p,
            AsOf::Time(t) => timestamp <= t,
        }
    }
}

/// A loaded aggregate.
#[derive(Debug)]
pub struct Loaded<S> {
    /// Its state.
    pub state: S,
    /// The stream version the state includes (0: no events).
    pub version: Version,
    /// Whether loading started from a snapshot.
    pub from_snapshot: bool,
    /// Events applied after the snapshot (or from the start).
    pub replayed: usize,
}

/// The outcome of [`Aggregate::execute`].
#[derive(Debug)]
pub struct Executed<S> {
    /// The state after the new events.
    pub state: S,
    /// The stream version after the append.
    pub version: Version,
    /// The events appended, as recorded (empty when the decider decided nothing).
    pub events: Vec<RecordedEvent>,
}

/// An aggregate: a [`Model`] plus how it is stored.
pub struct Aggregate<M> {
    model: M,
    config: AggregateConfig,
}

impl<M: Model> Aggregate<M> {
    /// An aggregate handled with `config`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] if the name is empty or not a valid stream name prefix.
    pub fn new(model: M, config: AggregateConfig) -> Result<Self> {
        StreamId::new(&config.name)
            .map_err(|_| Error::invalid("an aggregate needs a non-empty name"))?;
        Ok(Aggregate { model, config })
    }

    /// Its configuration.
    pub fn config(&self) -> &AggregateConfig {
        &self.config
    }

    /// Its model.
    pub fn model(&self) -> &M {
        &self.model
    }

    /// The stream of the aggregate with this id: `<name>-<id>`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an empty or invalid id.
    pub fn stream(&self, id: &str) -> Result<StreamId> {
        if id.is_empty() {
            return Err(Error::invalid("an aggregate id must be a non-empty string"));
        }
        StreamId::new(format!("{}-{id}", self.config.name))
    }

    async fn snapshot<S: StateStore>(
        &self,
        store: &S,
        stream: &StreamId,
        as_of: AsOf,
    ) -> Option<(M::State, Version)> {
        let json = store.get_state(&snapshot::key(stream)).await.ok()??;
        // A snapshot that does not decode is derived data gone bad: replay instead.
        let record: SnapshotRecord = json.decode().ok()?;
        if record.schema != self.config.snapshot_version
            || !as_of.includes(record.version, record.position, record.timestamp)
        {
            return None;
        }
        let state = self.model.decode_state(&record.state).ok()?;
        Some((state, record.version))
    }

    /// Loads the aggregate `id` as of `as_of`: from the newest usable snapshot, then the events
    /// after it. Gives exactly the state a full replay gives.
    ///
    /// # Errors
    /// Store failures, and [`Error::EvolveFailed`] when `evolve` fails.
    pub async fn load<S: EventStore + StateStore>(
        &self,
        store: &S,
        id: &str,
        as_of: AsOf,
    ) -> Result<Loaded<M::State>> {
        let stream = self.stream(id)?;
        let (mut state, mut version, from_snapshot) =
            match self.snapshot(store, &stream, as_of).await {
                Some((state, version)) => (state, version, true),
                None => (self.model.initial_state()?, Version(0), false),
            };
        let mut replayed = 0;
        let page = self.config.page_size.max(1);
        loop {
            let limit = match as_of {
                AsOf::Version(v) if v.0 <= version.0 => break,
                AsOf::Version(v) => page.min(usize::try_from(v.0 - version.0).unwrap_or(page)),
                _ => page,
            };
            let options = ReadStreamOptions {
                from: Some(Version(version.0 + 1)),
                limit: Some(limit),
                direction: Direction::Forward,
            };
            let events = store.read_stream(&stream, &options).await?;
            let fetched = events.len();
            let keep = events
                .iter()
                .take_while(|e| as_of.includes(e.version, e.position, e.timestamp))
                .count();
            if keep > 0 {
                version = events[keep - 1].version;
                state = self.model.evolve(state, &events[..keep])?;
                replayed += keep;
            }
            if keep < fetched || fetched < limit {
                break;
            }
        }
        Ok(Loaded {
            state,
            version,
            from_snapshot,
            replayed,
        })
    }

    /// Handles a command: load, decide, append expecting the loaded version; on
    /// `WRONG_EXPECTED_VERSION` (a concurrent append) reload and decide again, up to
    /// `max_retries` times. Takes a snapshot when the policy says so; a failed snapshot write
    /// does not fail the command (the events are stored; the next load replays).
    ///
    /// # Errors
    /// [`Error::DeciderRejected`] (nothing appended), [`Error::WrongExpectedVersion`] after the
    /// last retry, and store failures.
    pub async fn execute<S: EventStore + StateStore>(
        &self,
        store: &S,
        id: &str,
        command: &M::Command,
    ) -> Result<Executed<M::State>> {
        let stream = self.stream(id)?;
        let mut attempt = 0;
        loop {
            let loaded = self.load(store, id, AsOf::Latest).await?;
            let events = self.model.decide(command, &loaded.state)?;
            if events.is_empty() {
                return Ok(Executed {
                    state: loaded.state,
                    version: loaded.version,
                    events: Vec::new(),
                });
            }
            let count = events.len();
            match store
                .append(&stream, events, ExpectedVersion::Exact(loaded.version))
                .await
            {
                Ok(result) => {
                    let options = ReadStreamOptions {
                        from: Some(Version(loaded.version.0 + 1)),
                        limit: Some(count),
                        direction: Direction::Forward,
                    };
                    let recorded = store.read_stream(&stream, &options).await?;
                    let state = self.model.evolve(loaded.state, &recorded)?;
                    if snapshot::due(self.config.snapshot_every, loaded.version, result.version) {
                        if let Some(last) = recorded.last() {
                            let _ = self.save_snapshot(store, &stream, &state, last).await;
                        }
                    }
                    return Ok(Executed {
                        state,
                        version: result.version,
                        events: recorded,
                    });
                }
                Err(Error::WrongExpectedVersion { .. }) if attempt < self.config.max_retries => {
                    attempt += 1
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn save_snapshot<S: StateStore>(
        &self,
        store: &S,
        stream: &StreamId,
        state: &M::State,
        last: &RecordedEvent,
    ) -> Result<()> {
        let record = SnapshotRecord {
            schema: self.config.snapshot_version,
            version: last.version,
            position: last.position,
            timestamp: last.timestamp,
            state: self.model.encode_state(state)?,
        };
        store
            .put_state(
                &snapshot::key(stream),
                crate::core::json::Json::from_value(&record)?,
            )
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::decider::Decider;
    use crate::core::event::{EventId, NewEvent};
    use crate::cqrs::model::{DeciderModel, IdSource};
    use crate::store::contract::test_clock;
    use crate::store::{AppendResult, ChangeNotifier, MemoryStore, ReadAllOptions};
    use crate::Json;
    use futures::executor::block_on;
    use std::cell::Cell;
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
        config.snapshot_every = every;
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
        block_on(store.put_state("snapshot:log-x", Json::parse(r#"{"schema":1}"#).unwrap()))
            .unwrap();
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

    /// A store where another writer appends just before each of the first `races` appends.
    struct Racy {
        inner: MemoryStore,
        races: Cell<u32>,
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
            }
            self.inner.append(stream, events, expected).await
        }
        async fn read_stream(
            &self,
            s: &StreamId,
            o: &ReadStreamOptions,
        ) -> Result<Vec<RecordedEvent>> {
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
}
