//! Command handling: load an aggregate (snapshot + the events after it), decide, append with
//! the loaded version as the expected version, retry on a concurrent write. Also loading as of
//! a version, a position or a time (time travel).

use crate::core::event::{Position, RecordedEvent, StreamId, Timestamp, Version};
use crate::core::expected::ExpectedVersion;
use crate::cqrs::model::Model;
use crate::cqrs::runtime::Signal;
mod options;
mod registry;
mod snapshot;

use crate::error::{Error, Result};
use crate::store::{Direction, EventStore, ReadStreamOptions, StateStore};
pub use options::{AggregateOptions, SnapshotAfter};
pub use registry::Registry;
use snapshot::SnapshotRecord;
pub use snapshot::{SnapshotInfo, SnapshotPolicy};

/// How an aggregate is stored and handled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AggregateConfig {
    /// The aggregate's name, its stream category: aggregate `order` with id `42` lives in
    /// stream `order-42`.
    pub name: String,
    /// When `execute` takes a snapshot (default: never).
    pub snapshot: SnapshotPolicy,
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
            snapshot: SnapshotPolicy::Never,
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
    /// The moment chosen by at most one of a version, a position and a time (none: the
    /// latest state), as `load(id, { atVersion | atPosition | atTime })` gives them.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when more than one is given.
    pub fn pick(version: Option<u64>, position: Option<u64>, time: Option<i64>) -> Result<Self> {
        match (version, position, time) {
            (None, None, None) => Ok(AsOf::Latest),
            (Some(v), None, None) => Ok(AsOf::Version(Version(v))),
            (None, Some(p), None) => Ok(AsOf::Position(Position(p))),
            (None, None, Some(t)) => Ok(AsOf::Time(Timestamp(t))),
            _ => Err(Error::invalid(
                "pass at most one of atVersion, atPosition, atTime",
            )),
        }
    }

    fn includes(self, version: Version, position: Position, timestamp: Timestamp) -> bool {
        match self {
            AsOf::Latest => true,
            AsOf::Version(v) => version <= v,
            // Position 0: a pending event of a synced store, not placed in the log yet.
            AsOf::Position(p) => position.0 != 0 && position <= p,
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
    /// The snapshot loading started from.
    pub snapshot: Option<SnapshotInfo>,
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
        Ok(StreamId::new(format!("{}-{id}", self.config.name))?)
    }

    /// The state and version of the aggregate's newest snapshot usable as of `as_of`, if any
    /// (one of an older snapshot version, or that does not decode, is ignored: loading then
    /// replays). For bindings that fold the events after it themselves.
    pub async fn snapshot<S: StateStore>(
        &self,
        store: &S,
        stream: &StreamId,
        as_of: AsOf,
    ) -> Option<(M::State, Version)> {
        self.usable_snapshot(store, stream, as_of)
            .await
            .map(|(state, info)| (state, info.version))
    }

    async fn usable_snapshot<S: StateStore>(
        &self,
        store: &S,
        stream: &StreamId,
        as_of: AsOf,
    ) -> Option<(M::State, SnapshotInfo)> {
        let json = store.get_state(&snapshot::key(stream)).await.ok()??;
        // A snapshot that does not decode is derived data gone bad: replay instead.
        let record: SnapshotRecord = json.decode().ok()?;
        if record.schema != self.config.snapshot_version
            || !as_of.includes(record.version, record.position, record.timestamp)
        {
            return None;
        }
        let state = self.model.decode_state(&record.state).ok()?;
        Some((state, record.info()))
    }

    /// Takes a snapshot of the aggregate `id` now, whatever the policy: loads its current
    /// state and stores it, marked as taken at `now` (ms since the epoch, the caller's clock).
    /// Resolves to the snapshot taken, or `None` for an aggregate with no events (nothing to
    /// snapshot). The stream's previous snapshot is replaced.
    ///
    /// # Errors
    /// Store failures, [`Error::EvolveFailed`], and the model's state encoding errors.
    pub async fn take_snapshot<S: EventStore + StateStore>(
        &self,
        store: &S,
        id: &str,
        now: Timestamp,
    ) -> Result<Option<SnapshotInfo>> {
        let stream = self.stream(id)?;
        let loaded = self.load(store, id, AsOf::Latest).await?;
        if loaded.version.0 == 0 {
            return Ok(None);
        }
        let options = ReadStreamOptions {
            from: Some(loaded.version),
            limit: Some(1),
            direction: Direction::Forward,
        };
        let last = store.read_stream(&stream, &options).await?;
        let Some(last) = last.first() else {
            return Ok(None);
        };
        self.save_snapshot(store, &stream, &loaded.state, last, now)
            .await
            .map(Some)
    }

    /// Deletes the snapshot of the aggregate `id` (every snapshot eventfold keeps of it: one
    /// per stream). Loading then replays from the first event until a new one is taken.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an invalid id, and store failures.
    pub async fn delete_snapshots<S: StateStore>(&self, store: &S, id: &str) -> Result<()> {
        let stream = self.stream(id)?;
        store.delete_state(&snapshot::key(&stream)).await
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
        let (mut state, mut version, snapshot) =
            match self.usable_snapshot(store, &stream, as_of).await {
                Some((state, info)) => (state, info.version, Some(info)),
                None => (self.model.initial_state()?, Version(0), None),
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
            from_snapshot: snapshot.is_some(),
            snapshot,
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
        self.execute_abortable(store, id, command, &Signal::new())
            .await?
            .ok_or_else(|| Error::invalid("the command was aborted"))
    }

    /// [`execute`](Self::execute) that gives up when `abort` is stopped before the append
    /// starts (before or during a load, after a decision, before a retry): `Ok(None)` then,
    /// and nothing was written. Once the append has started the command runs to its end, so
    /// an abort never hides a command that was stored.
    ///
    /// # Errors
    /// As [`execute`](Self::execute).
    pub async fn execute_abortable<S: EventStore + StateStore>(
        &self,
        store: &S,
        id: &str,
        command: &M::Command,
        abort: &Signal,
    ) -> Result<Option<Executed<M::State>>> {
        let stream = self.stream(id)?;
        let mut attempt = 0;
        loop {
            let load = self.load(store, id, AsOf::Latest);
            let Some(loaded) = abort.until_stopped(load).await else {
                return Ok(None);
            };
            let loaded = loaded?;
            let events = self.model.decide(command, &loaded.state)?;
            if events.is_empty() {
                return Ok(Some(Executed {
                    state: loaded.state,
                    version: loaded.version,
                    events: Vec::new(),
                }));
            }
            if abort.is_stopped() {
                return Ok(None);
            }
            let count = events.len();
            let encoded = self.model.encode_command(command);
            match store
                .append_decided(
                    &stream,
                    events,
                    ExpectedVersion::Exact(loaded.version),
                    encoded,
                )
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
                    if let Some(last) = recorded.last() {
                        let policy = self.config.snapshot;
                        if policy.due(
                            loaded.snapshot,
                            loaded.version,
                            result.version,
                            last.timestamp,
                        ) {
                            let now = last.timestamp;
                            let _ = self.save_snapshot(store, &stream, &state, last, now).await;
                        }
                    }
                    return Ok(Some(Executed {
                        state,
                        version: result.version,
                        events: recorded,
                    }));
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
        now: Timestamp,
    ) -> Result<SnapshotInfo> {
        let record = SnapshotRecord {
            schema: self.config.snapshot_version,
            version: last.version,
            position: last.position,
            timestamp: last.timestamp,
            taken: Some(now),
            state: self.model.encode_state(state)?,
        };
        store
            .put_state(
                &snapshot::key(stream),
                crate::core::json::Json::from_value(&record)?,
            )
            .await?;
        Ok(record.info())
    }
}

#[cfg(test)]
mod tests;
