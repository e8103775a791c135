//! Reading a columns page back: the cursors over its run-length coded payload columns and
//! the rebuilding of each payload's text and id ([`super::Columns::decode`] drives them).

use serde_json::value::RawValue;

use super::{malformed, Columns, ID_DIGITS, RAW};
use crate::core::event::EventId;
use crate::core::json::{write_string, Json};
use crate::error::Result;

/// The `i`th id, its dashes put back.
pub(super) fn id_at(ids: &str, i: usize) -> Result<EventId> {
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
pub(super) struct RunCursor<'c> {
    runs: std::slice::ChunksExact<'c, u64>,
    shape: u64,
    left: u64,
    what: &'static str,
}

impl<'c> RunCursor<'c> {
    pub(super) fn new(runs: &'c [u64], what: &'static str) -> Result<Self> {
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

    pub(super) fn next(&mut self) -> Result<u64> {
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

    pub(super) fn finish(mut self) -> Result<()> {
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
pub(super) struct Payloads<'c, 'a> {
    /// Per shape: its keys written as JSON (`"key":`) and its first column.
    shapes: Vec<(Vec<String>, usize)>,
    values: &'c [Vec<&'a RawValue>],
    /// Per shape: how many payloads used it so far.
    used: Vec<usize>,
    raw: &'c [&'a RawValue],
    raw_used: usize,
}

impl<'c, 'a> Payloads<'c, 'a> {
    pub(super) fn new(c: &'c Columns<'a>) -> Result<Self> {
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

    pub(super) fn next(&mut self, shape: u64) -> Result<Json> {
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

    pub(super) fn finish(self) -> Result<()> {
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
