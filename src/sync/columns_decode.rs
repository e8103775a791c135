//! Decoding a columns page back into events (`Columns::decode`), checking that every column
//! agrees with the others before anything is returned.

use serde_json::value::RawValue;

use super::{Columns, ID_DIGITS, RAW};
use crate::core::event::{
    EventId, EventType, Position, RecordedEvent, StreamId, Timestamp, Version,
};
use crate::core::json::{write_string, Json};
use crate::error::{Error, Result};

impl Columns<'_> {
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
fn names<T>(list: &[String], make: fn(&str) -> Result<T>) -> Result<Vec<T>> {
    list.iter()
        .map(|s| make(s).map_err(|e| malformed(e.to_string())))
        .collect()
}
fn pick<'t, T>(table: &'t [T], index: u64, what: &str) -> Result<&'t T> {
    usize::try_from(index)
        .ok()
        .and_then(|i| table.get(i))
        .ok_or_else(|| malformed(format!("{what} index {index} out of range")))
}
fn malformed(message: impl std::fmt::Display) -> Error {
    Error::protocol(format!("malformed columns: {message}"))
}

fn add(first: u64, k: u64) -> Result<u64> {
    first
        .checked_add(k)
        .ok_or_else(|| malformed("a version or position overflows"))
}
/// The `i`th id, its dashes put back.
fn id_at(ids: &str, i: usize) -> Result<EventId> {
    let digits = ids
        .get(i * ID_DIGITS..(i + 1) * ID_DIGITS)
        .ok_or_else(|| malformed(format!("id of event {i} is not 32 hex digits")))?;
    let mut s = String::with_capacity(36);
    for (part, (from, to)) in [(0, 8), (8, 12), (12, 16), (16, 20), (20, 32)]
        .into_iter()
        .enumerate()
    {
        if part > 0 {
            s.push('-');
        }
        s.push_str(&digits[from..to]);
    }
    EventId::parse(s).map_err(|e| malformed(e.to_string()))
}

/// Walks a run-length coded column (`[shape, count]` pairs) event by event.
struct RunCursor<'c> {
    runs: std::slice::ChunksExact<'c, u64>,
    shape: u64,
    left: u64,
    what: &'static str,
}

impl<'c> RunCursor<'c> {
    fn new(runs: &'c [u64], what: &'static str) -> Result<Self> {
        if runs.len() % 2 != 0 {
            return Err(malformed(format!("{what} is not a list of pairs")));
        }
        Ok(RunCursor {
            runs: runs.chunks_exact(2),
            shape: RAW,
            left: 0,
            what,
        })
    }

    fn next(&mut self) -> Result<u64> {
        while self.left == 0 {
            let run = self
                .runs
                .next()
                .ok_or_else(|| malformed(format!("{} runs end before the events", self.what)))?;
            (self.shape, self.left) = (run[0], run[1]);
        }
        self.left -= 1;
        Ok(self.shape)
    }

    fn finish(mut self) -> Result<()> {
        if self.left > 0 || self.runs.any(|run| run[1] > 0) {
            return Err(malformed(format!(
                "{} runs hold more payloads than events",
                self.what
            )));
        }
        Ok(())
    }
}

/// Rebuilds payload texts from shapes and value columns.
struct Payloads<'c, 'a> {
    /// Per shape: its keys written as JSON (`"key":`) and its first column.
    shapes: Vec<(Vec<String>, usize)>,
    values: &'c [Vec<&'a RawValue>],
    /// Per shape: how many payloads used it so far.
    used: Vec<usize>,
    raw: &'c [&'a RawValue],
    raw_used: usize,
}

impl<'c, 'a> Payloads<'c, 'a> {
    fn new(c: &'c Columns<'a>) -> Result<Self> {
        let mut shapes = Vec::with_capacity(c.shapes.len());
        let mut first = 0;
        for keys in &c.shapes {
            let written = keys
                .iter()
                .map(|k| {
                    let mut s = String::with_capacity(k.len() + 3);
                    write_string(&mut s, k);
                    s.push(':');
                    s
                })
                .collect();
            shapes.push((written, first));
            first += keys.len();
        }
        if first != c.values.len() {
            return Err(malformed(format!(
                "{} value columns for shapes of {first} keys",
                c.values.len()
            )));
        }
        Ok(Payloads {
            used: vec![0; shapes.len()],
            shapes,
            values: &c.values,
            raw: &c.raw,
            raw_used: 0,
        })
    }

    fn next(&mut self, shape: u64) -> Result<Json> {
        if shape == RAW {
            let raw = self
                .raw
                .get(self.raw_used)
                .ok_or_else(|| malformed("raw payloads end before the events"))?;
            self.raw_used += 1;
            return Ok(Json::trusted(raw.get()));
        }
        let s = usize::try_from(shape - 1)
            .ok()
            .filter(|&s| s < self.shapes.len())
            .ok_or_else(|| malformed(format!("shape {shape} out of range")))?;
        let (keys, first) = &self.shapes[s];
        let row = self.used[s];
        self.used[s] += 1;
        let mut text = String::from("{");
        for (k, key) in keys.iter().enumerate() {
            let value = self.values[first + k].get(row).ok_or_else(|| {
                malformed(format!("values of shape {shape} end before the events"))
            })?;
            if k > 0 {
                text.push(',');
            }
            text.push_str(key);
            text.push_str(value.get());
        }
        text.push('}');
        Ok(Json::trusted(text))
    }

    fn finish(self) -> Result<()> {
        let extra_value = self
            .shapes
            .iter()
            .zip(&self.used)
            .any(|((keys, first), &used)| {
                self.values[*first..*first + keys.len()]
                    .iter()
                    .any(|c| c.len() != used)
            });
        if extra_value || self.raw_used != self.raw.len() {
            return Err(malformed("values left over after the last event"));
        }
        Ok(())
    }
}
