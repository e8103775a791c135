//! The database schema: names, versions, and the upgrade from every older version.
//!
//! | version | object stores and indexes |
//! |---|---|
//! | 1 | `chunks` (key path `p`), index `stream` on `[s, v]` (unique) |
//! | 2 | + field `q` (the position before the chunk) and index `prev` on it (unique): two writers that both believe the log ends at `q` cannot both append; + `state` (out-of-line keys) and `records` (key path `[m, k]`, multiEntry index `entries` on `x`) for snapshots, projection state and read models |
//! | 3 | index `prev` becomes multiEntry (still unique): a compacted record lists the position before each of its events in `q` |
//!
//! Version 1 is the first prototype's layout, which read the head before every write; an
//! upgrade from it fills `q` into every existing record and builds the `prev` index.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{
    Event, IdbCursorWithValue, IdbDatabase, IdbFactory, IdbIndexParameters,
    IdbObjectStoreParameters, IdbOpenDbRequest, IdbTransaction, IdbVersionChangeEvent,
};

use super::request::{DomError, Request};
use crate::error::{Error, Result};

use super::SCHEMA_VERSION;

/// The object store holding the log, one record per chunk of an append.
pub const CHUNKS: &str = "chunks";

/// Index of `chunks` on `[stream, last version]`: stream reads and stream versions.
pub const STREAM_INDEX: &str = "stream";

/// Unique multiEntry index of `chunks` on `q`, the position before the chunk (before each of
/// its events, for a compacted record): the log's compare-and-set.
pub const PREV_INDEX: &str = "prev";

/// Keyed JSON state beside the log (snapshots, projection checkpoints); out-of-line keys.
pub const STATE: &str = "state";

/// Read-model records, key path `[m, k]` (model, record key).
pub const RECORDS: &str = "records";

/// MultiEntry index of `records` on `x`, the `[model, index, indexKey, recordKey]` entries.
pub const ENTRIES_INDEX: &str = "entries";

/// The `IDBFactory` of this global scope (window or worker).
///
/// # Errors
/// [`Error::Unsupported`] where IndexedDB is missing (Node, some private modes).
pub(crate) fn factory() -> Result<IdbFactory> {
    let global = js_sys::global();
    js_sys::Reflect::get(&global, &JsValue::from_str("indexedDB"))
        .ok()
        .and_then(|f| f.dyn_into::<IdbFactory>().ok())
        .ok_or_else(|| Error::Unsupported {
            message: "IndexedDB is not available in this environment".into(),
        })
}

fn create_v1(db: &IdbDatabase) -> Result<(), JsValue> {
    let params = IdbObjectStoreParameters::new();
    params.set_key_path(&JsValue::from_str("p"));
    let chunks = db.create_object_store_with_optional_parameters(CHUNKS, &params)?;
    let unique = IdbIndexParameters::new();
    unique.set_unique(true);
    let key_path = js_sys::Array::of2(&JsValue::from_str("s"), &JsValue::from_str("v"));
    chunks.create_index_with_str_sequence_and_optional_parameters(
        STREAM_INDEX,
        &key_path,
        &unique,
    )?;
    Ok(())
}

type Callback = Closure<dyn FnMut(Event)>;

/// Version 1 → 2: creates the new stores and the `prev` index, then fills `q` into every
/// record (a cursor walk; the returned callback must live until the upgrade transaction ends).
fn upgrade_1_to_2(tx: &IdbTransaction) -> Result<Callback, JsValue> {
    create_v2_stores(tx)?;
    let chunks = tx.object_store(CHUNKS)?;
    let walk = chunks.open_cursor()?;
    let r = walk.clone();
    let fill = Closure::<dyn FnMut(Event)>::new(move |_: Event| {
        let Some(cursor) = r
            .result()
            .ok()
            .and_then(|c| c.dyn_into::<IdbCursorWithValue>().ok())
        else {
            return; // done
        };
        if let Ok(record) = cursor.value() {
            let field = |k: &str| {
                js_sys::Reflect::get(&record, &JsValue::from_str(k))
                    .ok()
                    .and_then(|v| v.as_f64())
            };
            // A record without numeric p and n is left as it is; reads report it as corrupt.
            if let (Some(p), Some(n)) = (field("p"), field("n")) {
                let q = JsValue::from_f64(p - n);
                if js_sys::Reflect::set(&record, &JsValue::from_str("q"), &q).is_ok() {
                    let _ = cursor.update(&record);
                }
            }
        }
        let _ = cursor.continue_();
    });
    walk.set_onsuccess(Some(fill.as_ref().unchecked_ref()));
    Ok(fill)
}

fn create_v2_stores(tx: &IdbTransaction) -> Result<(), JsValue> {
    let db = tx.db();
    db.create_object_store(STATE)?;
    let params = IdbObjectStoreParameters::new();
    params.set_key_path(&js_sys::Array::of2(
        &JsValue::from_str("m"),
        &JsValue::from_str("k"),
    ));
    let records = db.create_object_store_with_optional_parameters(RECORDS, &params)?;
    let multi = IdbIndexParameters::new();
    multi.set_multi_entry(true);
    records.create_index_with_str_and_optional_parameters(ENTRIES_INDEX, "x", &multi)?;
    create_prev_index(tx)
}

/// The `prev` index as version 3 has it: unique and multiEntry.
fn create_prev_index(tx: &IdbTransaction) -> Result<(), JsValue> {
    let chunks = tx.object_store(CHUNKS)?;
    let unique = IdbIndexParameters::new();
    unique.set_unique(true);
    unique.set_multi_entry(true);
    chunks.create_index_with_str_and_optional_parameters(PREV_INDEX, "q", &unique)?;
    Ok(())
}

/// Version 2 → 3: the `prev` index is built again, multiEntry (every version-2 record has one
/// number in `q`, so its entries do not change).
fn upgrade_2_to_3(tx: &IdbTransaction) -> Result<(), JsValue> {
    tx.object_store(CHUNKS)?.delete_index(PREV_INDEX)?;
    create_prev_index(tx)
}

/// Brings a database at `old` to `new` inside the `versionchange` transaction. Returns the
/// callbacks of requests still running in it.
fn upgrade(db: &IdbDatabase, tx: &IdbTransaction, old: u32, new: u32) -> Result<Vec<Callback>> {
    let step = match (old, new) {
        (0, SCHEMA_VERSION) => create_v1(db)
            .and_then(|()| create_v2_stores(tx))
            .map(|()| Vec::new()),
        // Version 1 → 2 builds the `prev` index as version 3 has it already.
        (1, SCHEMA_VERSION) => upgrade_1_to_2(tx).map(|c| vec![c]),
        (2, SCHEMA_VERSION) => upgrade_2_to_3(tx).map(|()| Vec::new()),
        (old, new) => {
            return Err(Error::Storage {
                message: format!("no upgrade path from schema version {old} to {new}"),
            })
        }
    };
    step.map_err(|e| {
        let e = DomError::from_js(&e);
        Error::Storage {
            message: format!(
                "upgrading the database from schema version {old} to {new} failed: {}: {}",
                e.name, e.message
            ),
        }
    })
}

/// Opens (creating or upgrading) database `name` at [`SCHEMA_VERSION`].
///
/// # Errors
/// [`Error::SchemaTooNew`] when a newer eventfold created the database; [`Error::Storage`]
/// when the upgrade fails (nothing changes then: the upgrade transaction rolls back);
/// [`Error::Unsupported`] without IndexedDB.
pub(crate) async fn open_database(name: &str) -> Result<IdbDatabase> {
    let factory = factory()?;
    let req: IdbOpenDbRequest = factory
        .open_with_u32(name, SCHEMA_VERSION)
        .map_err(|e| DomError::from_js(&e).into_error(None))?;
    let upgrade_error: Rc<RefCell<Option<Error>>> = Rc::default();
    let running: Rc<RefCell<Vec<Callback>>> = Rc::default();
    let (slot, r, keep) = (upgrade_error.clone(), req.clone(), running.clone());
    let on_upgrade =
        Closure::<dyn FnMut(IdbVersionChangeEvent)>::new(move |ev: IdbVersionChangeEvent| {
            let old = ev.old_version() as u32;
            let new = ev.new_version().unwrap_or(0.0) as u32;
            let db = r
                .result()
                .ok()
                .and_then(|d| d.dyn_into::<IdbDatabase>().ok());
            let outcome = match (db, r.transaction()) {
                (Some(db), Some(tx)) => upgrade(&db, &tx, old, new)
                    .map(|callbacks| keep.borrow_mut().extend(callbacks))
                    .map_err(|e| (e, Some(tx))),
                _ => Err((
                    Error::Storage {
                        message: "the upgrade request has no database".into(),
                    },
                    None,
                )),
            };
            if let Err((e, tx)) = outcome {
                *slot.borrow_mut() = Some(e);
                if let Some(tx) = tx {
                    let _ = tx.abort();
                }
            }
        });
    req.set_onupgradeneeded(Some(on_upgrade.as_ref().unchecked_ref()));
    let result = Request::new(req.clone().unchecked_into()).await;
    req.set_onupgradeneeded(None);
    drop(on_upgrade);
    drop(running);
    if let Some(e) = upgrade_error.borrow_mut().take() {
        return Err(e);
    }
    match result {
        Ok(db) => db.dyn_into::<IdbDatabase>().map_err(|_| Error::Storage {
            message: "opening the database returned no database".into(),
        }),
        Err(e) if e.name == "VersionError" => Err(Error::SchemaTooNew {
            found: current_version(&factory, name).await.unwrap_or(0),
            supported: SCHEMA_VERSION,
        }),
        Err(e) => Err(e.into_error(None)),
    }
}

/// The version of an existing database, read by opening it without a version.
async fn current_version(factory: &IdbFactory, name: &str) -> Option<u32> {
    let req = factory.open(name).ok()?;
    let db = Request::new(req.unchecked_into()).await.ok()?;
    let db = db.dyn_into::<IdbDatabase>().ok()?;
    let version = db.version() as u32;
    db.close();
    Some(version)
}

/// Calls `on_close(reason)` when another connection asks to upgrade or delete the database
/// (`versionchange`) or the browser closes it (`close`). The returned guard keeps the
/// callbacks alive; drop it when the store closes.
pub(crate) struct CloseWatch {
    db: IdbDatabase,
    _on_version_change: Closure<dyn FnMut(Event)>,
    _on_close: Closure<dyn FnMut(Event)>,
}

impl CloseWatch {
    pub fn new(db: &IdbDatabase, on_close: Rc<dyn Fn(String)>) -> Self {
        let (f, d) = (on_close.clone(), db.clone());
        let on_version_change = Closure::<dyn FnMut(Event)>::new(move |ev: Event| {
            let to = ev
                .dyn_ref::<IdbVersionChangeEvent>()
                .and_then(IdbVersionChangeEvent::new_version);
            d.close();
            f(match to {
                Some(v) => format!(
                    "another tab upgraded the database to schema version {v}; reload to use the new version"
                ),
                None => "another tab deleted the database".to_string(),
            });
        });
        let f = on_close;
        let on_close = Closure::<dyn FnMut(Event)>::new(move |_: Event| {
            f("the browser closed the database connection".to_string())
        });
        db.set_onversionchange(Some(on_version_change.as_ref().unchecked_ref()));
        db.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        CloseWatch {
            db: db.clone(),
            _on_version_change: on_version_change,
            _on_close: on_close,
        }
    }
}

impl Drop for CloseWatch {
    fn drop(&mut self) {
        self.db.set_onversionchange(None);
        self.db.set_onclose(None);
    }
}
