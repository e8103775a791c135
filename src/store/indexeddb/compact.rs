//! Compaction: adjacent small records (a log built from single-event appends has one per
//! event) are merged into one record per stream and *window*, so such a log reads like one
//! written in batches. Positions, versions, ids, timestamps and every index answer stay
//! exactly as they were; only how events are grouped into records changes.
//!
//! One step has three phases, and holds the `chunks` write lock only in the last one:
//! 1. **Plan** (a readonly transaction over `chunks` and `state`): read where the last step
//!    stopped (state key [`PROGRESS_KEY`]) and the head, `getAll` the records after it, and
//!    take the next run of adjacent small records (the window, at most [`WINDOW_EVENTS`]
//!    events, never the newest record).
//! 2. **Build** (no transaction): decode the window's events and encode one record per stream
//!    of the window (see `codec.rs`: compacted records), in slices of a few milliseconds that
//!    give the event loop back, for longer while appends are flowing on this connection, so
//!    appends go on while a step computes.
//! 3. **Write** (one readwrite transaction over `chunks` and `state`): check that the progress
//!    key and the window's records are still what the plan read (another tab's compaction or
//!    a reset in between: the step then changes nothing and the next one plans again),
//!    delete the window with one range delete, add the new records, record the progress.
//!
//! IndexedDB transactions are atomic, so a crash at any point leaves either the window's old
//! records or its new ones; two tabs compacting at once may plan the same window, and the
//! second write finds the progress moved and gives way.
//!
//! [`super::IndexedDbStore`] also runs steps by itself in idle time: when no append is queued
//! or was made in the last [`IDLE_MS`] ms.

use std::collections::HashMap;

use wasm_bindgen::JsValue;
use web_sys::{IdbCursorDirection, IdbKeyRange, IdbTransactionMode};

use super::codec::{
    decode_chunk, decode_header, encode_compacted, hollow, split_points, window, MAX_SAFE,
};
use super::request::{DomError, Request, TxDone};
use super::schema::{CHUNKS, STATE};
use super::Inner;
use crate::core::event::{Position, RecordedEvent};
use crate::error::{Error, Result};
use crate::store::CompactionStep;

/// The `state` key holding the position up to which the log was compacted.
pub const PROGRESS_KEY: &str = "eventfold:compaction";

/// Most events one step merges (one window). A global read that reaches into a window reads
/// it whole (its records hold positions out of key order), which bounds it. 32,768 (one
/// window for the (h) bench's 20,000 events) did not read faster in the one bench run that
/// compared them on a loaded machine (docs/BENCHMARKS.md, issue-15 notes).
pub const WINDOW_EVENTS: usize = 4096;

/// Most records one step reads.
const WINDOW_RECORDS: u32 = 4096;

/// A record whose event text is at least this long is left as it is (it is already large).
const SMALL_BYTES: usize = 4 * 1024;

/// How long the store waits after the last append before compacting in the background.
pub const IDLE_MS: i32 = 1000;

/// Milliseconds of decoding or encoding a step does before it gives the event loop back.
const SLICE_MS: f64 = 4.0;

/// The slice length while no append is queued or recent.
const IDLE_SLICE_MS: f64 = 16.0;

/// While appends flow on this connection, a step pauses this many times the length of each
/// slice it ran, so it takes at most about 1/(1 + this) of the thread from them.
const PAUSE_PER_SLICE: f64 = 6.0;

/// An append committed less than this many milliseconds ago counts as appends flowing.
const BUSY_MS: f64 = 50.0;

/// What the plan phase of a step found.
struct Plan {
    /// The stored progress text (`None`: absent), compared again before writing.
    progress: Option<String>,
    /// The position it names.
    from: u64,
    /// The newest position.
    head: u64,
    /// The window's records, in key order.
    records: Vec<JsValue>,
    /// Their keys.
    keys: Vec<f64>,
    /// The key of the window's last record (or how far passing over large records got).
    to: u64,
    /// Events in the window.
    events: usize,
    /// Whether records remain after this window.
    more: bool,
}

/// Runs one compaction step (see the module docs).
pub(crate) async fn step(inner: &Inner) -> Result<CompactionStep> {
    let plan = plan(inner).await?;
    let mut out = CompactionStep {
        compacted_to: Position(plan.from),
        head: Position(plan.head),
        more: plan.more,
        ..CompactionStep::default()
    };
    if plan.from >= plan.head {
        return Ok(out);
    }
    let merged = match plan.records.len() {
        0 | 1 => None,
        _ => build(inner, &plan.records, plan.to).await?,
    };
    if plan.to <= plan.from && merged.is_none() {
        return Ok(out);
    }
    if write(inner, &plan, merged.as_ref()).await? {
        if let Some((_, written)) = &merged {
            out.records_read = plan.records.len() as u64;
            out.records_written = written.len() as u64;
            out.events = plan.events as u64;
        }
        out.compacted_to = Position(plan.to);
    } else {
        // Someone else changed the window first: plan again.
        out.more = true;
    }
    Ok(out)
}

fn field(record: &JsValue, name: &str) -> JsValue {
    js_sys::Reflect::get(record, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
}

/// Phase 1: one readonly transaction reads the progress, the head and the next records.
async fn plan(inner: &Inner) -> Result<Plan> {
    let tx = inner.transaction_on(&[CHUNKS, STATE], IdbTransactionMode::Readonly)?;
    let os = |name: &str| tx.object_store(name).map_err(|e| inner.js_error(e));
    let (chunks, state) = (os(CHUNKS)?, os(STATE)?);
    let dom = |e: DomError| inner.dom_error(e);
    let js = |e: JsValue| inner.js_error(e);
    let progress = Request::from_call(state.get(&JsValue::from_str(PROGRESS_KEY))).map_err(dom)?;
    let last = Request::from_call(
        chunks.open_key_cursor_with_range_and_direction(&JsValue::NULL, IdbCursorDirection::Prev),
    )
    .map_err(dom)?;
    let progress = progress.await.map_err(dom)?.as_string();
    let from = progress
        .as_deref()
        .and_then(|t| t.parse::<u64>().ok())
        .unwrap_or(0);
    let head = match last.await.map_err(dom)? {
        c if c.is_null() || c.is_undefined() => 0,
        c => field(&c, "key")
            .as_f64()
            .filter(|k| *k >= 0.0 && *k <= MAX_SAFE)
            .map_or(0, |k| k as u64),
    };
    let mut plan = Plan {
        progress,
        from,
        head,
        records: Vec::new(),
        keys: Vec::new(),
        to: from,
        events: 0,
        more: false,
    };
    if from >= head {
        return Ok(plan);
    }
    // The records after `from`, up to (not including) the newest one.
    let range = IdbKeyRange::bound_with_lower_open_and_upper_open(
        &JsValue::from_f64(from as f64),
        &JsValue::from_f64(head as f64),
        true,
        true,
    )
    .map_err(js)?;
    let records = Request::from_call(chunks.get_all_with_key_and_limit(&range, WINDOW_RECORDS))
        .map_err(dom)?
        .await
        .map_err(dom)?;
    let records = js_sys::Array::from(&records);
    // Leading records not worth merging are passed over; then the window is the run of
    // adjacent small records that follows, up to WINDOW_EVENTS events.
    let mut stopped = false;
    for record in records.iter() {
        let header = decode_header(&record)?;
        let small = hollow(&record).is_none()
            && window(&record)?.is_none()
            && field(&record, "e")
                .as_string()
                .is_some_and(|e| e.len() < SMALL_BYTES);
        if !small {
            if plan.records.is_empty() {
                plan.to = header.last_position.0;
                continue;
            }
            stopped = true;
            break;
        }
        let n = field(&record, "n").as_f64().unwrap_or(1.0) as usize;
        if !plan.records.is_empty() && plan.events + n > WINDOW_EVENTS {
            stopped = true;
            break;
        }
        plan.events += n;
        plan.to = header.last_position.0;
        plan.keys.push(header.last_position.0 as f64);
        plan.records.push(record);
    }
    // More to look at: the plan stopped before the end of what it read, or read a full page.
    plan.more = stopped || records.length() == WINDOW_RECORDS;
    Ok(plan)
}

/// Gives the event loop back every [`SLICE_MS`] of work, for longer while appends flow.
struct Pacer<'a> {
    inner: &'a Inner,
    since: f64,
}

impl Pacer<'_> {
    async fn tick(&mut self) {
        let now = js_sys::Date::now();
        let ran = now - self.since;
        if ran < SLICE_MS {
            return;
        }
        let inner = self.inner;
        let busy = inner.flushing.get()
            || !inner.queue.borrow().is_empty()
            || now - inner.last_append.get() < BUSY_MS;
        // With no append in sight, longer slices (a frame) and no pause.
        if !busy && ran < IDLE_SLICE_MS {
            return;
        }
        let pause = if busy { ran * PAUSE_PER_SLICE } else { 0.0 };
        sleep(pause.min(1000.0) as i32).await;
        self.since = js_sys::Date::now();
    }
}

/// Phase 2: the records replacing the window (one per stream, split by size like an
/// append), with the first position of the window; `None` when merging would not reduce
/// their number (every stream appears once).
async fn build(
    inner: &Inner,
    records: &[JsValue],
    last: u64,
) -> Result<Option<(u64, Vec<JsValue>)>> {
    let mut pacer = Pacer {
        inner,
        since: js_sys::Date::now(),
    };
    let mut streams: Vec<Vec<RecordedEvent>> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut first = None;
    let mut expected_q = None;
    for record in records {
        let events = decode_chunk(record)?;
        let (Some(head), Some(tail)) = (events.first(), events.last()) else {
            continue;
        };
        // Adjacent: each record starts right after the one before.
        if expected_q.is_some_and(|q: u64| q + 1 != head.position.0) {
            return Err(Error::CorruptData {
                record: format!("{CHUNKS}/{}", tail.position),
                message: "the log's records do not follow each other".into(),
            });
        }
        first.get_or_insert(head.position.0);
        expected_q = Some(tail.position.0);
        let slot = *index
            .entry(head.stream.as_str().to_owned())
            .or_insert_with(|| {
                streams.push(Vec::new());
                streams.len() - 1
            });
        if let Some(list) = streams.get_mut(slot) {
            list.extend(events);
        }
        pacer.tick().await;
    }
    let Some(first) = first else {
        return Ok(None);
    };
    let parts: usize = streams.iter().map(|list| split_points(list).len()).sum();
    if parts >= records.len() {
        return Ok(None);
    }
    let mut new_records = Vec::with_capacity(parts);
    for list in &streams {
        for range in split_points(list) {
            if let Some(part) = list.get(range) {
                new_records.push(encode_compacted(part, (first, last))?);
            }
            pacer.tick().await;
        }
    }
    Ok(Some((first, new_records)))
}

/// Phase 3: one readwrite transaction checks that the plan still holds and writes. Returns
/// false (and changes nothing) when another compaction or a reset changed the progress or
/// the window since the plan read them.
async fn write(inner: &Inner, plan: &Plan, merged: Option<&(u64, Vec<JsValue>)>) -> Result<bool> {
    let tx = inner.transaction_on(&[CHUNKS, STATE], IdbTransactionMode::Readwrite)?;
    let done = TxDone::new(&tx);
    let run = async {
        let os = |name: &str| tx.object_store(name).map_err(|e| inner.js_error(e));
        let (chunks, state) = (os(CHUNKS)?, os(STATE)?);
        let dom = |e: DomError| inner.dom_error(e);
        let js = |e: JsValue| inner.js_error(e);
        let progress =
            Request::from_call(state.get(&JsValue::from_str(PROGRESS_KEY))).map_err(dom)?;
        let range = match merged {
            Some((first, _)) => Some(
                IdbKeyRange::bound(
                    &JsValue::from_f64(*first as f64),
                    &JsValue::from_f64(plan.to as f64),
                )
                .map_err(js)?,
            ),
            None => None,
        };
        let current = match &range {
            Some(range) => Some(Request::from_call(chunks.get_all_with_key(range)).map_err(dom)?),
            None => None,
        };
        if progress.await.map_err(dom)?.as_string() != plan.progress {
            return Ok(false);
        }
        if let (Some(current), Some(range), Some((_, new_records))) = (current, range, merged) {
            // The same records, none of them turned hollow by a reset.
            let current = js_sys::Array::from(&current.await.map_err(dom)?);
            let same = current.length() as usize == plan.keys.len()
                && current.iter().zip(&plan.keys).all(|(record, key)| {
                    field(&record, "p").as_f64() == Some(*key)
                        && hollow(&record).is_none()
                        && field(&record, "w").is_undefined()
                });
            if !same {
                return Ok(false);
            }
            chunks.delete(&range).map_err(js)?;
            for record in new_records {
                // No listener: a failing add aborts the transaction, and the step reports it.
                chunks.add(record).map_err(js)?;
            }
        }
        state
            .put_with_key(
                &JsValue::from_str(&plan.to.to_string()),
                &JsValue::from_str(PROGRESS_KEY),
            )
            .map_err(js)?;
        Ok::<_, Error>(true)
    };
    match run.await {
        Ok(true) => {
            #[allow(deprecated)] // web-sys marks IDBTransaction.commit() deprecated; it is standard
            let _ = tx.commit();
            done.await.map_err(|e| inner.dom_error(e))?;
            Ok(true)
        }
        outcome => {
            let _ = tx.abort();
            match done.await {
                Err(d) if d.name != "AbortError" => Err(inner.dom_error(d)),
                _ => outcome,
            }
        }
    }
}

/// Resolves after `ms` milliseconds (`setTimeout`, in windows and workers).
async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let args = js_sys::Array::of2(&resolve, &JsValue::from_f64(f64::from(ms)));
        if super::channel::call_global("setTimeout", &args).is_none() {
            let _ = resolve.call0(&JsValue::UNDEFINED);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// The background compaction of one connection: waits until appends have been idle for
/// [`IDLE_MS`], runs one step, and again, until nothing is left to merge or the store closes.
/// A step that fails (another tab upgraded the database, a damaged record) ends the task; the
/// next append starts it again.
pub(super) async fn run_when_idle(inner: std::rc::Rc<Inner>) {
    loop {
        sleep(IDLE_MS).await;
        if inner.closed_reason().is_some() {
            break;
        }
        let quiet = js_sys::Date::now() - inner.last_append.get();
        if inner.flushing.get() || quiet < f64::from(IDLE_MS) {
            continue;
        }
        match step(&inner).await {
            Ok(s) if s.more => continue,
            _ => break,
        }
    }
    inner.compacting.set(false);
}
