//! The event store contract and its backends.
//!
//! [`EventStore`] is the seam every backend implements: [`MemoryStore`] (all targets, the
//! reference implementation), the IndexedDB store (browser) and the server's SQLite and
//! PostgreSQL stores. All of them pass the one contract suite (`store::contract`, compiled for
//! tests only: the `contract` feature).
//!
//! The trait is async and its futures are **not** required to be `Send`: in the browser a
//! store holds JavaScript values, which never cross threads. Code that needs a store on a
//! multi-threaded runtime (the sync server) owns its backend on a thread of its choice and
//! talks to it through its own `Send` handle (a dedicated writer task or `spawn_blocking`), so
//! the contract stays the same everywhere.

mod activity;
mod compaction;
#[cfg(any(test, feature = "contract"))]
pub mod contract;
#[cfg(target_arch = "wasm32")]
pub mod indexeddb;
mod memory;
mod notify;
mod options;
mod readmodel;
mod reset;
pub mod sql;
mod state;
mod subscription;

pub use crate::core::append::{AppendResult, StoreLimits};
pub use activity::{Activity, Foreground, Millis};
pub use compaction::CompactionStep;
#[cfg(not(target_arch = "wasm32"))]
pub use memory::system_clock;
pub use memory::{fixed_clock, Clock, MemoryStore};
pub use notify::{ChangeNotifier, WaitBeyond};
pub use options::{Direction, EventFilter, ReadAllOptions, ReadStreamOptions};
pub use readmodel::{
    Bound, IndexKey, IndexQuery, IndexRange, IndexedValue, ReadModelStore, RecordWrite,
};
pub use reset::{LogReset, ResetOutcome, ResetStore, Rewrite};
pub use state::StateStore;
pub use subscription::Subscription;

use crate::core::event::{NewEvent, Position, RecordedEvent, StreamId, Version};
use crate::core::expected::ExpectedVersion;
use crate::core::json::Json;
use crate::error::Result;

/// An append-only log of events, partitioned into streams.
///
/// Every method either succeeds completely or fails leaving the store exactly as it was.
#[allow(async_fn_in_trait)]
pub trait EventStore {
    /// Appends `events` to the end of `stream`, atomically: all of them or none.
    ///
    /// The whole batch is validated first ([`validate_batch`](crate::core::append::validate_batch)).
    /// A batch whose ids were all appended before to this stream, in this order, with the same
    /// content and at a place `expected` leads to, is an idempotent retry: the original result
    /// comes back and nothing is written.
    ///
    /// # Errors
    /// [`Error::WrongExpectedVersion`](crate::Error::WrongExpectedVersion),
    /// [`Error::EventIdConflict`](crate::Error::EventIdConflict),
    /// [`Error::InvalidInput`](crate::Error::InvalidInput), and backend failures
    /// (quota, closed store). Nothing is written in any of these cases.
    async fn append(
        &self,
        stream: &StreamId,
        events: Vec<NewEvent>,
        expected: ExpectedVersion,
    ) -> Result<AppendResult>;

    /// Appends the events an aggregate decided for `command` (its JSON form, when the model
    /// has one). A plain store just appends; a sync replica keeps the command beside its
    /// pending events so a conflict can be resolved by running the command again (rebase).
    ///
    /// # Errors
    /// As [`append`](EventStore::append).
    async fn append_decided(
        &self,
        stream: &StreamId,
        events: Vec<NewEvent>,
        expected: ExpectedVersion,
        command: Option<Json>,
    ) -> Result<AppendResult> {
        let _ = command;
        self.append(stream, events, expected).await
    }

    /// Reads events of one stream in version order (or reverse order), exactly as appended.
    /// A stream that does not exist reads as empty.
    ///
    /// # Errors
    /// Backend failures only (closed store, corrupt data).
    async fn read_stream(
        &self,
        stream: &StreamId,
        options: &ReadStreamOptions,
    ) -> Result<Vec<RecordedEvent>>;

    /// Reads the global log in position order after `options.after`, keeping the events that
    /// pass the filter, up to `options.limit` of them.
    ///
    /// # Errors
    /// Backend failures only (closed store, corrupt data).
    async fn read_all(&self, options: &ReadAllOptions) -> Result<Vec<RecordedEvent>>;

    /// [`read_all`](Self::read_all) for events a sync server sends on in a columns answer,
    /// whose encoder parses every payload and refuses one that is not JSON
    /// ([`Columns::encode`](crate::sync::protocol::Columns::encode)): a backend may hand out
    /// the payload texts as it stored them, without validating them first. By default
    /// `read_all`.
    ///
    /// # Errors
    /// As [`read_all`](Self::read_all).
    async fn read_all_to_send(&self, options: &ReadAllOptions) -> Result<Vec<RecordedEvent>> {
        self.read_all(options).await
    }

    /// The stream's version: its number of events (0 if it does not exist).
    ///
    /// # Errors
    /// Backend failures only.
    async fn stream_version(&self, stream: &StreamId) -> Result<Version>;

    /// The position of the newest event in the store (0 when empty).
    ///
    /// # Errors
    /// Backend failures only.
    async fn head(&self) -> Result<Position>;

    /// The notifier that wakes subscribers when the head moves.
    fn changes(&self) -> &ChangeNotifier;

    /// Marks foreground work on this store until the returned guard drops (a catch-up over
    /// many pages takes one for all of them): the store's background maintenance (the
    /// IndexedDB store's idle-time compaction) does not start while one is held, nor begins
    /// a new step. The store's own appends and log reads count by themselves. By default an
    /// inert guard: a store without background work has nothing to hold back.
    fn foreground(&self) -> Foreground {
        Foreground::none()
    }
}
