//! Reads: the head, stream versions, stream reads and reads of the global log.
//!
//! Every read runs in a readonly transaction. Because the log is append-only (a chunk, once
//! written, never changes and keys only grow), a read that finds its transaction finished (its
//! caller stopped polling for a while) continues in a fresh one without losing consistency:
//! [`ReadTx`] does that.
//!
//! Stream reads and reads of the global log count as foreground work
//! ([`crate::store::Activity`]) while they run: idle-time compaction waits for them.

use wasm_bindgen::{JsCast, JsValue};
use web_sys::{
    IdbCursor, IdbCursorDirection, IdbKeyRange, IdbObjectStore, IdbRequest, IdbTransactionMode,
};

use super::append::{version_cursor, version_from_cursor};
use super::codec::{decode_chunk, decode_header, stream_key, window, MAX_SAFE};
use super::request::{DomError, Request};
use super::schema::STREAM_INDEX;
use super::Inner;
use crate::core::event::{Position, RecordedEvent, StreamId, Version};
use crate::error::{Error, Result};
use crate::store::{Direction, ReadAllOptions, ReadStreamOptions};

/// Chunks fetched per `getAll` of the global log.
const PAGE_CHUNKS: u32 = 128;

/// A readonly transaction that is renewed when it finished under a slow caller.
struct ReadTx<'a> {
    inner: &'a Inner,
    store: IdbObjectStore,
}

impl<'a> ReadTx<'a> {
    fn new(inner: &'a Inner) -> Result<Self> {
        Ok(ReadTx {
            inner,
            store: Self::open(inner)?,
        })
    }

    fn open(inner: &Inner) -> Result<IdbObjectStore> {
        inner
            .transaction(IdbTransactionMode::Readonly)?
            .object_store(super::CHUNKS)
            .map_err(|e| inner.js_error(e))
    }

    /// Starts a request with `make`, on a fresh transaction if the current one finished.
    fn request(
        &mut self,
        make: impl Fn(&IdbObjectStore) -> std::result::Result<IdbRequest, JsValue>,
    ) -> Result<Request> {
        match Request::from_call(make(&self.store)) {
            Err(e) if e.name == "TransactionInactiveError" => {
                self.store = Self::open(self.inner)?;
                Request::from_call(make(&self.store)).map_err(|e| self.inner.dom_error(e))
            }
            other => other.map_err(|e| self.inner.dom_error(e)),
        }
    }

    async fn fetch(
        &mut self,
        make: impl Fn(&IdbObjectStore) -> std::result::Result<IdbRequest, JsValue>,
    ) -> Result<JsValue> {
        let req = self.request(make)?;
        req.await.map_err(|e: DomError| self.inner.dom_error(e))
    }
}

/// The position of the newest event (0 when the log is empty).
pub(crate) async fn head(inner: &Inner) -> Result<Position> {
    let mut rt = ReadTx::new(inner)?;
    let cursor = rt
        .fetch(|s| {
            s.open_key_cursor_with_range_and_direction(&JsValue::NULL, IdbCursorDirection::Prev)
        })
        .await?;
    let Some(cursor) = cursor.dyn_ref::<IdbCursor>() else {
        return Ok(Position(0));
    };
    match cursor.key().ok().and_then(|k| k.as_f64()) {
        Some(p) if p.is_finite() && p >= 0.0 && p.fract() == 0.0 && p <= MAX_SAFE => {
            Ok(Position(p as u64))
        }
        _ => Err(Error::CorruptData {
            record: format!("{}/last", super::CHUNKS),
            message: "the newest record's key is not a position".into(),
        }),
    }
}

/// The stream's version (0 if it does not exist).
pub(crate) async fn stream_version(inner: &Inner, stream: &StreamId) -> Result<Version> {
    let mut rt = ReadTx::new(inner)?;
    version_in(&mut rt, stream).await
}

async fn version_in(rt: &mut ReadTx<'_>, stream: &StreamId) -> Result<Version> {
    let s = stream.as_str();
    let req = rt.request(|store| version_cursor(&store.index(STREAM_INDEX)?, s))?;
    let result = req.await.map_err(|e| rt.inner.dom_error(e))?;
    version_from_cursor(&result)
}

/// The raw records of `stream` covering versions `lo..=hi` (of a stream at version
/// `current`), in version order, headers checked: the chunks whose last version lies in
/// `[lo, hi]` plus the first chunk ending at or after `hi` (the one holding `hi`), issued
/// together in one readonly transaction after the version read. Also used by the JavaScript
/// read path, which parses each record's `e` text with `JSON.parse`.
pub(crate) async fn stream_records(
    inner: &Inner,
    stream: &StreamId,
    options: &ReadStreamOptions,
) -> Result<Option<(u64, u64, js_sys::Array)>> {
    let _foreground = inner.activity.begin();
    let mut rt = ReadTx::new(inner)?;
    let current = version_in(&mut rt, stream).await?;
    let Some((lo, hi)) = options.range(current) else {
        return Ok(None);
    };
    let s = stream.as_str();
    let within = rt.request(|store| {
        let range = IdbKeyRange::bound(&stream_key(s, lo as f64), &stream_key(s, hi as f64))?;
        store.index(STREAM_INDEX)?.get_all_with_key(&range)
    })?;
    let holding_hi = rt.request(|store| {
        let range = IdbKeyRange::bound(&stream_key(s, hi as f64), &stream_key(s, MAX_SAFE))?;
        store.index(STREAM_INDEX)?.get(&range)
    })?;
    let dom = |e: DomError| inner.dom_error(e);
    let within = js_sys::Array::from(&within.await.map_err(dom)?);
    let holding_hi = holding_hi.await.map_err(dom)?;
    let mut last_key = None;
    for record in within.iter() {
        last_key = Some(decode_header(&record)?.last_position);
    }
    if !holding_hi.is_undefined() && Some(decode_header(&holding_hi)?.last_position) != last_key {
        within.push(&holding_hi);
    }
    Ok(Some((lo, hi, within)))
}

/// Reads a stream in version order or reverse order, as [`EventStore::read_stream`] says.
///
/// [`EventStore::read_stream`]: crate::store::EventStore::read_stream
pub(crate) async fn read_stream(
    inner: &Inner,
    stream: &StreamId,
    options: &ReadStreamOptions,
) -> Result<Vec<RecordedEvent>> {
    let Some((lo, hi, records)) = stream_records(inner, stream, options).await? else {
        return Ok(Vec::new());
    };
    let mut events = Vec::new();
    for record in records.iter() {
        events.extend(decode_chunk(&record)?);
    }
    events.retain(|e| (lo..=hi).contains(&e.version.0));
    if events.len() as u64 != hi - lo + 1 {
        return Err(missing_versions(stream, lo, hi, events.len()));
    }
    if options.direction == Direction::Backward {
        events.reverse();
    }
    Ok(events)
}

/// The error of a stream read that did not find every version it should hold.
pub(crate) fn missing_versions(stream: &StreamId, lo: u64, hi: u64, found: usize) -> Error {
    Error::CorruptData {
        record: format!("{}/{STREAM_INDEX}/{stream}", super::CHUNKS),
        message: format!("stream {stream} should hold versions {lo}..={hi} but {found} were found"),
    }
}

/// Up to `page` records holding positions after `after`, in key order, extended to the end
/// of a compacted window the page stops inside (its records hold positions out of key order,
/// so a window is read whole), headers checked. Returns the records, whether one of them is
/// compacted (their events must then be sorted by position), and whether more may follow.
async fn fetch_page(
    rt: &mut ReadTx<'_>,
    after: Position,
    page: u32,
) -> Result<(js_sys::Array, bool, bool)> {
    let lower = (after.0 + 1) as f64;
    let records = rt
        .fetch(|s| {
            let range = IdbKeyRange::lower_bound(&JsValue::from_f64(lower))?;
            s.get_all_with_key_and_limit(&range, page)
        })
        .await?;
    let records = js_sys::Array::from(&records);
    let more = records.length() == page;
    let mut compacted = false;
    let mut last = None;
    for record in records.iter() {
        let header = decode_header(&record)?;
        compacted |= window(&record)?.is_some();
        last = Some((header.last_position.0, window(&record)?));
    }
    if let Some((p, Some((_, hi)))) = last {
        if hi > p {
            let rest = rt
                .fetch(|s| {
                    let range = IdbKeyRange::bound_with_lower_open_and_upper_open(
                        &JsValue::from_f64(p as f64),
                        &JsValue::from_f64(hi as f64),
                        true,
                        false,
                    )?;
                    s.get_all_with_key(&range)
                })
                .await?;
            for record in js_sys::Array::from(&rest).iter() {
                decode_header(&record)?;
                records.push(&record);
            }
        }
    }
    Ok((records, compacted, more))
}

/// Reads the global log after `options.after`, filtered, up to `options.limit` events.
///
/// Pages follow each other in key order; events at or before the last key of the previous
/// page were all read already (a page never ends inside a compacted window), which holds even
/// when a compaction rewrote the records between two pages.
pub(crate) async fn read_all(
    inner: &Inner,
    options: &ReadAllOptions,
) -> Result<Vec<RecordedEvent>> {
    let _foreground = inner.activity.begin();
    let limit = options.limit.unwrap_or(usize::MAX);
    let mut out = Vec::new();
    if limit == 0 || options.after.0 as f64 >= MAX_SAFE {
        inner.check_open()?;
        return Ok(out);
    }
    let mut rt = ReadTx::new(inner)?;
    let page = if options.filter.is_empty() {
        u32::try_from(limit)
            .unwrap_or(PAGE_CHUNKS)
            .clamp(1, PAGE_CHUNKS)
    } else {
        PAGE_CHUNKS
    };
    let mut after = options.after;
    loop {
        let (records, compacted, more) = fetch_page(&mut rt, after, page).await?;
        let mut sorted = Vec::new();
        let mut next = after;
        for record in records.iter() {
            let events = decode_chunk(&record)?;
            // Hollow records (a reset's) hold no event but still move the read on.
            next = next.max(decode_header(&record)?.last_position);
            if compacted {
                // Positions out of key order: sorted once the page is read whole.
                sorted.extend(events);
                continue;
            }
            for e in events {
                if e.position > after && options.filter.matches(&e) {
                    out.push(e);
                    if out.len() == limit {
                        return Ok(out);
                    }
                }
            }
        }
        sorted.sort_unstable_by_key(|e| e.position);
        for e in sorted {
            if e.position > after && options.filter.matches(&e) {
                out.push(e);
                if out.len() == limit {
                    return Ok(out);
                }
            }
        }
        if !more || next <= after {
            return Ok(out);
        }
        after = next;
    }
}

/// Up to `page` raw chunk records holding positions after `after`, in position order, each
/// with its header checked (a page stopping inside a compacted window is extended to its end),
/// for callers that decode the events' JSON themselves (the JS read path parses each record's
/// `e` text with `JSON.parse`, which beats decoding in wasm and converting back). Returns the
/// records and whether more may follow.
///
/// # Errors
/// [`Error::CorruptData`] naming a record whose header does not fit; store failures.
pub(crate) async fn chunk_page(
    inner: &Inner,
    after: Position,
    page: u32,
) -> Result<(js_sys::Array, bool)> {
    let _foreground = inner.activity.begin();
    let mut rt = ReadTx::new(inner)?;
    let (records, _, more) = fetch_page(&mut rt, after, page.clamp(1, PAGE_CHUNKS)).await?;
    Ok((records, more))
}
