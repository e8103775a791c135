//! The in-memory store: the reference implementation of [`EventStore`], usable on every
//! target (Node, edge runtimes, tests).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::core::append::{plan_append, validate_batch, AppendPlan, AppendResult, StoreLimits};
use crate::core::event::{
    EventId, NewEvent, Position, RecordedEvent, StreamId, Timestamp, Version,
};
use crate::core::expected::ExpectedVersion;
use crate::core::hash::FastMap;
use crate::core::json::Json;
use crate::error::Result;
use crate::store::{
    ChangeNotifier, EventStore, IndexKey, IndexQuery, IndexedValue, LogReset, ReadAllOptions,
    ReadModelStore, ReadStreamOptions, RecordWrite, ResetOutcome, ResetStore, StateStore,
};

/// The source of event timestamps. The core has no clock of its own: the caller passes one
/// (`Date.now` in JavaScript, the system clock natively, a fixed clock in tests).
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

#[derive(Default)]
struct State {
    /// The global log; `log[i]` has position `i + 1`. `None`: a position whose event a reset
    /// dropped, or a reset's marker ([`ResetStore`]).
    log: Vec<Option<RecordedEvent>>,
    /// The timestamp of the newest event (never goes backwards, resets included).
    last_ts: Option<Timestamp>,
    /// Indexes into `log` of each stream's events, in version order.
    streams: FastMap<StreamId, Vec<usize>>,
    /// The position of each event id (its index in `log` plus one). A position, not an index:
    /// the IndexedDB backend's map has this type, so the wasm carries one copy of its code.
    ids: FastMap<EventId, Position>,
    /// Snapshots and checkpoints ([`StateStore`]).
    states: HashMap<String, Json>,
    /// Read model records ([`ReadModelStore`]): model → key → (value, index entries). A hash
    /// map, not a tree: queries sort their hits by index key and record key anyway, and a
    /// `BTreeMap` of this type would add its own copy of the tree code to the wasm.
    records: HashMap<String, HashMap<String, IndexedValue>>,
}

/// An event store held in memory. Cheap to create; gone when dropped.
///
/// ```
/// use eventfold::{EventId, EventStore, EventType, ExpectedVersion, Json, MemoryStore, NewEvent, StreamId};
/// # futures::executor::block_on(async {
/// let store = MemoryStore::new(eventfold::store::fixed_clock(0));
/// let stream = StreamId::new("order-1")?;
/// let created = NewEvent::new(EventId::from_bytes([1; 16]), EventType::new("OrderCreated")?,
///     Json::parse(r#"{"customerId":"c1"}"#)?);
/// let r = store.append(&stream, vec![created], ExpectedVersion::NoStream).await?;
/// assert_eq!((r.version.0, r.position.0), (1, 1));
/// # Ok::<(), eventfold::Error>(()) }).unwrap();
/// ```
pub struct MemoryStore {
    state: Mutex<State>,
    changes: ChangeNotifier,
    clock: Clock,
    limits: StoreLimits,
}

impl MemoryStore {
    /// An empty store stamping events with `clock` and the default [`StoreLimits`].
    pub fn new(clock: Clock) -> Self {
        Self::with_limits(clock, StoreLimits::default())
    }

    /// An empty store with custom size limits.
    pub fn with_limits(clock: Clock, limits: StoreLimits) -> Self {
        MemoryStore {
            state: Mutex::new(State::default()),
            changes: ChangeNotifier::default(),
            clock,
            limits,
        }
    }

    /// The limits this store enforces.
    pub fn limits(&self) -> StoreLimits {
        self.limits
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn append_now(
        &self,
        stream: &StreamId,
        events: Vec<NewEvent>,
        expected: ExpectedVersion,
    ) -> Result<AppendResult> {
        validate_batch(&events, &self.limits)?;
        let mut st = self.lock();
        let current = Version(st.streams.get(stream).map_or(0, |v| v.len() as u64));
        let existing: Vec<Option<RecordedEvent>> = events
            .iter()
            .map(|e| {
                let at = st.ids.get(&e.id).map(|p| p.0 as usize - 1);
                at.and_then(|i| st.log.get(i)).cloned().flatten()
            })
            .collect();
        let first_version = match plan_append(stream, &events, expected, current, &existing)? {
            AppendPlan::AlreadyAppended(result) => return Ok(result),
            AppendPlan::Write { first_version } => first_version,
        };
        // Timestamps never go backwards along the log, so "as of a time" is a prefix of it.
        let last_ts = st.last_ts.unwrap_or(Timestamp(i64::MIN));
        let timestamp = (self.clock)().max(last_ts);
        st.last_ts = Some(timestamp);
        let st = &mut *st;
        let indexes = st.streams.entry(stream.clone()).or_default();
        for (k, e) in events.into_iter().enumerate() {
            let index = st.log.len();
            st.ids.insert(e.id.clone(), Position(index as u64 + 1));
            indexes.push(index);
            st.log.push(Some(RecordedEvent {
                id: e.id,
                stream: stream.clone(),
                event_type: e.event_type,
                data: e.data,
                metadata: e.metadata,
                version: Version(first_version.0 + k as u64),
                position: Position(index as u64 + 1),
                timestamp,
            }));
        }
        let head = Position(st.log.len() as u64);
        let version = Version(indexes.len() as u64);
        Ok(AppendResult {
            version,
            position: head,
        })
    }
}

impl EventStore for MemoryStore {
    async fn append(
        &self,
        stream: &StreamId,
        events: Vec<NewEvent>,
        expected: ExpectedVersion,
    ) -> Result<AppendResult> {
        let result = self.append_now(stream, events, expected)?;
        self.changes.notify(result.position);
        Ok(result)
    }

    async fn read_stream(
        &self,
        stream: &StreamId,
        options: &ReadStreamOptions,
    ) -> Result<Vec<RecordedEvent>> {
        let st = self.lock();
        let Some(indexes) = st.streams.get(stream) else {
            return Ok(Vec::new());
        };
        let Some((lo, hi)) = options.range(Version(indexes.len() as u64)) else {
            return Ok(Vec::new());
        };
        let slice = &indexes[(lo - 1) as usize..hi as usize];
        let pick = |&i: &usize| st.log[i].clone();
        Ok(match options.direction {
            super::Direction::Forward => slice.iter().filter_map(pick).collect(),
            super::Direction::Backward => slice.iter().rev().filter_map(pick).collect(),
        })
    }

    async fn read_all(&self, options: &ReadAllOptions) -> Result<Vec<RecordedEvent>> {
        let st = self.lock();
        let start = usize::try_from(options.after.0).unwrap_or(usize::MAX);
        let limit = options.limit.unwrap_or(usize::MAX);
        Ok(st
            .log
            .get(start..)
            .unwrap_or_default()
            .iter()
            .flatten()
            .filter(|e| options.filter.matches(e))
            .take(limit)
            .cloned()
            .collect())
    }

    async fn stream_version(&self, stream: &StreamId) -> Result<Version> {
        Ok(Version(
            self.lock()
                .streams
                .get(stream)
                .map_or(0, |v| v.len() as u64),
        ))
    }

    async fn head(&self) -> Result<Position> {
        Ok(Position(self.lock().log.len() as u64))
    }

    fn changes(&self) -> &ChangeNotifier {
        &self.changes
    }
}

impl StateStore for MemoryStore {
    async fn get_state(&self, key: &str) -> Result<Option<Json>> {
        Ok(self.lock().states.get(key).cloned())
    }

    async fn put_state(&self, key: &str, value: Json) -> Result<()> {
        self.lock().states.insert(key.to_owned(), value);
        Ok(())
    }

    async fn delete_state(&self, key: &str) -> Result<()> {
        self.lock().states.remove(key);
        Ok(())
    }

    async fn swap_state(
        &self,
        key: &str,
        expected: Option<&Json>,
        new: Option<Json>,
    ) -> Result<bool> {
        let mut inner = self.lock();
        if inner.states.get(key).map(Json::as_str) != expected.map(Json::as_str) {
            return Ok(false);
        }
        match new {
            Some(value) => inner.states.insert(key.to_owned(), value),
            None => inner.states.remove(key),
        };
        Ok(true)
    }
}

impl ReadModelStore for MemoryStore {
    async fn record(&self, model: &str, key: &str) -> Result<Option<Json>> {
        Ok(self
            .lock()
            .records
            .get(model)
            .and_then(|m| m.get(key))
            .map(|(v, _)| v.clone()))
    }

    async fn commit_records(
        &self,
        model: &str,
        writes: Vec<RecordWrite>,
        state_key: &str,
        state_value: Json,
    ) -> Result<()> {
        let mut st = self.lock();
        let records = st.records.entry(model.to_owned()).or_default();
        for w in writes {
            match w.value {
                Some(v) => records.insert(w.key, v),
                None => records.remove(&w.key),
            };
        }
        st.states.insert(state_key.to_owned(), state_value);
        Ok(())
    }

    async fn query_records(&self, model: &str, query: &IndexQuery) -> Result<Vec<(String, Json)>> {
        let st = self.lock();
        let Some(records) = st.records.get(model) else {
            return Ok(Vec::new());
        };
        let mut hits: Vec<(&IndexKey, &String, &Json)> = records
            .iter()
            .flat_map(|(k, (v, entries))| {
                entries
                    .iter()
                    .filter(|(name, key)| *name == query.index && query.range.contains(key))
                    .map(move |(_, key)| (key, k, v))
            })
            .collect();
        hits.sort_by(|a, b| a.0.cmp_key(b.0).then_with(|| a.1.cmp(b.1)));
        if query.reverse {
            hits.reverse();
        }
        let limit = query.limit.unwrap_or(usize::MAX);
        Ok(hits
            .into_iter()
            .take(limit)
            .map(|(_, k, v)| (k.clone(), v.clone()))
            .collect())
    }

    async fn clear_records(&self, model: &str) -> Result<()> {
        self.lock().records.remove(model);
        Ok(())
    }
}

impl ResetStore for MemoryStore {
    async fn reset_log(&self, reset: &LogReset<'_>) -> Result<ResetOutcome> {
        let head = {
            let mut st = self.lock();
            // Every rewrite first: one failing changes nothing.
            let mut rewritten = Vec::with_capacity(reset.rewrites.len());
            for (key, rewrite) in &reset.rewrites {
                rewritten.push(((*key).to_owned(), rewrite(st.states.get(*key))?));
            }
            let st = &mut *st;
            let (mut dropped, mut kept) = (0, 0);
            for slot in st.log.iter_mut() {
                if let Some(e) = slot {
                    if (reset.drops)(e.stream.as_str()) {
                        *slot = None;
                        dropped += 1;
                    } else {
                        kept += 1;
                    }
                }
            }
            st.log.push(None); // the reset's marker
            st.streams.clear();
            st.ids.clear();
            for (i, slot) in st.log.iter().enumerate() {
                if let Some(e) = slot {
                    st.streams.entry(e.stream.clone()).or_default().push(i);
                    st.ids.insert(e.id.clone(), Position(i as u64 + 1));
                }
            }
            st.states.retain(|k, _| !(reset.forgets)(k));
            for (key, value) in rewritten {
                match value {
                    Some(v) => st.states.insert(key, v),
                    None => st.states.remove(&key),
                };
            }
            st.records.clear();
            ResetOutcome {
                dropped,
                kept,
                head: Position(st.log.len() as u64),
            }
        };
        self.changes.notify_reset(head.head);
        Ok(head)
    }
}

/// A clock that always answers `millis` (for tests and examples).
pub fn fixed_clock(millis: i64) -> Clock {
    Arc::new(move || Timestamp(millis))
}

/// The operating system's clock. Not available on `wasm32-unknown-unknown`, which has none:
/// pass `Date.now` there.
#[cfg(not(target_arch = "wasm32"))]
pub fn system_clock() -> Clock {
    Arc::new(|| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        Timestamp(i64::try_from(now).unwrap_or(i64::MAX))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract_tests;

    contract_tests!(
        native,
        MemoryStore::new(crate::store::contract::test_clock())
    );
}
