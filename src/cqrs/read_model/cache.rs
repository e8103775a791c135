//! The read-model record cache: repeated [`get`](super::ReadModelView::get) and
//! [`query`](super::ReadModelView::query) of unchanged records are answered from memory.
//!
//! What it holds is the **stored** records (a synced store's pending events are laid on top
//! afterwards, as without the cache). An entry stays until the model's own fold commits a
//! write to its key (any write drops every cached query), or the model is cleared (rebuild,
//! log reset, new version). Other tabs' writes are covered by when the cache is used at all:
//! only while this tab's view has folded every event it knows of ([`Reader::new`]). Another
//! tab's append moves this tab's head first (the change channel), so reads go to the store
//! until this tab's fold has committed the same events, and that commit drops the keys.
//!
//! A read that started before a commit must not put the value it read back after the commit
//! dropped its key: each entry is only stored if no invalidation happened since its read began
//! (a generation count).

use std::cell::RefCell;
use std::collections::HashMap;

use crate::core::json::Json;
use crate::cqrs::live::View;
use crate::engine::Store;
use crate::error::Result;
use crate::store::{EventStore as _, IndexQuery, ReadModelStore as _};

/// Records cached at most (past it, the cache starts again empty).
const MAX_RECORDS: usize = 10_000;

/// Query answers cached at most (past it, the cached queries start again empty).
const MAX_QUERIES: usize = 64;

/// Answers longer than this many records are not cached.
const MAX_QUERY_ROWS: usize = 5_000;

/// One read model's cached stored records and query answers.
#[derive(Default)]
pub(super) struct RecordCache(RefCell<Entries>);

#[derive(Default)]
struct Entries {
    /// Counts invalidations: an answer read across one is not stored.
    generation: u64,
    records: HashMap<String, Option<Json>>,
    queries: Vec<(IndexQuery, Vec<(String, Json)>)>,
}

impl RecordCache {
    /// Drops the cached records `keys` and every cached query (the fold committed writes to
    /// them).
    pub(super) fn written<'k>(&self, keys: impl IntoIterator<Item = &'k str>) {
        let mut e = self.0.borrow_mut();
        e.generation += 1;
        for key in keys {
            e.records.remove(key);
        }
        e.queries.clear();
    }

    /// Drops everything (the model's records were cleared).
    pub(super) fn clear(&self) {
        let mut e = self.0.borrow_mut();
        e.generation += 1;
        e.records.clear();
        e.queries.clear();
    }

    fn generation(&self) -> u64 {
        self.0.borrow().generation
    }
}

/// Reads of one model's stored records, through the cache when it can be trusted.
pub(super) struct Reader<'a> {
    cache: &'a RecordCache,
    store: &'a Store,
    model: &'a str,
    usable: bool,
}

impl<'a> Reader<'a> {
    /// A reader for `model`; it uses the cache only while `view` has folded every event this
    /// tab knows of, is running and has not stopped at a failing event.
    pub(super) fn new(
        cache: &'a RecordCache,
        store: &'a Store,
        model: &'a str,
        view: &View,
    ) -> Self {
        let usable = !view.is_closed()
            && view.error().is_none()
            && view.checkpoint() >= store.changes().head();
        Reader {
            cache,
            store,
            model,
            usable,
        }
    }

    /// The stored record `key` (`None`: absent).
    pub(super) async fn record(&self, key: &str) -> Result<Option<Json>> {
        if self.usable {
            if let Some(found) = self.cache.0.borrow().records.get(key) {
                return Ok(found.clone());
            }
        }
        let generation = self.cache.generation();
        let found = self.store.record(self.model, key).await?;
        if self.usable {
            let mut e = self.cache.0.borrow_mut();
            if e.generation == generation {
                if e.records.len() >= MAX_RECORDS {
                    e.records.clear();
                }
                e.records.insert(key.to_owned(), found.clone());
            }
        }
        Ok(found)
    }

    /// The stored records `query` selects.
    pub(super) async fn query(&self, query: &IndexQuery) -> Result<Vec<(String, Json)>> {
        if self.usable {
            let e = self.cache.0.borrow();
            if let Some((_, rows)) = e.queries.iter().find(|(q, _)| q == query) {
                return Ok(rows.clone());
            }
        }
        let generation = self.cache.generation();
        let rows = self.store.query_records(self.model, query).await?;
        if self.usable && rows.len() <= MAX_QUERY_ROWS {
            let mut e = self.cache.0.borrow_mut();
            if e.generation == generation {
                if e.queries.len() >= MAX_QUERIES {
                    e.queries.clear();
                }
                e.queries.push((query.clone(), rows.clone()));
            }
        }
        Ok(rows)
    }
}
