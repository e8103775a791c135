//! The background half of the JavaScript `Bus`: event handlers with side effects (here) and
//! sagas (`bus/sagas.rs`), run by the worker pool of [`crate::cqrs::workers`] in exactly one
//! tab (the holder of a Web Lock named after the database; without Web Locks, here). This file
//! gives the pool its JavaScript seams (`Date.now()` and `setTimeout`, the Web Lock) and binds
//! `on`, the dead-letter methods, `start`, `stop` and `isLeader`.

use std::rc::{Rc, Weak};

use js_sys::{Function, Object, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::core::event::{EventType, Position, RecordedEvent, Timestamp};
use crate::cqrs::bus::CommandContext;
use crate::cqrs::handlers::{EventHandler, HandlerOptions, HandlerRunner};
use crate::cqrs::runtime::{LocalBoxFuture, Runtime};
use crate::cqrs::workers::{LeaderLock, Release};
use crate::error::{Error, Result};
use crate::store::EventFilter;
use crate::wasm::bus::context::context_to_js;
use crate::wasm::bus::reply::{error_from_js, set};
use crate::wasm::bus::{cancel_sleep, invoke, lead, sleep, Bus, BusInner};
use crate::wasm::convert::{self, event_to_js, get, plain, string_arg};
use crate::wasm::error::to_js;
use crate::wasm::promise::promise;

/// `Date.now()` and `setTimeout`.
pub(crate) struct JsRuntime;

impl Runtime for JsRuntime {
    fn now(&self) -> Timestamp {
        Timestamp(js_sys::Date::now() as i64)
    }

    fn sleep(&self, ms: u64) -> LocalBoxFuture<'static, ()> {
        let p = sleep(ms as f64);
        let timer = Timer(p.clone());
        Box::pin(async move {
            let _ = JsFuture::from(p).await;
            drop(timer);
        })
    }
}

/// Clears its `setTimeout` when dropped: a sleep that lost a race (a handler's time limit, a
/// saga waiting for more events) must not keep Node, Deno or Bun running until it fires.
struct Timer(Promise);

impl Drop for Timer {
    fn drop(&mut self) {
        cancel_sleep(&self.0);
    }
}

/// The Web Lock of this name (`lead` in bindings.js).
pub(crate) struct WebLock(pub String);

impl LeaderLock for WebLock {
    fn acquire(&self, on_held: Box<dyn FnOnce()>) -> Release {
        let release = lead(&self.0, &Closure::once_into_js(on_held));
        Box::new(move || drop(release.call0(&JsValue::UNDEFINED)))
    }
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
            let ctx = CommandContext::handling(&self.name, event);
            let ctx_js = context_to_js(&inner, &ctx, Some(event.id.as_str()));
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

fn position_arg(position: f64) -> Result<Position> {
    if position.is_finite() && position >= 1.0 && position.fract() == 0.0 {
        Ok(Position(position as u64))
    } else {
        Err(Error::invalid("position must be a positive integer"))
    }
}

impl Bus {
    fn define_handler(&self, definition: &JsValue) -> Result<()> {
        let name = string_arg(&get(definition, "name")?, "event handler name")?;
        let handlers = get(definition, "handlers")?;
        if !handlers.is_object() {
            return Err(Error::invalid(
                "an event handler needs { handlers: { EventType: fn } }",
            ));
        }
        let types = Object::keys(handlers.unchecked_ref::<Object>())
            .iter()
            .filter_map(|k| k.as_string())
            .map(EventType::new)
            .collect::<Result<Vec<_>, _>>()?;
        if types.is_empty() {
            return Err(Error::invalid("an event handler needs at least one type"));
        }
        let filter = EventFilter {
            stream_prefixes: Vec::new(),
            types: Some(types),
        };
        let handler: Box<dyn EventHandler> = Box::new(JsEventHandler {
            name: name.clone(),
            handlers,
            inner: Rc::downgrade(&self.inner),
        });
        let policy = convert::options::<HandlerOptions>(definition)?.policy();
        let runner = HandlerRunner::new(name, handler, filter, policy)?;
        self.inner.workers.add_handler(runner)
    }

    /// The promise of `f(handler runner, store)` for the handler `name`.
    fn with_handler<F, Fut>(&self, name: &str, f: F) -> Promise
    where
        F: FnOnce(Rc<HandlerRunner<Box<dyn EventHandler>>>, crate::wasm::bus::Pool) -> Fut,
        Fut: std::future::Future<Output = Result<JsValue>> + 'static,
    {
        let work = (self.inner.workers.handler(name)).map(|h| f(h, self.inner.workers.clone()));
        promise(async move { work?.await })
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
        self.with_handler(handler, |h, pool| async move {
            Ok(plain(&h.dead_letters(pool.store()).await?))
        })
    }

    /// Runs the handler on a parked event now, in this tab. On success the event leaves the
    /// dead letters; on failure it stays (with the new error) and the promise rejects.
    #[wasm_bindgen(js_name = retryDeadLetter, unchecked_return_type = "Promise<void>")]
    pub fn retry_dead_letter(&self, handler: &str, position: f64) -> Promise {
        self.with_handler(handler, move |h, pool| async move {
            let at = position_arg(position)?;
            h.retry_dead_letter(pool.store(), pool.runtime(), at)
                .await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Drops a parked event from the dead letters without handling it.
    #[wasm_bindgen(js_name = skipDeadLetter, unchecked_return_type = "Promise<void>")]
    pub fn skip_dead_letter(&self, handler: &str, position: f64) -> Promise {
        self.with_handler(handler, move |h, pool| async move {
            h.skip_dead_letter(pool.store(), position_arg(position)?)
                .await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// An event handler's persisted progress: `{ checkpoint, failing: { position, eventId,
    /// attempts, retryAt, error } | null }`.
    #[wasm_bindgen(js_name = handlerProgress, unchecked_return_type = "Promise<HandlerProgress>")]
    pub fn handler_progress(&self, handler: &str) -> Promise {
        self.with_handler(handler, |h, pool| async move {
            Ok(plain(&h.progress(pool.store()).await?))
        })
    }

    /// Starts the event handlers and sagas in the background, in exactly one tab per database:
    /// the tab holding the Web Lock `eventfold:<database>:workers`. The other tabs wait for it
    /// and one takes over when the leader tab closes or calls `stop()`. In-memory stores and
    /// runtimes without Web Locks (Node) run them here at once. Handlers and sagas registered
    /// later join.
    pub fn start(&self) {
        self.inner.workers.start();
    }

    /// Stops the workers in this tab and hands the lead to another tab once the work in
    /// flight (a handler call, a saga step) has finished, so two tabs never handle the same
    /// event or step at once.
    pub fn stop(&self) {
        self.inner.workers.stop();
    }

    /// Whether this tab runs the workers now.
    #[wasm_bindgen(getter, js_name = isLeader)]
    pub fn is_leader(&self) -> bool {
        self.inner.workers.is_leader()
    }
}
