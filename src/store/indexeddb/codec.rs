//! The record layout of the `chunks` object store, and its encoding.
//!
//! One record holds consecutive events of one stream appended together (a whole append, or a
//! slice of a large one):
//!
//! ```text
//! { p: 1042,                  // position of the chunk's LAST event (the primary key)
//!   q: 1039,                  // position before the chunk (p - n); unique index "prev"
//!   n: 3,                     // number of events
//!   s: "order-7",             // stream
//!   v: 12,                    // stream version of the LAST event; index "stream" on [s, v]
//!   t: 1764190000123,         // timestamp of the append (ms since the epoch)
//!   ids: ["…", "…", "…"],     // event ids (not indexed: checked in memory)
//!   e: "[{\"id\":…,\"stream\":…,\"type\":…,\"data\":…,\"metadata\":…,\"version\":10,\"position\":1040,\"timestamp\":…},…]" }
//! ```
//!
//! A **hollow** record holds no events: it keeps the place of a record whose events a reset
//! dropped (`d: "dropped"`), or marks the reset itself (`d: "reset"`, one position at the
//! head). It has `p`, `q`, `n` (the positions it spans), `t`, `ids: []`, `e: "[]"` and no `s`
//! or `v`, so it is in the `prev` index (the chain of records stays whole: a writer with a
//! stale head still fails) and not in the `stream` index.
//!
//! A **compacted** record (written by [`compact`](super::compact), never by an append) holds
//! the events of one stream within a *window*, a run of adjacent small records it replaced:
//! `w: [first, last]` names the window's positions, the events' positions are increasing but
//! not consecutive, `p` is the position of its last event, `t` its last event's timestamp,
//! and `q` is the *list* of the positions before each of its events (the `prev` index is
//! multiEntry): across a window's records that is every position of the window, so the chain
//! of `q`s stays whole and a writer with a stale head inside the window still fails.
//!
//! `e` is one JSON text holding the recorded events exactly as JavaScript sees them, so a
//! whole chunk crosses the wasm boundary as one string and is decoded with one parse.
//! Keys name the LAST event so that "the chunk holding position x" is the first record with
//! key ≥ x (one `getAll` from `x`), and likewise for stream versions.

use wasm_bindgen::JsValue;

use crate::core::event::{EventId, Position, RecordedEvent, StreamId, Timestamp, Version};
use crate::error::{Error, Result};

/// Largest number a key or counter may hold (JavaScript's `Number.MAX_SAFE_INTEGER`).
pub const MAX_SAFE: f64 = 9_007_199_254_740_991.0;

/// Target size of one record's `e` text. Appends larger than this are split into several
/// records, which keeps single-event reads cheap and records under Chromium's 64 KiB
/// threshold above which values are written as separate blob files.
pub const CHUNK_TARGET_BYTES: usize = 48 * 1024;

/// The fields of a chunk besides its events, read without decoding `e`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ChunkHeader {
    /// Position of the chunk's last event.
    pub last_position: Position,
    /// Its timestamp.
    pub timestamp: Timestamp,
}

/// `[stream, version]`, a key of the `stream` index.
pub(crate) fn stream_key(stream: &str, version: f64) -> JsValue {
    js_sys::Array::of2(&JsValue::from_str(stream), &JsValue::from_f64(version)).into()
}

/// How a record is named in [`Error::CorruptData`]: `chunks/<key>`.
pub(crate) fn record_name(value: &JsValue) -> String {
    let key = get(value, "p");
    let text = js_sys::JSON::stringify(&key)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_else(|| "?".into());
    format!("{}/{text}", super::schema::CHUNKS)
}

fn get(value: &JsValue, field: &str) -> JsValue {
    js_sys::Reflect::get(value, &JsValue::from_str(field)).unwrap_or(JsValue::UNDEFINED)
}

fn corrupt(value: &JsValue, message: impl Into<String>) -> Error {
    Error::CorruptData {
        record: record_name(value),
        message: message.into(),
    }
}

/// A non-negative integer field.
fn uint(value: &JsValue, field: &str) -> Result<u64> {
    match get(value, field).as_f64() {
        Some(n) if n.is_finite() && n >= 0.0 && n.fract() == 0.0 && n <= MAX_SAFE => Ok(n as u64),
        _ => Err(corrupt(
            value,
            format!("field {field} is not a non-negative integer"),
        )),
    }
}

/// What a hollow record stands for (`d`): events a reset dropped, or the reset's marker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Hollow {
    /// `d: "dropped"`.
    Dropped,
    /// `d: "reset"`.
    Reset,
}

impl Hollow {
    fn tag(self) -> &'static str {
        match self {
            Hollow::Dropped => "dropped",
            Hollow::Reset => "reset",
        }
    }
}

/// The window `[first, last]` of a compacted record (`None`: not compacted).
///
/// # Errors
/// [`Error::CorruptData`] when `w` is present but not two ordered positions.
pub(crate) fn window(value: &JsValue) -> Result<Option<(u64, u64)>> {
    let w = get(value, "w");
    if w.is_undefined() {
        return Ok(None);
    }
    let pair = js_sys::Array::from(&w);
    let at = |i: u32| {
        pair.get(i)
            .as_f64()
            .filter(|n| n.fract() == 0.0 && *n >= 1.0 && *n <= MAX_SAFE)
    };
    match (js_sys::Array::is_array(&w), at(0), at(1)) {
        (true, Some(lo), Some(hi)) if lo <= hi && pair.length() == 2 => {
            Ok(Some((lo as u64, hi as u64)))
        }
        _ => Err(corrupt(value, "field w is not a window of positions")),
    }
}

/// Whether the record is hollow, and which kind (`None`: it holds events).
pub(crate) fn hollow(value: &JsValue) -> Option<Hollow> {
    match get(value, "d").as_string().as_deref() {
        Some("dropped") => Some(Hollow::Dropped),
        Some("reset") => Some(Hollow::Reset),
        Some(_) => Some(Hollow::Dropped),
        None => None,
    }
}

/// Builds a hollow record spanning the `n` positions up to `last` (see the module docs).
///
/// # Errors
/// [`Error::Storage`] if the object cannot be built.
pub(crate) fn encode_hollow(
    last: Position,
    n: u64,
    timestamp: Timestamp,
    kind: Hollow,
) -> Result<JsValue> {
    let record = js_sys::Object::new();
    let fields = [
        ("p", JsValue::from_f64(last.0 as f64)),
        ("q", JsValue::from_f64(last.0.saturating_sub(n) as f64)),
        ("n", JsValue::from_f64(n as f64)),
        ("t", JsValue::from_f64(timestamp.0 as f64)),
        ("ids", js_sys::Array::new().into()),
        ("e", JsValue::from_str("[]")),
        ("d", JsValue::from_str(kind.tag())),
    ];
    for (k, v) in &fields {
        js_sys::Reflect::set(&record, &JsValue::from_str(k), v).map_err(|_| Error::Storage {
            message: format!("building a record: cannot set field {k}"),
        })?;
    }
    Ok(record.into())
}

/// The fields every record needs to keep its place in the chain: `p`, and `q = p - n`.
fn check_chain(value: &JsValue, header: &ChunkHeader) -> Result<u64> {
    let n = uint(value, "n")?;
    if n == 0 || header.last_position.0 < n {
        return Err(corrupt(
            value,
            format!("spans {n} positions up to {}", header.last_position),
        ));
    }
    if window(value)?.is_some() {
        let q = get(value, "q");
        if !js_sys::Array::is_array(&q) || u64::from(js_sys::Array::from(&q).length()) != n {
            return Err(corrupt(value, "field q does not list a position per event"));
        }
    } else if get(value, "q").as_f64() != Some((header.last_position.0 - n) as f64) {
        return Err(corrupt(
            value,
            "field q is not the position before the record",
        ));
    }
    Ok(n)
}

/// Reads a record's header.
///
/// # Errors
/// [`Error::CorruptData`] naming the record when a field is missing or malformed.
pub(crate) fn decode_header(value: &JsValue) -> Result<ChunkHeader> {
    let t = get(value, "t").as_f64();
    let timestamp = match t {
        Some(t) if t.is_finite() && t.fract() == 0.0 && t.abs() <= MAX_SAFE => Timestamp(t as i64),
        _ => return Err(corrupt(value, "field t is not an integer timestamp")),
    };
    Ok(ChunkHeader {
        last_position: Position(uint(value, "p")?),
        timestamp,
    })
}

/// What the write path learns from a `chunks` record without decoding its events: its key,
/// its stream and the stream's version at its last event, and its event ids (the ids cross
/// the wasm boundary as one string).
pub(crate) struct RecordIds {
    /// The record's key: the position of its last event.
    pub position: Position,
    /// Its stream.
    pub stream: StreamId,
    /// The stream's version at the record's last event.
    pub version: Version,
    /// Its event ids.
    pub ids: Vec<EventId>,
}

/// Reads a record's [`RecordIds`]; `None` for a hollow record (no events, no stream).
///
/// # Errors
/// [`Error::CorruptData`] naming the record when `p`, `s`, `v` or `ids` is malformed.
pub(crate) fn decode_ids(value: &JsValue) -> Result<Option<RecordIds>> {
    if hollow(value).is_some() {
        return Ok(None);
    }
    let position = Position(uint(value, "p")?);
    let version = Version(uint(value, "v")?);
    let stream = get(value, "s")
        .as_string()
        .and_then(|s| StreamId::new(s).ok())
        .ok_or_else(|| corrupt(value, "field s is not a stream id"))?;
    let list = get(value, "ids");
    if !js_sys::Array::is_array(&list) {
        return Err(corrupt(value, "field ids is not an array"));
    }
    let joined = String::from(js_sys::Array::from(&list).join(","));
    let ids = joined
        .split(',')
        .map(EventId::parse)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| corrupt(value, "field ids is not a list of event ids"))?;
    Ok(Some(RecordIds {
        position,
        stream,
        version,
        ids,
    }))
}

/// Builds the record of `events`, consecutive events of one stream.
///
/// The event text is written by [`RecordedEvent::write_json`] (the names and payloads are
/// copied as they are: payloads are JSON text already), and the ids cross into JavaScript as
/// one comma-joined string split there: a record costs a handful of boundary crossings, not
/// one per event.
///
/// # Errors
/// [`Error::InvalidInput`] for an empty slice; [`Error::Storage`] if building the record fails.
pub(crate) fn encode_chunk(events: &[RecordedEvent]) -> Result<JsValue> {
    encode_record(events, None)
}

/// Builds the compacted record of `events`, the events of one stream within `window` (see
/// the module docs).
///
/// # Errors
/// As [`encode_chunk`].
pub(crate) fn encode_compacted(events: &[RecordedEvent], window: (u64, u64)) -> Result<JsValue> {
    encode_record(events, Some(window))
}

fn encode_record(events: &[RecordedEvent], window: Option<(u64, u64)>) -> Result<JsValue> {
    let (Some(first), Some(last)) = (events.first(), events.last()) else {
        return Err(Error::invalid("a chunk holds at least one event"));
    };
    let mut e = String::with_capacity(events.iter().map(RecordedEvent::json_len_hint).sum());
    let mut ids = String::with_capacity(events.len() * 37);
    e.push('[');
    for (i, ev) in events.iter().enumerate() {
        if i > 0 {
            e.push(',');
            ids.push(',');
        }
        ev.write_json(&mut e);
        // Ids are UUIDs (EventId::parse): never a comma inside.
        ids.push_str(ev.id.as_str());
    }
    e.push(']');
    let (q, t) = match window {
        None => (
            JsValue::from_f64(last.position.0.saturating_sub(events.len() as u64) as f64),
            first.timestamp,
        ),
        Some(_) => (
            events
                .iter()
                .map(|e| JsValue::from_f64(e.position.0.saturating_sub(1) as f64))
                .collect::<js_sys::Array>()
                .into(),
            last.timestamp,
        ),
    };
    let w = match window {
        None => JsValue::UNDEFINED,
        Some((lo, hi)) => {
            js_sys::Array::of2(&JsValue::from_f64(lo as f64), &JsValue::from_f64(hi as f64)).into()
        }
    };
    // One call builds the object (a literal of one shape in JavaScript) instead of a
    // Reflect.set and a key string per field.
    Ok(chunk_record(
        last.position.0 as f64,
        &q,
        events.len() as f64,
        first.stream.as_str(),
        last.version.0 as f64,
        t.0 as f64,
        &ids,
        &e,
        &w,
    ))
}

#[wasm_bindgen::prelude::wasm_bindgen(module = "/src/wasm/js/bindings.js")]
extern "C" {
    /// `{ p, q, n, s, v, t, ids: ids.split(","), e }`, plus `w` when given.
    #[wasm_bindgen(js_name = chunkRecord)]
    fn chunk_record(
        p: f64,
        q: &JsValue,
        n: f64,
        s: &str,
        v: f64,
        t: f64,
        ids: &str,
        e: &str,
        w: &JsValue,
    ) -> JsValue;
}

/// Splits a batch into chunk-sized slices (at least one event each), by JSON size.
pub(crate) fn split_points(events: &[RecordedEvent]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, e) in events.iter().enumerate() {
        // Payloads plus the fixed fields (ids, names, numbers) of one event, roughly.
        let size = e.data.as_str().len()
            + e.metadata.as_str().len()
            + e.event_type.as_str().len()
            + e.stream.as_str().len()
            + 140;
        if i > start && bytes + size > CHUNK_TARGET_BYTES {
            out.push(start..i);
            start = i;
            bytes = 0;
        }
        bytes += size;
    }
    if start < events.len() {
        out.push(start..events.len());
    }
    out
}

/// Decodes a record into its events, checking them against its header fields.
///
/// # Errors
/// [`Error::CorruptData`] naming the record when anything does not fit: missing fields, text
/// that is not the JSON of recorded events, counts, streams, versions, positions or ids that
/// disagree with the header.
pub(crate) fn decode_chunk(value: &JsValue) -> Result<Vec<RecordedEvent>> {
    if !value.is_object() {
        return Err(corrupt(value, "the record is not an object"));
    }
    let header = decode_header(value)?;
    if hollow(value).is_some() {
        check_chain(value, &header)?;
        return Ok(Vec::new());
    }
    let n = uint(value, "n")?;
    let last_version = uint(value, "v")?;
    let stream = get(value, "s")
        .as_string()
        .and_then(|s| StreamId::new(s).ok())
        .ok_or_else(|| corrupt(value, "field s is not a stream id"))?;
    let text = get(value, "e")
        .as_string()
        .ok_or_else(|| corrupt(value, "field e is not a string"))?;
    let events: Vec<RecordedEvent> = serde_json::from_str(&text)
        .map_err(|e| corrupt(value, format!("field e is not recorded events: {e}")))?;
    if n == 0 || events.len() as u64 != n || last_version < n || header.last_position.0 < n {
        return Err(corrupt(
            value,
            format!("holds {} events, header says {n}", events.len()),
        ));
    }
    let window = window(value)?;
    if window.is_none() && get(value, "q").as_f64() != Some((header.last_position.0 - n) as f64) {
        return Err(corrupt(
            value,
            "field q is not the position before the record",
        ));
    }
    let ids = js_sys::Array::from(&get(value, "ids"));
    if ids.length() as u64 != n {
        return Err(corrupt(value, "field ids does not list every event"));
    }
    let first_version = last_version - n + 1;
    let first_position = header.last_position.0 - n + 1;
    let q = js_sys::Array::from(&get(value, "q"));
    let mut previous = 0;
    for (i, e) in events.iter().enumerate() {
        let k = i as u64;
        let placed = match window {
            None => e.position == Position(first_position + k),
            // Compacted: increasing positions inside the window, each listed in q.
            Some((lo, hi)) => {
                let p = e.position.0;
                let ok = p > previous
                    && (lo..=hi).contains(&p)
                    && q.get(i as u32).as_f64() == Some((p - 1) as f64)
                    && (i + 1 < events.len() || p == header.last_position.0);
                previous = p;
                ok
            }
        };
        let ok = e.stream == stream
            && e.version == Version(first_version + k)
            && placed
            && ids.get(i as u32).as_string().as_deref() == Some(e.id.as_str());
        if !ok {
            return Err(corrupt(
                value,
                format!("event {i} does not match the record's stream, versions, positions or ids"),
            ));
        }
    }
    Ok(events)
}
