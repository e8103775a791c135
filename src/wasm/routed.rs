//! The store the JavaScript API works on: the backend, or, once `store.sync()` attached a
//! [`Replica`], the replica (appends to synced streams become pending; reads of a stream show
//! pending events on top). Aggregates, `append` and `readStream` go through here; the global
//! log paths (readAll, subscriptions, projections, read models) use the backend's confirmed
//! log and fold pending events on top themselves.

use std::cell::RefCell;
use std::rc::Rc;

use crate::core::append::AppendResult;
use crate::core::event::{NewEvent, Position, RecordedEvent, StreamId, Version};
use crate::core::expected::ExpectedVersion;
use crate::core::json::Json;
use crate::error::Result;
use crate::store::{ChangeNotifier, EventStore, ReadAllOptions, ReadStreamOptions, StateStore};
use crate::sync::replica::Replica;
use crate::wasm::backend::Backend;

/// The backend plus the replica a sync attached (see the module docs).
pub(crate) struct Routed {
    raw: Rc<Backend>,
    replica: RefCell<Option<Rc<Replica<Backend>>>>,
}

impl Routed {
    pub(crate) fn new(raw: Rc<Backend>) -> Self {
        Routed {
            raw,
            replica: RefCell::new(None),
        }
    }

    /// The backend (the confirmed log).
    pub(crate) fn raw(&self) -> &Rc<Backend> {
        &self.raw
    }

    /// The attached replica, if a sync was started on this store.
    pub(crate) fn replica(&self) -> Option<Rc<Replica<Backend>>> {
        self.replica.borrow().clone()
    }

    pub(crate) fn attach(&self, replica: Rc<Replica<Backend>>) {
        *self.replica.borrow_mut() = Some(replica);
    }

    /// The pending events to fold on top of confirmed state (none without a sync).
    pub(crate) async fn pending_events(&self) -> Result<Vec<RecordedEvent>> {
        match self.replica() {
            Some(r) => r.pending_events().await,
            None => Ok(Vec::new()),
        }
    }
}

macro_rules! route {
    ($self:ident, $s:ident => $e:expr) => {
        match $self.replica() {
            Some($s) => $e,
            None => {
                let $s = &$self.raw;
                $e
            }
        }
    };
}

impl EventStore for Routed {
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
        route!(self, s => s.read_stream(stream, options).await)
    }

    async fn read_all(&self, options: &ReadAllOptions) -> Result<Vec<RecordedEvent>> {
        self.raw.read_all(options).await
    }

    async fn stream_version(&self, stream: &StreamId) -> Result<Version> {
        route!(self, s => s.stream_version(stream).await)
    }

    async fn head(&self) -> Result<Position> {
        self.raw.head().await
    }

    fn changes(&self) -> &ChangeNotifier {
        self.raw.changes()
    }
}

impl StateStore for Routed {
    async fn get_state(&self, key: &str) -> Result<Option<Json>> {
        self.raw.get_state(key).await
    }

    async fn put_state(&self, key: &str, value: Json) -> Result<()> {
        route!(self, s => s.put_state(key, value).await)
    }

    async fn delete_state(&self, key: &str) -> Result<()> {
        self.raw.delete_state(key).await
    }

    async fn swap_state(
        &self,
        key: &str,
        expected: Option<&Json>,
        new: Option<Json>,
    ) -> Result<bool> {
        self.raw.swap_state(key, expected, new).await
    }
}
