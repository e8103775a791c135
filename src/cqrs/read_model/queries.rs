//! Live queries over a read model ([`crate::cqrs::live::query`]): a query's records or one
//! record, evaluated again when the model's subscribers hear of a change that may touch it.

use std::borrow::Borrow;

use crate::core::json::Json;
use crate::cqrs::live::query::{Convert, LiveQuery, Source, Spawner};
use crate::cqrs::live::Pages;
use crate::cqrs::runtime::LocalBoxFuture;
use crate::engine::Store;
use crate::error::Result;
use crate::store::IndexQuery;

use super::{Handlers, ReadModelView};

/// Calls `changed` after each change of `view` that may touch the record `key` (any change
/// for `None`, a query: a record may enter it with any key); returns the subscription id.
fn watch<H, R, B>(view: &ReadModelView<H, R, B>, key: Option<String>, changed: Box<dyn Fn()>) -> u64
where
    H: Handlers<B> + 'static,
    R: Pages<Store> + 'static,
    R::Page: Borrow<B>,
    B: ?Sized + 'static,
{
    view.subscribe(move |change| {
        // A change naming no keys (a rebuild, pending events) may touch any record.
        let touches = match (&key, &change.keys) {
            (Some(key), Some(keys)) => keys.contains(key),
            _ => true,
        };
        if touches {
            changed();
        }
    })
}

/// The records of a live query ([`ReadModelView::live_query`]).
struct QueryRecords<H, R, B: ?Sized> {
    view: ReadModelView<H, R, B>,
    query: IndexQuery,
}

/// The record of a live get ([`ReadModelView::live_get`]).
struct GetRecord<H, R, B: ?Sized> {
    view: ReadModelView<H, R, B>,
    key: String,
}

impl<H, R, B> Source for QueryRecords<H, R, B>
where
    H: Handlers<B> + 'static,
    R: Pages<Store> + 'static,
    R::Page: Borrow<B>,
    B: ?Sized + 'static,
{
    type Answer = Vec<(String, Json)>;

    fn watch(&self, changed: Box<dyn Fn()>) -> u64 {
        watch(&self.view, None, changed)
    }

    fn unwatch(&self, id: u64) {
        self.view.unsubscribe(id)
    }

    fn evaluate(&self) -> LocalBoxFuture<'static, Result<Option<Self::Answer>>> {
        let (ready, rows) = (self.view.ready(), self.view.query(self.query.clone()));
        Box::pin(async move {
            // A model still catching up would show a partial answer first.
            let _ = ready.await;
            rows.await.map(Some)
        })
    }
}

impl<H, R, B> Source for GetRecord<H, R, B>
where
    H: Handlers<B> + 'static,
    R: Pages<Store> + 'static,
    R::Page: Borrow<B>,
    B: ?Sized + 'static,
{
    type Answer = Option<Json>;

    fn watch(&self, changed: Box<dyn Fn()>) -> u64 {
        watch(&self.view, Some(self.key.clone()), changed)
    }

    fn unwatch(&self, id: u64) {
        self.view.unsubscribe(id)
    }

    fn evaluate(&self) -> LocalBoxFuture<'static, Result<Option<Self::Answer>>> {
        let (ready, record) = (self.view.ready(), self.view.get(&self.key));
        Box::pin(async move {
            let _ = ready.await;
            record.await.map(Some)
        })
    }
}

impl<H, R, B> ReadModelView<H, R, B>
where
    H: Handlers<B> + 'static,
    R: Pages<Store> + 'static,
    R::Page: Borrow<B>,
    B: ?Sized + 'static,
{
    /// A live query of the records `query` selects (pending events on top, as
    /// [`query`](Self::query) answers), evaluated again after each change of the model while
    /// it has subscribers; `convert` makes the snapshot of each new answer, `spawn` runs the
    /// evaluations.
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) for an index the model does not
    /// declare.
    pub fn live_query<T: Clone + 'static>(
        &self,
        query: IndexQuery,
        convert: Convert<Vec<(String, Json)>, T>,
        spawn: Spawner,
    ) -> Result<LiveQuery<T>> {
        self.def().check_query(&query)?;
        let source = QueryRecords {
            view: self.clone(),
            query,
        };
        Ok(LiveQuery::new(source, convert, spawn))
    }

    /// A live query of the record `key` (`None`: absent; pending events on top, as
    /// [`get`](Self::get) answers), evaluated again after each change that may touch it while
    /// it has subscribers.
    pub fn live_get<T: Clone + 'static>(
        &self,
        key: &str,
        convert: Convert<Option<Json>, T>,
        spawn: Spawner,
    ) -> LiveQuery<T> {
        let source = GetRecord {
            view: self.clone(),
            key: key.to_owned(),
        };
        LiveQuery::new(source, convert, spawn)
    }
}
