//! Pages of events as JavaScript values for the live views ([`crate::cqrs::live`]): a page
//! crosses the wasm boundary once, as one array, and JavaScript folds it. On IndexedDB the
//! page is read without decoding in wasm ([`Store::read_all_js`]); elsewhere it is converted
//! from [`RecordedEvent`]s. Either way the store has upcast the events.

use js_sys::{Array, Reflect};
use wasm_bindgen::JsValue;

use crate::core::event::{Position, RecordedEvent};
use crate::cqrs::live::{Batch, Page, Pages};
use crate::engine::Store;
use crate::error::Result;
use crate::store::{EventStore, ReadAllOptions};
use crate::wasm::convert::recorded_to_js;

/// Events per page when pages are read without decoding: their cost is a read transaction,
/// not decoding, so larger pages pay.
const JS_PAGE: usize = 10_000;

/// A page of events as one JavaScript array of event objects.
pub(crate) struct JsBatch {
    events: Array,
    len: usize,
}

impl JsBatch {
    pub(crate) fn new(events: Array) -> Self {
        let len = events.length() as usize;
        JsBatch { events, len }
    }

    /// The events, as handed to JavaScript.
    pub(crate) fn array(&self) -> &Array {
        &self.events
    }

    fn field(&self, index: usize, key: &str) -> JsValue {
        Reflect::get(&self.events.get(index as u32), &JsValue::from_str(key))
            .unwrap_or(JsValue::UNDEFINED)
    }

    /// "event {id} ({type}) of {stream}", for error messages.
    pub(crate) fn describe(&self, index: usize) -> String {
        let text = |key| self.field(index, key).as_string().unwrap_or_default();
        format!(
            "event {} ({}) of {}",
            text("id"),
            text("type"),
            text("stream")
        )
    }
}

impl Batch for JsBatch {
    fn len(&self) -> usize {
        self.len
    }

    fn position(&self, index: usize) -> Position {
        Position(self.field(index, "position").as_f64().unwrap_or(0.0) as u64)
    }
}

impl Page for JsBatch {
    fn truncate(&mut self, len: usize) {
        if len < self.len {
            self.events.set_length(len as u32);
            self.len = len;
        }
    }
}

/// Reads pages of a store as [`JsBatch`]es.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct JsPages;

impl JsPages {
    /// The confirmed events `options` selects, as a JavaScript array.
    pub(crate) async fn read_js(store: &Store, options: &ReadAllOptions) -> Result<JsValue> {
        match store.read_all_js(options).await? {
            Some(events) => Ok(events.into()),
            None => recorded_to_js(&store.read_all(options).await?),
        }
    }
}

impl Pages<Store> for JsPages {
    type Page = JsBatch;

    fn page_size(&self, store: &Store, preferred: usize) -> usize {
        match store.reads_js_pages() {
            true => preferred.max(JS_PAGE),
            false => preferred,
        }
    }

    async fn read(&self, store: &Store, options: &ReadAllOptions) -> Result<JsBatch> {
        Ok(JsBatch::new(JsPages::read_js(store, options).await?.into()))
    }

    fn convert(&self, events: &[RecordedEvent]) -> Result<JsBatch> {
        Ok(JsBatch::new(recorded_to_js(events)?.into()))
    }
}
