//! A synced store's pending events on top of a read model's stored records: the handlers run
//! over the pending events in memory for each `get` and `query` (pending events are few), and
//! their writes overlay the stored records. Nothing of it is stored, so a rebase or a
//! rejection never needs a rollback.

use crate::core::json::Json;
use crate::error::Result;
use crate::store::{IndexKey, IndexQuery, RecordWrite};

use super::cache::Reader;

/// The record `key` with the pending `writes` on top.
pub(super) async fn get(
    stored: &Reader<'_>,
    writes: &[RecordWrite],
    key: &str,
) -> Result<Option<Json>> {
    match writes.iter().find(|w| w.key == key) {
        Some(w) => Ok(w.value.as_ref().map(|(json, _)| json.clone())),
        None => stored.record(key).await,
    }
}

/// The value of the record field `index` as an index key (`None`: absent or not indexable).
fn index_value(json: &Json, index: &str) -> Option<IndexKey> {
    let record: serde_json::Map<String, serde_json::Value> = json.decode().ok()?;
    match record.get(index)? {
        serde_json::Value::String(s) => Some(IndexKey::Text(s.clone())),
        serde_json::Value::Number(n) => n.as_f64().filter(|n| n.is_finite()).map(IndexKey::Number),
        _ => None,
    }
}

/// The query's answer with the pending `writes` on top: stored hits not overwritten, plus
/// written records in the range, in index order then key order.
pub(super) async fn query(
    stored: &Reader<'_>,
    writes: &[RecordWrite],
    query: &IndexQuery,
) -> Result<Vec<(String, Json)>> {
    if writes.is_empty() {
        return stored.query(query).await;
    }
    let mut wider = query.clone();
    wider.limit = query.limit.map(|l| l.saturating_add(writes.len()));
    let stored = stored.query(&wider).await?;
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
