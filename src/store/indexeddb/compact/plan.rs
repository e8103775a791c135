//! Phase 1 of a compaction step: which records the step replaces.
//!
//! The plan reads in pages of [`PLAN_PAGE`] records, each in its own short readonly
//! transaction, so an append waits for at most one page (a readwrite transaction on `chunks`
//! waits for the readonly ones before it). Records up to the head the plan read change only
//! through a compaction (which moves a progress key the write checks again) or a reset (which
//! adds its marker after that head, which the write looks for), so pages read apart are one
//! consistent plan whenever the write finds neither.
//!
//! Two passes, each with its own progress key in `state`:
//! - the **first** ([`PROGRESS_KEY`]) walks the log once, merging runs of adjacent small plain
//!   records (at most [`WINDOW_EVENTS`] events) into one record per stream and window;
//! - the **second** ([`MERGE_KEY`]) walks what the first left behind it, where windows never
//!   merged with each other and records the first passed over (every stream once in its
//!   window, as idle-time compaction after a few appends leaves them) were never looked at
//!   again: it merges runs of whole windows and small plain records, again at most
//!   [`WINDOW_EVENTS`] events, when that at least halves their records. A run that ends at
//!   the end of what the first pass did stays open (its progress does not move), so it is
//!   merged again, with what follows it, once that halves it again.

use std::collections::HashMap;

use wasm_bindgen::JsValue;
use web_sys::{IdbCursorDirection, IdbKeyRange, IdbTransactionMode};

use super::super::codec::{decode_header, hollow, window, CHUNK_TARGET_BYTES, MAX_SAFE};
use super::super::request::{DomError, Request};
use super::super::schema::{CHUNKS, STATE};
use super::super::Inner;
use super::{
    field, yield_to_foreground, Settled, MERGE_KEY, PROGRESS_KEY, SMALL_BYTES, WINDOW_EVENTS,
};
use crate::error::Result;

/// Records one plan transaction reads.
const PLAN_PAGE: u32 = 256;

/// Most records one plan reads (passing over large or hollow ones included).
const PLAN_RECORDS: usize = 8192;

/// What the plan phase of a step found.
pub(super) struct Plan {
    /// The state key of this pass's progress.
    pub key: &'static str,
    /// The stored progress text (`None`: absent), compared again before writing.
    pub progress: Option<String>,
    /// The position it names.
    pub from: u64,
    /// The newest position when the plan started (a reset after it leaves its marker after it).
    pub head: u64,
    /// How far the first pass got (what the step reports as compacted).
    pub compacted_to: u64,
    /// The records to replace, in key order (empty or one: nothing to merge).
    pub records: Vec<JsValue>,
    /// The first and last positions they cover (the range the write deletes).
    pub span: (u64, u64),
    /// The progress the write stores.
    pub to: u64,
    /// Events in the records.
    pub events: usize,
    /// Whether a later step may find more to do.
    pub more: bool,
    /// Both passes' progress texts and the head, as the plan read them.
    pub seen: Settled,
}

impl Plan {
    /// Whether the step has anything to write: records to merge or progress to store.
    pub fn has_work(&self) -> bool {
        self.records.len() > 1 || self.to != self.from
    }
}

fn dom(inner: &Inner) -> impl Fn(DomError) -> crate::error::Error + '_ {
    move |e| inner.dom_error(e)
}

/// The progress texts of the two passes and the head, in one readonly transaction.
async fn read_state(inner: &Inner) -> Result<(Option<String>, Option<String>, u64)> {
    let tx = inner.transaction_on(&[CHUNKS, STATE], IdbTransactionMode::Readonly)?;
    let os = |name: &str| tx.object_store(name).map_err(|e| inner.js_error(e));
    let (chunks, state) = (os(CHUNKS)?, os(STATE)?);
    let dom = dom(inner);
    let split = Request::from_call(state.get(&JsValue::from_str(PROGRESS_KEY))).map_err(&dom)?;
    let merge = Request::from_call(state.get(&JsValue::from_str(MERGE_KEY))).map_err(&dom)?;
    let last = Request::from_call(
        chunks.open_key_cursor_with_range_and_direction(&JsValue::NULL, IdbCursorDirection::Prev),
    )
    .map_err(&dom)?;
    let split = split.await.map_err(&dom)?.as_string();
    let merge = merge.await.map_err(&dom)?.as_string();
    let head = match last.await.map_err(&dom)? {
        c if c.is_null() || c.is_undefined() => 0,
        c => field(&c, "key")
            .as_f64()
            .filter(|k| *k >= 0.0 && *k <= MAX_SAFE)
            .map_or(0, |k| k as u64),
    };
    Ok((split, merge, head))
}

/// Records with keys in `(after, below)`, at most [`PLAN_PAGE`], in one readonly transaction.
async fn page(inner: &Inner, after: u64, below: u64) -> Result<js_sys::Array> {
    if after + 1 >= below {
        return Ok(js_sys::Array::new());
    }
    let tx = inner.transaction_on(&[CHUNKS], IdbTransactionMode::Readonly)?;
    let chunks = tx.object_store(CHUNKS).map_err(|e| inner.js_error(e))?;
    let range = IdbKeyRange::bound_with_lower_open_and_upper_open(
        &JsValue::from_f64(after as f64),
        &JsValue::from_f64(below as f64),
        true,
        true,
    )
    .map_err(|e| inner.js_error(e))?;
    let dom = dom(inner);
    let records = Request::from_call(chunks.get_all_with_key_and_limit(&range, PLAN_PAGE))
        .map_err(&dom)?
        .await
        .map_err(&dom)?;
    Ok(js_sys::Array::from(&records))
}

/// The records with keys in `(after, below)` in key order, page by page, until `visit`
/// returns false or the range (or [`PLAN_RECORDS`]) is exhausted. Returns whether the walk
/// stopped because of the record cap with records left (more to look at).
async fn walk(
    inner: &Inner,
    after: u64,
    below: u64,
    mut visit: impl FnMut(JsValue) -> Result<bool>,
) -> Result<bool> {
    let (mut after, mut seen) = (after, 0usize);
    loop {
        if seen > 0 {
            // Between pages too, appends, reads and catch-ups on this connection go first.
            yield_to_foreground(inner).await;
        }
        let records = page(inner, after, below).await?;
        for record in records.iter() {
            after = decode_header(&record)?.last_position.0;
            seen += 1;
            if !visit(record)? {
                return Ok(false);
            }
        }
        if records.length() < PLAN_PAGE {
            return Ok(false);
        }
        if seen >= PLAN_RECORDS {
            return Ok(true);
        }
    }
}

/// The position a progress text names (the second pass's texts carry a nonce after it).
fn parse(progress: Option<&str>) -> u64 {
    progress
        .and_then(|t| t.split(' ').next())
        .and_then(|t| t.parse::<u64>().ok())
        .unwrap_or(0)
}

fn events_of(record: &JsValue) -> usize {
    field(record, "n").as_f64().unwrap_or(1.0) as usize
}

/// The length of a record's event text in UTF-16 units (read in place, not copied into wasm;
/// at most about its UTF-8 length), `None` when it is not a string.
fn text_len(record: &JsValue) -> Option<usize> {
    let e = field(record, "e");
    e.is_string()
        .then(|| js_sys::JsString::from(e).length() as usize)
}

/// A plain record small enough to merge.
fn small_plain(record: &JsValue) -> Result<bool> {
    Ok(hollow(record).is_none()
        && window(record)?.is_none()
        && text_len(record).is_some_and(|n| n < SMALL_BYTES))
}

/// The plan of the next step: the first pass's while it has work, else the second's. When
/// both progress texts and the head are what an earlier plan of this connection found
/// nothing to do at (`Inner::settled`), the log did not change since (only appends, resets
/// and compactions change it, and each changes one of them): the plan has nothing to do
/// again, without walking the log.
pub(super) async fn plan(inner: &Inner) -> Result<Plan> {
    let (split, merge, head) = read_state(inner).await?;
    let seen = (split.clone(), merge.clone(), head);
    if inner.settled.borrow().as_ref() == Some(&seen) {
        let from = parse(merge.as_deref());
        return Ok(Plan {
            key: MERGE_KEY,
            progress: merge,
            from,
            head,
            compacted_to: parse(split.as_deref()),
            records: Vec::new(),
            span: (0, 0),
            to: from,
            events: 0,
            more: false,
            seen,
        });
    }
    let first = plan_split(inner, split, head).await?;
    let mut plan = if first.has_work() || first.more {
        first
    } else {
        plan_merge(inner, merge, first.from, head).await?
    };
    plan.seen = seen;
    Ok(plan)
}

/// The first pass: after its progress, up to (not including) the newest record, the run of
/// adjacent small plain records that follows the records not worth merging.
async fn plan_split(inner: &Inner, progress: Option<String>, head: u64) -> Result<Plan> {
    let from = parse(progress.as_deref());
    let mut plan = Plan {
        key: PROGRESS_KEY,
        progress,
        from,
        head,
        compacted_to: from,
        records: Vec::new(),
        span: (0, 0),
        to: from,
        events: 0,
        more: false,
        seen: (None, None, 0),
    };
    if from >= head {
        return Ok(plan);
    }
    let mut stopped = false;
    let capped = walk(inner, from, head, |record| {
        let last = decode_header(&record)?.last_position.0;
        if !small_plain(&record)? {
            if plan.records.is_empty() {
                plan.to = last;
                return Ok(true);
            }
            stopped = true;
            return Ok(false);
        }
        let n = events_of(&record);
        if !plan.records.is_empty() && plan.events + n > WINDOW_EVENTS {
            stopped = true;
            return Ok(false);
        }
        if plan.records.is_empty() {
            plan.span.0 = last.saturating_sub(n as u64) + 1;
        }
        plan.events += n;
        plan.to = last;
        plan.span.1 = last;
        plan.records.push(record);
        Ok(true)
    })
    .await?;
    plan.more = stopped || capped;
    Ok(plan)
}

/// What the second pass merges or passes over: a whole compacted window, or one plain record.
struct Unit {
    /// The positions it covers.
    span: (u64, u64),
    records: Vec<JsValue>,
    events: usize,
    /// A large record, a hollow one (a reset's) or a window holding one: never merged.
    barrier: bool,
}

/// The run of units the second pass looks at, with a running estimate of how many records its
/// events make once merged: per stream, its text in records of about [`CHUNK_TARGET_BYTES`]
/// (a lower estimate: the build splits by event).
#[derive(Default)]
struct Run {
    units: std::collections::VecDeque<Unit>,
    events: usize,
    records: usize,
    bytes: HashMap<String, usize>,
    estimate: usize,
}

impl Run {
    fn add_bytes(&mut self, record: &JsValue, sign: bool) {
        let stream = field(record, "s").as_string().unwrap_or_default();
        let len = text_len(record).unwrap_or(0);
        let bytes = self.bytes.entry(stream).or_default();
        let parts = |b: usize| {
            if b == 0 {
                0
            } else {
                b.div_ceil(CHUNK_TARGET_BYTES)
            }
        };
        self.estimate -= parts(*bytes);
        *bytes = if sign {
            *bytes + len.max(1)
        } else {
            bytes.saturating_sub(len.max(1))
        };
        self.estimate += parts(*bytes);
    }

    fn push(&mut self, unit: Unit) {
        for record in &unit.records {
            self.add_bytes(record, true);
        }
        self.events += unit.events;
        self.records += unit.records.len();
        self.units.push_back(unit);
    }

    /// Drops the first unit; returns where it ended.
    fn pop(&mut self) -> Option<u64> {
        let unit = self.units.pop_front()?;
        for record in &unit.records {
            self.add_bytes(record, false);
        }
        self.events -= unit.events;
        self.records -= unit.records.len();
        Some(unit.span.1)
    }

    /// Merging it at least halves its records.
    fn worth(&self) -> bool {
        self.units.len() > 1 && self.estimate * 2 <= self.records
    }
}

/// The second pass: after its progress, up to where the first pass got, the first run of
/// whole windows and small plain records (at most [`WINDOW_EVENTS`] events) whose merge at
/// least halves their records; what comes before such a run is passed over.
async fn plan_merge(
    inner: &Inner,
    progress: Option<String>,
    compacted_to: u64,
    head: u64,
) -> Result<Plan> {
    let from = parse(progress.as_deref());
    let mut plan = Plan {
        key: MERGE_KEY,
        progress,
        from,
        head,
        compacted_to,
        records: Vec::new(),
        span: (0, 0),
        to: from,
        events: 0,
        more: false,
        seen: (None, None, 0),
    };
    if from >= compacted_to {
        return Ok(plan);
    }
    let mut run = Run::default();
    let mut open: Option<Unit> = None;
    // Whether the run stopped before the end of the range (a full run worth merging).
    let mut stopped = false;
    let mut passed = from;
    let capped = walk(inner, from, compacted_to + 1, |record| {
        let last = decode_header(&record)?.last_position.0;
        let n = events_of(&record);
        let unit = match (window(&record)?, open.take()) {
            (Some((lo, hi)), Some(mut u)) if u.span == (lo, hi) => {
                u.barrier |= hollow(&record).is_some();
                u.events += n;
                u.records.push(record);
                u
            }
            (Some((lo, hi)), _) => Unit {
                span: (lo, hi),
                barrier: hollow(&record).is_some(),
                events: n,
                records: vec![record],
            },
            (None, _) => Unit {
                span: (last.saturating_sub(n as u64) + 1, last),
                barrier: !small_plain(&record)?,
                events: n,
                records: vec![record],
            },
        };
        if last < unit.span.1 {
            open = Some(unit);
            return Ok(true);
        }
        // A unit that does not follow the one before (never so in a whole log) is a barrier.
        let follows = run.units.back().is_none_or(|u| u.span.1 + 1 == unit.span.0);
        if unit.barrier || !follows {
            if run.worth() {
                stopped = true;
                return Ok(false);
            }
            while let Some(end) = run.pop() {
                passed = end;
            }
            passed = unit.span.1;
            return Ok(true);
        }
        if !run.units.is_empty() && run.events + unit.events > WINDOW_EVENTS {
            if run.worth() {
                stopped = true;
                return Ok(false);
            }
            // Not worth it: slide on, passing over units until this one fits.
            while !run.units.is_empty() && run.events + unit.events > WINDOW_EVENTS {
                if let Some(end) = run.pop() {
                    passed = end;
                }
            }
        }
        run.push(unit);
        Ok(true)
    })
    .await?;
    plan.to = passed;
    if run.worth() {
        let units: Vec<Unit> = run.units.into_iter().collect();
        plan.span = (
            units.first().map_or(0, |u| u.span.0),
            units.last().map_or(0, |u| u.span.1),
        );
        plan.events = units.iter().map(|u| u.events).sum();
        // A run that reached the end of the first pass's work stays open: merged again, with
        // what follows, once that halves it again.
        if stopped {
            plan.to = plan.span.1;
        }
        plan.records = units.into_iter().flat_map(|u| u.records).collect();
    }
    plan.more = stopped || capped;
    Ok(plan)
}
