//! Read models: keyed records with secondary indexes, written by handlers per event type and
//! queried by key or index range without loading the whole model. A page's writes commit
//! atomically with the model's checkpoint; a synced store's pending events are shown on top
//! of the records by [`get`](ReadModelView::get) and [`query`](ReadModelView::query), never
//! stored.
//!
//! - [`ReadModelDef`]: name, version, indexes, the event types handled;
//! - [`Handlers`]: what runs the handlers over a batch (the JavaScript binding runs the user's
//!   functions over a page of JavaScript events);
//! - [`ReadModelFold`]: what the live-view runtime ([`crate::cqrs::live`]) folds;
//! - [`ReadModelView`]: the handle (get, query, subscribe, rebuild, close);
//! - `overlay`: pending writes on top of stored records;
//! - `cache`: stored records and query answers kept in memory between the model's writes;
//! - `queries`: live queries of records ([`ReadModelView::live_query`], [`ReadModelView::live_get`]).

mod cache;
mod fold;
mod overlay;
mod queries;

use std::borrow::Borrow;
use std::future::Future;
use std::rc::Rc;

pub use fold::ReadModelFold;

use crate::core::event::{EventType, Position};
use crate::core::json::Json;
use crate::cqrs::live::{self, Pages, Progress, Subscribers, View};
use crate::engine::Store;
use crate::error::{Error, Result};
use crate::store::{EventFilter, IndexQuery, RecordWrite};

/// Events a read model handles per page (and so at most per change its subscribers hear of).
pub const PAGE_SIZE: usize = 500;

/// What a read model is, besides its handlers.
#[derive(Clone, Debug, PartialEq)]
pub struct ReadModelDef {
    name: String,
    version: u32,
    indexes: Vec<String>,
    filter: EventFilter,
}

impl ReadModelDef {
    /// A read model named `name` (its storage key) at code `version` (records of another
    /// version are cleared and the model is built again), indexing the record fields
    /// `indexes`, handling events of `types`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an empty name.
    pub fn new(
        name: impl Into<String>,
        version: u32,
        indexes: Vec<String>,
        types: Vec<EventType>,
    ) -> Result<Self> {
        let name = name.into();
        if name.is_empty() {
            return Err(Error::invalid("a read model needs a non-empty name"));
        }
        Ok(ReadModelDef {
            name,
            version,
            indexes,
            filter: EventFilter {
                stream_prefixes: Vec::new(),
                types: Some(types),
            },
        })
    }

    /// The model's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The model's code version.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The indexed record fields.
    pub fn indexes(&self) -> &[String] {
        &self.indexes
    }

    /// The events the model handles.
    pub fn filter(&self) -> &EventFilter {
        &self.filter
    }

    /// The state record holding the model's version and checkpoint.
    pub fn state_key(&self) -> String {
        format!("readmodel:{}", self.name)
    }

    fn checkpoint_json(&self, checkpoint: Position) -> Result<Json> {
        Ok(Json::parse(format!(
            r#"{{"version":{},"checkpoint":{}}}"#,
            self.version, checkpoint.0
        ))?)
    }

    /// Checks that `query` reads an index this model declares.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the model's indexes.
    pub fn check_query(&self, query: &IndexQuery) -> Result<()> {
        if self.indexes.contains(&query.index) {
            return Ok(());
        }
        Err(Error::invalid(format!(
            "read model {} has no index {:?} (its indexes: {:?})",
            self.name, query.index, self.indexes
        )))
    }
}

/// What a read model's handlers did with a batch.
#[derive(Debug, Default)]
pub struct Handled {
    /// One write per key the handled events wrote (their last value; `None`: deleted).
    pub writes: Vec<RecordWrite>,
    /// How many events were handled.
    pub applied: usize,
    /// Why the next event was not ([`Error::EvolveFailed`] naming it), if one failed.
    pub error: Option<Error>,
}

/// Runs a read model's handlers over batches `B` of events.
#[allow(async_fn_in_trait)]
pub trait Handlers<B: ?Sized> {
    /// Runs the handlers over `events` in order against the records of `def` in `store`,
    /// later events seeing what earlier ones wrote; writes nothing, returns the writes. What
    /// a failing handler wrote is undone: the result holds the writes of the events before it.
    ///
    /// # Errors
    /// When the handlers could not run at all (nothing is written then).
    async fn handle(&self, store: &Store, def: &ReadModelDef, events: &B) -> Result<Handled>;
}

/// What read model subscribers are told: the model changed, and the change is visible to
/// `get` and `query`.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Change {
    /// The model's checkpoint.
    pub checkpoint: Position,
    /// The record keys the batch wrote; `None` when any record may have changed (a rebuild
    /// from position 0, or a synced store's pending events changed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keys: Option<Vec<String>>,
}

/// What the fold and the handle share.
struct Parts<H, R> {
    def: ReadModelDef,
    handlers: H,
    pages: R,
    subscribers: Subscribers<Change>,
    cache: cache::RecordCache,
}

impl<H, R> Parts<H, R> {
    /// The writes a synced store's pending events make on top of the stored records (one per
    /// key; the pending events from one whose handler fails are left out).
    async fn pending_writes<B>(&self, store: &Store) -> Result<Vec<RecordWrite>>
    where
        B: ?Sized,
        H: Handlers<B>,
        R: Pages<Store>,
        R::Page: Borrow<B>,
    {
        let pending: Vec<_> = store
            .pending_events()
            .await?
            .into_iter()
            .filter(|e| self.def.filter.matches(e))
            .collect();
        if pending.is_empty() {
            return Ok(Vec::new());
        }
        let events = self.pages.convert(&pending)?;
        let handled = self
            .handlers
            .handle(store, &self.def, events.borrow())
            .await?;
        Ok(handled.writes)
    }
}

/// A read model kept up to date in the background (caught up on start, then following the
/// log, rebuilt on request or when the log is reset), with a synced store's pending events
/// shown on top by [`get`](Self::get) and [`query`](Self::query).
pub struct ReadModelView<H, R, B: ?Sized> {
    view: View,
    store: Store,
    parts: Rc<Parts<H, R>>,
    batch: std::marker::PhantomData<fn(&B)>,
}

impl<H, R, B> ReadModelView<H, R, B>
where
    H: Handlers<B> + 'static,
    R: Pages<Store> + 'static,
    R::Page: Borrow<B>,
    B: ?Sized + 'static,
{
    /// The view of the read model `def` over `store`, its `handlers` run over pages read by
    /// `pages`, and the future that runs it (spawn it; it ends when the view or the store
    /// closes). `progress` is told after each page of a catch-up.
    pub fn start(
        store: Store,
        def: ReadModelDef,
        handlers: H,
        pages: R,
        progress: impl FnMut(Progress) + 'static,
    ) -> (Self, impl Future<Output = ()> + 'static) {
        let this = ReadModelView {
            view: View::new(format!("read model {}", def.name)),
            store: store.clone(),
            parts: Rc::new(Parts {
                def,
                handlers,
                pages,
                subscribers: Subscribers::default(),
                cache: cache::RecordCache::default(),
            }),
            batch: std::marker::PhantomData,
        };
        let (parts, view) = (this.parts.clone(), this.view.clone());
        let run = async move {
            let fold = ReadModelFold::new(&parts);
            live::run(store, fold, view, progress).await;
        };
        (this, run)
    }

    /// The definition.
    pub fn def(&self) -> &ReadModelDef {
        &self.parts.def
    }

    /// The record `key` with pending events on top (`None`: absent). A future that does not
    /// borrow the view. An unchanged record is answered from memory (see `cache`).
    pub fn get(&self, key: &str) -> impl Future<Output = Result<Option<Json>>> + 'static {
        let (store, parts, key) = (self.store.clone(), self.parts.clone(), key.to_owned());
        let view = self.view.clone();
        async move {
            let writes = parts.pending_writes(&store).await?;
            let stored = cache::Reader::new(&parts.cache, &store, &parts.def.name, &view);
            overlay::get(&stored, &writes, &key).await
        }
    }

    /// The records `query` selects, with pending events on top, ordered by index value then
    /// key. A future that does not borrow the view.
    ///
    /// The future fails with [`Error::InvalidInput`] for an index the model does not declare.
    /// An unchanged answer is served from memory (see `cache`).
    pub fn query(
        &self,
        query: IndexQuery,
    ) -> impl Future<Output = Result<Vec<(String, Json)>>> + 'static {
        let (store, parts) = (self.store.clone(), self.parts.clone());
        let view = self.view.clone();
        async move {
            parts.def.check_query(&query)?;
            let writes = parts.pending_writes(&store).await?;
            let stored = cache::Reader::new(&parts.cache, &store, &parts.def.name, &view);
            overlay::query(&stored, &writes, &query).await
        }
    }

    /// Calls `callback(change)` each time what `get` and `query` answer may have changed,
    /// once the change is visible to them; returns the id [`unsubscribe`](Self::unsubscribe)
    /// takes.
    pub fn subscribe(&self, callback: impl Fn(&Change) + 'static) -> u64 {
        self.parts.subscribers.subscribe(callback)
    }

    /// Removes a subscriber (nothing happens when it is gone already).
    pub fn unsubscribe(&self, id: u64) {
        self.parts.subscribers.unsubscribe(id)
    }

    /// The live view's handle: readiness, rebuild, close, checkpoint, error.
    pub fn view(&self) -> &View {
        &self.view
    }
}

impl<H, R, B: ?Sized> Clone for ReadModelView<H, R, B> {
    /// Another handle of the same view.
    fn clone(&self) -> Self {
        ReadModelView {
            view: self.view.clone(),
            store: self.store.clone(),
            parts: self.parts.clone(),
            batch: std::marker::PhantomData,
        }
    }
}

impl<H, R, B: ?Sized> std::ops::Deref for ReadModelView<H, R, B> {
    type Target = View;

    fn deref(&self) -> &View {
        &self.view
    }
}

#[cfg(test)]
mod tests;
