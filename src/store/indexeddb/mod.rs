//! The browser's durable event store, on IndexedDB (wasm32 only).
//!
//! Layout, transaction shape, group commit, multi-tab behaviour, schema versions and measured
//! numbers are described in `docs/storage.md`. In short: one record per append (large appends
//! are split into ~48 KiB chunks) in object store `chunks`, keyed by the position of the
//! chunk's last event; index `stream` on `[stream, last version]`; a unique index `prev` on the
//! position before each record, which lets an append write without reading first (a writer
//! with a stale view of the head fails and retries with fresh reads). Event ids are checked
//! against an in-memory map of the log's ids instead of a per-event index. Appends issued
//! while a transaction is running share the next one (group commit), each with its own
//! expected-version check and result.
//!
//! ```no_run
//! # async fn demo() -> eventfold::Result<()> {
//! use eventfold::store::indexeddb::{IdbOptions, IndexedDbStore};
//! use eventfold::{EventId, EventStore, EventType, ExpectedVersion, Json, NewEvent, StreamId};
//! let store = IndexedDbStore::open(IdbOptions::new("shop")).await?;
//! let created = NewEvent::new(EventId::from_bytes([1; 16]), EventType::new("OrderCreated")?,
//!     Json::parse(r#"{"customerId":"c1"}"#)?);
//! store.append(&StreamId::new("order-1")?, vec![created], ExpectedVersion::NoStream).await?;
//! store.close();
//! # Ok(()) }
//! ```

mod append;
mod channel;
mod codec;
mod compact;
mod health;
mod job;
mod js_read;
mod models;
mod queue;
mod read;
mod request;
mod reset;
mod schema;

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use wasm_bindgen::JsCast;
use wasm_bindgen::JsValue;
use web_sys::{IdbDatabase, IdbTransaction, IdbTransactionMode};

use crate::core::append::{AppendResult, StoreLimits};
use crate::core::event::{NewEvent, Position, RecordedEvent, StreamId, Version};
use crate::core::expected::ExpectedVersion;
use crate::error::{Error, Result};
use crate::store::{
    Activity, ChangeNotifier, CompactionStep, EventStore, Foreground, ReadAllOptions,
    ReadStreamOptions,
};

pub use codec::CHUNK_TARGET_BYTES;
pub use compact::{MERGE_KEY, PROGRESS_KEY, WINDOW_EVENTS};
pub use health::StorageInfo;
pub use request::error_from_dom_exception;
pub use schema::{CHUNKS, ENTRIES_INDEX, PREV_INDEX, RECORDS, STATE, STREAM_INDEX};

/// The schema version this build creates and understands.
pub const SCHEMA_VERSION: u32 = 3;

/// When a write transaction reports completion (IndexedDB's `durability` hint). Read from
/// options as `"default"`, `"relaxed"` or `"strict"`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    /// The browser's default (relaxed in Chromium since version 121).
    #[default]
    Default,
    /// Complete once the data reached the operating system: fast, may lose the last appends
    /// on a power cut (never on a tab or browser crash).
    Relaxed,
    /// Complete once the data is flushed to disk: slower, survives power loss.
    Strict,
}

/// Options of [`IndexedDbStore::open`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdbOptions {
    /// The IndexedDB database name (one store per name and origin). Must not be empty.
    pub name: String,
    /// The durability of append transactions.
    pub durability: Durability,
    /// Size limits enforced on appends.
    pub limits: StoreLimits,
    /// Whether the store merges adjacent small records in idle time (see
    /// [`IndexedDbStore::compact_step`]); default `true`.
    pub auto_compact: bool,
}

impl IdbOptions {
    /// Options for database `name` with default durability and limits.
    pub fn new(name: impl Into<String>) -> Self {
        IdbOptions {
            name: name.into(),
            durability: Durability::Default,
            limits: StoreLimits::default(),
            auto_compact: true,
        }
    }
}

/// The shared state of one open store (the flusher task and the event callbacks hold it too).
pub(crate) struct Inner {
    /// The connection as `indexed_db_futures` holds it: typed reads off the hot paths.
    idb: indexed_db_futures::database::Database,
    /// The same connection, raw: appends, log reads and everything `request.rs` serves.
    db: IdbDatabase,
    /// The browser's message if it deleted the database's previous contents before this open.
    data_loss: Option<String>,
    name: String,
    durability: Durability,
    limits: StoreLimits,
    changes: ChangeNotifier,
    closed: RefCell<Option<String>>,
    queue: RefCell<Vec<job::Job>>,
    flushing: Cell<bool>,
    committed: Cell<u64>,
    cache: RefCell<Option<append::Cache>>,
    ids: RefCell<append::KnownIds>,
    watch: RefCell<Option<schema::CloseWatch>>,
    channel: RefCell<Option<channel::Channel>>,
    auto_compact: bool,
    /// Whether the background compaction task is running.
    compacting: Cell<bool>,
    /// This connection's appends and reads in progress, which compaction gives way to.
    activity: Rc<Activity>,
    /// How long foreground work must have stopped before compaction runs by itself (ms).
    idle_ms: Cell<f64>,
    /// The progress texts and head of the last compaction plan that found nothing to do:
    /// while they are unchanged, the log is not walked again.
    settled: RefCell<Option<compact::Settled>>,
}

impl Inner {
    /// Why the store is closed, if it is.
    fn closed_reason(&self) -> Option<String> {
        self.closed.borrow().clone()
    }

    fn check_open(&self) -> Result<()> {
        match self.closed_reason() {
            Some(reason) => Err(Error::StoreClosed { reason }),
            None => Ok(()),
        }
    }

    /// Marks the store closed (first reason wins), closes the connection and ends
    /// subscriptions. Safe to call from the database's own event callbacks.
    fn mark_closed(&self, reason: String) {
        {
            let mut closed = self.closed.borrow_mut();
            if closed.is_some() {
                return;
            }
            *closed = Some(reason);
        }
        self.db.close();
        self.changes.close();
    }

    /// Maps a DOMException to a typed error, reporting `STORE_CLOSED` once the store closed.
    fn dom_error(&self, e: request::DomError) -> Error {
        e.into_error(self.closed_reason())
    }

    /// Aborts `tx`, whose work failed with `e`, and answers the error to report: the
    /// transaction's own (quota, constraint), which says more than the request that noticed
    /// the abort, or else `e`.
    async fn abort(&self, tx: &IdbTransaction, done: request::TxDone, e: Error) -> Error {
        let _ = tx.abort();
        match done.await {
            Err(d) if d.name != "AbortError" => self.dom_error(d),
            _ => e,
        }
    }

    /// Maps an `indexed_db_futures` error.
    fn idb_error(&self, e: indexed_db_futures::error::Error) -> Error {
        self.dom_error(request::DomError::from_idb(&e))
    }

    /// Maps an exception thrown by a synchronous IndexedDB call.
    fn js_error(&self, e: JsValue) -> Error {
        self.dom_error(request::DomError::from_js(&e))
    }

    /// A transaction over `chunks`.
    fn transaction(&self, mode: IdbTransactionMode) -> Result<IdbTransaction> {
        self.transaction_on(&[CHUNKS], mode)
    }

    /// A transaction over `stores`; readwrite ones carry the store's durability.
    fn transaction_on(&self, stores: &[&str], mode: IdbTransactionMode) -> Result<IdbTransaction> {
        self.check_open()?;
        // One store by name, not as a one-element list (the list goes through WebIDL's
        // sequence conversion on every transaction).
        let names: JsValue = match stores {
            [one] => JsValue::from_str(one),
            _ => stores
                .iter()
                .map(|s| JsValue::from_str(s))
                .collect::<js_sys::Array>()
                .into(),
        };
        let durability = match (mode, self.durability) {
            (IdbTransactionMode::Readwrite, Durability::Relaxed) => Some("relaxed"),
            (IdbTransactionMode::Readwrite, Durability::Strict) => Some("strict"),
            _ => None,
        };
        let tx = match durability {
            None => self.db.transaction_with_str_sequence_and_mode(&names, mode),
            // `db.transaction(stores, mode, { durability })`: web-sys only binds the options
            // argument behind `web_sys_unstable_apis`, so it is called by name.
            Some(d) => (|| {
                let options = js_sys::Object::new();
                js_sys::Reflect::set(&options, &"durability".into(), &d.into())?;
                let f: js_sys::Function =
                    js_sys::Reflect::get(&self.db, &"transaction".into())?.dyn_into()?;
                f.call3(&self.db, &names, &"readwrite".into(), &options)?
                    .dyn_into::<IdbTransaction>()
            })(),
        };
        tx.map_err(|e| self.js_error(e))
    }

    /// Starts the background compaction unless it runs or the store does not compact.
    fn compact_when_idle(self: &Rc<Self>) {
        if self.auto_compact && !self.compacting.replace(true) {
            wasm_bindgen_futures::spawn_local(compact::run_when_idle(self.clone()));
        }
    }

    /// Records that the log now reaches `head`: wakes local subscribers and tells other tabs.
    fn published(&self, head: Position) {
        self.changes.notify(head);
        if let Some(channel) = self.channel.borrow().as_ref() {
            channel.post(head, false);
        }
    }

    /// Forgets what this connection remembers of the log (head, versions, ids) after a reset
    /// ending at `head`, counts the reset on the notifier, and tells other tabs if `ours`.
    fn was_reset(&self, head: Position, ours: bool) {
        *self.cache.borrow_mut() = None;
        *self.ids.borrow_mut() = append::KnownIds::default();
        self.changes.notify_reset(head);
        if ours {
            if let Some(channel) = self.channel.borrow().as_ref() {
                channel.post(head, true);
            }
        }
    }
}

/// An event store in an IndexedDB database: durable, shared by the tabs of one origin.
///
/// Dropping the store closes it, like [`close`](Self::close).
pub struct IndexedDbStore {
    inner: Rc<Inner>,
}

impl IndexedDbStore {
    /// Opens (creating or upgrading) the store in database `options.name`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an empty name; [`Error::SchemaTooNew`] when a newer eventfold
    /// created the database; [`Error::Unsupported`] without IndexedDB; [`Error::Storage`] when
    /// the browser refuses (the database is unchanged then);
    /// [`Error::CorruptData`] when the newest record cannot be read.
    pub async fn open(options: IdbOptions) -> Result<IndexedDbStore> {
        if options.name.trim().is_empty() {
            return Err(Error::invalid(
                "the database name must be a non-empty string",
            ));
        }
        let (idb, data_loss) = schema::open_database(&options.name).await?;
        let db = schema::raw(&idb);
        let inner = Rc::new(Inner {
            idb,
            data_loss,
            db: db.clone(),
            name: options.name,
            durability: options.durability,
            limits: options.limits,
            changes: ChangeNotifier::default(),
            closed: RefCell::new(None),
            queue: RefCell::new(Vec::new()),
            flushing: Cell::new(false),
            committed: Cell::new(0),
            cache: RefCell::new(None),
            ids: RefCell::default(),
            watch: RefCell::new(None),
            channel: RefCell::new(None),
            auto_compact: options.auto_compact,
            compacting: Cell::new(false),
            activity: Activity::new(Rc::new(js_sys::Date::now)),
            idle_ms: Cell::new(compact::IDLE_MS),
            settled: RefCell::new(None),
        });
        let weak: Weak<Inner> = Rc::downgrade(&inner);
        let on_close: Rc<dyn Fn(String)> = Rc::new(move |reason| {
            if let Some(inner) = weak.upgrade() {
                inner.mark_closed(reason);
            }
        });
        *inner.watch.borrow_mut() = Some(schema::CloseWatch::new(&db, on_close));
        let weak = Rc::downgrade(&inner);
        let on_head: Rc<dyn Fn(Position, bool)> = Rc::new(move |head, reset| {
            if let Some(inner) = weak.upgrade() {
                if reset {
                    return inner.was_reset(head, false);
                }
                // Another tab appended: what this connection remembers is outdated.
                let mut cache = inner.cache.borrow_mut();
                if cache.as_ref().is_some_and(|c| c.head < head) {
                    *cache = None;
                }
                drop(cache);
                inner.changes.notify(head);
            }
        });
        *inner.channel.borrow_mut() = channel::Channel::open(&inner.name, on_head);
        let store = IndexedDbStore { inner };
        let head = read::head(&store.inner).await?;
        store.inner.changes.notify(head);
        store.inner.compact_when_idle();
        Ok(store)
    }

    /// The database name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The browser's message when it deleted this database's previous contents before this
    /// open: Chromium does so when it finds the files corrupt (after a crash, a full disk or a
    /// damaged file) and says so on the next open. `None` otherwise, and in browsers that do not
    /// say.
    pub fn data_loss(&self) -> Option<&str> {
        self.inner.data_loss.as_deref()
    }

    /// The limits this store enforces.
    pub fn limits(&self) -> StoreLimits {
        self.inner.limits
    }

    /// How many append transactions this store committed (a diagnostic: with group commit,
    /// concurrent appends share one).
    pub fn transactions_committed(&self) -> u64 {
        self.inner.committed.get()
    }

    /// Whether the store is closed, and why.
    pub fn closed_reason(&self) -> Option<String> {
        self.inner.closed_reason()
    }

    /// Closes the store: every later call fails with [`Error::StoreClosed`] and subscriptions
    /// end. Appends already handed to a transaction still complete. Idempotent.
    pub fn close(&self) {
        self.inner.mark_closed("the store was closed".into());
        self.inner.watch.borrow_mut().take();
        self.inner.channel.borrow_mut().take();
    }

    /// How much storage this origin uses, its quota, and whether it is persisted.
    ///
    /// # Errors
    /// [`Error::StoreClosed`] after [`close`](Self::close); [`Error::Unsupported`] where
    /// `navigator.storage` is missing; [`Error::Storage`] when the browser fails.
    pub async fn storage(&self) -> Result<StorageInfo> {
        self.inner.check_open()?;
        health::storage_info().await
    }

    /// Up to `page` raw chunk records after `after` (headers checked) and whether more may
    /// follow: the JavaScript read path decodes their event texts with `JSON.parse`.
    ///
    /// # Errors
    /// [`Error::CorruptData`] naming a record whose header does not fit; store failures.
    pub async fn chunk_page(&self, after: Position, page: u32) -> Result<(js_sys::Array, bool)> {
        read::chunk_page(&self.inner, after, page).await
    }

    /// The raw chunk records of `stream` covering the versions `options` selects (headers
    /// checked), with that version range `lo..=hi`, or `None` when it selects nothing: the
    /// JavaScript read path parses their event texts with `JSON.parse`.
    ///
    /// # Errors
    /// [`Error::CorruptData`] naming a record whose header does not fit; store failures.
    pub async fn stream_records(
        &self,
        stream: &StreamId,
        options: &ReadStreamOptions,
    ) -> Result<Option<(u64, u64, js_sys::Array)>> {
        read::stream_records(&self.inner, stream, options).await
    }

    /// Runs one compaction step now: merges the next run of adjacent small records (at most
    /// [`WINDOW_EVENTS`] events) into one record per stream and reports what it did (the
    /// new records are built outside any transaction, in slices that let appends run, and
    /// written in one short transaction); call it until `more` is false to compact the whole log. Positions,
    /// versions, ids and every read answer stay the same. The store also does this by itself
    /// once no append, read of the log or catch-up has run on this connection for a second
    /// (unless `auto_compact` is off; see [`Activity`]).
    ///
    /// # Errors
    /// [`Error::CorruptData`] when a record to merge is damaged (nothing changes); store
    /// failures.
    pub async fn compact_step(&self) -> Result<CompactionStep> {
        compact::step(&self.inner).await
    }

    /// Sets how long foreground work (appends, reads of the log, catch-ups) must have stopped
    /// on this connection before it compacts by itself (1,000 ms when opened; checked again
    /// before each wait, so set right after opening it applies to the first one).
    pub fn set_compaction_idle_ms(&self, ms: f64) {
        self.inner.idle_ms.set(if ms.is_finite() {
            ms.max(0.0)
        } else {
            compact::IDLE_MS
        });
    }

    /// Asks the browser to keep this origin's data under storage pressure
    /// (`navigator.storage.persist()`). Returns whether storage is now persisted.
    ///
    /// # Errors
    /// As [`storage`](Self::storage).
    pub async fn request_persistence(&self) -> Result<bool> {
        self.inner.check_open()?;
        health::request_persistence().await
    }
}

impl Drop for IndexedDbStore {
    fn drop(&mut self) {
        self.close();
    }
}

impl EventStore for IndexedDbStore {
    async fn append(
        &self,
        stream: &StreamId,
        events: Vec<NewEvent>,
        expected: ExpectedVersion,
    ) -> Result<AppendResult> {
        queue::append(&self.inner, stream.clone(), events, expected).await
    }

    async fn read_stream(
        &self,
        stream: &StreamId,
        options: &ReadStreamOptions,
    ) -> Result<Vec<RecordedEvent>> {
        read::read_stream(&self.inner, stream, options).await
    }

    async fn read_all(&self, options: &ReadAllOptions) -> Result<Vec<RecordedEvent>> {
        read::read_all(&self.inner, options).await
    }

    async fn stream_version(&self, stream: &StreamId) -> Result<Version> {
        read::stream_version(&self.inner, stream).await
    }

    async fn head(&self) -> Result<Position> {
        read::head(&self.inner).await
    }

    fn changes(&self) -> &ChangeNotifier {
        &self.inner.changes
    }

    fn foreground(&self) -> Foreground {
        self.inner.activity.begin()
    }
}
