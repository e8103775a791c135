//! The write transaction of a group of appends ([`super::queue`] forms the groups).
//!
//! Inside the transaction each append keeps its own semantics, in order: its expected version
//! is checked against the state the previous appends of the group left, and it gets its own
//! result or error (a failed append writes nothing and the others go on).
//!
//! Three ways to run a group, tried in this order:
//!
//! 1. **Fast**: the connection remembers the head and the last timestamp ([`Cache`]), and
//!    every event id and every stream's version in the log ([`KnownIds`]). When every
//!    append's expected version matches and none of its ids is known, the records are added
//!    and the transaction committed without waiting for a single read (also for streams new
//!    to this connection: their version is known too). The unique `prev`
//!    index on `q` (the position before a record) makes that safe: it rejects a record whose
//!    predecessor already has a successor, which is what a stale head produces (another tab
//!    appended), and the transaction aborts. The group then goes on to step 2.
//! 2. **Refresh**: read the head and the records this connection has not seen (their ids and
//!    stream versions) inside the transaction (readwrite transactions are serialized, also
//!    across tabs), then write. An append with a known id or an expected version that does not match is
//!    answered by `plan_append` from the events already recorded under its ids (an idempotent
//!    retry may come with an outdated expectation).
//! 3. **Careful**, after any other failure (quota, …): one append per transaction, so one bad
//!    append never fails the others.

use std::collections::HashMap;

use wasm_bindgen::{JsCast, JsValue};
use web_sys::{
    IdbCursor, IdbCursorDirection, IdbIndex, IdbKeyRange, IdbObjectStore, IdbRequest,
    IdbTransactionMode,
};

use super::codec::{
    decode_chunk, decode_header, decode_ids, encode_chunk, hollow, split_points, stream_key,
    window, Hollow, MAX_SAFE,
};
use super::job::Job;
use super::request::{join_all, DomError, Request, TxDone};
use super::schema::STREAM_INDEX;
use super::Inner;
use crate::core::append::{plan_append, AppendPlan, AppendResult};
use crate::core::event::{
    EventId, NewEvent, Position, RecordedEvent, StreamId, Timestamp, Version,
};
use crate::core::hash::FastMap;
use crate::error::{Error, Result};

/// What this connection remembers of the log's end, valid as of `head` (the fast path's
/// starting point).
#[derive(Clone, Debug, Default)]
pub(crate) struct Cache {
    /// The position of the last event.
    pub head: Position,
    /// The timestamp of the last event.
    pub last_ts: Timestamp,
}

/// Every event id in the log up to `covered`, with the key of the record holding it, and
/// every stream's version as of `covered`.
///
/// Loaded from the `s`, `v` and `ids` fields of every `chunks` record by the first write
/// transaction of a connection (inside it, so it is complete), then kept current: a
/// transaction first reads the records written after `covered` (by other tabs), and merges
/// what it wrote once it commits. Uniqueness of ids is checked here instead of by a per-event
/// index, which costs ~40–70 µs per event in Chromium; the price is memory (about 100 bytes
/// per event) and reading the whole log once per connection, at its first append. Knowing
/// every stream's version means an append never reads before writing, even to a stream this
/// connection has not written yet.
#[derive(Debug, Default)]
pub(crate) struct KnownIds {
    /// The head position the maps are complete up to.
    pub covered: Position,
    /// Event id → key (last position) of the `chunks` record holding it.
    pub at: FastMap<EventId, Position>,
    /// Stream → its version as of `covered` (streams without events are absent).
    pub versions: FastMap<StreamId, Version>,
}

/// What one transaction learned: the ids and stream versions of the records it caught up
/// with (written by other tabs) and of those it wrote, merged into [`KnownIds`] once it
/// commits.
#[derive(Debug, Default)]
pub(super) struct Learned {
    ids: FastMap<EventId, Position>,
    versions: FastMap<StreamId, Version>,
}

/// How a group runs; see the module docs.
pub(super) enum Mode {
    /// Write from the remembered state, without reading first.
    Fast(Cache),
    /// Read the head and the unseen records in the transaction, then write.
    Refresh,
    /// Like `Refresh`, one append per transaction, ids always looked up.
    Careful,
}

const STALE: &str = "an expected version did not match the cached stream version";

/// What one write transaction did.
pub(super) struct Outcome {
    /// Each append's result, in job order.
    pub results: Vec<Result<AppendResult>>,
    /// The new head, if something was written.
    pub head: Option<Position>,
    /// The cache as of the end of the transaction.
    pub cache: Cache,
    /// What this transaction learned (caught up or written), merged once it commits.
    pub learned: Learned,
}

/// Runs `jobs` in one readwrite transaction and waits for it to complete. The outer error
/// means the transaction failed and nothing was written; inner errors are per append.
pub(super) async fn write(inner: &Inner, jobs: &[Job], mode: Mode) -> Result<Outcome> {
    let tx = inner.transaction(IdbTransactionMode::Readwrite)?;
    let done = TxDone::new(&tx);
    let resets = inner.changes.resets();
    let run = async {
        let store = tx
            .object_store(super::CHUNKS)
            .map_err(|e| inner.js_error(e))?;
        plan_and_add(inner, &store, jobs, mode).await
    };
    match run.await {
        Ok(mut outcome) => {
            // Throws only if the transaction already aborted; `done` then reports why.
            #[allow(deprecated)] // web-sys marks IDBTransaction.commit() deprecated; it is standard
            let _ = tx.commit();
            done.await.map_err(|e| inner.dom_error(e))?;
            inner.committed.set(inner.committed.get() + 1);
            // A reset meanwhile (here or in another tab) emptied the maps: they are read again
            // whole by the next write, not completed with what this one learned.
            if inner.changes.resets() == resets {
                let mut known = inner.ids.borrow_mut();
                let learned = std::mem::take(&mut outcome.learned);
                known.at.extend(learned.ids);
                known.versions.extend(learned.versions);
                known.covered = outcome.cache.head;
            }
            Ok(outcome)
        }
        Err(e) => Err(inner.abort(&tx, done, e).await),
    }
}

fn stale() -> Error {
    Error::Storage {
        message: STALE.into(),
    }
}

async fn plan_and_add(
    inner: &Inner,
    store: &IdbObjectStore,
    jobs: &[Job],
    mode: Mode,
) -> Result<Outcome> {
    let dom = |e: DomError| inner.dom_error(e);
    let (mut cache, fast, careful) = match mode {
        Mode::Fast(cache) => (cache, true, false),
        Mode::Refresh => (Cache::default(), false, false),
        Mode::Careful => (Cache::default(), false, true),
    };
    let covered = inner.ids.borrow().covered;
    if fast && covered != cache.head {
        return Err(stale());
    }
    let mut learned = Learned::default();
    if !fast {
        // Both reads are issued before either is awaited: they are served in one round.
        let last =
            store.open_cursor_with_range_and_direction(&JsValue::NULL, IdbCursorDirection::Prev);
        let last = Request::from_call(last).map_err(dom)?;
        // Records this connection has not seen (all of them, the first time).
        let range = IdbKeyRange::lower_bound_with_open(&JsValue::from_f64(covered.0 as f64), true)
            .map_err(|e| inner.js_error(e))?;
        let catch_up = Request::from_call(store.get_all_with_key(&range)).map_err(dom)?;
        let last = last.await.map_err(dom)?;
        if let Some(cursor) = last.dyn_ref::<web_sys::IdbCursorWithValue>() {
            let value = cursor.value().map_err(|e| inner.js_error(e))?;
            let h = decode_header(&value)?;
            (cache.head, cache.last_ts) = (h.last_position, h.timestamp);
        }
        let records = js_sys::Array::from(&catch_up.await.map_err(dom)?);
        let records = if records.iter().any(|r| hollow(&r) == Some(Hollow::Reset)) {
            // Another connection reset the log since these maps were complete: ids and
            // versions they hold may have been dropped. Forget them and read every record again.
            *inner.ids.borrow_mut() = KnownIds::default();
            let all = Request::from_call(store.get_all()).map_err(dom)?;
            js_sys::Array::from(&all.await.map_err(dom)?)
        } else {
            records
        };
        for record in records.iter() {
            // In key order: a stream's later record carries its later version.
            let Some(r) = decode_ids(&record)? else {
                continue;
            };
            learned.versions.insert(r.stream, r.version);
            learned
                .ids
                .extend(r.ids.into_iter().map(|id| (id, r.position)));
        }
        if covered > cache.head {
            return Err(Error::CorruptData {
                record: format!("{}/last", super::CHUNKS),
                message: format!(
                    "the log ends at {} but this connection saw it reach {covered}",
                    cache.head
                ),
            });
        }
    }
    learned
        .ids
        .reserve(jobs.iter().map(|j| j.events.len()).sum());
    let timestamp = Timestamp(js_sys::Date::now() as i64).max(cache.last_ts);
    let mut head = cache.head;
    let mut results = Vec::with_capacity(jobs.len());
    let mut wrote = false;
    for job in jobs {
        let (current, places): (Version, Vec<Option<Position>>) = {
            let known = inner.ids.borrow();
            let current = learned
                .versions
                .get(&job.stream)
                .or_else(|| known.versions.get(&job.stream))
                .copied()
                .unwrap_or_default();
            let places = job
                .events
                .iter()
                .map(|e| {
                    learned
                        .ids
                        .get(&e.id)
                        .or_else(|| known.at.get(&e.id))
                        .copied()
                })
                .collect();
            (current, places)
        };
        let reused = places.iter().any(Option::is_some);
        let plan = if careful || reused || !job.expected.matches(current) {
            if fast {
                // The cache may be stale: answer from fresh state instead.
                return Err(stale());
            }
            let existing = lookup(inner, store, &job.events, &places).await?;
            plan_append(&job.stream, &job.events, job.expected, current, &existing)
        } else {
            Ok(AppendPlan::Write {
                first_version: Version(current.0 + 1),
            })
        };
        let first_version = match plan {
            Err(e) => {
                results.push(Err(e));
                continue;
            }
            Ok(AppendPlan::AlreadyAppended(r)) => {
                results.push(Ok(r));
                continue;
            }
            Ok(AppendPlan::Write { first_version }) => first_version,
        };
        let n = job.events.len() as u64;
        if (head.0 + n) as f64 > MAX_SAFE {
            results.push(Err(Error::Storage {
                message: "the log reached the largest position IndexedDB keys can hold".into(),
            }));
            continue;
        }
        let recorded: Vec<RecordedEvent> = job
            .events
            .iter()
            .enumerate()
            .map(|(k, e)| RecordedEvent {
                id: e.id.clone(),
                stream: job.stream.clone(),
                event_type: e.event_type.clone(),
                data: e.data.clone(),
                metadata: e.metadata.clone(),
                version: Version(first_version.0 + k as u64),
                position: Position(head.0 + 1 + k as u64),
                timestamp,
            })
            .collect();
        for range in split_points(&recorded) {
            let part = &recorded[range];
            let record = encode_chunk(part)?;
            // `add`, never `put`: an existing key must fail, not be overwritten. No listener:
            // a failed add (a stale head) aborts the whole transaction.
            store.add(&record).map_err(|e| inner.js_error(e))?;
            let p = part.last().map_or(head, |e| e.position);
            learned.ids.extend(part.iter().map(|e| (e.id.clone(), p)));
        }
        head = Position(head.0 + n);
        let version = Version(first_version.0 + n - 1);
        learned.versions.insert(job.stream.clone(), version);
        wrote = true;
        results.push(Ok(AppendResult {
            version,
            position: head,
        }));
    }
    cache.head = head;
    if wrote {
        cache.last_ts = timestamp;
    }
    Ok(Outcome {
        results,
        head: wrote.then_some(head),
        cache,
        learned,
    })
}

/// Opens a key cursor on the newest `[stream, version]` key of `stream` in the `stream` index.
pub(crate) fn version_cursor(
    by_stream: &IdbIndex,
    stream: &str,
) -> std::result::Result<IdbRequest, JsValue> {
    let range = IdbKeyRange::bound(&stream_key(stream, 0.0), &stream_key(stream, MAX_SAFE))?;
    by_stream.open_key_cursor_with_range_and_direction(&range, IdbCursorDirection::Prev)
}

/// The stream version a [`version_cursor`] found (0 when the stream has no chunk).
pub(crate) fn version_from_cursor(result: &JsValue) -> Result<Version> {
    let Some(cursor) = result.dyn_ref::<IdbCursor>() else {
        return Ok(Version(0));
    };
    let key = cursor.key().unwrap_or(JsValue::UNDEFINED);
    match js_sys::Array::from(&key).get(1).as_f64() {
        Some(v) if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v <= MAX_SAFE => {
            Ok(Version(v as u64))
        }
        _ => Err(Error::CorruptData {
            record: format!("{}/{}", super::CHUNKS, STREAM_INDEX),
            message: "a stream index key does not end with a version".into(),
        }),
    }
}

/// The recorded events that already carry the ids of `events`, read from the records
/// `places` names (the careful path).
async fn lookup(
    inner: &Inner,
    store: &IdbObjectStore,
    events: &[NewEvent],
    places: &[Option<Position>],
) -> Result<Vec<Option<RecordedEvent>>> {
    let dom = |e: DomError| inner.dom_error(e);
    let mut chunk_keys: Vec<u64> = places.iter().flatten().map(|p| p.0).collect();
    chunk_keys.sort_unstable();
    chunk_keys.dedup();
    let mut requests = Vec::with_capacity(chunk_keys.len());
    for k in &chunk_keys {
        requests.push(Request::from_call(store.get(&JsValue::from_f64(*k as f64))).map_err(dom)?);
    }
    let mut found: HashMap<EventId, RecordedEvent> = HashMap::new();
    for value in join_all(requests).await.map_err(dom)? {
        if value.is_undefined() {
            continue;
        }
        for e in decode_chunk(&value)? {
            found.insert(e.id.clone(), e);
        }
    }
    // A compaction (here or in another tab) may have moved an event into another record of
    // the window holding its old record's key: read that window whole.
    for (e, place) in events.iter().zip(places) {
        let Some(k) = place else { continue };
        if found.contains_key(&e.id) {
            continue;
        }
        let missing = || Error::CorruptData {
            record: format!("{}/{k}", super::CHUNKS),
            message: "an event id points to a record that does not hold it".into(),
        };
        let range = IdbKeyRange::lower_bound(&JsValue::from_f64(k.0 as f64))
            .map_err(|e| inner.js_error(e))?;
        let next = Request::from_call(store.get(&range))
            .map_err(dom)?
            .await
            .map_err(dom)?;
        let Some((lo, hi)) = (if next.is_undefined() {
            None
        } else {
            window(&next)?
        }) else {
            return Err(missing());
        };
        let range =
            IdbKeyRange::bound(&JsValue::from_f64(lo as f64), &JsValue::from_f64(hi as f64))
                .map_err(|e| inner.js_error(e))?;
        let all = Request::from_call(store.get_all_with_key(&range))
            .map_err(dom)?
            .await
            .map_err(dom)?;
        for record in js_sys::Array::from(&all).iter() {
            for e in decode_chunk(&record)? {
                found.insert(e.id.clone(), e);
            }
        }
        if !found.contains_key(&e.id) {
            return Err(missing());
        }
    }
    Ok(events.iter().map(|e| found.get(&e.id).cloned()).collect())
}
