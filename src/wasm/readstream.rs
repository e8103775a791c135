//! `readStream` and aggregate loads on the IndexedDB store through JavaScript: the stream's
//! chunk records come from the store, their event texts are parsed by `JSON.parse` and checked
//! in a JS loop (`streamEvents` in `js/bindings.js`), as `readAll` does (`readall.rs`): no
//! decoding in wasm and no conversion back.

use js_sys::{Array, Reflect};
use wasm_bindgen::prelude::*;

use crate::core::event::StreamId;
use crate::error::{Error, Result};
use crate::store::indexeddb::IndexedDbStore;
use crate::store::{Direction, ReadStreamOptions};

#[wasm_bindgen(module = "/src/wasm/js/bindings.js")]
extern "C" {
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

/// The events of `stream` that `options` selects, as a JavaScript array of plain objects in
/// the stored shape (not upcast).
///
/// # Errors
/// [`Error::CorruptData`] naming a record whose text does not fit its header, or a stream
/// missing versions; store failures.
pub(crate) async fn read_stream(
    store: &IndexedDbStore,
    stream: &StreamId,
    options: &ReadStreamOptions,
) -> Result<Array> {
    let out = Array::new();
    let Some((lo, hi, records)) = store.stream_records(stream, options).await? else {
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
        let key = Reflect::get(&records.get(index), &"p".into())
            .ok()
            .and_then(|p| p.as_f64())
            .unwrap_or_default();
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
