//! The engine's one handle on a store: [`Store`], the view every binding works on.
//!
//! A store is opened on one [`Backend`] (memory, IndexedDB, ...). Once `sync` is attached
//! ([`Store::attach_sync`]), streams in the sync scope are served by a
//! [`Replica`]: appends to them become **pending** until a sync confirms them, and reads of a
//! stream show pending events on top of the confirmed ones. Everything that writes or reads
//! through a `Store` (aggregates, buses, sagas, side-effect handlers, projections, read models,
//! subscriptions, time travel) therefore sees one consistent view, and nothing can append to a
//! synced stream behind the replica's back: the raw backend is private to this module (like
//! redb hands users a `Database`, never its `StorageBackend`).
//!
//! Routing rules (what goes through the replica once attached):
//! - `append`, `append_decided`, `read_stream`, `stream_version`, `put_state`: through the
//!   replica (it decides per stream whether it is synced);
//! - the global log (`read_all`, `head`, `changes`): the confirmed log, positions never move;
//!   followers fold [`Store::pending_events`] on top themselves;
//! - state and read-model records: the backend (the replica keeps its own records there).
//!
//! Reads come back upcast ([`Store::register_upcaster`]); what is stored and pushed is never
//! rewritten.
//!
//! ```
//! use eventfold::engine::Store;
//! use eventfold::{EventId, EventStore, EventType, ExpectedVersion, Json, MemoryStore, NewEvent, StreamId};
//! # futures::executor::block_on(async {
//! let store = Store::memory(MemoryStore::new(eventfold::store::fixed_clock(0)));
//! let e = NewEvent::new(EventId::from_bytes([1; 16]), EventType::new("Created")?, Json::parse("{}")?);
//! store.append(&StreamId::new("order-1")?, vec![e], ExpectedVersion::NoStream).await?;
//! assert_eq!(store.head().await?.0, 1);
//! # Ok::<(), eventfold::Error>(()) }).unwrap();
//! ```

mod backend;
mod compaction;
pub mod subscription;
mod upcast;

use std::cell::RefCell;
use std::rc::Rc;

pub use backend::Backend;
use backend::Kind;
pub use compaction::CompactionReport;
pub use upcast::UpcastStep;

use crate::core::append::{AppendResult, StoreLimits};
use crate::core::event::{NewEvent, Position, RecordedEvent, StreamId, Version};
use crate::core::expected::ExpectedVersion;
use crate::core::json::Json;
use crate::core::upcast::Upcasters;
use crate::error::{Error, Result};
#[cfg(feature = "sync")]
use crate::store::Clock;
use crate::store::{
    ChangeNotifier, EventStore, Foreground, IndexQuery, MemoryStore, ReadAllOptions,
    ReadModelStore, ReadStreamOptions, RecordWrite, StateStore,
};
#[cfg(feature = "sync")]
use crate::sync::replica::Replica;

#[cfg(target_arch = "wasm32")]
use crate::store::indexeddb::{IndexedDbStore, StorageInfo};
#[cfg(target_arch = "wasm32")]
use crate::store::sql::{JsSqlExecutor, SqlStore};

struct Inner {
    raw: Rc<Backend>,
    #[cfg(feature = "sync")]
    replica: RefCell<Option<Rc<Replica<Backend>>>>,
    upcasters: RefCell<Upcasters<UpcastStep>>,
}

/// The one view of a store that bindings and runners use (see the module docs). Cloning it is
/// cheap and shares the store.
#[derive(Clone)]
pub struct Store(Rc<Inner>);

impl Store {
    fn new(kind: Kind) -> Self {
        Store(Rc::new(Inner {
            raw: Rc::new(Backend(kind)),
            #[cfg(feature = "sync")]
            replica: RefCell::new(None),
            upcasters: RefCell::new(Upcasters::empty()),
        }))
    }

    /// A store on an in-memory backend.
    pub fn memory(store: MemoryStore) -> Self {
        Store::new(Kind::Memory(Box::new(store)))
    }

    /// A store on an IndexedDB database (wasm32).
    #[cfg(target_arch = "wasm32")]
    pub fn indexeddb(store: IndexedDbStore) -> Self {
        Store::new(Kind::IndexedDb(store))
    }

    /// A store on the runtime's SQLite (Durable Object, node:sqlite, bun:sqlite; wasm32).
    #[cfg(target_arch = "wasm32")]
    pub fn sqlite(store: SqlStore<JsSqlExecutor>) -> Self {
        Store::new(Kind::Sql(Box::new(store)))
    }

    /// What a sync server needs to serve this store: its id (kept in the database of a SQL
    /// store; `fresh` for a memory store, whose log lives as long as it does) and its append
    /// limits.
    ///
    /// # Errors
    /// `UNSUPPORTED` on an IndexedDB store (a browser tab is no server).
    pub fn serve_identity(&self, fresh: impl FnOnce() -> String) -> Result<(String, StoreLimits)> {
        match &self.0.raw.0 {
            Kind::Memory(s) => Ok((fresh(), s.limits())),
            #[cfg(target_arch = "wasm32")]
            Kind::Sql(s) => Ok((s.store_id().to_owned(), s.limits())),
            #[cfg(target_arch = "wasm32")]
            Kind::IndexedDb(_) => Err(Error::Unsupported {
                message: "a sync server needs EventStore.sqlite or EventStore.inMemory".into(),
            }),
        }
    }

    /// The name of the durable database under this store (`None` in memory): what tabs of one
    /// database share (Web Locks, broadcast channels).
    pub fn durable_name(&self) -> Option<&str> {
        match &self.0.raw.0 {
            Kind::Memory(_) => None,
            #[cfg(target_arch = "wasm32")]
            Kind::IndexedDb(s) => Some(s.name()),
            #[cfg(target_arch = "wasm32")]
            Kind::Sql(_) => None,
        }
    }

    /// The browser's message when it deleted the durable database's previous contents before
    /// this open (Chromium, after finding the files corrupt); `None` otherwise and in memory.
    pub fn data_loss(&self) -> Option<&str> {
        match &self.0.raw.0 {
            Kind::Memory(_) => None,
            #[cfg(target_arch = "wasm32")]
            Kind::IndexedDb(s) => s.data_loss(),
            #[cfg(target_arch = "wasm32")]
            Kind::Sql(_) => None,
        }
    }

    /// Whether a sync is attached (always `false` without the `sync` feature).
    pub fn synced(&self) -> bool {
        #[cfg(feature = "sync")]
        return self.replica().is_some();
        #[cfg(not(feature = "sync"))]
        false
    }

    /// The attached sync replica, if `sync` was started on this store.
    #[cfg(feature = "sync")]
    pub fn replica(&self) -> Option<Rc<Replica<Backend>>> {
        self.0.replica.borrow().clone()
    }

    /// Attaches a sync replica for streams starting with one of `scope` (every stream when
    /// empty; streams starting with `$` are never synced): from now on appends to them are
    /// pending until a sync confirms them.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when a sync is attached already.
    #[cfg(feature = "sync")]
    pub fn attach_sync(
        &self,
        scope: Vec<String>,
        limits: StoreLimits,
        clock: Clock,
    ) -> Result<Rc<Replica<Backend>>> {
        if self.replica().is_some() {
            return Err(Error::invalid(
                "this store is already syncing: call store.sync() once",
            ));
        }
        let replica = Rc::new(Replica::new(self.0.raw.clone(), scope, limits, clock));
        *self.0.replica.borrow_mut() = Some(replica.clone());
        Ok(replica)
    }

    /// How many times the pending set changed (0 without a sync): a live view compares it with
    /// the count its shown state includes.
    pub fn pending_head(&self) -> Position {
        #[cfg(feature = "sync")]
        if let Some(r) = self.replica() {
            return r.pending_changes().head();
        }
        Position(0)
    }

    /// Resolves when the pending set changed beyond `seen` (`true`), or its notifier closed
    /// (`false`); never resolves without a sync.
    pub async fn pending_changed_beyond(&self, seen: Position) -> bool {
        #[cfg(feature = "sync")]
        if let Some(r) = self.replica() {
            return r.pending_changes().wait_beyond(seen).await;
        }
        let _ = seen;
        std::future::pending().await
    }

    /// The pending events to fold on top of confirmed state (none without a sync), in local
    /// append order, upcast.
    ///
    /// # Errors
    /// Backend failures; `CORRUPT_DATA` for an unreadable pending set.
    pub async fn pending_events(&self) -> Result<Vec<RecordedEvent>> {
        #[cfg(feature = "sync")]
        if let Some(r) = self.replica() {
            return self.upcast(r.pending_events().await?);
        }
        Ok(Vec::new())
    }

    /// Registers an upcaster: events of `event_type` at schema version `from` are read through
    /// `step`, one version up ([`crate::core::upcast`] has the rule). Every read of this store
    /// (streams, the log, subscriptions, aggregates, projections, read models, buses) sees
    /// the upcast shape; stored events are never rewritten, and a sync pushes them as stored.
    ///
    /// # Errors
    /// `INVALID_INPUT` for an empty type, version 0, a step already registered there, or a
    /// registration from inside an upcaster.
    pub fn register_upcaster(
        &self,
        event_type: &str,
        from: u32,
        step: Rc<UpcastStep>,
    ) -> Result<()> {
        self.0
            .upcasters
            .try_borrow_mut()
            .map_err(|_| Error::invalid("an upcaster cannot register upcasters"))?
            .register_step(event_type, from, step)
    }

    /// `events` in their current shape.
    fn upcast(&self, events: Vec<RecordedEvent>) -> Result<Vec<RecordedEvent>> {
        let upcasters = self.0.upcasters.borrow();
        if upcasters.is_empty() {
            return Ok(events);
        }
        events.into_iter().map(|e| upcasters.apply_to(e)).collect()
    }

    /// The same rule on a page of JavaScript event objects (the JS read paths), in place.
    #[cfg(target_arch = "wasm32")]
    fn upcast_js(&self, events: js_sys::Array) -> Result<js_sys::Array> {
        let upcasters = self.0.upcasters.borrow();
        if !upcasters.is_empty() {
            for i in 0..events.length() {
                events.set(i, upcasters.apply_to(events.get(i))?);
            }
        }
        Ok(events)
    }

    /// Closes the store: waits on its notifiers end, and a durable store refuses later calls
    /// with `STORE_CLOSED` (appends already in flight complete). Idempotent.
    pub fn close(&self) {
        #[cfg(feature = "sync")]
        if let Some(replica) = self.replica() {
            replica.close();
        }
        match &self.0.raw.0 {
            Kind::Memory(store) => store.changes().close(),
            #[cfg(target_arch = "wasm32")]
            Kind::IndexedDb(store) => store.close(),
            #[cfg(target_arch = "wasm32")]
            Kind::Sql(store) => store.close(),
        }
    }

    /// Whether [`read_all_js`](Self::read_all_js) reads pages without decoding them in wasm
    /// (pages can then be larger: their cost is a read transaction, not decoding).
    #[cfg(target_arch = "wasm32")]
    pub fn reads_js_pages(&self) -> bool {
        matches!(self.0.raw.0, Kind::IndexedDb(_))
    }

    /// The confirmed events `options` selects as a JavaScript array, read without decoding
    /// them in wasm where the backend can (IndexedDB, SQLite); `None` where it cannot, and the caller
    /// reads [`read_all`](EventStore::read_all) instead.
    ///
    /// # Errors
    /// As `read_all`.
    #[cfg(target_arch = "wasm32")]
    pub async fn read_all_js(&self, options: &ReadAllOptions) -> Result<Option<js_sys::Array>> {
        let events = match &self.0.raw.0 {
            Kind::IndexedDb(store) => store.read_all_js(options).await?,
            Kind::Sql(store) => match store.read_all_js(options)? {
                Some(events) => events,
                None => return Ok(None),
            },
            Kind::Memory(_) => return Ok(None),
        };
        Ok(Some(self.upcast_js(events)?))
    }

    /// The events of `stream` that `options` selects as a JavaScript array (current shape),
    /// read without decoding them in wasm where the backend can (IndexedDB or SQLite, no sync attached:
    /// a synced stream shows pending events on top); `None` where it cannot, and the caller
    /// reads [`read_stream`](EventStore::read_stream) instead.
    ///
    /// # Errors
    /// As `read_stream`.
    #[cfg(target_arch = "wasm32")]
    pub async fn read_stream_js(
        &self,
        stream: &StreamId,
        options: &ReadStreamOptions,
    ) -> Result<Option<js_sys::Array>> {
        if self.synced() {
            return Ok(None);
        }
        let events = match &self.0.raw.0 {
            Kind::IndexedDb(store) => store.read_stream_js(stream, options).await?,
            Kind::Sql(store) => match store.read_stream_js(stream, options)? {
                Some(events) => events,
                None => return Ok(None),
            },
            Kind::Memory(_) => return Ok(None),
        };
        Ok(Some(self.upcast_js(events)?))
    }

    /// Storage health of the durable backend itself (`navigator.storage`, for the origin).
    ///
    /// # Errors
    /// `UNSUPPORTED` in memory or where `navigator.storage` is missing.
    #[cfg(target_arch = "wasm32")]
    pub async fn storage_estimate(&self) -> Result<StorageInfo> {
        match &self.0.raw.0 {
            Kind::IndexedDb(store) => store.storage().await,
            Kind::Memory(_) | Kind::Sql(_) => Err(Error::Unsupported {
                message: "storage() needs a durable store (EventStore.open)".into(),
            }),
        }
    }

    /// Asks the browser to keep the durable backend's data under storage pressure.
    ///
    /// # Errors
    /// `UNSUPPORTED` in memory.
    #[cfg(target_arch = "wasm32")]
    pub async fn request_persistence(&self) -> Result<bool> {
        match &self.0.raw.0 {
            Kind::IndexedDb(store) => store.request_persistence().await,
            Kind::Memory(_) | Kind::Sql(_) => Err(Error::Unsupported {
                message: "requestPersistence() needs a durable store (EventStore.open)".into(),
            }),
        }
    }
}

/// Runs `$e` with `$s` the replica when a sync is attached, else the backend.
#[cfg(feature = "sync")]
macro_rules! route {
    ($self:ident, $s:ident => $e:expr) => {
        match $self.replica() {
            Some($s) => $e,
            None => {
                let $s = &$self.0.raw;
                $e
            }
        }
    };
}

/// Without the `sync` feature no replica exists: everything goes to the backend.
#[cfg(not(feature = "sync"))]
macro_rules! route {
    ($self:ident, $s:ident => $e:expr) => {{
        let $s = &$self.0.raw;
        $e
    }};
}

impl EventStore for Store {
    async fn append(
        &self,
        stream: &StreamId,
        events: Vec<NewEvent>,
        expected: ExpectedVersion,
    ) -> Result<AppendResult> {
        route!(self, s => s.append(stream, events, expected).await)
    }

    async fn append_decided(
        &self,
        stream: &StreamId,
        events: Vec<NewEvent>,
        expected: ExpectedVersion,
        command: Option<Json>,
    ) -> Result<AppendResult> {
        route!(self, s => s.append_decided(stream, events, expected, command).await)
    }

    async fn read_stream(
        &self,
        stream: &StreamId,
        options: &ReadStreamOptions,
    ) -> Result<Vec<RecordedEvent>> {
        self.upcast(route!(self, s => s.read_stream(stream, options).await)?)
    }

    async fn read_all(&self, options: &ReadAllOptions) -> Result<Vec<RecordedEvent>> {
        self.upcast(self.0.raw.read_all(options).await?)
    }

    async fn read_all_to_send(&self, options: &ReadAllOptions) -> Result<Vec<RecordedEvent>> {
        self.upcast(self.0.raw.read_all_to_send(options).await?)
    }

    async fn stream_version(&self, stream: &StreamId) -> Result<Version> {
        route!(self, s => s.stream_version(stream).await)
    }

    async fn head(&self) -> Result<Position> {
        self.0.raw.head().await
    }

    fn changes(&self) -> &ChangeNotifier {
        self.0.raw.changes()
    }

    fn foreground(&self) -> Foreground {
        self.0.raw.foreground()
    }
}

impl StateStore for Store {
    async fn get_state(&self, key: &str) -> Result<Option<Json>> {
        self.0.raw.get_state(key).await
    }

    async fn put_state(&self, key: &str, value: Json) -> Result<()> {
        route!(self, s => s.put_state(key, value).await)
    }

    async fn delete_state(&self, key: &str) -> Result<()> {
        self.0.raw.delete_state(key).await
    }

    async fn swap_state(
        &self,
        key: &str,
        expected: Option<&Json>,
        new: Option<Json>,
    ) -> Result<bool> {
        self.0.raw.swap_state(key, expected, new).await
    }
}

impl ReadModelStore for Store {
    async fn record(&self, model: &str, key: &str) -> Result<Option<Json>> {
        self.0.raw.record(model, key).await
    }

    async fn commit_records(
        &self,
        model: &str,
        writes: Vec<RecordWrite>,
        state_key: &str,
        state_value: Json,
    ) -> Result<()> {
        self.0
            .raw
            .commit_records(model, writes, state_key, state_value)
            .await
    }

    async fn query_records(&self, model: &str, query: &IndexQuery) -> Result<Vec<(String, Json)>> {
        self.0.raw.query_records(model, query).await
    }

    async fn clear_records(&self, model: &str) -> Result<()> {
        self.0.raw.clear_records(model).await
    }
}
