//! Sagas of the JavaScript `Bus`: definitions read from JavaScript objects, step commands built
//! by the definition's functions and sent through the bus, and the saga methods of `Bus`. The
//! runner is [`crate::cqrs::saga::run::SagaRunner`]; this file is its thin JavaScript seam.

use std::rc::{Rc, Weak};

use js_sys::{Array, Function, Promise};
use serde_json::{Map, Value};
use wasm_bindgen::prelude::*;

use crate::core::event::{EventType, RecordedEvent};
use crate::core::json::Json;
use crate::cqrs::bus::CommandContext;
use crate::cqrs::handlers::{EventHandler, HandlerPolicy, HandlerRunner};
use crate::cqrs::runtime::{LocalBoxFuture, Signal};
use crate::cqrs::saga::run::{SagaEffects, SagaPolicy, SagaRunner};
use crate::cqrs::saga::{Failure, SagaShape, SagaState, SagaStatus, StepKind, StepShape};
use crate::error::{Error, Result};
use crate::wasm::bus::workers::{promise, spawn_saga, types_filter, Saga};
use crate::wasm::bus::{attempt, dispatch, error_from_js, Bus, BusInner};
use crate::wasm::convert::event_to_js;
use crate::wasm::convert::{get, opt_u64, string_arg};
use crate::wasm::error::{message_of, to_js};
use crate::wasm::model::function;

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
            saga.start(&inner.store, &id, input, Some(correlation))
                .await
                .map(drop)
        })
    }
}

pub(crate) fn js_json(v: &JsValue) -> Result<Json> {
    if v.is_undefined() {
        return Ok(Json::null());
    }
    let text = js_sys::JSON::stringify(v)
        .ok()
        .and_then(|s| s.as_string())
        .ok_or_else(|| Error::invalid("the value is not JSON"))?;
    Json::parse(text)
}

/// What a step function sees: `{ id, input, results: { stepName: result }, status }`. The
/// fields are in name order, as `serde_json::json!` (a sorted map) used to put them; a struct
/// written straight to text carries no map-building serializer into the wasm.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct SagaView<'a> {
    compensated: Vec<&'a str>,
    compensation_error: &'a Option<Failure>,
    correlation_id: &'a str,
    failure: &'a Option<Failure>,
    id: &'a str,
    input: Value,
    parked_step: Option<&'a str>,
    results: Map<String, Value>,
    status: SagaStatus,
    version: u64,
}

fn saga_view(shape: &SagaShape, state: &SagaState) -> Result<JsValue> {
    let mut results = Map::new();
    for (i, step) in shape.steps.iter().enumerate() {
        if let Some(Some(r)) = state.results.get(i) {
            results.insert(step.name.clone(), r.decode::<Value>()?);
        }
    }
    let name = |i: usize| shape.steps.get(i).map(|s| s.name.as_str());
    let view = SagaView {
        compensated: state.compensated.iter().filter_map(|i| name(*i)).collect(),
        compensation_error: &state.compensation_error,
        correlation_id: &state.correlation_id,
        failure: &state.failure,
        id: &state.id,
        input: state.input.decode::<Value>()?,
        parked_step: state.parked_step(shape).and_then(name),
        results,
        status: state.status,
        version: state.version.0,
    };
    js_sys::JSON::parse(Json::from_value(&view)?.as_str())
        .map_err(|e| Error::invalid(message_of(&e)))
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
        if self.inner.strong_count() == 0 {
            return Err(Error::invalid("the bus is gone"));
        }
        let def = self.steps.get(step).cloned().unwrap_or(JsValue::UNDEFINED);
        let Ok(f) = get(&get(&def, "awaitEvent")?, "match")?.dyn_into::<Function>() else {
            return Ok(true);
        };
        let out = attempt(&f, &event_to_js(event)?, &saga_view(&self.shape, saga)?);
        if out.length() > 1 {
            return Err(error_from_js(&out.get(1)));
        }
        Ok(out.get(0).is_truthy())
    }
}

impl Bus {
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
        let found = self.saga_runner(name);
        let (store, id, name) = (self.inner.store.clone(), id.to_owned(), name.to_owned());
        let this = Bus {
            inner: self.inner.clone(),
        };
        promise(async move {
            let runner = found?;
            let correlation = get(&options, "correlationId")?.as_string();
            let started = runner
                .start(&store, &id, js_json(&input)?, correlation)
                .await?;
            this.kick(&format!("saga:{name}"));
            Ok(JsValue::from_bool(started))
        })
    }

    /// The state of a saga: `{ id, status: "running" | "compensating" | "parked" | "completed"
    /// | "compensated", input, results, failure, compensationError, compensated, parkedStep,
    /// version, correlationId }`, or `undefined` if it was never started.
    #[wasm_bindgen(js_name = sagaState, unchecked_return_type = "Promise<SagaView<Input> | undefined>")]
    pub fn saga_state(&self, name: &str, id: &str) -> Promise {
        let found = self.saga_runner(name);
        let (store, id) = (self.inner.store.clone(), id.to_owned());
        promise(async move {
            let runner = found?;
            match runner.load(&store, &id).await? {
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
            let ids = found?.active(&store).await?;
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
                runner.skip(&store, &id).await?;
            } else {
                runner.retry(&store, &id).await?;
            }
            this.kick(&key);
            Ok(JsValue::UNDEFINED)
        })
    }
}
