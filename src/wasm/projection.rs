//! The JavaScript `Projection` class: `store.projection({ name, version, init, evolve })`, a
//! whole-state fold kept up to date in the background (catch-up on open, then live, including
//! appends from other tabs), persisted with its checkpoint after every page.

use std::cell::RefCell;
use std::future::{poll_fn, Future};
use std::rc::Rc;
use std::task::{Poll, Waker};

use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;

use crate::core::event::Position;
use crate::cqrs::{ProjectionRunner, ProjectionState};
use crate::engine::Store;
use crate::error::{Error, Result};
use crate::store::EventStore;
use crate::wasm::convert::{filter, get, opt_u64, string_arg};
use crate::wasm::error::to_js;
use crate::wasm::listeners::{self, Listeners};
use crate::wasm::model::{function, JsProjection};
use crate::wasm::ready::{settle_all, Ready, Resolvers};

#[derive(Default)]
struct Shared {
    state: JsValue,
    checkpoint: Position,
    published: bool,
    rebuild_waiters: Vec<Resolvers>,
    rebuild_requested: bool,
    listeners: Listeners,
    closed: bool,
    waker: Option<Waker>,
    /// The pending-change count the shown state includes (synced stores).
    pending_seen: Position,
}

impl Shared {
    fn wake(&mut self) {
        if let Some(w) = self.waker.take() {
            w.wake();
        }
    }
}

/// A projection: a state folded from the log by your `evolve`, persisted with its checkpoint
/// and kept up to date as events are appended (in this tab and in others).
///
/// ```ts
/// const totals = store.projection({
///   name: "totals", version: 1,
///   init: () => ({ orders: 0 }),
///   evolve: (s, e) => (e.type === "OrderCreated" ? { orders: s.orders + 1 } : s),
/// });
/// await totals.ready();
/// console.log(totals.state.orders);
/// const unsubscribe = totals.subscribe((state) => render(state));
/// ```
#[wasm_bindgen]
pub struct Projection {
    store: Store,
    routed: Store,
    runner: Rc<ProjectionRunner<JsProjection>>,
    shared: Rc<RefCell<Shared>>,
    ready: Ready,
}

/// Builds the projection from its definition and starts it in the background.
pub(crate) fn define(routed: Store, options: &JsValue) -> Result<Projection> {
    let name = string_arg(&get(options, "name")?, "projection name")?;
    let version = opt_u64(options, "version")?.unwrap_or(1);
    let version = u32::try_from(version).map_err(|_| Error::invalid("version is too large"))?;
    let projection = JsProjection {
        init: function(options, "init", "a projection")?,
        evolve: function(options, "evolve", "a projection")?,
    };
    let on_progress = get(options, "onProgress")?.dyn_into::<Function>().ok();
    let runner =
        ProjectionRunner::new(projection, name, version, filter(&get(options, "filter")?)?)?;
    let p = Projection {
        store: routed.clone(),
        routed,
        runner: Rc::new(runner),
        shared: Rc::new(RefCell::new(Shared::default())),
        ready: Ready::default(),
    };
    crate::wasm::promise::spawn(run(
        p.store.clone(),
        p.routed.clone(),
        p.runner.clone(),
        p.shared.clone(),
        p.ready.clone(),
        on_progress,
    ));
    Ok(p)
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = structuredClone, catch)]
    fn structured_clone(value: &JsValue) -> std::result::Result<JsValue, JsValue>;
}

/// The confirmed state with the store's pending events (a synced store) folded on top of a
/// copy of it: what the app sees. The persisted state never includes pending events, so a
/// rebase or a rejection needs no rollback. A pending event `evolve` throws on is skipped.
async fn with_pending(
    routed: &Store,
    runner: &ProjectionRunner<JsProjection>,
    state: &JsValue,
) -> JsValue {
    let Ok(pending) = routed.pending_events().await else {
        return state.clone();
    };
    let pending: Vec<_> = pending
        .into_iter()
        .filter(|e| runner.filter().matches(e))
        .collect();
    if pending.is_empty() {
        return state.clone();
    }
    let projection = runner.projection();
    let (Ok(copy), Ok(events)) = (
        structured_clone(state),
        crate::wasm::convert::recorded_to_js(&pending),
    ) else {
        return state.clone();
    };
    crate::wasm::model::fold_events(&projection.evolve, &copy, &events).get(0)
}

fn publish(
    shared: &Rc<RefCell<Shared>>,
    current: &ProjectionState<JsValue>,
    shown: JsValue,
    pending_seen: Position,
) {
    let subscribers: Vec<Function> = {
        let mut s = shared.borrow_mut();
        let changed =
            !s.published || s.checkpoint != current.checkpoint || s.pending_seen != pending_seen;
        s.published = true;
        s.state = shown.clone();
        s.checkpoint = current.checkpoint;
        s.pending_seen = pending_seen;
        if !changed {
            return;
        }
        s.listeners.snapshot()
    };
    listeners::call_all(subscribers, &shown, "a projection subscriber");
}

async fn run(
    store: Store,
    routed: Store,
    runner: Rc<ProjectionRunner<JsProjection>>,
    shared: Rc<RefCell<Shared>>,
    ready: Ready,
    on_progress: Option<Function>,
) {
    let progress = |processed: u64, total: u64| {
        if let Some(f) = &on_progress {
            let o = Object::new();
            let _ = Reflect::set(
                &o,
                &"processed".into(),
                &JsValue::from_f64(processed as f64),
            );
            let _ = Reflect::set(&o, &"total".into(), &JsValue::from_f64(total as f64));
            let _ = f.call1(&JsValue::UNDEFINED, &o);
        }
    };
    let mut current = match runner.load(&store).await.or_else(|e| {
        // Unreadable persisted state: report it, start from the initial state (a rebuild
        // request clears the error and folds the log again).
        ready.settle(Err(to_js(e)));
        runner.initial()
    }) {
        Ok(c) => c,
        Err(e) => return ready.settle(Err(to_js(e))),
    };
    let mut resets = store.changes().resets();
    loop {
        // The log was reset: what was folded may hold dropped events. Start again from 0.
        let reset = store.changes().resets() != resets;
        resets = store.changes().resets();
        let rebuilding = std::mem::take(&mut shared.borrow_mut().rebuild_requested) || reset;
        let rebuild_waiters = if rebuilding {
            let _ = runner.forget(&store).await;
            ready.clear_error();
            match runner.initial() {
                Ok(c) => current = c,
                Err(e) => ready.settle(Err(to_js(e))),
            }
            std::mem::take(&mut shared.borrow_mut().rebuild_waiters)
        } else {
            Vec::new()
        };
        if ready.error().is_none() {
            let (next, result) =
                crate::wasm::catchup::catch_up(&store, &runner, current, &progress).await;
            current = next;
            let pending_seen = routed
                .replica()
                .map_or(Position(0), |r| r.pending_changes().head());
            let shown = with_pending(&routed, &runner, &current.state).await;
            publish(&shared, &current, shown, pending_seen);
            let outcome = result.map_err(to_js);
            ready.settle(outcome.clone());
            settle_all(rebuild_waiters, &outcome.map(|()| JsValue::UNDEFINED));
        } else {
            settle_all(
                rebuild_waiters,
                &Err(ready.error().unwrap_or(JsValue::UNDEFINED)),
            );
        }
        // Wait for new events (unless stopped by an error), a rebuild request, or close.
        let checkpoint = current.checkpoint;
        let failed = ready.error().is_some();
        let replica = routed.replica();
        let pending_seen = shared.borrow().pending_seen;
        let go_on = {
            let mut more = std::pin::pin!(store.changes().wait_beyond(checkpoint));
            let mut pending = std::pin::pin!(async {
                match &replica {
                    Some(r) => r.pending_changes().wait_beyond(pending_seen).await,
                    None => std::future::pending::<bool>().await,
                }
            });
            poll_fn(|cx| {
                let mut s = shared.borrow_mut();
                if s.closed {
                    return Poll::Ready(false);
                }
                if s.rebuild_requested {
                    return Poll::Ready(true);
                }
                s.waker = Some(cx.waker().clone());
                drop(s);
                if let Poll::Ready(true) = pending.as_mut().poll(cx) {
                    return Poll::Ready(true);
                }
                if failed {
                    return Poll::Pending;
                }
                more.as_mut().poll(cx)
            })
            .await
        };
        if !go_on {
            return;
        }
    }
}

#[wasm_bindgen]
impl Projection {
    /// Resolves once the projection has caught up with the log (rejects with `EVOLVE_FAILED`
    /// if `evolve` threw; the state then stays at the last good event).
    pub fn ready(&self) -> Promise {
        self.ready.promise()
    }

    /// The current state (the initial state until the first catch-up page).
    #[wasm_bindgen(getter)]
    pub fn state(&self) -> JsValue {
        self.shared.borrow().state.clone()
    }

    /// The position of the last event folded in.
    #[wasm_bindgen(getter)]
    pub fn checkpoint(&self) -> f64 {
        self.shared.borrow().checkpoint.0 as f64
    }

    /// The error that stopped the projection, if any.
    #[wasm_bindgen(getter)]
    pub fn error(&self) -> JsValue {
        self.ready.error().unwrap_or(JsValue::UNDEFINED)
    }

    /// Calls `callback(state)` after every update; returns a function that unsubscribes.
    #[wasm_bindgen(unchecked_return_type = "() => void")]
    pub fn subscribe(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(state: any) => void")] callback: Function,
    ) -> JsValue {
        listeners::subscribe(&self.shared, |s| &mut s.listeners, callback)
    }

    /// Discards the persisted state and folds the whole log again. Resolves when caught up.
    pub fn rebuild(&self) -> Promise {
        let shared = self.shared.clone();
        Promise::new(&mut |resolve, reject| {
            let mut s = shared.borrow_mut();
            s.rebuild_requested = true;
            s.rebuild_waiters.push((resolve, reject));
            s.wake();
        })
    }

    /// The state as of a global position, folded from the start (time travel; nothing is
    /// persisted).
    #[wasm_bindgen(js_name = stateAt, unchecked_return_type = "Promise<any>")]
    pub fn state_at(&self, position: f64) -> Promise {
        let (store, runner) = (self.store.clone(), self.runner.clone());
        crate::wasm::promise::to_promise(async move {
            if !(position.is_finite() && position >= 0.0 && position.fract() == 0.0) {
                return Err(to_js(Error::invalid(
                    "position must be a non-negative integer",
                )));
            }
            runner
                .state_at(&store, Position(position as u64))
                .await
                .map_err(to_js)
        })
    }

    /// Stops following the log (the persisted state stays).
    pub fn close(&self) {
        let mut s = self.shared.borrow_mut();
        s.closed = true;
        s.wake();
    }
}
