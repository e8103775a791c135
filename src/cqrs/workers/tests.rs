//! Tests of [`super`]: the pool's lifecycle with two pools (two tabs) on one store and one lock,
//! a manual virtual clock and a local executor.
use super::*;
use crate::core::event::{EventType, NewEvent, RecordedEvent};
use crate::core::expected::ExpectedVersion;
use crate::cqrs::bus::CommandContext;
use crate::cqrs::ids;
use crate::cqrs::runtime::VirtualClock;
use crate::cqrs::saga::run::{starter, SagaPolicy, SagaStarter};
use crate::cqrs::saga::{SagaShape, SagaState, SagaStatus, StepKind, StepShape};
use crate::engine::Store;
use crate::store::contract::{sid, test_clock};
use crate::store::{EventFilter, MemoryStore};
use futures::executor::{block_on, LocalPool};
use futures::task::LocalSpawnExt;

type Log = Rc<RefCell<Vec<String>>>;
type Pool = WorkerPool<Box<dyn EventHandler>, Notify, Store, VirtualClock>;

/// An event handler that logs `tag:position` once a call is done, and whose calls wait while
/// the gate is set (until it is stopped).
struct Probe {
    tag: &'static str,
    log: Log,
    gate: Rc<RefCell<Option<Signal>>>,
}

impl EventHandler for Probe {
    fn handle(&self, event: &RecordedEvent) -> LocalBoxFuture<'static, Result<()>> {
        let entry = format!("{}:{}", self.tag, event.position.0);
        let (log, gate) = (self.log.clone(), self.gate.borrow().clone());
        Box::pin(async move {
            if let Some(g) = gate {
                g.wait_for(std::future::pending::<()>()).await;
            }
            log.borrow_mut().push(entry);
            Ok(())
        })
    }
}

/// Saga effects: the one step logs `saga:<id>`.
struct Notify(Log);

impl SagaEffects for Notify {
    fn dispatch(
        &self,
        saga: &SagaState,
        _: usize,
        _: bool,
        _: CommandContext,
    ) -> LocalBoxFuture<'static, Result<Json>> {
        self.0.borrow_mut().push(format!("saga:{}", saga.id));
        Box::pin(std::future::ready(Ok(Json::null())))
    }

    fn matches(&self, _: &SagaState, _: usize, _: &RecordedEvent) -> Result<bool> {
        Ok(true)
    }
}

/// A lock shared by the pools of one test: one holder, the others queued in request order,
/// granted synchronously (the hardest case for re-entrancy).
#[derive(Clone, Default)]
struct TestLock(Rc<RefCell<LockState>>);

#[derive(Default)]
struct LockState {
    holder: Option<u32>,
    queue: Vec<(u32, Grant)>,
    requests: u32,
}

impl TestLock {
    fn grant(&self) {
        let on_held = {
            let mut s = self.0.borrow_mut();
            if s.holder.is_some() || s.queue.is_empty() {
                return;
            }
            let (id, on_held) = s.queue.remove(0);
            s.holder = Some(id);
            on_held
        };
        on_held();
    }

    fn release(&self, id: u32) {
        {
            let mut s = self.0.borrow_mut();
            if s.holder == Some(id) {
                s.holder = None;
            } else {
                s.queue.retain(|(i, _)| *i != id);
            }
        }
        self.grant();
    }

    fn requests(&self) -> u32 {
        self.0.borrow().requests
    }

    fn is_held(&self) -> bool {
        self.0.borrow().holder.is_some()
    }
}

impl LeaderLock for TestLock {
    fn acquire(&self, on_held: Box<dyn FnOnce()>) -> Release {
        let id = {
            let mut s = self.0.borrow_mut();
            s.requests += 1;
            let id = s.requests;
            s.queue.push((id, on_held));
            id
        };
        self.grant();
        let lock = self.clone();
        Box::new(move || lock.release(id))
    }
}

/// One test's world: a store, an executor, a lock, the log and the gate.
struct World {
    store: Store,
    exec: LocalPool,
    lock: TestLock,
    log: Log,
    gate: Rc<RefCell<Option<Signal>>>,
    errors: Log,
}

impl World {
    fn new() -> Self {
        World {
            store: Store::memory(MemoryStore::new(test_clock())),
            exec: LocalPool::new(),
            lock: TestLock::default(),
            log: Log::default(),
            gate: Rc::default(),
            errors: Log::default(),
        }
    }

    fn pool_with(&self, lock: Option<Box<dyn LeaderLock>>) -> Pool {
        let spawner = self.exec.spawner();
        let errors = self.errors.clone();
        WorkerPool::new(
            self.store.clone(),
            VirtualClock::manual(0),
            move |task| spawner.spawn_local(task).unwrap(),
            lock,
            move |e: &Error| errors.borrow_mut().push(e.to_string()),
        )
    }

    /// A pool (a tab) led through the shared lock, with the handler "emails" logging `tag`.
    fn tab(&self, tag: &'static str) -> Pool {
        let pool = self.pool_with(Some(Box::new(self.lock.clone())));
        pool.add_handler(self.handler(tag, "emails")).unwrap();
        pool
    }

    fn handler(&self, tag: &'static str, name: &str) -> HandlerRunner<Box<dyn EventHandler>> {
        let probe = Probe {
            tag,
            log: self.log.clone(),
            gate: self.gate.clone(),
        };
        let filter = EventFilter {
            types: Some(vec![EventType::new("Mail").unwrap()]),
            ..EventFilter::default()
        };
        let policy = crate::cqrs::handlers::HandlerPolicy {
            timeout_ms: 1000,
            ..Default::default()
        };
        HandlerRunner::new(
            name,
            Box::new(probe) as Box<dyn EventHandler>,
            filter,
            policy,
        )
        .unwrap()
    }

    fn saga(&self) -> Rc<SagaRunner<Notify>> {
        let shape = SagaShape {
            name: "notify".into(),
            steps: vec![StepShape {
                name: "send".into(),
                kind: StepKind::Command { compensate: false },
            }],
            compensation_attempts: 1,
        };
        let effects = Notify(self.log.clone());
        Rc::new(SagaRunner::new(shape, effects, SagaPolicy::default()).unwrap())
    }

    fn append(&self, event_type: &str) {
        let n = self.store_head();
        let e = NewEvent::new(
            ids::derive(&["workers-test", &n.to_string()]),
            EventType::new(event_type).unwrap(),
            Json::null(),
        );
        block_on(
            self.store
                .append(&sid("order-1"), vec![e], ExpectedVersion::Any),
        )
        .unwrap();
    }

    fn store_head(&self) -> u64 {
        block_on(self.store.head()).unwrap().0
    }

    fn run(&mut self) {
        self.exec.run_until_stalled();
    }

    fn hold_calls(&self) {
        *self.gate.borrow_mut() = Some(Signal::new());
    }

    fn finish_calls(&self) {
        if let Some(g) = self.gate.borrow_mut().take() {
            g.stop();
        }
    }

    fn log(&self) -> Vec<String> {
        self.log.borrow().clone()
    }
}

#[test]
fn start_leads_and_runs_every_worker_once_and_a_second_start_changes_nothing() {
    let mut w = World::new();
    w.append("Mail");
    w.append("Mail");
    let a = w.tab("a");
    a.add_saga(w.saga(), None).unwrap();
    assert!(!a.is_leader(), "registered, not started");
    w.run();
    assert!(w.log().is_empty(), "nothing runs before start");

    a.start();
    assert!(a.is_leader());
    a.start();
    assert_eq!(w.lock.requests(), 1, "a second start asks for nothing");
    w.run();
    assert_eq!(w.log(), ["a:1", "a:2"]);

    assert!(block_on(a.start_saga("notify", "s1", Json::null(), None)).unwrap());
    w.run();
    assert_eq!(
        w.log(),
        ["a:1", "a:2", "saga:s1"],
        "start_saga wakes the runner"
    );
    let state = block_on(a.saga("notify").unwrap().load(a.store(), "s1"))
        .unwrap()
        .unwrap();
    assert_eq!(state.status, SagaStatus::Completed);

    let next = format!("a:{}", w.store_head() + 1);
    w.append("Mail");
    w.run();
    assert_eq!(
        w.log(),
        ["a:1", "a:2", "saga:s1", next.as_str()],
        "one task per worker: each event once"
    );
    assert!(w.errors.borrow().is_empty(), "{:?}", w.errors.borrow());
}

#[test]
fn a_handler_or_saga_registered_while_leading_starts_at_once() {
    let mut w = World::new();
    w.append("Mail");
    let a = w.pool_with(Some(Box::new(w.lock.clone())));
    a.start();
    assert!(a.is_leader());
    a.add_handler(w.handler("a", "emails")).unwrap();
    w.run();
    assert_eq!(w.log(), ["a:1"], "joined without a restart");

    let saga = w.saga();
    let pick = |e: &RecordedEvent| -> Result<(String, Json)> {
        Ok((format!("by-{}", e.position.0), Json::null()))
    };
    let start = SagaStarter::new(saga.clone(), w.store.clone(), pick);
    let start = starter(
        "notify",
        EventType::new("Go").unwrap(),
        Box::new(start) as _,
    )
    .unwrap();
    a.add_saga(saga, Some(start)).unwrap();
    w.run();
    w.append("Go");
    w.run();
    assert_eq!(
        w.log(),
        ["a:1", "saga:by-2"],
        "the saga and its starter run"
    );
    assert!(a.handler("saga:notify:start").is_ok());
    assert!(w.errors.borrow().is_empty(), "{:?}", w.errors.borrow());
}

#[test]
fn stop_gives_the_lead_up_only_after_the_work_in_flight_finished() {
    let mut w = World::new();
    let (a, b) = (w.tab("a"), w.tab("b"));
    a.start();
    b.start();
    assert!(
        a.is_leader() && !b.is_leader(),
        "one leader; the other waits"
    );

    w.hold_calls();
    w.append("Mail");
    w.run();
    assert!(w.log().is_empty(), "a's call is in flight");
    a.stop();
    w.run();
    assert!(!a.is_leader(), "a stopped at once");
    assert!(!b.is_leader(), "but holds the lock while its call runs");
    assert!(w.lock.is_held());

    w.finish_calls();
    w.run();
    assert!(b.is_leader(), "the lead passed once a's call finished");
    w.append("Mail");
    w.run();
    assert_eq!(
        w.log(),
        ["a:1", "b:2"],
        "every event handled once, by one tab"
    );
}

#[test]
fn losing_and_regaining_the_lead() {
    let mut w = World::new();
    let (a, b) = (w.tab("a"), w.tab("b"));
    a.start();
    b.start();
    w.append("Mail");
    w.run();
    a.stop();
    w.run();
    assert!(
        b.is_leader(),
        "an idle leader gives the lead up as its tasks end"
    );
    a.start();
    assert!(!a.is_leader(), "a waits behind b");
    w.append("Mail");
    w.run();
    b.stop();
    w.run();
    assert!(a.is_leader(), "a leads again");
    w.append("Mail");
    w.run();
    assert_eq!(w.log(), ["a:1", "b:2", "a:3"]);
    a.stop();
    w.run();
    assert!(!w.lock.is_held());
}

#[test]
fn a_restart_while_stopping_keeps_the_first_hold_until_the_work_in_flight_finished() {
    let mut w = World::new();
    let (a, b) = (w.tab("a"), w.tab("b"));
    a.start();
    b.start();
    w.hold_calls();
    w.append("Mail");
    w.run();
    a.stop();
    a.start();
    a.stop();
    a.start();
    w.run();
    assert!(
        !a.is_leader() && !b.is_leader(),
        "a's first hold is still held"
    );

    w.finish_calls();
    w.run();
    assert!(b.is_leader(), "b asked first");
    b.stop();
    w.run();
    assert!(a.is_leader(), "then a, whose last start is still waiting");
    w.append("Mail");
    w.run();
    assert_eq!(w.log(), ["a:1", "a:2"]);
}

#[test]
fn without_a_lock_the_pool_leads_at_once() {
    let mut w = World::new();
    let a = w.pool_with(None);
    a.add_handler(w.handler("a", "emails")).unwrap();
    a.start();
    assert!(a.is_leader());
    w.append("Mail");
    w.run();
    a.stop();
    assert!(!a.is_leader());
    w.append("Mail");
    w.run();
    assert_eq!(w.log(), ["a:1"], "stopped workers handle nothing more");
}

/// A lock that grants only when the test says so, even after the request was released (a lock
/// whose grant and cancellation cross).
#[derive(Clone, Default)]
struct LateLock(Rc<RefCell<Vec<Grant>>>);

type Grant = Box<dyn FnOnce()>;

impl LeaderLock for LateLock {
    fn acquire(&self, on_held: Box<dyn FnOnce()>) -> Release {
        self.0.borrow_mut().push(on_held);
        Box::new(|| {})
    }
}

#[test]
fn a_lead_granted_to_a_stopped_start_is_ignored() {
    let mut w = World::new();
    let lock = LateLock::default();
    let a = w.pool_with(Some(Box::new(lock.clone())));
    a.add_handler(w.handler("a", "emails")).unwrap();
    a.start();
    a.stop();
    a.start();
    let grants = std::mem::take(&mut *lock.0.borrow_mut());
    let mut grants = grants.into_iter();
    grants.next().unwrap()();
    assert!(!a.is_leader(), "the first start was stopped");
    grants.next().unwrap()();
    assert!(a.is_leader(), "the current start leads");
    w.append("Mail");
    w.run();
    assert_eq!(w.log(), ["a:1"], "one task, not two");
}

#[test]
fn registration_errors_change_nothing_and_unknown_names_are_handler_not_found() {
    let w = World::new();
    let a = w.tab("a");
    let again = a.add_handler(w.handler("a", "emails")).unwrap_err();
    assert_eq!(again.code(), "INVALID_INPUT");
    a.add_handler(w.handler("a", "saga:notify:start")).unwrap();

    let saga = w.saga();
    let pick = |_: &RecordedEvent| -> Result<(String, Json)> { Ok(("x".to_owned(), Json::null())) };
    let start = SagaStarter::new(saga.clone(), w.store.clone(), pick);
    let start = starter(
        "notify",
        EventType::new("Go").unwrap(),
        Box::new(start) as _,
    )
    .unwrap();
    let clash = a.add_saga(saga.clone(), Some(start)).unwrap_err();
    assert_eq!(clash.code(), "INVALID_INPUT", "its starter's name is taken");
    assert_eq!(
        a.saga("notify").err().map(|e| e.code()),
        Some("HANDLER_NOT_FOUND"),
        "the saga was not registered either"
    );
    a.add_saga(saga.clone(), None).unwrap();
    assert_eq!(a.add_saga(saga, None).unwrap_err().code(), "INVALID_INPUT");

    assert_eq!(
        a.handler("nope").err().map(|e| e.code()),
        Some("HANDLER_NOT_FOUND")
    );
    let unknown = block_on(a.start_saga("nope", "1", Json::null(), None)).unwrap_err();
    assert_eq!(unknown.code(), "HANDLER_NOT_FOUND");
    assert_eq!(w.store_head(), 0, "nothing was written");
    let not_parked = block_on(a.resolve_saga("notify", "1", true)).unwrap_err();
    assert_eq!(not_parked.code(), "INVALID_INPUT");
    assert_eq!(w.store_head(), 0);
}
