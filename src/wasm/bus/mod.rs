//! The JavaScript `Bus` class (`store.bus()`): the command bus, the query bus and middleware,
//! bound to [`crate::cqrs::bus`]. JavaScript handlers and middleware are adapted in
//! `bus/handlers.rs`, event handlers run in `bus/workers.rs`, sagas in
//! `bus/sagas.rs`, the TypeScript shapes in `bus/types.rs`.
//!
//! Handler outcomes cross as `Reply = Result<value, thrown>`: what a JavaScript handler threw
//! reaches the caller unchanged (an `EventfoldError` keeps its code; anything else becomes
//! `HANDLER_FAILED` with it as `cause`), while the bus's own errors (`HANDLER_NOT_FOUND`) are
//! the outer `Err`.

mod handlers;
mod sagas;
mod types;
mod workers;

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use js_sys::{Function, Object, Promise, Reflect};
use serde_json::{Map, Value};
use wasm_bindgen::prelude::*;

use crate::core::event::EventId;
use crate::core::json::Json;
use crate::cqrs;
use crate::cqrs::bus::{AggregateHandler, CommandBus, CommandContext, Handled, QueryBus, Stamped};
use crate::cqrs::ids;
use crate::cqrs::runtime::LocalBoxFuture;
use crate::engine::Store;
use crate::error::{Error, Result};
use crate::wasm::bus::handlers::{
    command_types, JsAggregateHandler, JsCommandHandler, JsMiddleware, JsQueryHandler,
};
pub(crate) use crate::wasm::bus::types::{BusOptionsArg, DispatchOptionsArg, StartSagaOptionsArg};
use crate::wasm::bus::workers::Workers;
use crate::wasm::convert::{get, string_arg};
use crate::wasm::error::{message_of, to_js};
use crate::wasm::model::function;

#[wasm_bindgen(module = "/src/wasm/js/bindings.js")]
extern "C" {
    pub(crate) fn invoke(f: &Function, a: &JsValue, b: &JsValue, c: &JsValue) -> Promise;
    pub(crate) fn attempt(f: &Function, a: &JsValue, b: &JsValue) -> js_sys::Array;
    pub(crate) fn sleep(ms: f64) -> Promise;
    #[wasm_bindgen(js_name = randomId)]
    pub(crate) fn random_id() -> String;
    pub(crate) fn lead(name: &str, on_acquire: &JsValue) -> Function;
    #[wasm_bindgen(js_name = bindDispatch)]
    fn bind_dispatch(ctx: &JsValue, send: &Function, cause: &JsValue);
}

/// The one function behind every context's `dispatch`: `(ctx, command, n, cause)`.
type Sender = Closure<dyn Fn(JsValue, JsValue, f64, JsValue) -> Promise>;

/// A handler's outcome: its value, or what it threw.
pub(crate) type Reply = std::result::Result<JsValue, JsValue>;

/// What a `Bus` shares with its handlers, contexts and workers.
pub(crate) struct BusInner {
    pub store: Store,
    pub commands: CommandBus<JsValue, Reply>,
    pub queries: QueryBus<JsValue, Reply>,
    pub workers: RefCell<Workers>,
    pub on_error: Option<Function>,
    sender: RefCell<Option<Sender>>,
}

/// The `n`-th command sent from the handler context `obj`: same correlation, derived id,
/// caused by the context's command (or by `cause`, an event handler's event).
fn child_context(obj: &JsValue, n: f64, cause: &JsValue) -> Result<CommandContext> {
    let parent = EventId::parse(string_arg(&get(obj, "commandId")?, "ctx.commandId")?)?;
    let base = context_from_js(obj, &CommandContext::new(parent.clone()))?;
    let mut child = base.child(ids::derive(&[parent.as_str(), "child", &n.to_string()]));
    if let Some(c) = cause.as_string() {
        child.causation_id = Some(c);
    }
    Ok(child)
}

pub(crate) fn set(o: &JsValue, key: &str, v: &JsValue) {
    let _ = Reflect::set(o, &JsValue::from_str(key), v);
}

/// Whether a thrown value is an `EventfoldError`.
pub(crate) fn is_eventfold(thrown: &JsValue) -> bool {
    thrown.is_object()
        && Reflect::get(thrown, &"name".into())
            .ok()
            .and_then(|n| n.as_string())
            .as_deref()
            == Some("EventfoldError")
}

/// A thrown value as a core error (for dead letters and saga records): an `EventfoldError`
/// keeps its code where the core has it, anything else is `HANDLER_FAILED`.
pub(crate) fn error_from_js(thrown: &JsValue) -> Error {
    let message = message_of(thrown);
    let code = is_eventfold(thrown)
        .then(|| Reflect::get(thrown, &"code".into()).ok())
        .flatten()
        .and_then(|c| c.as_string());
    match code.as_deref() {
        Some("DECIDER_REJECTED") => Error::DeciderRejected {
            message: message
                .strip_prefix("command rejected: ")
                .unwrap_or(&message)
                .to_owned(),
        },
        Some("STORE_CLOSED") => Error::StoreClosed { reason: message },
        Some("INVALID_INPUT") => Error::InvalidInput { message },
        Some(code) => Error::HandlerFailed {
            message: format!("{code}: {message}"),
        },
        None => Error::HandlerFailed { message },
    }
}

/// A reply as the promise outcome a JavaScript caller sees.
pub(crate) fn settle(r: Result<Reply>) -> Reply {
    match r {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(thrown)) if is_eventfold(&thrown) => Err(thrown),
        Ok(Err(thrown)) => {
            let js = to_js(error_from_js(&thrown));
            set(&js, "cause", &thrown);
            Err(js)
        }
        Err(e) => Err(to_js(e)),
    }
}

fn json_to_js(json: &Json) -> JsValue {
    js_sys::JSON::parse(json.as_str()).unwrap_or(JsValue::NULL)
}

/// A JavaScript object's JSON (for metadata), `None` if it is not an object.
fn js_to_map(v: &JsValue) -> Result<Map<String, Value>> {
    if v.is_undefined() || v.is_null() {
        return Ok(Map::new());
    }
    let text = js_sys::JSON::stringify(v)
        .ok()
        .and_then(|s| s.as_string())
        .ok_or_else(|| Error::invalid("metadata must be JSON"))?;
    Json::parse(text)?
        .decode()
        .map_err(|_| Error::invalid("metadata must be a plain object"))
}

/// The context object a JavaScript handler receives: ids, metadata, and `dispatch` for
/// commands it causes (their ids derive from this command's, so a re-run dispatches the same
/// ids and appends nothing twice).
pub(crate) fn context_to_js(inner: &Rc<BusInner>, ctx: &CommandContext) -> JsValue {
    context_with_cause(inner, ctx, None)
}

/// [`context_to_js`] whose `dispatch` marks the commands it sends as caused by `cause` (an
/// event handler's event) instead of by this context's command.
pub(crate) fn context_with_cause(
    inner: &Rc<BusInner>,
    ctx: &CommandContext,
    cause: Option<String>,
) -> JsValue {
    let o: JsValue = Object::new().into();
    set(&o, "commandId", &ctx.command_id.as_str().into());
    set(&o, "correlationId", &ctx.correlation_id.as_str().into());
    set(
        &o,
        "causationId",
        &ctx.causation_id
            .as_deref()
            .map_or(JsValue::UNDEFINED, JsValue::from_str),
    );
    let metadata = Json::from_value(&ctx.metadata)
        .map(|j| json_to_js(&j))
        .unwrap_or_else(|_| Object::new().into());
    set(&o, "metadata", &metadata);
    if let Some(send) = inner.sender.borrow().as_ref() {
        bind_dispatch(
            &o,
            send.as_ref().unchecked_ref(),
            &cause.map_or(JsValue::UNDEFINED, |c| JsValue::from_str(&c)),
        );
    }
    o
}

/// Reads back what a middleware changed in the context object.
pub(crate) fn context_from_js(obj: &JsValue, base: &CommandContext) -> Result<CommandContext> {
    let mut ctx = base.clone();
    if let Some(c) = get(obj, "correlationId")?.as_string() {
        ctx.correlation_id = c;
    }
    if let Some(c) = get(obj, "causationId")?.as_string() {
        ctx.causation_id = Some(c);
    }
    ctx.metadata = js_to_map(&get(obj, "metadata")?)?;
    Ok(ctx)
}

/// The context of a top-level dispatch from its options `{ commandId?, correlationId?,
/// causationId?, metadata? }`.
fn context_of(options: &JsValue) -> Result<CommandContext> {
    let id = match get(options, "commandId")?.as_string() {
        Some(id) => EventId::parse(id)?,
        None => EventId::parse(random_id())?,
    };
    let mut ctx = CommandContext::new(id);
    if let Some(c) = get(options, "correlationId")?.as_string() {
        ctx.correlation_id = c;
    }
    ctx.causation_id = get(options, "causationId")?.as_string();
    ctx.metadata = js_to_map(&get(options, "metadata")?)?;
    Ok(ctx)
}

/// Dispatches `command` (its `type` picks the handler) through the middleware.
pub(crate) fn dispatch(
    inner: &Rc<BusInner>,
    command: JsValue,
    ctx: CommandContext,
) -> LocalBoxFuture<'static, Result<Reply>> {
    let command_type = match get(&command, "type").and_then(|t| {
        t.as_string()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| Error::invalid("a command needs a non-empty string `type`"))
    }) {
        Ok(t) => t,
        Err(e) => return Box::pin(std::future::ready(Err(e))),
    };
    inner.commands.dispatch(&command_type, command, ctx)
}

fn dispatch_promise(
    inner: &Weak<BusInner>,
    command: JsValue,
    options: JsValue,
    ctx: Option<CommandContext>,
) -> Promise {
    let inner = inner.upgrade();
    crate::wasm::promise::to_promise(async move {
        let inner = inner.ok_or_else(|| to_js(Error::invalid("the bus is gone")))?;
        let ctx = match ctx {
            Some(ctx) => ctx,
            None => context_of(&options).map_err(to_js)?,
        };
        settle(dispatch(&inner, command, ctx).await)
    })
}

/// Command, query and event buses and sagas over one store.
///
/// ```ts
/// const bus = store.bus();
/// bus.registerAggregate(order, { commands: ["Create", "Confirm"], id: (c) => c.orderId });
/// bus.register("SendReceipt", async (command, ctx) => mailer.send(command.to, { key: ctx.commandId }));
/// bus.use(async (command, ctx, next) => { ctx.metadata.userId = session.user; return next(command, ctx); });
/// const { version } = await bus.dispatch({ type: "Create", orderId: "42", customerId: "c1" });
/// bus.registerQuery("OrderById", (q) => orders.get(q.id));
/// const order = await bus.ask({ type: "OrderById", id: "42" });
/// ```
// The class's type parameters, which wasm-bindgen cannot declare: scripts/build-pkg.mjs adds
// them (see `MessageMap`).
#[wasm_bindgen(typescript_custom_section)]
const TS_GENERICS: &'static str = r#"
// @eventfold-generics Bus<C extends MessageMap<C> = AnyMessages, Q extends MessageMap<Q> = AnyMessages>
// @eventfold-generics Bus.dispatch<T extends keyof C & string>
// @eventfold-generics Bus.register<T extends keyof C & string>
// @eventfold-generics Bus.registerAggregate<State, Command, E extends EventShape = AnyEvent>
// @eventfold-generics Bus.registerQuery<T extends keyof Q & string>
// @eventfold-generics Bus.ask<T extends keyof Q & string>
// @eventfold-generics Bus.on<E extends EventShape = AnyEvent>
// @eventfold-generics Bus.saga<Input = unknown>
// @eventfold-generics Bus.sagaState<Input = unknown>
"#;

#[wasm_bindgen]
pub struct Bus {
    pub(crate) inner: Rc<BusInner>,
}

/// Builds a bus over `store`: `{ onError? }` receives the failures of background workers.
pub(crate) fn define(store: Store, options: &JsValue) -> Result<Bus> {
    let on_error = get(options, "onError")?.dyn_into::<Function>().ok();
    let inner = Rc::new(BusInner {
        store,
        commands: CommandBus::new(),
        queries: QueryBus::new(),
        workers: RefCell::new(Workers::default()),
        on_error,
        sender: RefCell::new(None),
    });
    let weak = Rc::downgrade(&inner);
    let send: Sender = Closure::new(
        move |obj: JsValue, command: JsValue, n: f64, cause: JsValue| match child_context(
            &obj, n, &cause,
        ) {
            Ok(child) => dispatch_promise(&weak, command, JsValue::UNDEFINED, Some(child)),
            Err(e) => Promise::reject(&to_js(e)),
        },
    );
    *inner.sender.borrow_mut() = Some(send);
    Ok(Bus { inner })
}

#[wasm_bindgen]
impl Bus {
    /// Registers the handler of a command type: `(command, ctx) => result | Promise<result>`,
    /// where `ctx` holds `commandId`, `correlationId`, `causationId`, `metadata` and
    /// `dispatch(command)` for commands it causes. Throws `INVALID_INPUT` if the type already
    /// has a handler.
    ///
    /// ```ts
    /// bus.register("ChargePayment", async (c, ctx) => psp.charge(c.amount, { idempotencyKey: ctx.commandId }));
    /// ```
    pub fn register(
        &self,
        #[wasm_bindgen(js_name = "type", unchecked_param_type = "T")] command_type: &str,
        #[wasm_bindgen(
            unchecked_param_type = "CommandHandlerFn<MessageOf<C, T>, ResultOf<C, T>, C>"
        )]
        handler: Function,
    ) -> std::result::Result<(), JsValue> {
        let h = JsCommandHandler {
            f: handler,
            inner: Rc::downgrade(&self.inner),
        };
        self.inner
            .commands
            .register(command_type, Rc::new(h))
            .map_err(to_js)
    }

    /// Registers an aggregate as the handler of its command types: `definition` is an
    /// aggregate definition (as for `store.aggregate`), `options` is `{ commands: [types],
    /// id: (command) => aggregateId }`. Appended events carry the command's `commandId`,
    /// `correlationId` and `causationId` in their metadata, and ids derived from the command id:
    /// dispatching the same `commandId` twice resolves to `{ duplicate: true }` the second time
    /// and appends nothing.
    ///
    /// ```ts
    /// bus.registerAggregate(order, { commands: ["Create", "AddItem", "Confirm", "Cancel"], id: (c) => c.orderId });
    /// ```
    #[wasm_bindgen(js_name = registerAggregate)]
    pub fn register_aggregate(
        &self,
        #[wasm_bindgen(unchecked_param_type = "AggregateDefinition<State, Command, E>")]
        definition: JsValue,
        #[wasm_bindgen(
            unchecked_param_type = "{ commands: CommandType<Command>[]; id: (command: Command) => string }"
        )]
        options: JsValue,
    ) -> std::result::Result<(), JsValue> {
        self.register_aggregate_inner(&definition, &options)
            .map_err(to_js)
    }

    /// Adds a middleware around every command handler: `(command, ctx, next) => result`. Call
    /// `next(command?, ctx?)` to go on (changing `ctx.metadata` adds metadata to the appended
    /// events), or throw / return without calling it to stop. The first added runs outermost.
    ///
    /// ```ts
    /// bus.use(async (command, ctx, next) => {
    ///   if (!command.orderId) throw new Error("orderId is required");
    ///   ctx.metadata.userId = currentUser;
    ///   return next(command, ctx);
    /// });
    /// ```
    #[wasm_bindgen(js_name = "use")]
    pub fn use_middleware(
        &self,
        #[wasm_bindgen(unchecked_param_type = "CommandMiddleware<C>")] middleware: Function,
    ) {
        self.inner.commands.use_middleware(Rc::new(JsMiddleware {
            f: middleware,
            inner: Rc::downgrade(&self.inner),
        }));
    }

    /// Dispatches a command to the handler of its `type` and resolves to the handler's result.
    /// Options: `commandId` (a UUID; default random), `correlationId`, `causationId`,
    /// `metadata`. Rejects with `HANDLER_NOT_FOUND` for an unknown type; an `EventfoldError`
    /// the handler threw (e.g. `DECIDER_REJECTED`) as it is; anything else it threw as
    /// `HANDLER_FAILED` with the thrown value as `cause`.
    ///
    /// ```ts
    /// const r = await bus.dispatch({ type: "Create", orderId: "42", customerId: "c1" }, { correlationId: requestId });
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<ResultOf<C, T>>")]
    pub fn dispatch(
        &self,
        #[wasm_bindgen(unchecked_param_type = "{ type: T } & MessageOf<C, T>")] command: JsValue,
        options: Option<DispatchOptionsArg>,
    ) -> Promise {
        let options = crate::wasm::types::opt(options);
        dispatch_promise(&Rc::downgrade(&self.inner), command, options, None)
    }

    /// Registers the handler of a query type: `(query) => result | Promise<result>`. Throws
    /// `INVALID_INPUT` if the type already has a handler.
    ///
    /// ```ts
    /// bus.registerQuery("OrdersByStatus", (q) => list.query({ index: "status", equals: q.status }));
    /// ```
    #[wasm_bindgen(js_name = registerQuery)]
    pub fn register_query(
        &self,
        #[wasm_bindgen(js_name = "type", unchecked_param_type = "T")] query_type: &str,
        #[wasm_bindgen(
            unchecked_param_type = "(query: MessageOf<Q, T>) => ResultOf<Q, T> | Promise<ResultOf<Q, T>>"
        )]
        handler: Function,
    ) -> std::result::Result<(), JsValue> {
        self.inner
            .queries
            .register(query_type, Rc::new(JsQueryHandler(handler)))
            .map_err(to_js)
    }

    /// Asks the handler of the query's `type`. Rejects with `HANDLER_NOT_FOUND` for an unknown
    /// type, otherwise like `dispatch`.
    ///
    /// ```ts
    /// const open = await bus.ask({ type: "OrdersByStatus", status: "open" });
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<ResultOf<Q, T>>")]
    pub fn ask(
        &self,
        #[wasm_bindgen(unchecked_param_type = "{ type: T } & MessageOf<Q, T>")] query: JsValue,
    ) -> Promise {
        let inner = self.inner.clone();
        crate::wasm::promise::to_promise(async move {
            let query_type = get(&query, "type")
                .and_then(|t| {
                    t.as_string()
                        .filter(|s| !s.is_empty())
                        .ok_or_else(|| Error::invalid("a query needs a non-empty string `type`"))
                })
                .map_err(to_js)?;
            let asked = inner.queries.ask(&query_type, query);
            settle(asked.await)
        })
    }
}

impl Bus {
    fn register_aggregate_inner(&self, definition: &JsValue, options: &JsValue) -> Result<()> {
        let types = command_types(options)?;
        if let Some(t) = types.iter().find(|t| self.inner.commands.handles(t)) {
            return Err(Error::invalid(format!(
                "command type {t:?} already has a handler"
            )));
        }
        let id_fn = function(options, "id", "registerAggregate")?;
        let (model, config) = crate::wasm::aggregate::parse_definition(definition)?;
        let aggregate = Rc::new(cqrs::Aggregate::new(Stamped(model), config)?);
        let id_of = Rc::new(move |command: &JsValue| -> Result<String> {
            let out = attempt(&id_fn, command, &JsValue::UNDEFINED);
            if out.length() > 1 {
                return Err(Error::invalid(format!(
                    "the id function threw: {}",
                    message_of(&out.get(1))
                )));
            }
            out.get(0)
                .as_string()
                .filter(|s| !s.is_empty())
                .ok_or_else(|| Error::invalid("the id function must return a non-empty string"))
        });
        let reply = Rc::new(move |handled: Handled<JsValue>| -> Result<JsValue> {
            let o: JsValue = Object::new().into();
            let done = match handled {
                Handled::Executed(done) => done,
                Handled::Duplicate => {
                    set(&o, "duplicate", &JsValue::TRUE);
                    return Ok(o);
                }
            };
            set(&o, "state", &done.state);
            set(&o, "version", &JsValue::from_f64(done.version.0 as f64));
            set(
                &o,
                "events",
                &crate::wasm::convert::recorded_to_js(&done.events)?,
            );
            Ok(o)
        });
        let handler = Rc::new(JsAggregateHandler {
            handler: AggregateHandler::new(
                aggregate.clone(),
                Rc::new(self.inner.store.clone()),
                id_of,
                reply,
            ),
            aggregate,
        });
        for t in &types {
            self.inner.commands.register(t, handler.clone())?;
        }
        Ok(())
    }
}
