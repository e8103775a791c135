//! The background half of the JavaScript `Bus`: event handlers with side effects and sagas,
//! run by [`crate::cqrs::handlers`] and [`crate::cqrs::saga_run`] in exactly one tab (the holder
//! of a Web Lock named after the database; without Web Locks, here).

use std::rc::{Rc, Weak};

use js_sys::{Array, Function, Object, Promise, Reflect};
use serde_json::{Map, Value};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::core::event::{EventType, Position, RecordedEvent, Timestamp};
use crate::core::json::Json;
use crate::cqrs::bus::CommandContext;
use crate::cqrs::handlers::{EventHandler, HandlerPolicy, HandlerRunner};
use crate::cqrs::ids;
use crate::cqrs::runtime::{LocalBoxFuture, Runtime, Signal};
use crate::cqrs::saga::{SagaShape, SagaState, StepKind, StepShape};
use crate::cqrs::saga_run::{SagaEffects, SagaPolicy, SagaRunner};
use crate::error::{Error, Result};
use crate::store::EventFilter;
use crate::wasm::backend::Backend;
use crate::wasm::bus::{
    attempt, context_with_cause, dispatch, error_from_js, invoke, lead, sleep, Bus, BusInner,
};
use crate::wasm::convert::{get, opt_u64, string_arg};
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

type Handler = Rc<HandlerRunner<Box<dyn EventHandler>>>;
type Saga = Rc<SagaRunner<JsSagaEffects>>;

/// The registered workers and whether this tab runs them.
#[derive(Default)]
pub(crate) struct Workers {
    handlers: Vec<Handler>,
    sagas: Vec<(String, Saga)>,
    /// One signal per running worker (handlers first, then sagas), while this tab leads.
    signals: Vec<(String, Signal)>,
    release: Option<Function>,
    /// The lock release to call once the stopped workers have finished their work in flight.
    pending_release: Option<Function>,
    /// Worker futures still running (stopping ones included).
    running: usize,
    started: bool,
    leader: bool,
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

fn set(o: &JsValue, key: &str, v: &JsValue) {
    let _ = Reflect::set(o, &JsValue::from_str(key), v);
}

fn event_to_js(inner: &BusInner, event: &RecordedEvent) -> Result<JsValue> {
    Ok(Array::from(&inner.upcasters.to_js(std::slice::from_ref(event))?).get(0))
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
                &event_to_js(&inner, event)?,
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

/// Starts a saga for each event of its `startOn` type.
struct SagaStarter {
    saga: Saga,
    id: Function,
    input: Option<Function>,
    inner: Weak<BusInner>,
}

impl EventHandler for SagaStarter {
    fn handle(&self, event: &RecordedEvent) -> LocalBoxFuture<'static, Result<()>> {
        let prepared = (|| -> Result<_> {
            let inner = self
                .inner
                .upgrade()
                .ok_or_else(|| Error::invalid("the bus is gone"))?;
            let js = event_to_js(&inner, event)?;
            let call = |f: &Function, what: &str| -> Result<JsValue> {
                let out = attempt(f, &js, &JsValue::UNDEFINED);
                if out.length() > 1 {
                    return Err(Error::HandlerFailed {
                        message: format!("startOn.{what} threw: {}", message_of(&out.get(1))),
                    });
                }
                Ok(out.get(0))
            };
            let id = string_arg(&call(&self.id, "id")?, "startOn.id(event)")?;
            let input = match &self.input {
                Some(f) => call(f, "input")?,
                None => get(&js, "data")?,
            };
            let input = js_json(&input)?;
            let ctx = CommandContext::caused_by(event, event.id.clone());
            Ok((inner, id, input, ctx.correlation_id))
        })();
        let saga = self.saga.clone();
        Box::pin(async move {
            let (inner, id, input, correlation) = prepared?;
            saga.start(&*inner.store, &id, input, Some(correlation))
                .await
                .map(drop)
        })
    }
}

fn js_json(v: &JsValue) -> Result<Json> {
    if v.is_undefined() {
        return Ok(Json::null());
    }
    let text = js_sys::JSON::stringify(v)
        .ok()
        .and_then(|s| s.as_string())
        .ok_or_else(|| Error::invalid("the value is not JSON"))?;
    Json::parse(text)
}

/// What a step function sees: `{ id, input, results: { stepName: result }, status }`.
fn saga_view(shape: &SagaShape, state: &SagaState) -> Result<JsValue> {
    let mut results = Map::new();
    for (i, step) in shape.steps.iter().enumerate() {
        if let Some(Some(r)) = state.results.get(i) {
            results.insert(step.name.clone(), r.decode::<Value>()?);
        }
    }
    let parked = state
        .parked_step(shape)
        .and_then(|i| shape.steps.get(i))
        .map(|s| s.name.clone());
    let view = serde_json::json!({
        "id": state.id,
        "status": state.status,
        "input": state.input.decode::<Value>()?,
        "results": results,
        "failure": state.failure,
        "compensationError": state.compensation_error,
        "compensated": state.compensated.iter().filter_map(|i| shape.steps.get(*i)).map(|s| s.name.clone()).collect::<Vec<_>>(),
        "parkedStep": parked,
        "version": state.version.0,
        "correlationId": state.correlation_id,
    });
    js_sys::JSON::parse(&view.to_string()).map_err(|e| Error::invalid(message_of(&e)))
}

/// A saga definition's steps, run through the bus.
pub(crate) struct JsSagaEffects {
    shape: SagaShape,
    steps: Vec<JsValue>,
    inner: Weak<BusInner>,
}

impl SagaEffects for JsSagaEffects {
    fn dispatch(
        &self,
        saga: &SagaState,
        step: usize,
        compensate: bool,
        ctx: CommandContext,
    ) -> LocalBoxFuture<'static, Result<Json>> {
        let prepared = (|| -> Result<_> {
            let inner = self
                .inner
                .upgrade()
                .ok_or_else(|| Error::invalid("the bus is gone"))?;
            let def = self.steps.get(step).cloned().unwrap_or(JsValue::UNDEFINED);
            let key = if compensate { "compensate" } else { "command" };
            let f = get(&def, key)?
                .dyn_into::<Function>()
                .map_err(|_| Error::invalid(format!("step {step} has no {key} function")))?;
            let out = attempt(&f, &saga_view(&self.shape, saga)?, &JsValue::UNDEFINED);
            if out.length() > 1 {
                return Err(error_from_js(&out.get(1)));
            }
            Ok((inner, out.get(0)))
        })();
        Box::pin(async move {
            let (inner, command) = prepared?;
            match dispatch(&inner, command, ctx).await? {
                Ok(v) => Ok(js_json(&v).unwrap_or_else(|_| Json::null())),
                Err(thrown) => Err(error_from_js(&thrown)),
            }
        })
    }

    fn matches(&self, saga: &SagaState, step: usize, event: &RecordedEvent) -> Result<bool> {
        let inner = self
            .inner
            .upgrade()
            .ok_or_else(|| Error::invalid("the bus is gone"))?;
        let def = self.steps.get(step).cloned().unwrap_or(JsValue::UNDEFINED);
        let Ok(f) = get(&get(&def, "awaitEvent")?, "match")?.dyn_into::<Function>() else {
            return Ok(true);
        };
        let out = attempt(
            &f,
            &event_to_js(&inner, event)?,
            &saga_view(&self.shape, saga)?,
        );
        if out.length() > 1 {
            return Err(error_from_js(&out.get(1)));
        }
        Ok(out.get(0).is_truthy())
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
    let store: Rc<Backend> = inner.store.clone();
    let weak = Rc::downgrade(inner);
    inner.workers.borrow_mut().running += 1;
    crate::wasm::promise::spawn(async move {
        runner
            .run(&*store, &JsRuntime, &signal, &on_error(&weak))
            .await;
        finished(&weak);
    });
}

fn spawn_saga(inner: &Rc<BusInner>, runner: Saga, signal: Signal) {
    let store: Rc<Backend> = inner.store.clone();
    let weak = Rc::downgrade(inner);
    inner.workers.borrow_mut().running += 1;
    crate::wasm::promise::spawn(async move {
        runner
            .run(&*store, &JsRuntime, &signal, &on_error(&weak))
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

fn types_filter(types: Vec<String>) -> Result<EventFilter> {
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

fn promise<F>(f: F) -> Promise
where
    F: std::future::Future<Output = Result<JsValue>> + 'static,
{
    crate::wasm::promise::to_promise(async move { f.await.map_err(to_js) })
}

impl Bus {
    fn add_handler(&self, runner: Handler) -> Result<()> {
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

    fn saga_runner(&self, name: &str) -> Result<Saga> {
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

    fn kick(&self, key: &str) {
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

    fn define_saga(&self, definition: &JsValue) -> Result<()> {
        let name = string_arg(&get(definition, "name")?, "saga name")?;
        if self.saga_runner(&name).is_ok() {
            return Err(Error::invalid(format!(
                "a saga named {name:?} is already registered"
            )));
        }
        let list = get(definition, "steps")?;
        if !Array::is_array(&list) {
            return Err(Error::invalid("a saga needs { steps: [...] }"));
        }
        let steps: Vec<JsValue> = Array::from(&list).iter().collect();
        let mut shapes = Vec::new();
        for (i, s) in steps.iter().enumerate() {
            let step_name = string_arg(&get(s, "name")?, &format!("steps[{i}].name"))?;
            let awaited = get(s, "awaitEvent")?;
            let kind = if awaited.is_undefined() {
                function(s, "command", &format!("saga step {step_name}"))?;
                StepKind::Command {
                    compensate: get(s, "compensate")?.is_function(),
                }
            } else {
                StepKind::Await {
                    event_type: EventType::new(string_arg(
                        &get(&awaited, "type")?,
                        &format!("steps[{i}].awaitEvent.type"),
                    )?)?,
                    timeout_ms: opt_u64(s, "timeoutMs")?,
                }
            };
            shapes.push(StepShape {
                name: step_name,
                kind,
            });
        }
        let attempts = opt_u64(definition, "compensationAttempts")?.unwrap_or(3);
        let shape = SagaShape {
            name: name.clone(),
            steps: shapes,
            compensation_attempts: u32::try_from(attempts)
                .map_err(|_| Error::invalid("compensationAttempts is too large"))?,
        };
        let d = SagaPolicy::default();
        let saga_policy = SagaPolicy {
            step_timeout_ms: opt_u64(definition, "stepTimeoutMs")?.unwrap_or(d.step_timeout_ms),
            backoff_ms: opt_u64(definition, "backoffMs")?.unwrap_or(d.backoff_ms),
            max_backoff_ms: opt_u64(definition, "maxBackoffMs")?.unwrap_or(d.max_backoff_ms),
        };
        let effects = JsSagaEffects {
            shape: shape.clone(),
            steps,
            inner: Rc::downgrade(&self.inner),
        };
        let runner: Saga = Rc::new(SagaRunner::new(shape, effects, saga_policy)?);
        let start_on = get(definition, "startOn")?;
        let starter = if start_on.is_undefined() {
            None
        } else {
            let t = string_arg(&get(&start_on, "type")?, "startOn.type")?;
            let starter: Box<dyn EventHandler> = Box::new(SagaStarter {
                saga: runner.clone(),
                id: function(&start_on, "id", "startOn")?,
                input: get(&start_on, "input")?.dyn_into::<Function>().ok(),
                inner: Rc::downgrade(&self.inner),
            });
            Some(HandlerRunner::new(
                format!("saga:{name}:start"),
                starter,
                types_filter(vec![t])?,
                HandlerPolicy::default(),
            )?)
        };
        let leader = {
            let mut w = self.inner.workers.borrow_mut();
            w.sagas.push((name.clone(), runner.clone()));
            w.leader
        };
        if leader {
            let signal = Signal::new();
            self.inner
                .workers
                .borrow_mut()
                .signals
                .push((format!("saga:{name}"), signal.clone()));
            spawn_saga(&self.inner, runner, signal);
        }
        if let Some(s) = starter {
            self.add_handler(Rc::new(s))?;
        }
        Ok(())
    }
}

use crate::wasm::model::function;

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
        #[wasm_bindgen(unchecked_param_type = "EventHandlerDefinition")] definition: JsValue,
    ) -> std::result::Result<(), JsValue> {
        self.define_handler(&definition).map_err(to_js)
    }

    /// Registers a saga: `{ name, steps: [{ name, command: (saga) => command, compensate?:
    /// (saga) => command } | { name, awaitEvent: { type, match?: (event, saga) => boolean },
    /// timeoutMs? }], startOn?: { type, id: (event) => sagaId, input?: (event) => any },
    /// compensationAttempts?: 3, stepTimeoutMs?: 30000, backoffMs?: 1000 }`. Steps dispatch
    /// their commands through this bus. See `docs/buses-and-sagas.md`.
    ///
    /// ```ts
    /// bus.saga({ name: "checkout", steps: [
    ///   { name: "reserve", command: (s) => ({ type: "Reserve", sku: s.input.sku }), compensate: (s) => ({ type: "Release", sku: s.input.sku }) },
    ///   { name: "payment", awaitEvent: { type: "PaymentReceived", match: (e, s) => e.data.orderId === s.id }, timeoutMs: 15 * 60_000 },
    ///   { name: "confirm", command: (s) => ({ type: "Confirm", orderId: s.id }) },
    /// ] });
    /// ```
    pub fn saga(
        &self,
        #[wasm_bindgen(unchecked_param_type = "SagaDefinition")] definition: JsValue,
    ) -> std::result::Result<(), JsValue> {
        self.define_saga(&definition).map_err(to_js)
    }

    /// Starts the saga `name` with id `id` and `input` (stored in its first event). Resolves
    /// to `false` if that saga id was already started (a saga id runs once). The leader tab
    /// runs it. Options: `{ correlationId? }`.
    ///
    /// ```ts
    /// await bus.startSaga("checkout", "order-42", { sku: "p1", amount: 1999 });
    /// ```
    #[wasm_bindgen(js_name = startSaga, unchecked_return_type = "Promise<boolean>")]
    pub fn start_saga(
        &self,
        name: &str,
        id: &str,
        #[wasm_bindgen(unchecked_param_type = "any")] input: JsValue,
        options: Option<crate::wasm::bus::StartSagaOptionsArg>,
    ) -> Promise {
        let options = crate::wasm::types::opt(options);
        let found = self.saga_runner(name);
        let (store, id, name) = (self.inner.store.clone(), id.to_owned(), name.to_owned());
        let this = Bus {
            inner: self.inner.clone(),
        };
        promise(async move {
            let runner = found?;
            let correlation = get(&options, "correlationId")?.as_string();
            let started = runner
                .start(&*store, &id, js_json(&input)?, correlation)
                .await?;
            this.kick(&format!("saga:{name}"));
            Ok(JsValue::from_bool(started))
        })
    }

    /// The state of a saga: `{ id, status: "running" | "compensating" | "parked" | "completed"
    /// | "compensated", input, results, failure, compensationError, compensated, parkedStep,
    /// version, correlationId }`, or `undefined` if it was never started.
    #[wasm_bindgen(js_name = sagaState, unchecked_return_type = "Promise<SagaView | undefined>")]
    pub fn saga_state(&self, name: &str, id: &str) -> Promise {
        let found = self.saga_runner(name);
        let (store, id) = (self.inner.store.clone(), id.to_owned());
        promise(async move {
            let runner = found?;
            match runner.load(&*store, &id).await? {
                Some(state) => saga_view(runner.shape(), &state),
                None => Ok(JsValue::UNDEFINED),
            }
        })
    }

    /// The ids of the sagas of `name` that have not finished (running, compensating, parked).
    #[wasm_bindgen(js_name = activeSagas, unchecked_return_type = "Promise<string[]>")]
    pub fn active_sagas(&self, name: &str) -> Promise {
        let found = self.saga_runner(name);
        let store = self.inner.store.clone();
        promise(async move {
            let ids = found?.active(&*store).await?;
            Ok(ids.into_iter().map(JsValue::from).collect::<Array>().into())
        })
    }

    /// Tries a parked compensation again (its attempts start over).
    #[wasm_bindgen(js_name = retrySaga, unchecked_return_type = "Promise<void>")]
    pub fn retry_saga(&self, name: &str, id: &str) -> Promise {
        self.resolve_saga(name, id, false)
    }

    /// Gives up on a parked compensation (its step stays uncompensated) and goes on.
    #[wasm_bindgen(js_name = skipCompensation, unchecked_return_type = "Promise<void>")]
    pub fn skip_compensation(&self, name: &str, id: &str) -> Promise {
        self.resolve_saga(name, id, true)
    }

    /// The events an event handler parked: `[{ position, eventId, stream, type, attempts,
    /// error }]`, oldest first. Any tab can read them.
    #[wasm_bindgen(js_name = deadLetters, unchecked_return_type = "Promise<DeadLetter[]>")]
    pub fn dead_letters(&self, handler: &str) -> Promise {
        let found = self.handler(handler);
        let store = self.inner.store.clone();
        promise(async move {
            let letters = found?.dead_letters(&*store).await?;
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
                .retry_dead_letter(&*store, &JsRuntime, position_arg(position)?)
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
                .skip_dead_letter(&*store, position_arg(position)?)
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
            let p = found?.progress(&*store).await?;
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
            match &*self.inner.store {
                Backend::IndexedDb(idb) => Some(format!("eventfold:{}:workers", idb.name())),
                Backend::Memory(_) => None,
            }
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

impl Bus {
    fn resolve_saga(&self, name: &str, id: &str, skip: bool) -> Promise {
        let found = self.saga_runner(name);
        let (store, id, key) = (
            self.inner.store.clone(),
            id.to_owned(),
            format!("saga:{name}"),
        );
        let this = Bus {
            inner: self.inner.clone(),
        };
        promise(async move {
            let runner = found?;
            if skip {
                runner.skip(&*store, &id).await?;
            } else {
                runner.retry(&*store, &id).await?;
            }
            this.kick(&key);
            Ok(JsValue::UNDEFINED)
        })
    }
}
