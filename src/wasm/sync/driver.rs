//! Performs what the sync [`Scheduler`] asks, with the platform's primitives: exchanges and
//! status reads as futures, the leader lock (Web Locks, `lead`), the live stream and the
//! `online` event, one timer, and the store's `BroadcastChannel` for other tabs' pending
//! changes. It decides nothing: every input goes to the scheduler, then [`Driver::pump`]
//! performs its actions, tells the app its events and sets the timer it asks for.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use js_sys::Function;
use wasm_bindgen::prelude::*;
use web_sys::{BroadcastChannel, MessageEvent};

use super::convert::{JsFailure, SyncListeners};
use super::listeners::call_all;
use super::resolver::JsResolver;
use super::transport::{FetchTransport, Interruptible};
use crate::core::event::Timestamp;
use crate::cqrs::runtime::Signal;
use crate::engine::Backend;
use crate::sync::client::SyncClient;
use crate::sync::protocol::{self, HeadInfo};
use crate::sync::scheduler::{
    Action, Callers, Event, ExchangeId, Failure, Instant, Lease, Scheduler, Ticket,
};
use crate::wasm::abort::Abort;
use crate::wasm::convert::plain;
use crate::wasm::error::to_js;
use crate::wasm::promise::{spawn, to_promise};

#[wasm_bindgen(module = "/src/wasm/js/bindings.js")]
extern "C" {
    #[wasm_bindgen(js_name = openLive)]
    fn open_live(url: &str, token: &JsValue, on_head: &Function) -> JsValue;
    #[wasm_bindgen(js_name = watchOnline)]
    fn watch_online(callback: &Function) -> JsValue;
    #[wasm_bindgen(js_name = startTimer)]
    fn start_timer(ms: f64, callback: &Function) -> Function;
    #[wasm_bindgen(js_name = monotonicNow)]
    fn monotonic_now() -> f64;
    #[wasm_bindgen(js_name = lead)]
    fn lead_with_loss(name: &str, on_acquire: &Function, on_lost: &Function) -> Function;
}

/// The platform handles the driver holds open.
#[derive(Default)]
struct Handles {
    /// The armed timer: when it is due and how to cancel it.
    timer: Option<(Instant, Function)>,
    /// How to close the live stream and the `online` listener.
    unwatch: Vec<Function>,
    /// How to release each lease asked for.
    leases: Vec<(Lease, Function)>,
}

/// How to answer one `now()`: its promise's resolve and reject functions.
type Caller = (Function, Function);

/// Callbacks the platform calls back; created once, each holding the driver weakly.
struct Callbacks {
    timer: Closure<dyn Fn()>,
    head: Closure<dyn Fn(String)>,
    online: Closure<dyn Fn()>,
    lease: Closure<dyn Fn(f64, bool)>,
    /// Kept alive for the broadcast channel's `onmessage`.
    _message: Closure<dyn Fn(MessageEvent)>,
}

/// One `store.sync()`: the scheduler, what its actions run on, and the platform handles.
pub(super) struct Driver {
    machine: RefCell<Scheduler<JsFailure>>,
    pub(super) client: Rc<SyncClient<Backend>>,
    transport: Rc<FetchTransport>,
    pub(super) resolver: Rc<JsResolver>,
    pub(super) listeners: Rc<RefCell<SyncListeners>>,
    lock_name: String,
    channel: Option<BroadcastChannel>,
    handles: RefCell<Handles>,
    calls: RefCell<Callers<Caller, Result<JsValue, JsValue>>>,
    /// The exchange running and what interrupts it (see [`Scheduler::cancel_exchange`]).
    running_exchange: RefCell<Option<(ExchangeId, Signal)>>,
    callbacks: Callbacks,
    /// The driver itself while background syncing is on, so it keeps running when the app
    /// drops its `Sync` object (`db.sync(options).start()`), as a JavaScript loop would.
    running: RefCell<Option<Rc<Driver>>>,
}

/// What a driver is made of (see [`Driver::new`]).
pub(super) struct Parts {
    pub(super) machine: Scheduler<JsFailure>,
    pub(super) client: Rc<SyncClient<Backend>>,
    pub(super) transport: Rc<FetchTransport>,
    pub(super) resolver: Rc<JsResolver>,
    pub(super) listeners: Rc<RefCell<SyncListeners>>,
    /// The Web Lock and broadcast channel name of the store.
    pub(super) lock_name: String,
    /// Whether other tabs share the store (a durable store): then pending changes are
    /// announced on a `BroadcastChannel`.
    pub(super) shared: bool,
}

fn now() -> Instant {
    Instant::from_millis(monotonic_now().max(0.0) as u64)
}

fn wall() -> Timestamp {
    Timestamp(js_sys::Date::now() as i64)
}

/// Runs `f` on the driver if it still exists.
fn with(weak: &Weak<Driver>, f: impl FnOnce(&Rc<Driver>)) {
    if let Some(driver) = weak.upgrade() {
        f(&driver);
    }
}

impl Driver {
    /// A driver over `parts`; it starts watching this tab's pending changes and other tabs'
    /// announcements, and performs the scheduler's first actions.
    pub(super) fn new(parts: Parts) -> Rc<Driver> {
        let driver = Rc::new_cyclic(|weak: &Weak<Driver>| {
            let w = weak.clone();
            let timer = Closure::<dyn Fn()>::new(move || {
                with(&w, |d| {
                    d.handles.borrow_mut().timer = None;
                    d.machine.borrow_mut().handle_timeout(now());
                    d.pump();
                })
            });
            let w = weak.clone();
            let head = Closure::<dyn Fn(String)>::new(move |text: String| {
                // A malformed notification only costs a poll.
                if let Ok(info) = protocol::decode_str::<HeadInfo>(&text) {
                    with(&w, |d| {
                        d.machine.borrow_mut().handle_live(info.head, &info.store);
                        d.pump();
                    })
                }
            });
            let w = weak.clone();
            let online = Closure::<dyn Fn()>::new(move || {
                with(&w, |d| {
                    d.machine.borrow_mut().handle_online();
                    d.pump();
                })
            });
            let w = weak.clone();
            let lease = Closure::<dyn Fn(f64, bool)>::new(move |lease: f64, gained: bool| {
                with(&w, |d| {
                    let lease = Lease(lease as u64);
                    let mut m = d.machine.borrow_mut();
                    if gained {
                        m.handle_leadership_gained(lease);
                    } else {
                        m.handle_leadership_lost(lease);
                    }
                    drop(m);
                    d.pump();
                })
            });
            let w = weak.clone();
            let message = Closure::<dyn Fn(MessageEvent)>::new(move |_: MessageEvent| {
                with(&w, |d| {
                    d.client.replica().pending_changed();
                    d.machine.borrow_mut().handle_pending_changed();
                    d.pump();
                })
            });
            let channel = if parts.shared {
                BroadcastChannel::new(&parts.lock_name).ok()
            } else {
                None
            };
            if let Some(c) = &channel {
                c.set_onmessage(Some(message.as_ref().unchecked_ref()));
            }
            Driver {
                machine: RefCell::new(parts.machine),
                client: parts.client,
                transport: parts.transport,
                resolver: parts.resolver,
                listeners: parts.listeners,
                lock_name: parts.lock_name,
                channel,
                handles: RefCell::new(Handles::default()),
                calls: RefCell::new(Callers::default()),
                running_exchange: RefCell::new(None),
                callbacks: Callbacks {
                    timer,
                    head,
                    online,
                    lease,
                    _message: message,
                },
                running: RefCell::new(None),
            }
        });
        driver.watch_pending();
        driver.pump();
        driver
    }

    /// After each change this tab makes to the pending events: tell the other tabs and the
    /// scheduler.
    fn watch_pending(self: &Rc<Self>) {
        let replica = self.client.replica().clone();
        let weak = Rc::downgrade(self);
        spawn(async move {
            let changes = replica.local_changes();
            changes
                .follow(|| {
                    let Some(d) = weak.upgrade() else {
                        return false;
                    };
                    if let Some(c) = &d.channel {
                        let _ = c.post_message(&JsValue::from_str("pending"));
                    }
                    d.machine.borrow_mut().handle_pending_changed();
                    d.pump();
                    true
                })
                .await
        });
    }

    /// Runs `f` on the scheduler, then performs what it asks.
    pub(super) fn update<T>(self: &Rc<Self>, f: impl FnOnce(&mut Scheduler<JsFailure>) -> T) -> T {
        let out = f(&mut self.machine.borrow_mut());
        self.pump();
        out
    }

    /// The status as JavaScript sees it.
    pub(super) fn status(&self) -> JsValue {
        plain(self.machine.borrow().status())
    }

    /// `now()`: a promise of the report of the exchange that answers this call, or of
    /// `signal.reason` once `abort` aborts (the exchange is interrupted if no one else waits
    /// for it and background syncing is off).
    pub(super) fn now(self: &Rc<Self>, abort: Abort) -> js_sys::Promise {
        if abort.aborted() {
            return js_sys::Promise::reject(&abort.reason());
        }
        let id = self.machine.borrow_mut().sync_now();
        let mut ticket = None;
        let answer = js_sys::Promise::new(&mut |resolve, reject| {
            ticket = Some(self.calls.borrow_mut().wait(id, (resolve, reject)));
        });
        self.pump();
        let d = self.clone();
        to_promise(async move {
            let answer = wasm_bindgen_futures::JsFuture::from(answer);
            match abort.signal().until_stopped(answer).await {
                Some(outcome) => outcome,
                None => {
                    if let Some(ticket) = ticket {
                        d.give_up(id, ticket);
                    }
                    Err(abort.reason())
                }
            }
        })
    }

    /// Caller `ticket` of exchange `id` aborted: interrupt the exchange if it was the last one
    /// waiting and the scheduler agrees.
    fn give_up(self: &Rc<Self>, id: ExchangeId, ticket: Ticket) {
        let unwanted = self.calls.borrow_mut().give_up(id, ticket);
        if unwanted && self.update(|m| m.cancel_exchange(id)) {
            if let Some((running, stop)) = &*self.running_exchange.borrow() {
                if *running == id {
                    stop.stop();
                }
            }
        }
    }

    /// Performs the scheduler's actions, tells the app its events, and arms its timer. The
    /// scheduler is never borrowed while JavaScript runs, so a callback may come back in.
    fn pump(self: &Rc<Self>) {
        loop {
            let action = self.machine.borrow_mut().poll_action();
            match action {
                Some(a) => self.perform(a),
                None => break,
            }
        }
        loop {
            let event = self.machine.borrow_mut().poll_event();
            match event {
                Some(e) => self.tell(e),
                None => break,
            }
        }
        self.arm_timer();
        let started = self.machine.borrow().is_started();
        if started != self.running.borrow().is_some() {
            *self.running.borrow_mut() = started.then(|| self.clone());
        }
    }

    fn perform(self: &Rc<Self>, action: Action) {
        match action {
            Action::Exchange(id) => {
                let d = self.clone();
                let stop = Signal::new();
                *self.running_exchange.borrow_mut() = Some((id, stop.clone()));
                spawn(async move {
                    let transport = Interruptible {
                        inner: &d.transport,
                        stop: &stop,
                    };
                    let result = d.client.sync(&transport, &*d.resolver).await;
                    let (outcome, finished) = match &result {
                        Ok(report) => (Ok(plain(report)), Ok(report)),
                        Err(e) => {
                            let error = to_js(e.clone());
                            let kind = e.kind();
                            (Err(error.clone()), Err(JsFailure { kind, error }))
                        }
                    };
                    d.calls.borrow_mut().finished(id, outcome);
                    d.update(|m| m.handle_exchange_finished(id, now(), wall(), finished));
                });
            }
            Action::ReadStatus(read) => {
                let d = self.clone();
                spawn(async move {
                    let status = d.client.status().await.ok();
                    d.update(|m| m.handle_status_read(read, status));
                });
            }
            Action::RequestLeadership(lease) => {
                let f: &Function = self.callbacks.lease.as_ref().unchecked_ref();
                let id = JsValue::from_f64(lease.0 as f64);
                let gained: Function = f
                    .bind2(&JsValue::NULL, &id, &JsValue::TRUE)
                    .unchecked_into();
                let lost: Function = f
                    .bind2(&JsValue::NULL, &id, &JsValue::FALSE)
                    .unchecked_into();
                let release = lead_with_loss(&self.lock_name, &gained, &lost);
                self.handles.borrow_mut().leases.push((lease, release));
            }
            Action::ReleaseLeadership(lease) => {
                let release = {
                    let mut h = self.handles.borrow_mut();
                    let at = h.leases.iter().position(|(l, _)| *l == lease);
                    at.map(|i| h.leases.swap_remove(i).1)
                };
                if let Some(release) = release {
                    let _ = release.call0(&JsValue::NULL);
                }
            }
            Action::Watch => {
                let t = &self.transport;
                let live = open_live(
                    &t.url,
                    &t.token,
                    self.callbacks.head.as_ref().unchecked_ref(),
                );
                let online = watch_online(self.callbacks.online.as_ref().unchecked_ref());
                let closers = [live, online]
                    .into_iter()
                    .filter_map(|c| c.dyn_into::<Function>().ok());
                self.handles.borrow_mut().unwatch.extend(closers);
            }
            Action::Unwatch => {
                let closers = std::mem::take(&mut self.handles.borrow_mut().unwatch);
                for close in closers {
                    let _ = close.call0(&JsValue::NULL);
                }
            }
        }
    }

    fn tell(&self, event: Event) {
        let listeners = |pick: fn(&SyncListeners) -> &super::listeners::Listeners| {
            pick(&self.listeners.borrow()).snapshot()
        };
        match event {
            Event::StatusChanged => {
                let callbacks = listeners(|l| &l.status);
                if !callbacks.is_empty() {
                    call_all(callbacks, &self.status(), "a sync onStatus listener");
                }
            }
            Event::Conflict(held) => {
                call_all(
                    listeners(|l| &l.conflict),
                    &plain(&held),
                    "a sync onConflict listener",
                );
            }
            Event::Settled(id) => {
                let Some((callers, outcome)) = self.calls.borrow_mut().settle(id) else {
                    return;
                };
                let outcome = outcome.unwrap_or(Ok(JsValue::UNDEFINED));
                for (resolve, reject) in callers {
                    let _ = match &outcome {
                        Ok(report) => resolve.call1(&JsValue::NULL, report),
                        Err(error) => reject.call1(&JsValue::NULL, error),
                    };
                }
            }
        }
    }

    /// Sets the platform timer to what the scheduler asks for (or cancels it).
    fn arm_timer(&self) {
        let due = self.machine.borrow().poll_timeout();
        let armed = self.handles.borrow().timer.as_ref().map(|(at, _)| *at);
        if due == armed {
            return;
        }
        let old = self.handles.borrow_mut().timer.take();
        if let Some((_, cancel)) = old {
            let _ = cancel.call0(&JsValue::NULL);
        }
        if let Some(at) = due {
            let ms = at.saturating_since(now()).as_millis() as f64;
            let cancel = start_timer(ms, self.callbacks.timer.as_ref().unchecked_ref());
            self.handles.borrow_mut().timer = Some((at, cancel));
        }
    }
}

impl Drop for Driver {
    /// Closes what is still open, so the platform never calls a dropped callback.
    fn drop(&mut self) {
        let handles = std::mem::take(self.handles.get_mut());
        let cancels = handles.timer.map(|(_, cancel)| cancel);
        let releases = handles.leases.into_iter().map(|(_, release)| release);
        for f in handles.unwatch.into_iter().chain(cancels).chain(releases) {
            let _ = f.call0(&JsValue::NULL);
        }
        if let Some(c) = &self.channel {
            c.set_onmessage(None);
            c.close();
        }
    }
}
