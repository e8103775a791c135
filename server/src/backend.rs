//! How the server shares a store whose futures are not `Send` with tokio.
//!
//! **Decision**: each server owns its store on one dedicated thread (the *store thread*) that
//! runs a single-threaded tokio runtime with a `LocalSet`. Request handlers, on tokio's
//! multi-threaded runtime, send jobs over a channel and await a oneshot answer. The store is
//! created on that thread (from a `Send` opener), so it never has to be `Send` or `Sync`;
//! [`EventStore`](eventfold::EventStore)'s futures stay as they are on every target.
//!
//! For SQLite, jobs run one after another (SQLite serializes writers anyway, and each call is
//! short). A backend with real async I/O (PostgreSQL) makes progress on several jobs at once,
//! since every job is its own local task. The store thread also forwards the store's
//! [`ChangeNotifier`](eventfold::store::ChangeNotifier) to a `watch` channel that live
//! notifications read.

use std::future::Future;
use std::rc::Rc;
use std::sync::Arc;

use eventfold::sync::access::Access;
use eventfold::sync::protocol::{
    HeadInfo, PullRequest, PullResponse, PushRequest, PushResponse, StoreId, StreamResponse,
};
use eventfold::sync::serve::{self, ServeLimits};
use eventfold::{Error, Position, ReadStreamOptions, Result, StreamId};
use futures::future::{BoxFuture, LocalBoxFuture};
use tokio::sync::{mpsc, oneshot, watch};

use crate::store::ServerStore;

type Job<S> = Box<dyn FnOnce(Rc<S>) -> LocalBoxFuture<'static, ()> + Send>;

/// What the HTTP layer needs from a store, with `Send` futures.
pub trait SyncBackend: Send + Sync + 'static {
    /// The store's id.
    fn store_id(&self) -> &StoreId;
    /// Serves a pull.
    fn pull(&self, access: Access, req: PullRequest) -> BoxFuture<'static, Result<PullResponse>>;
    /// Serves a push.
    fn push(&self, access: Access, req: PushRequest) -> BoxFuture<'static, Result<PushResponse>>;
    /// Serves a read of one stream.
    fn read_stream(
        &self,
        access: Access,
        stream: StreamId,
        options: ReadStreamOptions,
    ) -> BoxFuture<'static, Result<StreamResponse>>;
    /// The store's head as the store thread last saw it, updated on every append.
    fn heads(&self) -> watch::Receiver<Position>;
    /// The store's current head info.
    fn head_info(&self) -> BoxFuture<'static, Result<HeadInfo>>;
    /// The newest position of `access`'s scope in `(after, head]`
    /// ([`serve::live::scope_head`]), for a narrow token's live stream.
    fn scope_head(
        &self,
        access: Access,
        after: Position,
        head: Position,
    ) -> BoxFuture<'static, Result<Option<Position>>>;
}

/// A store living on its own thread, reached through a channel.
pub struct StoreThread<S> {
    jobs: mpsc::UnboundedSender<Job<S>>,
    heads: watch::Receiver<Position>,
    id: StoreId,
    limits: ServeLimits,
}

fn closed() -> Error {
    Error::StoreClosed {
        reason: "the store thread stopped".into(),
    }
}

impl<S: ServerStore + 'static> StoreThread<S> {
    /// Starts the store thread, opening the store on it with `open`.
    ///
    /// # Errors
    /// Whatever `open` fails with; [`Error::Storage`] if the thread or its runtime cannot start.
    pub async fn start<F, Fut>(open: F, limits: ServeLimits) -> Result<Self>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<S>> + 'static,
    {
        let (jobs, mut rx) = mpsc::unbounded_channel::<Job<S>>();
        let (ready_tx, ready_rx) =
            oneshot::channel::<Result<(StoreId, watch::Receiver<Position>)>>();
        std::thread::Builder::new()
            .name("eventfold-store".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(Error::storage(format!("runtime: {e}"))));
                        return;
                    }
                };
                let local = tokio::task::LocalSet::new();
                local.block_on(&rt, async move {
                    let store = match open().await {
                        Ok(s) => Rc::new(s),
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    let (head_tx, head_rx) = watch::channel(store.changes().head());
                    let _ = ready_tx.send(Ok((store.store_id(), head_rx)));
                    let watcher = store.clone();
                    tokio::task::spawn_local(async move {
                        loop {
                            let seen = *head_tx.borrow();
                            if !watcher.changes().wait_beyond(seen).await {
                                break;
                            }
                            head_tx.send_replace(watcher.changes().head());
                        }
                    });
                    while let Some(job) = rx.recv().await {
                        tokio::task::spawn_local(job(store.clone()));
                    }
                    store.changes().close();
                });
            })
            .map_err(|e| Error::storage(format!("cannot start the store thread: {e}")))?;
        let (id, heads) = ready_rx.await.map_err(|_| closed())??;
        Ok(StoreThread {
            jobs,
            heads,
            id,
            limits,
        })
    }

    /// Runs `f` with the store on the store thread and returns its result.
    pub fn run<T, F, Fut>(&self, f: F) -> BoxFuture<'static, Result<T>>
    where
        T: Send + 'static,
        F: FnOnce(Rc<S>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T>> + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let job: Job<S> = Box::new(move |store| {
            Box::pin(async move {
                let _ = tx.send(f(store).await);
            })
        });
        let sent = self.jobs.send(job).is_ok();
        Box::pin(async move {
            if !sent {
                return Err(closed());
            }
            rx.await.map_err(|_| closed())?
        })
    }
}

impl<S: ServerStore + 'static> SyncBackend for StoreThread<S> {
    fn store_id(&self) -> &StoreId {
        &self.id
    }

    fn pull(&self, access: Access, req: PullRequest) -> BoxFuture<'static, Result<PullResponse>> {
        let (id, limits) = (self.id.clone(), self.limits);
        self.run(move |s| async move { serve::pull(&*s, &id, &access, &req, &limits).await })
    }

    fn push(&self, access: Access, req: PushRequest) -> BoxFuture<'static, Result<PushResponse>> {
        let (id, limits) = (self.id.clone(), self.limits);
        self.run(move |s| async move { serve::push(&*s, &id, &access, req, &limits).await })
    }

    fn read_stream(
        &self,
        access: Access,
        stream: StreamId,
        options: ReadStreamOptions,
    ) -> BoxFuture<'static, Result<StreamResponse>> {
        let limits = self.limits;
        self.run(move |s| async move {
            serve::read_stream(&*s, &access, stream, &options, &limits).await
        })
    }

    fn heads(&self) -> watch::Receiver<Position> {
        self.heads.clone()
    }

    fn head_info(&self) -> BoxFuture<'static, Result<HeadInfo>> {
        let id = self.id.clone();
        self.run(move |s| async move { serve::head_info(&*s, &id).await })
    }

    fn scope_head(
        &self,
        access: Access,
        after: Position,
        head: Position,
    ) -> BoxFuture<'static, Result<Option<Position>>> {
        self.run(move |s| async move { serve::live::scope_head(&*s, &access, after, head).await })
    }
}

/// A type-erased backend, as the router holds it.
pub type SharedBackend = Arc<dyn SyncBackend>;
