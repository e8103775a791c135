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

use indexed_db_futures::database::{Database, VersionChangeEvent};
use indexed_db_futures::error::OpenDbError;
use indexed_db_futures::factory::DBFactory;
use indexed_db_futures::internals::SystemRepr;
use indexed_db_futures::prelude::*;
use indexed_db_futures::KeyPath;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{
    Event, IdbCursorWithValue, IdbDatabase, IdbIndexParameters, IdbOpenDbRequest, IdbTransaction,
    IdbVersionChangeEvent,
};

use super::request::DomError;
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

/// The `IDBFactory` of this global scope (window or worker), through `indexed_db_futures`.
///
/// # Errors
/// [`Error::Unsupported`] where IndexedDB is missing (Node, some private modes).
fn factory() -> Result<DBFactory> {
    DBFactory::new().map_err(|_| Error::Unsupported {
        message: "IndexedDB is not available in this environment".into(),
    })
}

/// The raw connection under the crate's handle: the hot paths (appends, log reads) and the
/// request layer of `request.rs` use it.
pub(crate) fn raw(db: &Database) -> IdbDatabase {
    db.as_sys().clone().unchecked_into()
}

fn create_v1(db: &Database) -> std::result::Result<(), DomError> {
    db.create_object_store(CHUNKS)
        .with_key_path(KeyPath::One("p"))
        .build()?
        .create_index(STREAM_INDEX, KeyPath::from_iter(["s", "v"]))
        .with_unique(true)
        .build()?;
    Ok(())
}

type Callback = Closure<dyn FnMut(Event)>;

/// Version 1 → 2: creates the new stores and the `prev` index, then fills `q` into every
/// record (a cursor walk; the returned callback must live until the upgrade transaction ends).
/// The walk stays on raw requests: the crate's cursors are futures, and an upgrade callback
/// that awaits needs its `async-upgrade` feature (tokio's channel and task machinery) for one
/// walk that only a version-1 prototype database ever takes.
fn upgrade_1_to_2(db: &Database, tx: &IdbTransaction) -> std::result::Result<Callback, DomError> {
    create_v2_stores(db, tx)?;
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

fn create_v2_stores(db: &Database, tx: &IdbTransaction) -> std::result::Result<(), DomError> {
    db.create_object_store(STATE).build()?;
    db.create_object_store(RECORDS)
        .with_key_path(KeyPath::from_iter(["m", "k"]))
        .build()?
        .create_index(ENTRIES_INDEX, KeyPath::One("x"))
        .with_multi_entry(true)
        .build()?;
    create_prev_index(tx)
}

/// The `prev` index as version 3 has it: unique and multiEntry. `chunks` exists already here,
/// and the crate reaches an existing store of the `versionchange` transaction only through a
/// store it created in it, so this takes the raw transaction.
fn create_prev_index(tx: &IdbTransaction) -> std::result::Result<(), DomError> {
    let chunks = tx.object_store(CHUNKS)?;
    let unique = IdbIndexParameters::new();
    unique.set_unique(true);
    unique.set_multi_entry(true);
    chunks.create_index_with_str_and_optional_parameters(PREV_INDEX, "q", &unique)?;
    Ok(())
}

/// Version 2 → 3: the `prev` index is built again, multiEntry (every version-2 record has one
/// number in `q`, so its entries do not change).
fn upgrade_2_to_3(tx: &IdbTransaction) -> std::result::Result<(), DomError> {
    tx.object_store(CHUNKS)?.delete_index(PREV_INDEX)?;
    create_prev_index(tx)
}

/// Brings a database at `old` to `new` inside the `versionchange` transaction `tx`. Returns
/// the callbacks of requests still running in it.
fn upgrade(db: &Database, tx: &IdbTransaction, old: u32, new: u32) -> Result<Vec<Callback>> {
    let step = match (old, new) {
        (0, SCHEMA_VERSION) => create_v1(db)
            .and_then(|()| create_v2_stores(db, tx))
            .map(|()| Vec::new()),
        // Version 1 → 2 builds the `prev` index as version 3 has it already.
        (1, SCHEMA_VERSION) => upgrade_1_to_2(db, tx).map(|c| vec![c]),
        (2, SCHEMA_VERSION) => upgrade_2_to_3(tx).map(|()| Vec::new()),
        (old, new) => {
            return Err(Error::Storage {
                message: format!("no upgrade path from schema version {old} to {new}"),
            })
        }
    };
    step.map_err(|e| Error::Storage {
        message: format!(
            "upgrading the database from schema version {old} to {new} failed: {}: {}",
            e.name, e.message
        ),
    })
}

/// Opens (creating or upgrading) database `name` at [`SCHEMA_VERSION`], through
/// `indexed_db_futures`' open request (its `upgradeneeded` listener runs the migrations).
/// Also returns the browser's message when it says it deleted the database's previous
/// contents before this open (see [`data_loss`]).
///
/// # Errors
/// [`Error::SchemaTooNew`] when a newer eventfold created the database; [`Error::Storage`]
/// when the upgrade fails (nothing changes then: the upgrade transaction rolls back);
/// [`Error::Unsupported`] without IndexedDB.
pub(crate) async fn open_database(name: &str) -> Result<(Database, Option<String>)> {
    let factory = factory()?;
    let upgrade_error: Rc<RefCell<Option<Error>>> = Rc::default();
    let running: Rc<RefCell<Vec<Callback>>> = Rc::default();
    // The crate hands the upgrade listener the event and the database, not the
    // `versionchange` transaction: it is read from the request, set once the request exists.
    let request: Rc<RefCell<Option<IdbOpenDbRequest>>> = Rc::default();
    let (slot, keep, req) = (upgrade_error.clone(), running.clone(), request.clone());
    let on_upgrade = move |ev: VersionChangeEvent, db: Database| {
        let old = ev.old_version() as u32;
        let new = ev.new_version().unwrap_or(0.0) as u32;
        let outcome = match req.borrow().as_ref().and_then(|r| r.transaction()) {
            Some(tx) => upgrade(&db, &tx, old, new)
                .map(|callbacks| keep.borrow_mut().extend(callbacks))
                .map_err(|e| (e, Some(tx))),
            None => Err((
                Error::Storage {
                    message: "the upgrade request has no transaction".into(),
                },
                None,
            )),
        };
        // The failure is reported by aborting the transaction (the open then fails with
        // `AbortError` and this error replaces it), not by returning it: the crate would
        // throw it from the listener, an uncaught exception in the page.
        if let Err((e, tx)) = outcome {
            *slot.borrow_mut() = Some(e);
            if let Some(tx) = tx {
                let _ = tx.abort();
            }
        }
        Ok(())
    };
    let open = factory
        .open_db(name)
        .with_version(SCHEMA_VERSION)
        .with_on_upgrade_needed(on_upgrade)
        .build()
        .map_err(|e| open_error(&e).into_error(None))?;
    *request.borrow_mut() = Some(open.as_sys().clone());
    // The crate's event has no `dataLoss`: a listener of our own reads it from the raw event.
    let lost: Rc<RefCell<Option<String>>> = Rc::default();
    let seen = lost.clone();
    let on_loss = Closure::<dyn FnMut(Event)>::new(move |e: Event| {
        *seen.borrow_mut() = data_loss(&e);
    });
    // Without the listener the open works as well; only the report of a loss is missed.
    let _ = open
        .as_sys()
        .add_event_listener_with_callback("upgradeneeded", on_loss.as_ref().unchecked_ref());
    let result = open.await;
    request.borrow_mut().take();
    drop(on_loss);
    drop(running);
    if let Some(e) = upgrade_error.borrow_mut().take() {
        return Err(e);
    }
    match result {
        Ok(db) => Ok((db, lost.borrow_mut().take())),
        Err(e) => match open_error(&e) {
            e if e.name == "VersionError" => Err(Error::SchemaTooNew {
                found: current_version(&factory, name).await.unwrap_or(0),
                supported: SCHEMA_VERSION,
            }),
            e => Err(e.into_error(None)),
        },
    }
}

/// What Chromium says on the first open after it deleted a database it found corrupt (for
/// example after a crash left its files unreadable): the `upgradeneeded` event carries a
/// non-standard `dataLoss: "total"` and a `dataLossMessage`. Other browsers say nothing.
fn data_loss(event: &Event) -> Option<String> {
    let field = |name: &str| js_sys::Reflect::get(event, &JsValue::from_str(name)).ok();
    if field("dataLoss")?.as_string()? != "total" {
        return None;
    }
    Some(
        field("dataLossMessage")
            .and_then(|m| m.as_string())
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| "the browser deleted the database".into()),
    )
}

/// The DOMException behind a failed open.
fn open_error(e: &OpenDbError) -> DomError {
    match e {
        OpenDbError::Base(e) => DomError::from_idb(e),
        other => DomError {
            name: "UnknownError".into(),
            message: other.to_string(),
        },
    }
}

/// The version of an existing database, read by opening it without a version.
async fn current_version(factory: &DBFactory, name: &str) -> Option<u32> {
    let db = factory.open_db(name).build().ok()?.await.ok()?;
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
