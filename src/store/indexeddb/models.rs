//! Derived data kept beside the log: keyed state records (snapshots, projection checkpoints)
//! and read-model records with secondary indexes.
//!
//! - `state`: out-of-line string keys, values are JSON text.
//! - `records`: key path `[m, k]` (model, record key); `j` is the value as JSON text and `x`
//!   lists the record's index entries as `[m, index, indexKey, k]` arrays, indexed by the
//!   multiEntry index `entries`. A query over index `i` of model `m` is a key range over
//!   `[m, i, …]`, which IndexedDB already orders by index key (numbers before strings), then
//!   by record key: exactly the order the contract asks for, without loading the model.

use indexed_db_futures::prelude::*;
use wasm_bindgen::JsValue;
use web_sys::{IdbKeyRange, IdbTransactionMode};

use super::request::{DomError, Request, TxDone};
use super::schema::{ENTRIES_INDEX, RECORDS, STATE};
use super::{IndexedDbStore, Inner};
use crate::core::json::Json;
use crate::error::{Error, Result};
use crate::store::{Bound, IndexKey, IndexQuery, ReadModelStore, RecordWrite, StateStore};

fn key_js(key: &IndexKey) -> JsValue {
    match key {
        IndexKey::Number(n) => JsValue::from_f64(*n),
        IndexKey::Text(s) => JsValue::from_str(s),
    }
}

fn array(items: &[&JsValue]) -> JsValue {
    items.iter().copied().collect::<js_sys::Array>().into()
}

/// Above every number and string: the end of a key prefix.
fn top() -> JsValue {
    js_sys::Array::new().into()
}

fn json_of(value: &JsValue, record: impl FnOnce() -> String) -> Result<Json> {
    value
        .as_string()
        .and_then(|t| Json::parse(t).ok())
        .ok_or_else(|| Error::CorruptData {
            record: record(),
            message: "the stored value is not JSON text".into(),
        })
}

/// Runs `f` on a readwrite transaction over `stores` and waits for it to complete.
async fn write_tx(
    inner: &Inner,
    stores: &[&str],
    f: impl FnOnce(&web_sys::IdbTransaction) -> std::result::Result<(), JsValue>,
) -> Result<()> {
    let tx = inner.transaction_on(stores, IdbTransactionMode::Readwrite)?;
    let done = TxDone::new(&tx);
    if let Err(e) = f(&tx) {
        let _ = tx.abort();
        return Err(inner.js_error(e));
    }
    #[allow(deprecated)] // web-sys marks IDBTransaction.commit() deprecated; it is standard
    let _ = tx.commit();
    done.await.map_err(|e| inner.dom_error(e))
}

/// The value under `key` in `store`, read with `indexed_db_futures`' typed `get` on a readonly
/// transaction of its own (`None` when absent). The crate reads a stored `null` as absent too;
/// the store never writes one (state values are JSON text, records are objects).
async fn get_one(inner: &Inner, store: &str, key: JsValue) -> Result<Option<JsValue>> {
    inner.check_open()?;
    let tx = inner
        .idb
        .transaction(store)
        .build()
        .map_err(|e| inner.idb_error(e))?;
    let os = tx.object_store(store).map_err(|e| inner.idb_error(e))?;
    let get = os
        .get::<JsValue, JsValue, _>(key)
        .primitive()
        .map_err(|e| inner.idb_error(e))?;
    get.await.map_err(|e| inner.idb_error(e))
}

impl StateStore for IndexedDbStore {
    async fn get_state(&self, key: &str) -> Result<Option<Json>> {
        match get_one(&self.inner, STATE, JsValue::from_str(key)).await? {
            None => Ok(None),
            Some(value) => json_of(&value, || format!("{STATE}/{key}")).map(Some),
        }
    }

    async fn put_state(&self, key: &str, value: Json) -> Result<()> {
        write_tx(&self.inner, &[STATE], |tx| {
            let text = JsValue::from_str(value.as_str());
            tx.object_store(STATE)?
                .put_with_key(&text, &JsValue::from_str(key))
                .map(drop)
        })
        .await
    }

    async fn delete_state(&self, key: &str) -> Result<()> {
        write_tx(&self.inner, &[STATE], |tx| {
            tx.object_store(STATE)?
                .delete(&JsValue::from_str(key))
                .map(drop)
        })
        .await
    }

    /// The read, the compare and the write happen in one readwrite transaction, which
    /// IndexedDB serializes against every other tab's writes to the state store.
    async fn swap_state(
        &self,
        key: &str,
        expected: Option<&Json>,
        new: Option<Json>,
    ) -> Result<bool> {
        let inner = &self.inner;
        let tx = inner.transaction_on(&[STATE], IdbTransactionMode::Readwrite)?;
        let done = TxDone::new(&tx);
        let os = tx.object_store(STATE).map_err(|e| inner.js_error(e))?;
        let js_key = JsValue::from_str(key);
        let req = Request::from_call(os.get(&js_key)).map_err(|e: DomError| inner.dom_error(e))?;
        let current = req.await.map_err(|e| inner.dom_error(e))?;
        if current.as_string().as_deref() != expected.map(Json::as_str) {
            let _ = tx.abort();
            return Ok(false);
        }
        let write = match &new {
            Some(value) => os.put_with_key(&JsValue::from_str(value.as_str()), &js_key),
            None => os.delete(&js_key),
        };
        if let Err(e) = write {
            let _ = tx.abort();
            return Err(inner.js_error(e));
        }
        #[allow(deprecated)] // see write_tx
        let _ = tx.commit();
        done.await.map_err(|e| inner.dom_error(e))?;
        Ok(true)
    }
}

fn record_js(model: &str, key: &str, value: &Json, entries: &[(String, IndexKey)]) -> JsValue {
    let (m, k) = (JsValue::from_str(model), JsValue::from_str(key));
    let x: js_sys::Array = entries
        .iter()
        .map(|(index, ik)| array(&[&m, &JsValue::from_str(index), &key_js(ik), &k]))
        .collect();
    let o = js_sys::Object::new();
    for (f, v) in [
        ("m", m.clone()),
        ("k", k.clone()),
        ("j", JsValue::from_str(value.as_str())),
        ("x", x.into()),
    ] {
        let _ = js_sys::Reflect::set(&o, &JsValue::from_str(f), &v);
    }
    o.into()
}

/// The key range of `query` over the `entries` index of `model`.
fn entries_range(model: &str, query: &IndexQuery) -> std::result::Result<IdbKeyRange, JsValue> {
    let (m, i) = (JsValue::from_str(model), JsValue::from_str(&query.index));
    // Entries are [m, i, indexKey, recordKey]; a shorter array sorts before its extensions and
    // an empty array after every number and string.
    let lower = match &query.range.lower {
        None => array(&[&m, &i]),
        Some(Bound { key, open: false }) => array(&[&m, &i, &key_js(key)]),
        Some(Bound { key, open: true }) => array(&[&m, &i, &key_js(key), &top()]),
    };
    let upper = match &query.range.upper {
        None => array(&[&m, &i, &top()]),
        Some(Bound { key, open: false }) => array(&[&m, &i, &key_js(key), &top()]),
        Some(Bound { key, open: true }) => array(&[&m, &i, &key_js(key)]),
    };
    IdbKeyRange::bound(&lower, &upper)
}

fn get(value: &JsValue, field: &str) -> JsValue {
    js_sys::Reflect::get(value, &JsValue::from_str(field)).unwrap_or(JsValue::UNDEFINED)
}

impl ReadModelStore for IndexedDbStore {
    async fn record(&self, model: &str, key: &str) -> Result<Option<Json>> {
        let id = array(&[&JsValue::from_str(model), &JsValue::from_str(key)]);
        match get_one(&self.inner, RECORDS, id).await? {
            None => Ok(None),
            Some(value) => {
                json_of(&get(&value, "j"), || format!("{RECORDS}/{model}/{key}")).map(Some)
            }
        }
    }

    async fn commit_records(
        &self,
        model: &str,
        writes: Vec<RecordWrite>,
        state_key: &str,
        state_value: Json,
    ) -> Result<()> {
        write_tx(&self.inner, &[RECORDS, STATE], |tx| {
            let records = tx.object_store(RECORDS)?;
            for w in &writes {
                match &w.value {
                    Some((value, entries)) => {
                        records.put(&record_js(model, &w.key, value, entries))?;
                    }
                    None => {
                        let id = array(&[&JsValue::from_str(model), &JsValue::from_str(&w.key)]);
                        records.delete(&id)?;
                    }
                }
            }
            let text = JsValue::from_str(state_value.as_str());
            tx.object_store(STATE)?
                .put_with_key(&text, &JsValue::from_str(state_key))
                .map(drop)
        })
        .await
    }

    async fn query_records(&self, model: &str, query: &IndexQuery) -> Result<Vec<(String, Json)>> {
        let inner = &self.inner;
        let range = entries_range(model, query).map_err(|e| inner.js_error(e))?;
        let limit = query.limit.unwrap_or(usize::MAX);
        if limit == 0 {
            inner.check_open()?;
            return Ok(Vec::new());
        }
        // Through the crate's typed `getAll` on the `entries` index, in a readonly transaction
        // of its own; the query is the `IDBKeyRange` built above (a range whose bounds cross
        // fails there with `DataError`, before anything is opened, as it always did).
        inner.check_open()?;
        let tx = inner
            .idb
            .transaction(RECORDS)
            .build()
            .map_err(|e| inner.idb_error(e))?;
        let os = tx.object_store(RECORDS).map_err(|e| inner.idb_error(e))?;
        let index = os.index(ENTRIES_INDEX).map_err(|e| inner.idb_error(e))?;
        let all = index
            .get_all::<JsValue>()
            .with_query::<JsValue, _>(JsValue::from(range));
        let request = match (query.reverse, u32::try_from(limit)) {
            (false, Ok(n)) => all.with_limit(n).primitive(),
            _ => all.primitive(),
        };
        let found = request
            .map_err(|e| inner.idb_error(e))?
            .await
            .map_err(|e| inner.idb_error(e))?;
        let mut rows = found
            .collect::<std::result::Result<Vec<JsValue>, _>>()
            .map_err(|e| inner.idb_error(e))?;
        if query.reverse {
            rows.reverse();
        }
        rows.into_iter()
            .take(limit)
            .map(|row| {
                let key = get(&row, "k").as_string().unwrap_or_default();
                let json = json_of(&get(&row, "j"), || format!("{RECORDS}/{model}/{key}"))?;
                Ok((key, json))
            })
            .collect()
    }

    async fn clear_records(&self, model: &str) -> Result<()> {
        let m = JsValue::from_str(model);
        let range = IdbKeyRange::bound(&array(&[&m]), &array(&[&m, &top()]))
            .map_err(|e| self.inner.js_error(e))?;
        write_tx(&self.inner, &[RECORDS], |tx| {
            tx.object_store(RECORDS)?.delete(&range).map(drop)
        })
        .await
    }
}
