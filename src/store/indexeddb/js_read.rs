//! The JavaScript read path of the global log: chunk records come from the store, their event
//! texts are parsed by `JSON.parse` and filtered in a JS loop (`collectEvents` in
//! `src/wasm/js/bindings.js`), so a page of events reaches JavaScript without being decoded in
//! wasm.

use js_sys::{Array, Reflect};
use wasm_bindgen::prelude::*;

use super::IndexedDbStore;
use crate::core::event::{Position, StreamId};
use crate::error::{Error, Result};
use crate::store::{Direction, ReadAllOptions, ReadStreamOptions};

#[wasm_bindgen(module = "/src/wasm/js/bindings.js")]
extern "C" {
    #[wasm_bindgen(js_name = collectEvents)]
    fn collect_events(
        records: &Array,
        after: f64,
        limit: f64,
        prefixes: &Array,
        types: &JsValue,
        out: &Array,
        problem: &Array,
    ) -> i32;

    #[wasm_bindgen(js_name = streamEvents)]
    fn stream_events(
        records: &Array,
        stream: &str,
        lo: f64,
        hi: f64,
        out: &Array,
        problem: &Array,
    ) -> i32;
}

/// Chunk records fetched per page when no limit is smaller.
const PAGE: u32 = 128;

fn last_position(record: &JsValue) -> Option<u64> {
    Reflect::get(record, &"p".into())
        .ok()?
        .as_f64()
        .map(|p| p as u64)
}

impl IndexedDbStore {
    /// The events of the confirmed log that `options` selects, as a JavaScript array of plain
    /// objects (`RecordedEvent` shapes), exactly as [`read_all`](crate::EventStore::read_all)
    /// would return them.
    ///
    /// # Errors
    /// As `read_all`: a closed store, `CORRUPT_DATA` for a record whose text does not fit its
    /// header.
    pub async fn read_all_js(&self, options: &ReadAllOptions) -> Result<Array> {
        let store = self;
        let out = Array::new();
        let limit = options.limit.unwrap_or(usize::MAX);
        if limit == 0 {
            return Ok(out);
        }
        let prefixes: Array = options
            .filter
            .stream_prefixes
            .iter()
            .map(|p| JsValue::from_str(p))
            .collect();
        let types: JsValue = match &options.filter.types {
            None => JsValue::NULL,
            Some(ts) => ts
                .iter()
                .map(|t| JsValue::from_str(t.as_str()))
                .collect::<Array>()
                .into(),
        };
        // A record holds at least one event (hollow ones, from a reset, none: the loop goes on).
        let page = u32::try_from(limit).unwrap_or(PAGE).clamp(1, PAGE);
        let problem = Array::new();
        let mut after = options.after;
        loop {
            let (records, more) = store.chunk_page(after, page).await?;
            // Events up to the last key of the previous page were read with it (a page never
            // ends inside a compacted window), even if a compaction rewrote records in between.
            let bad = collect_events(
                &records,
                after.0 as f64,
                limit as f64,
                &prefixes,
                &types,
                &out,
                &problem,
            );
            if let Ok(index) = u32::try_from(bad) {
                let record = records.get(index);
                return Err(Error::CorruptData {
                    record: format!("chunks/{}", last_position(&record).unwrap_or_default()),
                    message: problem.get(0).as_string().unwrap_or_default(),
                });
            }
            if out.length() as usize >= limit || !more {
                return Ok(out);
            }
            match last_position(&records.get(records.length().saturating_sub(1))) {
                Some(p) if p > after.0 => after = Position(p),
                _ => return Ok(out),
            }
        }
    }

    /// The events of `stream` that `options` selects, as a JavaScript array of plain objects
    /// in the stored shape, exactly as [`read_stream`](crate::EventStore::read_stream) would
    /// return them: the stream's records are parsed by `JSON.parse` and checked against their
    /// headers in a JS loop (`streamEvents` in `src/wasm/js/bindings.js`).
    ///
    /// # Errors
    /// As `read_stream`: a closed store, `CORRUPT_DATA` for a record whose text does not fit
    /// its header or a stream missing versions.
    pub async fn read_stream_js(
        &self,
        stream: &StreamId,
        options: &ReadStreamOptions,
    ) -> Result<Array> {
        let out = Array::new();
        let Some((lo, hi, records)) = self.stream_records(stream, options).await? else {
            return Ok(out);
        };
        let problem = Array::new();
        let bad = stream_events(
            &records,
            stream.as_str(),
            lo as f64,
            hi as f64,
            &out,
            &problem,
        );
        if let Ok(index) = u32::try_from(bad) {
            let key = last_position(&records.get(index)).unwrap_or_default();
            return Err(Error::CorruptData {
                record: format!("chunks/{key}"),
                message: problem.get(0).as_string().unwrap_or_default(),
            });
        }
        if u64::from(out.length()) != hi - lo + 1 {
            return Err(Error::CorruptData {
                record: format!("chunks/stream/{stream}"),
                message: format!(
                    "stream {stream} should hold versions {lo}..={hi} but {} were found",
                    out.length()
                ),
            });
        }
        if options.direction == Direction::Backward {
            out.reverse();
        }
        Ok(out)
    }
}
