//! The backend a [`Store`](super::Store) was opened on: one type over every local backend, so
//! everything above it is written (and monomorphised) once. Private to the engine: the only way
//! to reach it is through the store view, which routes synced streams through the replica.

use crate::core::event::{NewEvent, Position, RecordedEvent, StreamId, Version};
use crate::core::expected::ExpectedVersion;
use crate::core::json::Json;
use crate::error::Result;
#[cfg(target_arch = "wasm32")]
use crate::store::indexeddb::IndexedDbStore;
#[cfg(target_arch = "wasm32")]
use crate::store::sql::{JsSqlExecutor, SqlStore};
use crate::store::{
    AppendResult, ChangeNotifier, EventStore, Foreground, IndexQuery, LogReset, MemoryStore,
    ReadAllOptions, ReadModelStore, ReadStreamOptions, RecordWrite, ResetOutcome, ResetStore,
    StateStore,
};

/// The local backend under a [`Store`](super::Store): the confirmed log, state records and
/// read-model records. Its variants are private; code outside the engine names the type (a
/// sync client is generic over it) but cannot take the raw backend out of a store.
pub struct Backend(pub(super) Kind);

/// Every backend a store can sit on.
pub(super) enum Kind {
    /// `EventStore.inMemory()`.
    Memory(Box<MemoryStore>),
    /// `EventStore.open({ name })`: IndexedDB, durable, shared by tabs.
    #[cfg(target_arch = "wasm32")]
    IndexedDb(IndexedDbStore),
    /// `EventStore.sqlite(handle)`: the runtime's SQLite (Durable Object, node:sqlite,
    /// bun:sqlite), durable.
    #[cfg(target_arch = "wasm32")]
    Sql(Box<SqlStore<JsSqlExecutor>>),
}

macro_rules! each {
    ($self:ident, $s:ident => $e:expr) => {
        match &$self.0 {
            Kind::Memory($s) => $e,
            #[cfg(target_arch = "wasm32")]
            Kind::IndexedDb($s) => $e,
            #[cfg(target_arch = "wasm32")]
            Kind::Sql($s) => $e,
        }
    };
}

impl EventStore for Backend {
    async fn append(
        &self,
        stream: &StreamId,
        events: Vec<NewEvent>,
        expected: ExpectedVersion,
    ) -> Result<AppendResult> {
        each!(self, s => s.append(stream, events, expected).await)
    }

    async fn read_stream(
        &self,
        stream: &StreamId,
        options: &ReadStreamOptions,
    ) -> Result<Vec<RecordedEvent>> {
        each!(self, s => s.read_stream(stream, options).await)
    }

    async fn read_all(&self, options: &ReadAllOptions) -> Result<Vec<RecordedEvent>> {
        each!(self, s => s.read_all(options).await)
    }

    async fn read_all_to_send(&self, options: &ReadAllOptions) -> Result<Vec<RecordedEvent>> {
        each!(self, s => s.read_all_to_send(options).await)
    }

    async fn stream_version(&self, stream: &StreamId) -> Result<Version> {
        each!(self, s => s.stream_version(stream).await)
    }

    async fn head(&self) -> Result<Position> {
        each!(self, s => s.head().await)
    }

    fn changes(&self) -> &ChangeNotifier {
        each!(self, s => s.changes())
    }

    fn foreground(&self) -> Foreground {
        each!(self, s => s.foreground())
    }
}

impl StateStore for Backend {
    async fn get_state(&self, key: &str) -> Result<Option<Json>> {
        each!(self, s => s.get_state(key).await)
    }

    async fn put_state(&self, key: &str, value: Json) -> Result<()> {
        each!(self, s => s.put_state(key, value).await)
    }

    async fn delete_state(&self, key: &str) -> Result<()> {
        each!(self, s => s.delete_state(key).await)
    }

    async fn swap_state(
        &self,
        key: &str,
        expected: Option<&Json>,
        new: Option<Json>,
    ) -> Result<bool> {
        each!(self, s => s.swap_state(key, expected, new).await)
    }
}

impl ReadModelStore for Backend {
    async fn record(&self, model: &str, key: &str) -> Result<Option<Json>> {
        each!(self, s => s.record(model, key).await)
    }

    async fn commit_records(
        &self,
        model: &str,
        writes: Vec<RecordWrite>,
        state_key: &str,
        state_value: Json,
    ) -> Result<()> {
        each!(self, s => s.commit_records(model, writes, state_key, state_value).await)
    }

    async fn query_records(&self, model: &str, query: &IndexQuery) -> Result<Vec<(String, Json)>> {
        each!(self, s => s.query_records(model, query).await)
    }

    async fn clear_records(&self, model: &str) -> Result<()> {
        each!(self, s => s.clear_records(model).await)
    }
}

impl ResetStore for Backend {
    async fn reset_log(&self, reset: &LogReset<'_>) -> Result<ResetOutcome> {
        each!(self, s => s.reset_log(reset).await)
    }
}
