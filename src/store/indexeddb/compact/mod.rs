//! Compaction: adjacent small records (a log built from single-event appends has one per
//! event) are merged into one record per stream and *window*, so such a log reads like one
//! written in batches. Positions, versions, ids, timestamps and every index answer stay
//! exactly as they were; only how events are grouped into records changes.
//!
//! One step has three phases, and holds the `chunks` write lock only in the last one:
//! 1. **Plan** ([`plan`]: readonly transactions of a few hundred records each): read where
//!    the last step stopped and the head, and take the next window: in the first pass the
//!    run of adjacent small records after [`PROGRESS_KEY`] (at most [`WINDOW_EVENTS`] events,
//!    never the newest record); once the first pass is done, in the second, the run of whole
//!    windows and records the first passed over after [`MERGE_KEY`] whose merge at least
//!    halves their records.
//! 2. **Build** (no transaction): decode the window's events and encode one record per stream
//!    of the window (see `codec.rs`: compacted records), in slices of a few milliseconds that
//!    give the event loop back, for longer while appends are flowing on this connection, so
//!    appends go on while a step computes.
//! 3. **Write** (one readwrite transaction over `chunks` and `state`): check that the pass's
//!    progress key is still what the plan read (another tab's compaction) and that no reset's
//!    marker follows the head the plan read (a reset in between): otherwise the step changes
//!    nothing and the next one plans again. Then delete the window with one range delete, add
//!    the new records, record the progress. Only the records appended since the plan are
//!    read, never the window again.
//!
//! IndexedDB transactions are atomic, so a crash at any point leaves either the window's old
//! records or its new ones; two tabs compacting at once may plan the same window, and the
//! second write finds the progress moved and gives way.
//!
//! [`super::IndexedDbStore`] also runs steps by itself in idle time: once no foreground work
//! ([`crate::store::Activity`]: an append queued or being written, a read of the log, a
//! catch-up of a projection or read model) has run on this connection for [`IDLE_MS`] ms, and
//! again before each further step. Within a step, the same foreground work is what it waits
//! for (before planning, between plan pages, before writing) and paces itself against.

use std::collections::HashMap;

use wasm_bindgen::JsValue;
use web_sys::{IdbKeyRange, IdbTransactionMode};

mod plan;

use self::plan::Plan;
use super::codec::{decode_chunk, encode_compacted, hollow, split_points};
use super::request::{DomError, Request, TxDone};
use super::schema::{CHUNKS, STATE};
use super::Inner;
use crate::core::event::{Position, RecordedEvent};
use crate::error::{Error, Result};
use crate::store::CompactionStep;

/// The `state` key holding the position up to which the log was compacted (the first pass).
pub const PROGRESS_KEY: &str = "eventfold:compaction";

/// The `state` key holding the position up to which the second pass merged windows.
pub const MERGE_KEY: &str = "eventfold:compaction:merge";

/// Most events one step merges (one window). A global read that reaches into a window reads
/// it whole (its records hold positions out of key order), which bounds it. 32,768 (one
/// window for the (h) bench's 20,000 events) did not read faster in the one bench run that
/// compared them on a loaded machine (docs/BENCHMARKS.md, issue-15 notes).
pub const WINDOW_EVENTS: usize = 4096;

/// A record whose event text is at least this long is left as it is (it is already large).
const SMALL_BYTES: usize = 4 * 1024;

/// How long the store waits after the last foreground work (append, read, catch-up) before
/// compacting in the background, unless set otherwise
/// ([`super::IndexedDbStore::set_compaction_idle_ms`]).
pub const IDLE_MS: f64 = 1000.0;

/// Milliseconds of decoding or encoding a step does before it gives the event loop back.
const SLICE_MS: f64 = 4.0;

/// The slice length while no append is queued or recent.
const IDLE_SLICE_MS: f64 = 16.0;

/// While foreground work runs on this connection, a step pauses this many times the length
/// of each slice it ran, so it takes at most about 1/(1 + this) of the thread from it.
const PAUSE_PER_SLICE: f64 = 6.0;

/// Foreground work (an append, a read) that ended less than this many milliseconds ago
/// counts as still running: the next one is likely on its way.
const BUSY_MS: f64 = 50.0;

/// Longest a step waits for a pause in this connection's foreground work before it plans,
/// between plan pages, and before it writes (so `compact()` still progresses under
/// non-stop appends or reads).
const MAX_YIELD_MS: f64 = 500.0;

/// The progress texts and head a plan found nothing to do at (see [`Inner`]'s `settled`).
pub(super) type Settled = (Option<String>, Option<String>, u64);

/// Runs one compaction step (see the module docs). A step that ends the run (`more` false)
/// reports the log compacted up to the head: the newest record, which the plan leaves for
/// the appends that follow it, has nothing to merge with.
pub(crate) async fn step(inner: &Inner) -> Result<CompactionStep> {
    Ok(run_step(inner).await?.reported())
}

async fn run_step(inner: &Inner) -> Result<CompactionStep> {
    yield_to_foreground(inner).await;
    let plan = plan::plan(inner).await?;
    let mut out = CompactionStep {
        compacted_to: Position(plan.compacted_to),
        head: Position(plan.head),
        more: plan.more,
        ..CompactionStep::default()
    };
    if !plan.has_work() {
        if !plan.more {
            // Nothing to do: not looked at again while the log stays as it is.
            *inner.settled.borrow_mut() = Some(plan.seen.clone());
        }
        return Ok(out);
    }
    let merged = match plan.records.len() {
        0 | 1 => None,
        _ => build(inner, &plan.records, plan.span).await?,
    };
    if plan.to == plan.from && merged.is_none() {
        // Nothing worth writing (every stream of the window appears once): planning again
        // would find the same, so the run ends here, and it is not planned again while the
        // log stays as it is.
        *inner.settled.borrow_mut() = Some(plan.seen.clone());
        out.more = false;
        return Ok(out);
    }
    yield_to_foreground(inner).await;
    if write(inner, &plan, merged.as_deref()).await? {
        if let Some(written) = &merged {
            out.records_read = plan.records.len() as u64;
            out.records_written = written.len() as u64;
            out.events = plan.events as u64;
        }
        if plan.key == PROGRESS_KEY {
            out.compacted_to = Position(plan.to);
        }
        // The first pass done, the second runs next; the second says itself when it is done.
        out.more = plan.more || plan.key == PROGRESS_KEY;
    } else {
        // Someone else changed the window first: plan again.
        out.more = true;
    }
    Ok(out)
}

fn field(record: &JsValue, name: &str) -> JsValue {
    js_sys::Reflect::get(record, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
}

/// Whether foreground work runs on this connection (an append queued or being written, a
/// read, a catch-up), or ended less than [`BUSY_MS`] ago.
fn busy(inner: &Inner) -> bool {
    inner.activity.busy(BUSY_MS)
}

/// Waits, while foreground work runs on this connection, for a pause in it (at most
/// [`MAX_YIELD_MS`]), so the step's reads and its write come between bursts of appends and
/// reads instead of in their way.
pub(super) async fn yield_to_foreground(inner: &Inner) {
    let start = js_sys::Date::now();
    while busy(inner) && js_sys::Date::now() - start < MAX_YIELD_MS {
        sleep(BUSY_MS as i32).await;
    }
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
        let busy = busy(self.inner);
        // With no append in sight, longer slices (a frame) and no pause.
        if !busy && ran < IDLE_SLICE_MS {
            return;
        }
        let pause = if busy { ran * PAUSE_PER_SLICE } else { 0.0 };
        sleep(pause.min(1000.0) as i32).await;
        self.since = js_sys::Date::now();
    }
}

/// Phase 2: the records replacing the window `span` (one per stream, split by size like an
/// append); `None` when merging would not reduce their number (every stream appears once).
async fn build(
    inner: &Inner,
    records: &[JsValue],
    span: (u64, u64),
) -> Result<Option<Vec<JsValue>>> {
    let mut pacer = Pacer {
        inner,
        since: js_sys::Date::now(),
    };
    let mut streams: Vec<Vec<RecordedEvent>> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut count = 0u64;
    for record in records {
        let events = decode_chunk(record)?;
        let (Some(head), Some(tail)) = (events.first(), events.last()) else {
            continue;
        };
        // Every position of the window is in exactly one of its records.
        if head.position.0 < span.0 || tail.position.0 > span.1 {
            return Err(not_adjacent(tail.position));
        }
        count += events.len() as u64;
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
    if count != span.1 + 1 - span.0 {
        return Err(not_adjacent(Position(span.1)));
    }
    let parts: usize = streams.iter().map(|list| split_points(list).len()).sum();
    if parts >= records.len() {
        return Ok(None);
    }
    let mut new_records = Vec::with_capacity(parts);
    for list in &mut streams {
        // Merged windows hand a stream's records over in key order, which is version order;
        // sorting costs little and makes sure of it.
        list.sort_by_key(|e| e.position);
        for range in split_points(list) {
            if let Some(part) = list.get(range) {
                new_records.push(encode_compacted(part, span)?);
            }
            pacer.tick().await;
        }
    }
    Ok(Some(new_records))
}

fn not_adjacent(at: Position) -> Error {
    Error::CorruptData {
        record: format!("{CHUNKS}/{at}"),
        message: "the log's records do not follow each other".into(),
    }
}

/// Phase 3: one readwrite transaction checks that the plan still holds and writes. Returns
/// false (and changes nothing) when, since the plan, another compaction moved this pass's
/// progress or a reset ran (its marker, a hollow record, then lies after the head the plan
/// read: the appends made since are all this reads, never the window).
async fn write(inner: &Inner, plan: &Plan, merged: Option<&[JsValue]>) -> Result<bool> {
    let tx = inner.transaction_on(&[CHUNKS, STATE], IdbTransactionMode::Readwrite)?;
    let done = TxDone::new(&tx);
    let run = async {
        let os = |name: &str| tx.object_store(name).map_err(|e| inner.js_error(e));
        let (chunks, state) = (os(CHUNKS)?, os(STATE)?);
        let dom = |e: DomError| inner.dom_error(e);
        let js = |e: JsValue| inner.js_error(e);
        let progress = Request::from_call(state.get(&JsValue::from_str(plan.key))).map_err(dom)?;
        let since = IdbKeyRange::lower_bound_with_open(&JsValue::from_f64(plan.head as f64), true)
            .map_err(js)?;
        let newer = Request::from_call(chunks.get_all_with_key(&since)).map_err(dom)?;
        if progress.await.map_err(dom)?.as_string() != plan.progress {
            return Ok(false);
        }
        let newer = js_sys::Array::from(&newer.await.map_err(dom)?);
        if newer.iter().any(|record| hollow(&record).is_some()) {
            return Ok(false);
        }
        if let Some(new_records) = merged {
            let range = IdbKeyRange::bound(
                &JsValue::from_f64(plan.span.0 as f64),
                &JsValue::from_f64(plan.span.1 as f64),
            )
            .map_err(js)?;
            chunks.delete(&range).map_err(js)?;
            for record in new_records {
                // No listener: a failing add aborts the transaction, and the step reports it.
                chunks.add(record).map_err(js)?;
            }
        }
        // The second pass's progress may stay where it was (a run left open): a nonce makes
        // every write change it, so a step planned before this write always gives way.
        let text = match plan.key {
            PROGRESS_KEY => plan.to.to_string(),
            _ => format!("{} {}", plan.to, js_sys::Math::random()),
        };
        state
            .put_with_key(&JsValue::from_str(&text), &JsValue::from_str(plan.key))
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

/// The background compaction of one connection: waits until no foreground work (appends,
/// reads, catch-ups: [`crate::store::Activity`]) has run for [`IDLE_MS`], runs one step, and
/// again (waiting the same way before each step), until nothing is left to merge or the store
/// closes. A step that fails (another tab upgraded the database, a damaged record) ends the
/// task; the next append starts it again.
pub(super) async fn run_when_idle(inner: std::rc::Rc<Inner>) {
    loop {
        let wait = inner.activity.wait_before_idle(inner.idle_ms.get());
        if wait > 0.0 {
            // Never less than a few ms, so the loop does not spin.
            sleep(wait.ceil().clamp(BUSY_MS, 60_000.0) as i32).await;
            if inner.closed_reason().is_some() {
                break;
            }
            continue;
        }
        if inner.closed_reason().is_some() {
            break;
        }
        match step(&inner).await {
            Ok(s) if s.more => continue,
            _ => break,
        }
    }
    inner.compacting.set(false);
}
