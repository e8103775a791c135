//! Sagas of the JavaScript `Bus`: definitions read from JavaScript objects, step commands built
//! by the definition's functions and sent through the bus, and the saga methods of `Bus`. The
//! runner is [`crate::cqrs::saga::run::SagaRunner`], run by the bus's worker pool; this file is
//! its thin JavaScript seam.

use std::rc::{Rc, Weak};

use js_sys::{Array, Function, Promise};
use wasm_bindgen::prelude::*;

use crate::core::event::{EventType, RecordedEvent};
use crate::core::json::Json;
use crate::cqrs::bus::CommandContext;
use crate::cqrs::handlers::EventHandler;
use crate::cqrs::runtime::LocalBoxFuture;
use crate::cqrs::saga::run::{starter, SagaEffects, SagaOptions, SagaRunner, SagaStarter};
use crate::cqrs::saga::{SagaShape, SagaState, StepKind, StepShape};
use crate::error::{Error, Result};
use crate::wasm::bus::reply::{error_from_js, js_json};
use crate::wasm::bus::{attempt, dispatch, Bus, BusInner};
use crate::wasm::convert::{self, event_to_js, get, opt_u64, plain, string_arg};
use crate::wasm::error::{message_of, to_js};
use crate::wasm::model::function;
use crate::wasm::promise::promise;

/// A saga definition's steps, run through the bus.
pub(crate) struct JsSagaEffects {
    shape: SagaShape,
    steps: Vec<JsValue>,
    inner: Weak<BusInner>,
}

impl JsSagaEffects {
    /// Calls the function `key` of step `step` with the saga view (and `event` first, for a
    /// matcher); what it threw is the step's failure.
    fn call(
        &self,
        step: usize,
        key: &str,
        saga: &SagaState,
        event: Option<&RecordedEvent>,
    ) -> Result<JsValue> {
        if self.inner.strong_count() == 0 {
            return Err(Error::invalid("the bus is gone"));
        }
        let def = self.steps.get(step).cloned().unwrap_or(JsValue::UNDEFINED);
        let f = match key {
            "match" => get(&def, "awaitEvent").and_then(|a| get(&a, key))?,
            _ => get(&def, key)?,
        };
        let Ok(f) = f.dyn_into::<Function>() else {
            return Err(Error::invalid(format!("step {step} has no {key} function")));
        };
        let view = plain(&saga.view(&self.shape)?);
        let out = match event {
            Some(e) => attempt(&f, &event_to_js(e)?, &view),
            None => attempt(&f, &view, &JsValue::UNDEFINED),
        };
        if out.length() > 1 {
            return Err(error_from_js(&out.get(1)));
        }
        Ok(out.get(0))
    }
}

impl SagaEffects for JsSagaEffects {
    fn dispatch(
        &self,
        saga: &SagaState,
        step: usize,
        compensate: bool,
        ctx: CommandContext,
    ) -> LocalBoxFuture<'static, Result<Json>> {
        let key = if compensate { "compensate" } else { "command" };
        let command = self.call(step, key, saga, None);
        let inner = self.inner.upgrade();
        Box::pin(async move {
            let command = command?;
            let inner = inner.ok_or_else(|| Error::invalid("the bus is gone"))?;
            match dispatch(&inner, command, ctx).await? {
                Ok(v) => Ok(js_json(&v).unwrap_or_else(|_| Json::null())),
                Err(thrown) => Err(error_from_js(&thrown)),
            }
        })
    }

    fn matches(&self, saga: &SagaState, step: usize, event: &RecordedEvent) -> Result<bool> {
        let def = self.steps.get(step).cloned().unwrap_or(JsValue::UNDEFINED);
        if !get(&get(&def, "awaitEvent")?, "match")?.is_function() {
            return Ok(true);
        }
        Ok(self.call(step, "match", saga, Some(event))?.is_truthy())
    }
}

/// `startOn.id(event)` and `startOn.input(event)` (default: the event's data) of a definition.
fn pick(
    id: Function,
    input: Option<Function>,
) -> impl Fn(&RecordedEvent) -> Result<(String, Json)> {
    move |event| {
        let js = event_to_js(event)?;
        let call = |f: &Function, what: &str| -> Result<JsValue> {
            let out = attempt(f, &js, &JsValue::UNDEFINED);
            if out.length() > 1 {
                return Err(Error::HandlerFailed {
                    message: format!("startOn.{what} threw: {}", message_of(&out.get(1))),
                });
            }
            Ok(out.get(0))
        };
        let id = string_arg(&call(&id, "id")?, "startOn.id(event)")?;
        let input = match &input {
            Some(f) => call(f, "input")?,
            None => get(&js, "data")?,
        };
        Ok((id, js_json(&input)?))
    }
}

impl Bus {
    fn define_saga(&self, definition: &JsValue) -> Result<()> {
        let name = string_arg(&get(definition, "name")?, "saga name")?;
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
        let options: SagaOptions = convert::options(definition)?;
        let shape = SagaShape {
            name: name.clone(),
            steps: shapes,
            compensation_attempts: options.compensation_attempts(),
        };
        let saga_policy = options.policy();
        let effects = JsSagaEffects {
            shape: shape.clone(),
            steps,
            inner: Rc::downgrade(&self.inner),
        };
        let runner = Rc::new(SagaRunner::new(shape, effects, saga_policy)?);
        let start_on = get(definition, "startOn")?;
        let starter = if start_on.is_undefined() {
            None
        } else {
            let t = EventType::new(string_arg(&get(&start_on, "type")?, "startOn.type")?)?;
            let picks = pick(
                function(&start_on, "id", "startOn")?,
                get(&start_on, "input")?.dyn_into::<Function>().ok(),
            );
            let store = self.inner.store.clone();
            let handler: Box<dyn EventHandler> =
                Box::new(SagaStarter::new(runner.clone(), store, picks));
            Some(starter(&name, t, handler)?)
        };
        self.inner.workers.add_saga(runner, starter)
    }
}

#[wasm_bindgen]
impl Bus {
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
        #[wasm_bindgen(unchecked_param_type = "SagaDefinition<Input, C>")] definition: JsValue,
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
        #[wasm_bindgen(unchecked_param_type = "unknown")] input: JsValue,
        options: Option<crate::wasm::bus::StartSagaOptionsArg>,
    ) -> Promise {
        let options = crate::wasm::types::opt(options);
        let (pool, id, name) = (self.inner.workers.clone(), id.to_owned(), name.to_owned());
        promise(async move {
            let correlation = get(&options, "correlationId")?.as_string();
            let started = pool
                .start_saga(&name, &id, js_json(&input)?, correlation)
                .await?;
            Ok(JsValue::from_bool(started))
        })
    }

    /// The state of a saga: `{ id, status: "running" | "compensating" | "parked" | "completed"
    /// | "compensated", input, results, failure, compensationError, compensated, parkedStep,
    /// version, correlationId }`, or `undefined` if it was never started.
    #[wasm_bindgen(js_name = sagaState, unchecked_return_type = "Promise<SagaView<Input> | undefined>")]
    pub fn saga_state(&self, name: &str, id: &str) -> Promise {
        let found = self.inner.workers.saga(name);
        let (pool, id) = (self.inner.workers.clone(), id.to_owned());
        promise(async move {
            let runner = found?;
            match runner.load(pool.store(), &id).await? {
                Some(state) => Ok(plain(&state.view(runner.shape())?)),
                None => Ok(JsValue::UNDEFINED),
            }
        })
    }

    /// The ids of the sagas of `name` that have not finished (running, compensating, parked).
    #[wasm_bindgen(js_name = activeSagas, unchecked_return_type = "Promise<string[]>")]
    pub fn active_sagas(&self, name: &str) -> Promise {
        let found = self.inner.workers.saga(name);
        let pool = self.inner.workers.clone();
        promise(async move {
            let ids = found?.active(pool.store()).await?;
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
}

impl Bus {
    fn resolve_saga(&self, name: &str, id: &str, skip: bool) -> Promise {
        let (pool, name, id) = (self.inner.workers.clone(), name.to_owned(), id.to_owned());
        promise(async move {
            pool.resolve_saga(&name, &id, skip).await?;
            Ok(JsValue::UNDEFINED)
        })
    }
}
