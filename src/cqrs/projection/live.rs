//! A projection as a live view: [`ProjectionFold`] is what the shared catch-up and live-view
//! runtime ([`crate::cqrs::live`]) folds, and [`ProjectionView`] the handle the application
//! holds (the state shown, subscribers, rebuild, time travel, close).

use std::borrow::Borrow;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::Rc;

use crate::core::event::Position;
use crate::cqrs::live::query::{Convert, LiveQuery, Source, Spawner};
use crate::cqrs::live::{
    self, read_page, Batch, Fold, LiveFold, Pages, Progress, Subscribers, View,
};
use crate::cqrs::runtime::LocalBoxFuture;
use crate::engine::Store;
use crate::error::{Error, Result};
use crate::store::{EventStore, ReadAllOptions, StateStore};

use super::{Projection, ProjectionRunner, ProjectionState};

/// What a live projection shows the application: the confirmed state with a synced store's
/// pending events folded on top of a copy, and who wants to hear of it.
struct Shown<S> {
    state: RefCell<Option<S>>,
    /// The (checkpoint, pending-change count) the shown state includes.
    at: Cell<Option<(Position, Position)>>,
    subscribers: Subscribers<S>,
}

/// A projection being caught up: its runner, the reader of its pages and the state so far.
pub struct ProjectionFold<'a, P: Projection<B>, R, B: ?Sized> {
    runner: &'a ProjectionRunner<P, B>,
    pages: &'a R,
    current: ProjectionState<P::State>,
    shown: Option<&'a Shown<P::State>>,
}

impl<'a, P: Projection<B>, R, B: Batch + ?Sized> ProjectionFold<'a, P, R, B> {
    /// A fold of `runner`'s projection from `current`, reading pages with `pages`.
    pub fn new(
        runner: &'a ProjectionRunner<P, B>,
        pages: &'a R,
        current: ProjectionState<P::State>,
    ) -> Self {
        ProjectionFold {
            runner,
            pages,
            current,
            shown: None,
        }
    }

    /// The state folded so far.
    pub fn into_state(self) -> ProjectionState<P::State> {
        self.current
    }
}

impl<S, P, R, B> Fold<S> for ProjectionFold<'_, P, R, B>
where
    S: EventStore + StateStore + ?Sized,
    P: Projection<B>,
    B: Batch + ?Sized,
    R: Pages<S>,
    R::Page: Borrow<B>,
{
    type Page = R::Page;

    fn page_size(&self, store: &S) -> usize {
        self.pages.page_size(store, self.runner.page_size())
    }

    fn checkpoint(&self) -> Position {
        self.current.checkpoint
    }

    async fn read(&self, store: &S, after: Position, limit: usize) -> Result<(R::Page, Position)> {
        let options = ReadAllOptions {
            after,
            limit: Some(limit),
            filter: self.runner.filter().clone(),
        };
        read_page(store, self.pages, &options).await
    }

    async fn apply(&mut self, _: &S, page: R::Page, covered: Position) -> Result<Option<Error>> {
        Ok(self.runner.apply(&mut self.current, page.borrow(), covered))
    }

    async fn save(&mut self, store: &S) -> Result<()> {
        self.runner.save(store, &self.current).await
    }
}

impl<P, R, B> LiveFold for ProjectionFold<'_, P, R, B>
where
    P: Projection<B>,
    P::State: Clone,
    B: Batch + ?Sized,
    R: Pages<Store>,
    R::Page: Borrow<B>,
{
    async fn resume(&mut self, store: &Store) -> Result<()> {
        self.current = self.runner.load(store).await?;
        Ok(())
    }

    async fn restart(&mut self, store: &Store) -> Result<()> {
        // A failure to forget leaves a persisted state the next save overwrites.
        let _ = self.runner.forget(store).await;
        self.current = self.runner.initial()?;
        if let Some(shown) = self.shown {
            // The folded state may differ at the same checkpoint: show it again.
            shown.at.set(None);
        }
        Ok(())
    }

    async fn show(&mut self, store: &Store, pending: Position) {
        let Some(shown) = self.shown else {
            return;
        };
        let at = (self.current.checkpoint, pending);
        if shown.at.get() == Some(at) {
            return;
        }
        let state = with_pending(self.runner, self.pages, store, &self.current.state).await;
        shown.at.set(Some(at));
        *shown.state.borrow_mut() = Some(state.clone());
        shown.subscribers.notify(&state);
    }
}

/// The confirmed `state` with the store's pending events (a synced store) folded on top of a
/// copy of it: what the application sees. The persisted state never includes pending events,
/// so a rebase or a rejection needs no rollback. The pending events from one `evolve` fails on
/// are left out; a state that cannot be copied is shown without them.
async fn with_pending<P, R, B>(
    runner: &ProjectionRunner<P, B>,
    pages: &R,
    store: &Store,
    state: &P::State,
) -> P::State
where
    P: Projection<B>,
    P::State: Clone,
    B: Batch + ?Sized,
    R: Pages<Store>,
    R::Page: Borrow<B>,
{
    let pending: Vec<_> = match store.pending_events().await {
        Ok(events) => events
            .into_iter()
            .filter(|e| runner.filter().matches(e))
            .collect(),
        Err(_) => Vec::new(),
    };
    if pending.is_empty() {
        return state.clone();
    }
    let projection = runner.projection();
    let (Ok(mut copy), Ok(events)) = (projection.fork(state), pages.convert(&pending)) else {
        return state.clone();
    };
    projection.evolve(&mut copy, events.borrow());
    copy
}

/// A projection kept up to date in the background: caught up on start, then following the
/// log (this store's appends, other tabs' appends, sync pulls) and a synced store's pending
/// events, rebuilt on request or when the log is reset.
///
/// ```
/// use eventfold::cqrs::live::Recorded;
/// use eventfold::cqrs::{Applied, Projection, ProjectionRunner, ProjectionView};
/// use eventfold::engine::Store;
/// use eventfold::{EventFilter, Json, MemoryStore, RecordedEvent, Result};
///
/// struct Count;
/// impl Projection for Count {
///     type State = u64;
///     fn init(&self) -> Result<u64> { Ok(0) }
///     fn evolve(&self, n: &mut u64, events: &[RecordedEvent]) -> Applied {
///         *n += events.len() as u64;
///         Applied { applied: events.len(), error: None }
///     }
///     fn encode_state(&self, n: &u64) -> Result<Json> { Ok(Json::from_value(n)?) }
///     fn decode_state(&self, json: &Json) -> Result<u64> { Ok(json.decode()?) }
/// }
///
/// let store = Store::memory(MemoryStore::new(eventfold::store::fixed_clock(0)));
/// let runner = ProjectionRunner::new(Count, "count", 1, EventFilter::default())?;
/// let (view, run) = ProjectionView::start(store, runner, Recorded, |_| {})?;
/// let mut pool = futures::executor::LocalPool::new();
/// futures::task::LocalSpawnExt::spawn_local(&pool.spawner(), run).unwrap();
/// pool.run_until(view.ready())?;
/// assert_eq!(view.state(), Some(0));
/// view.close();
/// pool.run();
/// # Ok::<(), eventfold::Error>(())
/// ```
pub struct ProjectionView<P: Projection<B>, R, B: ?Sized> {
    view: View,
    store: Store,
    runner: Rc<ProjectionRunner<P, B>>,
    pages: Rc<R>,
    shown: Rc<Shown<P::State>>,
}

impl<P, R, B> ProjectionView<P, R, B>
where
    P: Projection<B> + 'static,
    P::State: Clone + 'static,
    B: Batch + ?Sized + 'static,
    R: Pages<Store> + 'static,
    R::Page: Borrow<B>,
{
    /// The view of `runner`'s projection over `store`, reading pages with `pages`, and the
    /// future that runs it (spawn it; it ends when the view or the store closes).
    /// `progress` is told after each page of a catch-up.
    ///
    /// # Errors
    /// When `init` fails (the definition is unusable).
    pub fn start(
        store: Store,
        runner: ProjectionRunner<P, B>,
        pages: R,
        progress: impl FnMut(Progress) + 'static,
    ) -> Result<(Self, impl Future<Output = ()> + 'static)> {
        let initial = runner.initial()?;
        let this = ProjectionView {
            view: View::new(format!("projection {}", runner.name())),
            store: store.clone(),
            runner: Rc::new(runner),
            pages: Rc::new(pages),
            shown: Rc::new(Shown {
                state: RefCell::new(None),
                at: Cell::new(None),
                subscribers: Subscribers::default(),
            }),
        };
        let (runner, pages, shown, view) = (
            this.runner.clone(),
            this.pages.clone(),
            this.shown.clone(),
            this.view.clone(),
        );
        let run = async move {
            let fold = ProjectionFold {
                runner: &*runner,
                pages: &*pages,
                current: initial,
                shown: Some(&*shown),
            };
            live::run(store, fold, view, progress).await;
        };
        Ok((this, run))
    }

    /// The state shown: the confirmed state with pending events on top (`None` until the first
    /// catch-up settled).
    pub fn state(&self) -> Option<P::State> {
        self.shown.state.borrow().clone()
    }

    /// Calls `callback(state)` each time the state shown changes; returns the id
    /// [`unsubscribe`](Self::unsubscribe) takes.
    pub fn subscribe(&self, callback: impl Fn(&P::State) + 'static) -> u64 {
        self.shown.subscribers.subscribe(callback)
    }

    /// Removes a subscriber (nothing happens when it is gone already).
    pub fn unsubscribe(&self, id: u64) {
        self.shown.subscribers.unsubscribe(id)
    }

    /// The projection's state as of `position`, folded from the start (time travel; nothing
    /// is persisted). A future that does not borrow the view.
    pub fn state_at(&self, position: Position) -> impl Future<Output = Result<P::State>> + 'static {
        let (store, runner, pages) = (self.store.clone(), self.runner.clone(), self.pages.clone());
        async move { runner.state_at_with(&store, &*pages, position).await }
    }

    /// The live view's handle: readiness, rebuild, close, checkpoint, error.
    pub fn view(&self) -> &View {
        &self.view
    }

    /// A live query of the state shown (pending events on top, as [`state`](Self::state)
    /// answers) while it has subscribers; `convert` makes the snapshot of each new state (a
    /// state equal to the last keeps it), `spawn` runs the evaluations.
    pub fn live_state<T: Clone + 'static>(
        &self,
        convert: Convert<P::State, T>,
        spawn: Spawner,
    ) -> LiveQuery<T>
    where
        P::State: PartialEq,
    {
        let source = ShownState(self.shown.clone());
        LiveQuery::new(source, convert, spawn)
    }
}

/// The state a projection shows, as the source of a live query.
struct ShownState<S>(Rc<Shown<S>>);

impl<S: Clone + PartialEq + 'static> Source for ShownState<S> {
    type Answer = S;

    fn watch(&self, changed: Box<dyn Fn()>) -> u64 {
        self.0.subscribers.subscribe(move |_| changed())
    }

    fn unwatch(&self, id: u64) {
        self.0.subscribers.unsubscribe(id)
    }

    fn evaluate(&self) -> LocalBoxFuture<'static, Result<Option<S>>> {
        let state = self.0.state.borrow().clone();
        Box::pin(async move { Ok(state) })
    }
}

impl<P: Projection<B>, R, B: ?Sized> std::ops::Deref for ProjectionView<P, R, B> {
    type Target = View;

    fn deref(&self) -> &View {
        &self.view
    }
}
