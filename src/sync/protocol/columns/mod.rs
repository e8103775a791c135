//! The columnar encoding of a pull answer (`"encoding": "columns"`, `docs/sync-protocol.md`
//! §4.1): the same events as the `events` array, laid out so that a general-purpose compressor
//! finds the redundancy.
//!
//! - stream, version and position in runs (`[stream, firstVersion, firstPosition, count]`,
//!   streams as indexes into a table), since a page is mostly whole appends;
//! - types as indexes into a table;
//! - ids as one string of 32 hex digits per event (a UUID without its dashes);
//! - timestamps as differences from the previous one;
//! - data and metadata objects split into their key lists ("shapes") and one column of raw
//!   values per key, so similar values sit next to each other. A payload that is not an object,
//!   or whose text would not be rebuilt byte for byte from its keys and values, travels whole
//!   in `raw`.
//!
//! Decoding rebuilds every payload's exact text and checks every length and index: a
//! malformed page is a `PROTOCOL_ERROR` and yields nothing.

use std::borrow::Cow;
use std::collections::HashMap;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;

use crate::core::event::{EventType, Position, RecordedEvent, StreamId, Timestamp, Version};
use crate::core::invalid::Invalid;
use crate::core::json::{write_string, Json};
use crate::core::object::object_deserialize;
use crate::error::{Error, Result};

/// Hex digits per id on the wire (a canonical UUID less its four dashes).
const ID_DIGITS: usize = 32;

/// The shape number of a payload sent whole: the next value of `raw`.
const RAW: u64 = 0;

/// The `columns` object of a pull answer; see the module docs. Every number is a `u64` and
/// every list of names a `Vec<String>`, which keeps the decoder small in wasm.
#[derive(Debug, Default, Serialize)]
pub struct Columns<'a> {
    /// The streams of the page.
    streams: Vec<String>,
    /// Flat `[stream index, version, position, count]` quadruples: `count` events of that
    /// stream with consecutive versions and positions from the given ones.
    runs: Vec<u64>,
    /// The event types of the page.
    types: Vec<String>,
    /// Per event: its type's index in `types`.
    #[serde(rename = "type")]
    type_index: Vec<u64>,
    /// The ids, 32 hex digits each, in event order.
    #[serde(borrow)]
    ids: std::borrow::Cow<'a, str>,
    /// Per event: its timestamp minus the previous one's (the first: itself), as wrapping
    /// 64-bit arithmetic on the two's-complement bits.
    timestamps: Vec<u64>,
    /// Key lists of the object payloads.
    shapes: Vec<Vec<String>>,
    /// Data payloads, run-length coded as flat `[shape, count]` pairs: shape `0` = the next
    /// `raw` value, `s ≥ 1` = `shapes[s - 1]`.
    data: Vec<u64>,
    /// Metadata payloads, coded like `data`.
    metadata: Vec<u64>,
    /// One column per key of each shape (the first shape's keys first), the values in the
    /// order the payloads use them (each event's data before its metadata).
    #[serde(borrow)]
    values: Vec<Vec<&'a RawValue>>,
    /// Payloads sent whole.
    #[serde(borrow)]
    raw: Vec<&'a RawValue>,
}

object_deserialize!(Columns<'de> {
    streams: Vec<String> = "streams" required,
    runs: Vec<u64> = "runs" required,
    types: Vec<String> = "types" required,
    type_index: Vec<u64> = "type" required,
    ids: std::borrow::Cow<'de, str> = "ids" required,
    timestamps: Vec<u64> = "timestamps" required,
    shapes: Vec<Vec<String>> = "shapes" required,
    data: Vec<u64> = "data" required,
    metadata: Vec<u64> = "metadata" required,
    values: Vec<Vec<&'de RawValue>> = "values" required,
    raw: Vec<&'de RawValue> = "raw" required,
});

impl<'a> Columns<'a> {
    /// Lays `events` out in columns (borrowing their payload texts).
    ///
    /// # Errors
    /// [`Error::CorruptData`] naming the event's position if a payload is not JSON text (a
    /// store read with [`EventStore::read_all_to_send`](crate::EventStore::read_all_to_send)
    /// may hand out what it stored unchecked).
    pub fn encode(events: &'a [RecordedEvent]) -> Result<Self> {
        let mut c = Columns::default();
        let mut streams: HashMap<&str, u64> = HashMap::new();
        let mut types: HashMap<&str, u64> = HashMap::new();
        let mut shapes = Shapes::default();
        let mut ids = String::with_capacity(events.len() * ID_DIGITS);
        let mut previous: Option<&RecordedEvent> = None;
        for e in events {
            let continues = previous.is_some_and(|p| {
                p.stream == e.stream
                    && p.version.0.checked_add(1) == Some(e.version.0)
                    && p.position.0.checked_add(1) == Some(e.position.0)
            });
            match c.runs.last_mut() {
                Some(count) if continues => *count += 1,
                _ => {
                    let stream = index_of(&mut streams, &mut c.streams, e.stream.as_str());
                    c.runs.extend([stream, e.version.0, e.position.0, 1]);
                }
            }
            let t = index_of(&mut types, &mut c.types, e.event_type.as_str());
            c.type_index.push(t);
            ids.extend(e.id.as_str().split('-'));
            let before = previous.map_or(0, |p| p.timestamp.0);
            c.timestamps
                .push((e.timestamp.0 as u64).wrapping_sub(before as u64));
            let not_json = |err: Error| Error::CorruptData {
                record: format!("event at position {}", e.position.0),
                message: err.to_string(),
            };
            let data = shapes.place(&mut c, &e.data).map_err(not_json)?;
            push_run(&mut c.data, data);
            let metadata = shapes.place(&mut c, &e.metadata).map_err(not_json)?;
            push_run(&mut c.metadata, metadata);
            previous = Some(e);
        }
        c.ids = ids.into();
        Ok(c)
    }

    /// Rebuilds the events, checking that every column agrees with the others.
    ///
    /// # Errors
    /// [`Error::Protocol`] naming the first inconsistency (a length, an index, an id that is
    /// not hex, a version or position overflowing, a metadata value that is not an object,
    /// values left over) or an invalid stream or type name.
    pub fn decode(self) -> Result<Vec<RecordedEvent>> {
        let n = self.type_index.len();
        if self.timestamps.len() != n || self.ids.len() != n * ID_DIGITS || self.runs.len() % 4 != 0
        {
            return Err(malformed(format!(
                "{n} types, {} timestamps, {} id digits and {} run numbers do not describe the same events",
                self.timestamps.len(),
                self.ids.len(),
                self.runs.len()
            )));
        }
        let streams = names(&self.streams, |s| StreamId::new(s))?;
        let types = names(&self.types, |s| EventType::new(s))?;
        let mut payloads = Payloads::new(&self)?;
        let mut data_runs = RunCursor::new(&self.data, "data")?;
        let mut metadata_runs = RunCursor::new(&self.metadata, "metadata")?;
        let mut events = Vec::with_capacity(n);
        let mut timestamp = 0u64;
        for run in self.runs.chunks_exact(4) {
            let &[stream, version, position, count] = run else {
                continue;
            };
            let stream = pick(&streams, stream, "stream")?;
            if count == 0 || count > (n - events.len()) as u64 {
                return Err(malformed(format!(
                    "a run of {count} events where {} are left",
                    n - events.len()
                )));
            }
            for k in 0..count {
                let i = events.len();
                timestamp = timestamp.wrapping_add(self.timestamps[i]);
                let data = payloads.next(data_runs.next()?)?;
                let metadata = payloads.next(metadata_runs.next()?)?;
                if !metadata.is_object() {
                    return Err(malformed(format!("metadata of event {i} is not an object")));
                }
                events.push(RecordedEvent {
                    id: id_at(&self.ids, i)?,
                    stream: stream.clone(),
                    event_type: pick(&types, self.type_index[i], "type")?.clone(),
                    data,
                    metadata,
                    version: Version(add(version, k)?),
                    position: Position(add(position, k)?),
                    timestamp: Timestamp(timestamp as i64),
                });
            }
        }
        if events.len() != n {
            return Err(malformed(format!(
                "the runs hold {} events, the other columns {n}",
                events.len()
            )));
        }
        data_runs.finish()?;
        metadata_runs.finish()?;
        payloads.finish()?;
        Ok(events)
    }
}

/// Checks and converts a table of names.
fn names<T>(list: &[String], make: fn(&str) -> Result<T, Invalid>) -> Result<Vec<T>> {
    list.iter()
        .map(|s| make(s).map_err(|e| malformed(e.to_string())))
        .collect()
}

/// The index of `name` in `list`, added if new.
fn index_of<'e>(seen: &mut HashMap<&'e str, u64>, list: &mut Vec<String>, name: &'e str) -> u64 {
    *seen.entry(name).or_insert_with(|| {
        list.push(name.into());
        list.len() as u64 - 1
    })
}

fn pick<'t, T>(table: &'t [T], index: u64, what: &str) -> Result<&'t T> {
    usize::try_from(index)
        .ok()
        .and_then(|i| table.get(i))
        .ok_or_else(|| malformed(format!("{what} index {index} out of range")))
}

/// Shapes looked up by comparing keys with each known shape in turn, up to this many (a page
/// usually holds a handful); past it, by hashing the key list.
const SCAN_SHAPES: usize = 16;

/// The shapes met while encoding, by key list.
#[derive(Default)]
struct Shapes {
    /// Key list → (shape number, first column in `values`).
    known: HashMap<Vec<String>, (u64, usize)>,
    /// The first column in `values` of each shape, in shape order.
    firsts: Vec<usize>,
    /// Scratch space of [`split`].
    rebuilt: String,
}

impl Shapes {
    /// Puts one payload's values in their columns; answers its shape number (0: raw).
    fn place<'a>(&mut self, c: &mut Columns<'a>, payload: &'a Json) -> Result<u64> {
        let Some(pairs) = split(payload.as_str(), &mut self.rebuilt) else {
            let raw = serde_json::from_str::<&RawValue>(payload.as_str())
                .map_err(|e| Error::protocol(format!("a payload is not JSON: {e}")))?;
            c.raw.push(raw);
            return Ok(RAW);
        };
        let found = if c.shapes.len() <= SCAN_SHAPES {
            c.shapes
                .iter()
                .position(|keys| {
                    keys.len() == pairs.len() && keys.iter().zip(&pairs).all(|(a, (b, _))| a == b)
                })
                .map(|i| (i as u64 + 1, self.firsts[i]))
        } else {
            let keys: Vec<String> = pairs.iter().map(|(k, _)| k.to_string()).collect();
            self.known.get(&keys).copied()
        };
        let (shape, first) = match found {
            Some(known) => known,
            None => {
                let keys: Vec<String> = pairs.iter().map(|(k, _)| k.to_string()).collect();
                let at = (c.shapes.len() as u64 + 1, c.values.len());
                c.values.resize(c.values.len() + keys.len(), Vec::new());
                c.shapes.push(keys.clone());
                self.firsts.push(at.1);
                self.known.insert(keys, at);
                at
            }
        };
        for (column, (_, value)) in c.values[first..].iter_mut().zip(pairs) {
            column.push(value);
        }
        Ok(shape)
    }
}

fn malformed(message: impl std::fmt::Display) -> Error {
    Error::protocol(format!("malformed columns: {message}"))
}

fn add(first: u64, k: u64) -> Result<u64> {
    first
        .checked_add(k)
        .ok_or_else(|| malformed("a version or position overflows"))
}

fn push_run(runs: &mut Vec<u64>, shape: u64) {
    match runs.as_mut_slice() {
        [.., last, count] if *last == shape => *count += 1,
        _ => runs.extend([shape, 1]),
    }
}

/// A JSON object's members in order, if `text` is an object that [`write_string`] and its raw
/// member values rebuild byte for byte (compact, no duplicate-sensitive surprises). `rebuilt`
/// is scratch space.
fn split<'a>(text: &'a str, rebuilt: &mut String) -> Option<Vec<(Cow<'a, str>, &'a RawValue)>> {
    if !text.starts_with('{') {
        return None;
    }
    let Members(pairs) = serde_json::from_str(text).ok()?;
    rebuilt.clear();
    rebuilt.push('{');
    for (k, (key, value)) in pairs.iter().enumerate() {
        if k > 0 {
            rebuilt.push(',');
        }
        write_string(rebuilt, key);
        rebuilt.push(':');
        rebuilt.push_str(value.get());
    }
    rebuilt.push('}');
    (rebuilt == text).then_some(pairs)
}

/// An object key, borrowed from the text unless it holds escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> std::result::Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> std::result::Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> std::result::Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// An object's members, in order, values kept as raw text.
struct Members<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: MapAccess<'de>>(
                self,
                mut map: M,
            ) -> std::result::Result<Self::Value, M::Error> {
                let mut pairs = Vec::new();
                while let Some((Key(key), value)) = map.next_entry::<Key<'de>, &'de RawValue>()? {
                    pairs.push((key, value));
                }
                Ok(Members(pairs))
            }
        }
        d.deserialize_map(V)
    }
}

mod read;
use read::{id_at, Payloads, RunCursor};

#[cfg(test)]
mod tests;
