//! The background half of the JavaScript `Bus`: event handlers with side effects (here) and
//! sagas (`bus/sagas.rs`), run by [`crate::cqrs::handlers`] and [`crate::cqrs::saga::run`] in
//! exactly one tab (the holder of a Web Lock named after the database; without Web Locks,
//! here). Leader election, `start`/`stop`, and the dead-letter methods of `Bus`.

use std::rc::{Rc, Weak};

use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::core::event::{EventType, Position, RecordedEvent, Timestamp};
use crate::core::json::Json;
use crate::cqrs::bus::CommandContext;
use crate::cqrs::handlers::{EventHandler, HandlerPolicy, HandlerRunner};
use crate::cqrs::ids;
use crate::cqrs::runtime::{LocalBoxFuture, Runtime, Signal};
use crate::cqrs::saga::run::SagaRunner;
use crate::engine::Store;
use crate::error::{Error, Result};
use crate::store::EventFilter;
use crate::wasm::bus::sagas::JsSagaEffects;
use crate::wasm::bus::{context_with_cause, error_from_js, invoke, lead, sleep, Bus, BusInner};
use crate::wasm::convert::{event_to_js, get, opt_u64, string_arg};
use crate::wasm::error::{message_of, to_js};

/// `Date.now()` and `setTimeout`.
pub(crate) struct JsRuntime;

impl Runtime for JsRuntime {
    fn now(&self) -> Timestamp {
        Timestamp(js_sys::Date::now() as i64)
    }

    fn sleep(&self, ms: u64) -> LocalBoxFuture<'static, ()> {
        let p = sleep(ms as f64);
        Box::pin(async move {
            let _ = JsFuture::from(p).await;
        })
    }
}

pub(crate) type Handler = Rc<HandlerRunner<Box<dyn EventHandler>>>;
pub(crate) type Saga = Rc<SagaRunner<JsSagaEffects>>;

/// The registered workers and whether this tab runs them.
#[derive(Default)]
pub(crate) struct Workers {
    handlers: Vec<Handler>,
    pub(crate) sagas: Vec<(String, Saga)>,
    /// One signal per running worker (handlers first, then sagas), while this tab leads.
    pub(crate) signals: Vec<(String, Signal)>,
    release: Option<Function>,
    /// The lock release to call once the stopped workers have finished their work in flight.
    pending_release: Option<Function>,
    /// Worker futures still running (stopping ones included).
    running: usize,
    started: bool,
    pub(crate) leader: bool,
}

/// A worker future ended: after `stop()`, the last one hands the lead to another tab, so no
/// step or event is ever being handled by two tabs at once.
fn finished(weak: &Weak<BusInner>) {
    let Some(inner) = weak.upgrade() else {
        return;
    };
    let release = {
        let mut w = inner.workers.borrow_mut();
        w.running = w.running.saturating_sub(1);
        if w.running == 0 && !w.leader {
            w.pending_release.take()
        } else {
            None
        }
    };
    if let Some(f) = release {
        let _ = f.call0(&JsValue::UNDEFINED);
    }
}

pub(crate) fn set(o: &JsValue, key: &str, v: &JsValue) {
    let _ = Reflect::set(o, &JsValue::from_str(key), v);
}

/// `handlers[event.type](event, ctx)` of one named handler.
struct JsEventHandler {
    name: String,
    handlers: JsValue,
    inner: Weak<BusInner>,
}

impl EventHandler for JsEventHandler {
    fn handle(&self, event: &RecordedEvent) -> LocalBoxFuture<'static, Result<()>> {
        let run = || -> Result<Promise> {
            let inner = self
                .inner
                .upgrade()
                .ok_or_else(|| Error::invalid("the bus is gone"))?;
            let f = get(&self.handlers, event.event_type.as_str())?
                .dyn_into::<Function>()
                .map_err(|_| Error::invalid("no handler function for this type"))?;
            let ctx = CommandContext::caused_by(
                event,
                ids::derive(&["handler", &self.name, event.id.as_str()]),
            );
            let ctx_js = context_with_cause(&inner, &ctx, Some(event.id.as_str().to_owned()));
            set(&ctx_js, "eventId", &event.id.as_str().into());
            Ok(invoke(
                &f,
                &event_to_js(event)?,
                &ctx_js,
                &JsValue::UNDEFINED,
            ))
        };
        let promise = run();
        Box::pin(async move {
            JsFuture::from(promise?)
                .await
                .map(drop)
                .map_err(|thrown| error_from_js(&thrown))
        })
    }
}

fn on_error(inner: &Weak<BusInner>) -> impl Fn(&Error) {
    let inner = inner.clone();
    move |e: &Error| {
        if let Some(f) = inner.upgrade().and_then(|i| i.on_error.clone()) {
            let _ = f.call1(&JsValue::UNDEFINED, &to_js(e.clone()));
        }
    }
}

fn spawn_handler(inner: &Rc<BusInner>, runner: Handler, signal: Signal) {
    let store: Store = inner.store.clone();
    let weak = Rc::downgrade(inner);
    inner.workers.borrow_mut().running += 1;
    crate::wasm::promise::spawn(async move {
        runner
            .run(&store, &JsRuntime, &signal, &on_error(&weak))
            .await;
        finished(&weak);
    });
}

pub(crate) fn spawn_saga(inner: &Rc<BusInner>, runner: Saga, signal: Signal) {
    let store: Store = inner.store.clone();
    let weak = Rc::downgrade(inner);
    inner.workers.borrow_mut().running += 1;
    crate::wasm::promise::spawn(async move {
        runner
            .run(&store, &JsRuntime, &signal, &on_error(&weak))
            .await;
        finished(&weak);
    });
}

/// Starts every worker: this tab now leads.
fn begin(inner: &Rc<BusInner>) {
    let (handlers, sagas) = {
        let mut w = inner.workers.borrow_mut();
        if !w.started || w.leader {
            return;
        }
        w.leader = true;
        (w.handlers.clone(), w.sagas.clone())
    };
    for h in handlers {
        let signal = Signal::new();
        inner
            .workers
            .borrow_mut()
            .signals
            .push((h.name().to_owned(), signal.clone()));
        spawn_handler(inner, h, signal);
    }
    for (name, s) in sagas {
        let signal = Signal::new();
        inner
            .workers
            .borrow_mut()
            .signals
            .push((format!("saga:{name}"), signal.clone()));
        spawn_saga(inner, s, signal);
    }
}

fn policy(options: &JsValue) -> Result<HandlerPolicy> {
    let d = HandlerPolicy::default();
    let u32_of = |key: &str, default: u32| -> Result<u32> {
        opt_u64(options, key)?.map_or(Ok(default), |n| {
            u32::try_from(n).map_err(|_| Error::invalid(format!("{key} is too large")))
        })
    };
    Ok(HandlerPolicy {
        max_attempts: u32_of("maxAttempts", d.max_attempts)?,
        backoff_ms: opt_u64(options, "backoffMs")?.unwrap_or(d.backoff_ms),
        max_backoff_ms: opt_u64(options, "maxBackoffMs")?.unwrap_or(d.max_backoff_ms),
        timeout_ms: opt_u64(options, "timeoutMs")?.unwrap_or(d.timeout_ms),
        page_size: usize::try_from(opt_u64(options, "pageSize")?.unwrap_or(100).max(1))
            .unwrap_or(100),
    })
}

pub(crate) fn types_filter(types: Vec<String>) -> Result<EventFilter> {
    Ok(EventFilter {
        stream_prefixes: Vec::new(),
        types: Some(
            types
                .iter()
                .map(EventType::new)
                .collect::<Result<Vec<_>>>()?,
        ),
    })
}

fn position_arg(position: f64) -> Result<Position> {
    if position.is_finite() && position >= 1.0 && position.fract() == 0.0 {
        Ok(Position(position as u64))
    } else {
        Err(Error::invalid("position must be a positive integer"))
    }
}

pub(crate) fn promise<F>(f: F) -> Promise
where
    F: std::future::Future<Output = Result<JsValue>> + 'static,
{
    crate::wasm::promise::to_promise(async move { f.await.map_err(to_js) })
}

impl Bus {
    pub(crate) fn add_handler(&self, runner: Handler) -> Result<()> {
        let mut w = self.inner.workers.borrow_mut();
        if w.handlers.iter().any(|h| h.name() == runner.name()) {
            return Err(Error::invalid(format!(
                "an event handler named {:?} is already registered",
                runner.name()
            )));
        }
        w.handlers.push(runner.clone());
        let leader = w.leader;
        drop(w);
        if leader {
            let signal = Signal::new();
            self.inner
                .workers
                .borrow_mut()
                .signals
                .push((runner.name().to_owned(), signal.clone()));
            spawn_handler(&self.inner, runner, signal);
        }
        Ok(())
    }

    fn handler(&self, name: &str) -> Result<Handler> {
        self.inner
            .workers
            .borrow()
            .handlers
            .iter()
            .find(|h| h.name() == name)
            .cloned()
            .ok_or_else(|| Error::HandlerNotFound {
                kind: "event".into(),
                message_type: name.to_owned(),
            })
    }

    pub(crate) fn saga_runner(&self, name: &str) -> Result<Saga> {
        self.inner
            .workers
            .borrow()
            .sagas
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| s.clone())
            .ok_or_else(|| Error::HandlerNotFound {
                kind: "saga".into(),
                message_type: name.to_owned(),
            })
    }

    pub(crate) fn kick(&self, key: &str) {
        for (k, s) in &self.inner.workers.borrow().signals {
            if k == key {
                s.kick();
            }
        }
    }

    fn define_handler(&self, definition: &JsValue) -> Result<()> {
        let name = string_arg(&get(definition, "name")?, "event handler name")?;
        let handlers = get(definition, "handlers")?;
        if !handlers.is_object() {
            return Err(Error::invalid(
                "an event handler needs { handlers: { EventType: fn } }",
            ));
        }
        let types: Vec<String> = Object::keys(handlers.unchecked_ref::<Object>())
            .iter()
            .filter_map(|k| k.as_string())
            .collect();
        if types.is_empty() {
            return Err(Error::invalid("an event handler needs at least one type"));
        }
        let handler: Box<dyn EventHandler> = Box::new(JsEventHandler {
            name: name.clone(),
            handlers,
            inner: Rc::downgrade(&self.inner),
        });
        let runner = HandlerRunner::new(name, handler, types_filter(types)?, policy(definition)?)?;
        self.add_handler(Rc::new(runner))
    }
}

#[wasm_bindgen]
impl Bus {
    /// Registers an event handler with side effects: `{ name, handlers: { EventType: (event,
    /// ctx) => void | Promise<void> }, maxAttempts?: 5, backoffMs?: 1000, maxBackoffMs?:
    /// 60000, timeoutMs?: 30000 }`. Once `start()`ed, it receives every event of its types
    /// after its persisted checkpoint, one at a time in position order, at least once: make
    /// it idempotent with `event.id` as the key. A throw, a rejection or a call that does not
    /// settle within `timeoutMs` is retried with backoff; after `maxAttempts` the event is
    /// parked in the dead letters and the handler goes on.
    ///
    /// ```ts
    /// bus.on({ name: "emails", handlers: {
    ///   OrderConfirmed: async (event) => mailer.send(event.data.email, { idempotencyKey: event.id }),
    /// } });
    /// bus.start();
    /// ```
    pub fn on(
        &self,
        #[wasm_bindgen(unchecked_param_type = "EventHandlerDefinition<E, C>")] definition: JsValue,
    ) -> std::result::Result<(), JsValue> {
        self.define_handler(&definition).map_err(to_js)
    }

    /// The events an event handler parked: `[{ position, eventId, stream, type, attempts,
    /// error }]`, oldest first. Any tab can read them.
    #[wasm_bindgen(js_name = deadLetters, unchecked_return_type = "Promise<DeadLetter[]>")]
    pub fn dead_letters(&self, handler: &str) -> Promise {
        let found = self.handler(handler);
        let store = self.inner.store.clone();
        promise(async move {
            let letters = found?.dead_letters(&store).await?;
            js_sys::JSON::parse(Json::from_value(&letters)?.as_str())
                .map_err(|e| Error::invalid(message_of(&e)))
        })
    }

    /// Runs the handler on a parked event now, in this tab. On success the event leaves the
    /// dead letters; on failure it stays (with the new error) and the promise rejects.
    #[wasm_bindgen(js_name = retryDeadLetter, unchecked_return_type = "Promise<void>")]
    pub fn retry_dead_letter(&self, handler: &str, position: f64) -> Promise {
        let found = self.handler(handler);
        let store = self.inner.store.clone();
        promise(async move {
            found?
                .retry_dead_letter(&store, &JsRuntime, position_arg(position)?)
                .await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Drops a parked event from the dead letters without handling it.
    #[wasm_bindgen(js_name = skipDeadLetter, unchecked_return_type = "Promise<void>")]
    pub fn skip_dead_letter(&self, handler: &str, position: f64) -> Promise {
        let found = self.handler(handler);
        let store = self.inner.store.clone();
        promise(async move {
            found?
                .skip_dead_letter(&store, position_arg(position)?)
                .await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// An event handler's persisted progress: `{ checkpoint, failing: { position, eventId,
    /// attempts, retryAt, error } | null }`.
    #[wasm_bindgen(js_name = handlerProgress, unchecked_return_type = "Promise<HandlerProgress>")]
    pub fn handler_progress(&self, handler: &str) -> Promise {
        let found = self.handler(handler);
        let store = self.inner.store.clone();
        promise(async move {
            let p = found?.progress(&store).await?;
            js_sys::JSON::parse(Json::from_value(&p)?.as_str())
                .map_err(|e| Error::invalid(message_of(&e)))
        })
    }

    /// Starts the event handlers and sagas in the background, in exactly one tab per database:
    /// the tab holding the Web Lock `eventfold:<database>:workers`. The other tabs wait for it
    /// and one takes over when the leader tab closes or calls `stop()`. In-memory stores and
    /// runtimes without Web Locks (Node) run them here at once. Handlers and sagas registered
    /// later join.
    pub fn start(&self) {
        let name = {
            let mut w = self.inner.workers.borrow_mut();
            if w.started {
                return;
            }
            w.started = true;
            self.inner
                .store
                .durable_name()
                .map(|name| format!("eventfold:{name}:workers"))
        };
        let Some(name) = name else {
            return begin(&self.inner);
        };
        let weak = Rc::downgrade(&self.inner);
        let on_acquire = Closure::once_into_js(move || {
            if let Some(inner) = weak.upgrade() {
                begin(&inner);
            }
        });
        let release = lead(&name, &on_acquire);
        self.inner.workers.borrow_mut().release = Some(release);
    }

    /// Stops the workers in this tab and hands the lead to another tab once the work in
    /// flight (a handler call, a saga step) has finished, so two tabs never handle the same
    /// event or step at once.
    pub fn stop(&self) {
        let (signals, release, idle) = {
            let mut w = self.inner.workers.borrow_mut();
            w.started = false;
            w.leader = false;
            (
                std::mem::take(&mut w.signals),
                w.release.take(),
                w.running == 0,
            )
        };
        for (_, s) in signals {
            s.stop();
        }
        match release {
            Some(f) if idle => drop(f.call0(&JsValue::UNDEFINED)),
            Some(f) => self.inner.workers.borrow_mut().pending_release = Some(f),
            None => {}
        }
    }

    /// Whether this tab runs the workers now.
    #[wasm_bindgen(getter, js_name = isLeader)]
    pub fn is_leader(&self) -> bool {
        self.inner.workers.borrow().leader
    }
}
