//! The JavaScript `Bus` class (`store.bus()`): the command bus, the query bus and middleware
//! of [`crate::cqrs::bus`], and the worker pool of [`crate::cqrs::workers`] (event handlers,
//! sagas), bound to JavaScript. The parts: handler and middleware adapters in
//! `bus/handlers.rs`, the context object handlers receive in `bus/context.rs`, replies and
//! thrown values in `bus/reply.rs`, event handlers and the pool's lifecycle methods in
//! `bus/workers.rs`, sagas in `bus/sagas.rs`, the TypeScript shapes in `bus/types.rs`.
//!
//! Handler outcomes cross as `Reply = Result<value, thrown>`: what a JavaScript handler threw
//! reaches the caller unchanged (an `EventfoldError` keeps its code; anything else becomes
//! `HANDLER_FAILED` with it as `cause`), while the bus's own errors (`HANDLER_NOT_FOUND`) are
//! the outer `Err`.

mod context;
mod handlers;
mod reply;
mod sagas;
mod types;
mod workers;

use std::rc::{Rc, Weak};

use js_sys::{Function, Object, Promise};
use wasm_bindgen::prelude::*;

use crate::cqrs;
use crate::cqrs::bus::{AggregateHandler, CommandBus, CommandContext, Handled, QueryBus, Stamped};
use crate::cqrs::handlers::EventHandler;
use crate::cqrs::runtime::LocalBoxFuture;
use crate::cqrs::workers::WorkerPool;
use crate::engine::Store;
use crate::error::{Error, Result};
use crate::wasm::bus::context::{child_context, context_of};
use crate::wasm::bus::handlers::{
    command_types, JsAggregateHandler, JsCommandHandler, JsMiddleware, JsQueryHandler,
};
use crate::wasm::bus::reply::{set, settle};
use crate::wasm::bus::sagas::JsSagaEffects;
pub(crate) use crate::wasm::bus::types::{BusOptionsArg, DispatchOptionsArg, StartSagaOptionsArg};
use crate::wasm::bus::workers::{JsRuntime, WebLock};
use crate::wasm::convert::get;
use crate::wasm::error::{message_of, to_js};
use crate::wasm::model::function;

#[wasm_bindgen(module = "/src/wasm/js/bindings.js")]
extern "C" {
    pub(crate) fn invoke(f: &Function, a: &JsValue, b: &JsValue, c: &JsValue) -> Promise;
    pub(crate) fn attempt(f: &Function, a: &JsValue, b: &JsValue) -> js_sys::Array;
    pub(crate) fn sleep(ms: f64) -> Promise;
    #[wasm_bindgen(js_name = cancelSleep)]
    pub(crate) fn cancel_sleep(p: &Promise);
    pub(crate) fn lead(name: &str, on_acquire: &JsValue) -> Function;
    #[wasm_bindgen(js_name = bindDispatch)]
    fn bind_dispatch(ctx: &JsValue, send: &Function, cause: &JsValue);
}

/// The one function behind every context's `dispatch`: `(ctx, command, n, cause)`.
type Sender = Closure<dyn Fn(JsValue, JsValue, f64, JsValue) -> Promise>;

/// A handler's outcome: its value, or what it threw.
pub(crate) type Reply = std::result::Result<JsValue, JsValue>;

/// The event handlers and sagas of a bus.
pub(crate) type Pool = WorkerPool<Box<dyn EventHandler>, JsSagaEffects, Store, JsRuntime>;

/// What a `Bus` shares with its handlers, contexts and workers.
pub(crate) struct BusInner {
    pub store: Store,
    pub commands: CommandBus<JsValue, Reply>,
    pub queries: QueryBus<JsValue, Reply>,
    pub workers: Pool,
    sender: Sender,
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
    let lock = store
        .durable_name()
        .map(|name| WebLock(format!("eventfold:{name}:workers")));
    let workers = WorkerPool::new(
        store.clone(),
        JsRuntime,
        wasm_bindgen_futures::spawn_local::<LocalBoxFuture<'static, ()>>,
        lock,
        move |e: &Error| {
            if let Some(f) = &on_error {
                let _ = f.call1(&JsValue::UNDEFINED, &to_js(e.clone()));
            }
        },
    );
    let inner = Rc::new_cyclic(|weak: &Weak<BusInner>| {
        let weak = weak.clone();
        let sender: Sender = Closure::new(
            move |obj: JsValue, command: JsValue, n: f64, cause: JsValue| match child_context(
                &obj, n, &cause,
            ) {
                Ok(child) => dispatch_promise(&weak, command, JsValue::UNDEFINED, Some(child)),
                Err(e) => Promise::reject(&to_js(e)),
            },
        );
        BusInner {
            store,
            commands: CommandBus::new(),
            queries: QueryBus::new(),
            workers,
            sender,
        }
    });
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
        self.inner.commands.register_all(&types, handler)
    }
}
