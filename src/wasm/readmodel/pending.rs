//! Read models of a synced store show pending events on top of their stored records: the
//! handlers run over the pending events against the stored records, in memory, for each
//! `get` and `query` (pending events are few); nothing of it is stored, so a rebase or a
//! rejection never needs a rollback.

use crate::core::json::Json;
use crate::engine::Store;
use crate::error::Result;
use crate::store::{IndexKey, IndexQuery, ReadModelStore, RecordWrite};
use crate::wasm::readmodel::follow::run_handlers;
use crate::wasm::readmodel::Definition;

/// What the pending events change: one write per key (`None`: deleted). A pending event
/// whose handler throws is left out with the ones after it.
pub(crate) async fn pending_writes(
    routed: &Store,
    store: &Store,
    def: &Definition,
) -> Result<Vec<RecordWrite>> {
    let pending: Vec<_> = routed
        .pending_events()
        .await?
        .into_iter()
        .filter(|e| def.filter.matches(e))
        .collect();
    if pending.is_empty() {
        return Ok(Vec::new());
    }
    Ok(run_handlers(store, def, &pending).await?.0)
}

/// The record `key` with the pending writes on top.
pub(crate) async fn get(
    store: &Store,
    def: &Definition,
    writes: &[RecordWrite],
    key: &str,
) -> Result<Option<Json>> {
    match writes.iter().find(|w| w.key == key) {
        Some(w) => Ok(w.value.as_ref().map(|(json, _)| json.clone())),
        None => store.record(&def.name, key).await,
    }
}

fn index_value(json: &Json, index: &str) -> Option<IndexKey> {
    let value = js_sys::JSON::parse(json.as_str()).ok()?;
    let field = js_sys::Reflect::get(&value, &index.into()).ok()?;
    crate::wasm::readmodel::index_key(&field, index).ok()
}

/// The query's answer with the pending writes on top: stored hits not overwritten, plus
/// written records in the range, in index order then key order.
pub(crate) async fn query(
    store: &Store,
    def: &Definition,
    writes: &[RecordWrite],
    query: &IndexQuery,
) -> Result<Vec<(String, Json)>> {
    if writes.is_empty() {
        return store.query_records(&def.name, query).await;
    }
    let mut wider = query.clone();
    wider.limit = query.limit.map(|l| l.saturating_add(writes.len()));
    let stored = store.query_records(&def.name, &wider).await?;
    let mut hits: Vec<(IndexKey, String, Json)> = stored
        .into_iter()
        .filter(|(key, _)| !writes.iter().any(|w| w.key == *key))
        .filter_map(|(key, json)| Some((index_value(&json, &query.index)?, key, json)))
        .collect();
    for w in writes {
        let Some((json, entries)) = &w.value else {
            continue;
        };
        for (name, k) in entries {
            if *name == query.index && query.range.contains(k) {
                hits.push((k.clone(), w.key.clone(), json.clone()));
            }
        }
    }
    hits.sort_by(|a, b| a.0.cmp_key(&b.0).then_with(|| a.1.cmp(&b.1)));
    if query.reverse {
        hits.reverse();
    }
    Ok(hits
        .into_iter()
        .take(query.limit.unwrap_or(usize::MAX))
        .map(|(_, k, j)| (k, j))
        .collect())
}
