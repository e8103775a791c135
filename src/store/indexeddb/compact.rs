//! Compaction: adjacent small records (a log built from single-event appends has one per
//! event) are merged into one record per stream and *window*, so such a log reads like one
//! written in batches. Positions, versions, ids, timestamps and every index answer stay
//! exactly as they were; only how events are grouped into records changes.
//!
//! One step is one readwrite transaction over `chunks` and `state`: it reads where the last
//! step stopped (state key [`PROGRESS_KEY`]), takes the next run of adjacent small records
//! (the window, at most [`WINDOW_EVENTS`] events and never the newest record), deletes them
//! and adds one record per stream of the window (see `codec.rs`: compacted records), then
//! records how far it got. IndexedDB transactions are atomic and readwrite transactions over
//! `chunks` run one at a time across tabs, so a crash at any point leaves either the window's
//! old records or its new ones, and two tabs compacting at once take turns (each step reads
//! the progress key inside its transaction). A step never holds the lock long: a window is
//! read with one `getAll` and written with one range delete and one `add` per new record.
//!
//! Appends are never blocked for longer than one step, and [`super::IndexedDbStore`] runs
//! steps in idle time only: when no append is queued or was made in the last
//! [`IDLE_MS`] ms, and yields between steps.

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

/// The `state` key holding the position up to which the log was compacted.
pub const PROGRESS_KEY: &str = "eventfold:compaction";

/// Most events one step merges (one window).
pub const WINDOW_EVENTS: usize = 4096;

/// Most records one step reads.
const WINDOW_RECORDS: u32 = 4096;

/// A record whose event text is at least this long is left as it is (it is already large).
const SMALL_BYTES: usize = 4 * 1024;

/// How long the store waits after the last append before compacting in the background.
pub const IDLE_MS: i32 = 1000;

/// What one compaction step did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CompactionStep {
    /// The log is compacted up to this position (records after it were not looked at yet).
    pub compacted_to: Position,
    /// The newest position of the log when the step ran.
    pub head: Position,
    /// Records the step replaced (0: the window was not worth merging, or nothing was left).
    pub records_read: u64,
    /// Records it wrote instead.
    pub records_written: u64,
    /// Events in the records it replaced.
    pub events: u64,
    /// Whether records remain that a later step could merge (false: compaction is done up to
    /// the newest record).
    pub more: bool,
}

/// Runs one compaction step (see the module docs).
pub(crate) async fn step(inner: &Inner) -> Result<CompactionStep> {
    let tx = inner.transaction_on(&[CHUNKS, STATE], IdbTransactionMode::Readwrite)?;
    let done = TxDone::new(&tx);
    let run = async {
        let os = |name: &str| tx.object_store(name).map_err(|e| inner.js_error(e));
        let (chunks, state) = (os(CHUNKS)?, os(STATE)?);
        let dom = |e: DomError| inner.dom_error(e);
        let js = |e: JsValue| inner.js_error(e);
        // Where the last step stopped, and the head, read together.
        let progress =
            Request::from_call(state.get(&JsValue::from_str(PROGRESS_KEY))).map_err(dom)?;
        let last = Request::from_call(
            chunks
                .open_key_cursor_with_range_and_direction(&JsValue::NULL, IdbCursorDirection::Prev),
        )
        .map_err(dom)?;
        let progress = progress.await.map_err(dom)?;
        let from = progress
            .as_string()
            .and_then(|t| t.parse::<u64>().ok())
            .unwrap_or(0);
        let head = match last.await.map_err(dom)? {
            c if c.is_null() || c.is_undefined() => 0,
            c => js_sys::Reflect::get(&c, &JsValue::from_str("key"))
                .ok()
                .and_then(|k| k.as_f64())
                .filter(|k| *k >= 0.0 && *k <= MAX_SAFE)
                .map_or(0, |k| k as u64),
        };
        let mut out = CompactionStep {
            compacted_to: Position(from),
            head: Position(head),
            ..CompactionStep::default()
        };
        if from >= head {
            return Ok(out);
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
        let mut window_records: Vec<JsValue> = Vec::new();
        let mut events = 0usize;
        let mut to = from;
        let mut stopped = false;
        for record in records.iter() {
            let header = decode_header(&record)?;
            let small = hollow(&record).is_none()
                && window(&record)?.is_none()
                && js_sys::Reflect::get(&record, &JsValue::from_str("e"))
                    .ok()
                    .and_then(|e| e.as_string())
                    .is_some_and(|e| e.len() < SMALL_BYTES);
            if !small {
                if window_records.is_empty() {
                    to = header.last_position.0;
                    continue;
                }
                stopped = true;
                break;
            }
            let n = js_sys::Reflect::get(&record, &JsValue::from_str("n"))
                .ok()
                .and_then(|n| n.as_f64())
                .unwrap_or(1.0) as usize;
            if !window_records.is_empty() && events + n > WINDOW_EVENTS {
                stopped = true;
                break;
            }
            events += n;
            to = header.last_position.0;
            window_records.push(record);
        }
        // More to look at: this step stopped before the end of what it read, or read a full page.
        out.more = stopped || records.length() == WINDOW_RECORDS;
        if window_records.len() >= 2 {
            let written = merge(inner, &chunks, &window_records, to)?;
            if let Some(written) = written {
                out.records_read = window_records.len() as u64;
                out.records_written = written;
                out.events = events as u64;
            }
        }
        // Nothing left to merge: the progress stays below the newest record, which may grow
        // a small neighbour later.
        if to > from {
            state
                .put_with_key(
                    &JsValue::from_str(&to.to_string()),
                    &JsValue::from_str(PROGRESS_KEY),
                )
                .map_err(js)?;
        }
        out.compacted_to = Position(to);
        Ok::<_, Error>(out)
    };
    match run.await {
        Ok(out) => {
            #[allow(deprecated)] // web-sys marks IDBTransaction.commit() deprecated; it is standard
            let _ = tx.commit();
            done.await.map_err(|e| inner.dom_error(e))?;
            Ok(out)
        }
        Err(e) => {
            let _ = tx.abort();
            match done.await {
                Err(d) if d.name != "AbortError" => Err(inner.dom_error(d)),
                _ => Err(e),
            }
        }
    }
}

/// Replaces the adjacent records of one window by one record per stream (split by size like
/// an append). Returns how many records were written, or `None` when merging would not
/// reduce their number (every stream appears once) and the records were left alone.
fn merge(
    inner: &Inner,
    chunks: &web_sys::IdbObjectStore,
    records: &[JsValue],
    last: u64,
) -> Result<Option<u64>> {
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
    }
    let Some(first) = first else {
        return Ok(None);
    };
    let mut new_records = Vec::new();
    for list in &streams {
        for range in split_points(list) {
            if let Some(part) = list.get(range) {
                new_records.push(encode_compacted(part, (first, last))?);
            }
        }
    }
    if new_records.len() >= records.len() {
        return Ok(None);
    }
    let js = |e: JsValue| inner.js_error(e);
    let range = IdbKeyRange::bound(
        &JsValue::from_f64(first as f64),
        &JsValue::from_f64(last as f64),
    )
    .map_err(js)?;
    chunks.delete(&range).map_err(js)?;
    for record in &new_records {
        // No listener: a failing add aborts the transaction, and the step reports it.
        chunks.add(record).map_err(js)?;
    }
    Ok(Some(new_records.len() as u64))
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
