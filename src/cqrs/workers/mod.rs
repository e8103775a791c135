//! The worker pool: the event handlers ([`HandlerRunner`]) and sagas ([`SagaRunner`]) of one
//! store, run in the background by exactly one leader at a time. In the browser the leader is
//! the tab holding a Web Lock; the pool only sees a [`LeaderLock`] ("call me when I hold it",
//! "give it up") and a [`Spawner`] (start a background task), so its whole lifecycle runs
//! natively in tests on a virtual clock.
//!
//! Lifecycle:
//! - [`start`](WorkerPool::start) asks the lock for the lead (a second `start` does nothing);
//!   once held, the pool *leads*: one task per worker, each with its own [`Signal`]. Without a
//!   lock the pool leads at once.
//! - A handler or saga registered while leading starts at once; one registered before waits
//!   for the lead.
//! - [`stop`](WorkerPool::stop) stops every task at once but gives the lock up only when the
//!   last task has finished its work in flight (a handler call, a saga step), so two leaders
//!   never handle the same event or step at the same time. Started again meanwhile, the pool
//!   asks for the lock anew, and gets it after every earlier hold was given up.
//! - A lock held by an earlier `start` that arrives after a `stop` is ignored.
//!
//! ```
//! use std::rc::Rc;
//! use eventfold::cqrs::handlers::{EventHandler, HandlerPolicy, HandlerRunner};
//! use eventfold::cqrs::runtime::{LocalBoxFuture, VirtualClock};
//! use eventfold::cqrs::saga::run::SagaEffects;
//! use eventfold::cqrs::workers::{LeaderLock, WorkerPool};
//! use eventfold::engine::Store;
//! use eventfold::store::{fixed_clock, EventFilter, MemoryStore};
//! # use eventfold::{RecordedEvent, Result, Json};
//! # use eventfold::cqrs::{bus::CommandContext, saga::SagaState};
//! # struct Emails;
//! # impl EventHandler for Emails {
//! #     fn handle(&self, _: &RecordedEvent) -> LocalBoxFuture<'static, Result<()>> { Box::pin(async { Ok(()) }) }
//! # }
//! # struct NoSagas;
//! # impl SagaEffects for NoSagas {
//! #     fn dispatch(&self, _: &SagaState, _: usize, _: bool, _: CommandContext) -> LocalBoxFuture<'static, Result<Json>> { Box::pin(async { Ok(Json::null()) }) }
//! #     fn matches(&self, _: &SagaState, _: usize, _: &RecordedEvent) -> Result<bool> { Ok(true) }
//! # }
//! let executor = futures::executor::LocalPool::new();
//! let spawner = executor.spawner();
//! let store = Store::memory(MemoryStore::new(fixed_clock(0)));
//! let pool: WorkerPool<Emails, NoSagas, Store, VirtualClock> = WorkerPool::new(
//!     store,
//!     VirtualClock::at(0),
//!     move |task| futures::task::LocalSpawnExt::spawn_local(&spawner, task).unwrap_or(()),
//!     None::<Box<dyn LeaderLock>>, // no lock: lead at once
//!     |e| eprintln!("worker failed: {e}"),
//! );
//! pool.add_handler(HandlerRunner::new("emails", Emails, EventFilter::default(), HandlerPolicy::default())?)?;
//! pool.start();
//! assert!(pool.is_leader());
//! pool.stop();
//! assert!(!pool.is_leader());
//! # Ok::<(), eventfold::Error>(())
//! ```

use std::cell::RefCell;
use std::rc::Rc;

use crate::core::json::Json;
use crate::cqrs::handlers::{EventHandler, HandlerRunner};
use crate::cqrs::runtime::{LocalBoxFuture, Runtime, Signal};
use crate::cqrs::saga::run::{SagaEffects, SagaRunner};
use crate::error::{Error, Result};
use crate::store::{EventStore, StateStore};

/// Gives up a lead, or a request for it that is not granted yet.
pub type Release = Box<dyn FnOnce()>;

/// The leader election seam: in the browser, a Web Lock named after the database.
pub trait LeaderLock {
    /// Asks for the lead. `on_held` runs once this pool holds it (at once, later, or never if
    /// released first); the returned [`Release`] gives the lead, or the request, up.
    fn acquire(&self, on_held: Box<dyn FnOnce()>) -> Release;
}

impl<L: LeaderLock + ?Sized> LeaderLock for Box<L> {
    fn acquire(&self, on_held: Box<dyn FnOnce()>) -> Release {
        (**self).acquire(on_held)
    }
}

/// Starts a background task (`wasm_bindgen_futures::spawn_local` in the browser, a local
/// executor in tests). Closures `Fn(LocalBoxFuture<'static, ()>)` are spawners.
pub trait Spawner {
    /// Runs `task` in the background; it must not be polled before `spawn` returns.
    fn spawn(&self, task: LocalBoxFuture<'static, ()>);
}

impl<F: Fn(LocalBoxFuture<'static, ()>)> Spawner for F {
    fn spawn(&self, task: LocalBoxFuture<'static, ()>) {
        self(task)
    }
}

/// One worker of the pool.
enum Worker<H, E> {
    Handler(Rc<HandlerRunner<H>>),
    Saga(Rc<SagaRunner<E>>),
}

impl<H, E> Clone for Worker<H, E> {
    fn clone(&self) -> Self {
        match self {
            Worker::Handler(h) => Worker::Handler(h.clone()),
            Worker::Saga(s) => Worker::Saga(s.clone()),
        }
    }
}

struct State<H, E> {
    handlers: Vec<Rc<HandlerRunner<H>>>,
    sagas: Vec<Rc<SagaRunner<E>>>,
    /// The tasks started while leading, each with the signal that stops or kicks it.
    signals: Vec<(Worker<H, E>, Signal)>,
    /// Gives up the lead (or the request for it) of the current `start`.
    release: Option<Release>,
    /// Releases due once the last task has finished (after a `stop`).
    pending: Vec<Release>,
    /// Tasks still running, stopping ones included.
    tasks: usize,
    started: bool,
    leader: bool,
    /// Counts `start`s: the lead granted to an earlier one is ignored.
    epoch: u64,
}

struct Shared<H, E, S, R> {
    store: S,
    runtime: R,
    spawner: Box<dyn Spawner>,
    lock: Option<Box<dyn LeaderLock>>,
    on_error: Box<dyn Fn(&Error)>,
    state: RefCell<State<H, E>>,
}

/// The event handlers and sagas of one store and their lifecycle (see the module docs).
/// Cloning shares the pool.
pub struct WorkerPool<H, E, S, R>(Rc<Shared<H, E, S, R>>);

impl<H, E, S, R> Clone for WorkerPool<H, E, S, R> {
    fn clone(&self) -> Self {
        WorkerPool(self.0.clone())
    }
}

impl<H, E, S, R> Shared<H, E, S, R>
where
    H: EventHandler + 'static,
    E: SagaEffects + 'static,
    S: EventStore + StateStore + 'static,
    R: Runtime + 'static,
{
    /// The lead arrived for the `start` numbered `epoch`: run every worker.
    fn begin(self: &Rc<Self>, epoch: u64) {
        let workers: Vec<Worker<H, E>> = {
            let mut s = self.state.borrow_mut();
            if !s.started || s.leader || s.epoch != epoch {
                return;
            }
            s.leader = true;
            let handlers = s.handlers.iter().cloned().map(Worker::Handler);
            handlers
                .chain(s.sagas.iter().cloned().map(Worker::Saga))
                .collect()
        };
        for w in workers {
            self.spawn(w);
        }
    }

    fn spawn(self: &Rc<Self>, worker: Worker<H, E>) {
        let signal = Signal::new();
        {
            let mut s = self.state.borrow_mut();
            s.tasks += 1;
            s.signals.push((worker.clone(), signal.clone()));
        }
        let me = self.clone();
        self.spawner.spawn(Box::pin(async move {
            let on_error = &*me.on_error;
            match &worker {
                Worker::Handler(h) => h.run(&me.store, &me.runtime, &signal, on_error).await,
                Worker::Saga(s) => s.run(&me.store, &me.runtime, &signal, on_error).await,
            }
            me.state.borrow_mut().tasks -= 1;
            me.release_if_idle();
        }));
    }

    /// Gives up the holds of stopped starts once no task runs any more.
    fn release_if_idle(&self) {
        let due = {
            let mut s = self.state.borrow_mut();
            if s.tasks == 0 && !s.leader {
                std::mem::take(&mut s.pending)
            } else {
                Vec::new()
            }
        };
        for release in due {
            release();
        }
    }

    /// Runs `worker` now if the pool leads.
    fn join(self: &Rc<Self>, worker: Worker<H, E>) {
        if self.state.borrow().leader {
            self.spawn(worker);
        }
    }
}

fn not_found(kind: &str, name: &str) -> Error {
    Error::HandlerNotFound {
        kind: kind.into(),
        message_type: name.to_owned(),
    }
}

impl<H, E, S, R> WorkerPool<H, E, S, R>
where
    H: EventHandler + 'static,
    E: SagaEffects + 'static,
    S: EventStore + StateStore + 'static,
    R: Runtime + 'static,
{
    /// A pool of workers on `store` with the clock `runtime`, starting its tasks with
    /// `spawner`, led through `lock` (`None`: lead at once on `start`). `on_error` receives
    /// the failures the workers report (store errors; handler failures go to retries).
    pub fn new(
        store: S,
        runtime: R,
        spawner: impl Spawner + 'static,
        lock: Option<impl LeaderLock + 'static>,
        on_error: impl Fn(&Error) + 'static,
    ) -> Self {
        WorkerPool(Rc::new(Shared {
            store,
            runtime,
            spawner: Box::new(spawner),
            lock: lock.map(|l| Box::new(l) as Box<dyn LeaderLock>),
            on_error: Box::new(on_error),
            state: RefCell::new(State {
                handlers: Vec::new(),
                sagas: Vec::new(),
                signals: Vec::new(),
                release: None,
                pending: Vec::new(),
                tasks: 0,
                started: false,
                leader: false,
                epoch: 0,
            }),
        }))
    }

    /// The store the workers run on.
    pub fn store(&self) -> &S {
        &self.0.store
    }

    /// The workers' clock.
    pub fn runtime(&self) -> &R {
        &self.0.runtime
    }

    /// Whether this pool leads (runs its workers) now.
    pub fn is_leader(&self) -> bool {
        self.0.state.borrow().leader
    }

    fn check_handler_name(&self, name: &str) -> Result<()> {
        if self.handler(name).is_ok() {
            return Err(Error::invalid(format!(
                "an event handler named {name:?} is already registered"
            )));
        }
        Ok(())
    }

    /// Adds an event handler; it runs at once if the pool leads.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] if a handler of that name is registered (nothing changes).
    pub fn add_handler(&self, runner: HandlerRunner<H>) -> Result<()> {
        self.check_handler_name(runner.name())?;
        let runner = Rc::new(runner);
        self.0.state.borrow_mut().handlers.push(runner.clone());
        self.0.join(Worker::Handler(runner));
        Ok(())
    }

    /// Adds a saga and, if it starts on events, the handler `starter` that starts it (see
    /// [`crate::cqrs::saga::run::starter`]); both run at once if the pool leads.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] if a saga of that name, or a handler of the starter's name, is
    /// registered (nothing changes).
    pub fn add_saga(
        &self,
        runner: Rc<SagaRunner<E>>,
        starter: Option<HandlerRunner<H>>,
    ) -> Result<()> {
        let name = &runner.shape().name;
        if self.saga(name).is_ok() {
            return Err(Error::invalid(format!(
                "a saga named {name:?} is already registered"
            )));
        }
        if let Some(s) = &starter {
            self.check_handler_name(s.name())?;
        }
        self.0.state.borrow_mut().sagas.push(runner.clone());
        self.0.join(Worker::Saga(runner));
        match starter {
            Some(s) => self.add_handler(s),
            None => Ok(()),
        }
    }

    /// The event handler named `name`.
    ///
    /// # Errors
    /// [`Error::HandlerNotFound`] if there is none.
    pub fn handler(&self, name: &str) -> Result<Rc<HandlerRunner<H>>> {
        let s = self.0.state.borrow();
        let found = s.handlers.iter().find(|h| h.name() == name);
        found.cloned().ok_or_else(|| not_found("event", name))
    }

    /// The saga named `name`.
    ///
    /// # Errors
    /// [`Error::HandlerNotFound`] if there is none.
    pub fn saga(&self, name: &str) -> Result<Rc<SagaRunner<E>>> {
        let s = self.0.state.borrow();
        let found = s.sagas.iter().find(|r| r.shape().name == name);
        found.cloned().ok_or_else(|| not_found("saga", name))
    }

    /// Asks the running saga `name` to look for work now (a saga was started or resolved).
    pub fn kick_saga(&self, name: &str) {
        for (w, signal) in &self.0.state.borrow().signals {
            if matches!(w, Worker::Saga(s) if s.shape().name == name) {
                signal.kick();
            }
        }
    }

    /// Starts the saga `name` with id `id` (see [`SagaRunner::start`]) and wakes its runner.
    /// `Ok(false)` if that saga id was started before.
    ///
    /// # Errors
    /// [`Error::HandlerNotFound`] for an unknown saga; [`SagaRunner::start`]'s errors.
    pub async fn start_saga(
        &self,
        name: &str,
        id: &str,
        input: Json,
        correlation_id: Option<String>,
    ) -> Result<bool> {
        let runner = self.saga(name)?;
        let started = runner
            .start(self.store(), id, input, correlation_id)
            .await?;
        self.kick_saga(name);
        Ok(started)
    }

    /// Retries the parked compensation of the saga `name` `id` ([`SagaRunner::retry`]), or
    /// skips it when `skip` ([`SagaRunner::skip`]), and wakes its runner.
    ///
    /// # Errors
    /// [`Error::HandlerNotFound`] for an unknown saga; the runner's errors.
    pub async fn resolve_saga(&self, name: &str, id: &str, skip: bool) -> Result<()> {
        let runner = self.saga(name)?;
        if skip {
            runner.skip(self.store(), id).await?;
        } else {
            runner.retry(self.store(), id).await?;
        }
        self.kick_saga(name);
        Ok(())
    }

    /// Asks for the lead and runs every worker once it holds it. Does nothing if started.
    pub fn start(&self) {
        let epoch = {
            let mut s = self.0.state.borrow_mut();
            if s.started {
                return;
            }
            s.started = true;
            s.epoch += 1;
            s.epoch
        };
        let Some(lock) = &self.0.lock else {
            return self.0.begin(epoch);
        };
        let weak = Rc::downgrade(&self.0);
        let release = lock.acquire(Box::new(move || {
            if let Some(shared) = weak.upgrade() {
                shared.begin(epoch);
            }
        }));
        let mut s = self.0.state.borrow_mut();
        if s.started && s.epoch == epoch {
            s.release = Some(release);
        } else {
            // Stopped while the lock was being acquired: give it up like a `stop` would.
            s.pending.push(release);
            drop(s);
            self.0.release_if_idle();
        }
    }

    /// Stops every worker now and gives the lead up once their work in flight is finished.
    pub fn stop(&self) {
        let (signals, release) = {
            let mut s = self.0.state.borrow_mut();
            s.started = false;
            s.leader = false;
            (std::mem::take(&mut s.signals), s.release.take())
        };
        for (_, signal) in signals {
            signal.stop();
        }
        if let Some(r) = release {
            self.0.state.borrow_mut().pending.push(r);
        }
        self.0.release_if_idle();
    }
}

#[cfg(test)]
mod tests;
