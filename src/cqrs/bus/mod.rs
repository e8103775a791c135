//! The command bus and the query bus: handlers registered per message type, a middleware chain
//! around command handlers, and the [`CommandContext`] (command, correlation and causation ids)
//! that ends up in the metadata of every event a command appends.
//!
//! ```
//! use eventfold::cqrs::bus::{CommandBus, CommandContext};
//! use eventfold::cqrs::ids;
//! # futures::executor::block_on(async {
//! let bus: CommandBus<u32, u32> = CommandBus::new();
//! bus.register("Double", std::rc::Rc::new(|n: u32, _ctx: CommandContext| {
//!     Box::pin(async move { Ok(n * 2) }) as eventfold::cqrs::runtime::LocalBoxFuture<'static, _>
//! })).unwrap();
//! let ctx = CommandContext::new(ids::derive(&["example"]));
//! assert_eq!(bus.dispatch("Double", 21, ctx).await.unwrap(), 42);
//! assert_eq!(bus.dispatch("Triple", 1, CommandContext::new(ids::derive(&["x"]))).await.unwrap_err().code(), "HANDLER_NOT_FOUND");
//! # });
//! ```

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use crate::core::event::{EventId, NewEvent, RecordedEvent};
use crate::core::json::Json;
use crate::cqrs::aggregate::{Aggregate, Executed};
use crate::cqrs::ids;
use crate::cqrs::model::Model;
use crate::cqrs::runtime::LocalBoxFuture;
use crate::error::{Error, Result};
use crate::store::{EventStore, StateStore};

mod context;

pub use context::CommandContext;

/// The error of a handler written in another language (JavaScript) that failed with `message`
/// and, when it threw one of eventfold's own errors, its `code`: the codes the core has keep
/// their meaning (a decider's rejection stays `DECIDER_REJECTED`, so a saga step or a dead
/// letter records it as such), any other failure is `HANDLER_FAILED`.
pub fn failure(code: Option<&str>, message: String) -> Error {
    match code {
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

/// Handles one type of command. Closures `Fn(C, CommandContext) -> LocalBoxFuture<Result<R>>`
/// are handlers.
pub trait CommandHandler<C, R> {
    /// Handles `command`; the future owns what it needs.
    fn handle(&self, command: C, ctx: CommandContext) -> LocalBoxFuture<'static, Result<R>>;
}

impl<C, R, F> CommandHandler<C, R> for F
where
    F: Fn(C, CommandContext) -> LocalBoxFuture<'static, Result<R>>,
{
    fn handle(&self, command: C, ctx: CommandContext) -> LocalBoxFuture<'static, Result<R>> {
        self(command, ctx)
    }
}

/// Wraps command handling: validation, logging, metadata. Calls `next.run(command, ctx)` to go
/// on (with a changed command or context if it likes), or returns without calling it to stop.
pub trait Middleware<C, R> {
    /// Handles `command` around `next`.
    fn handle(
        &self,
        command: C,
        ctx: CommandContext,
        next: Next<C, R>,
    ) -> LocalBoxFuture<'static, Result<R>>;
}

type Handlers<C, R> = HashMap<String, Rc<dyn CommandHandler<C, R>>>;

/// The rest of a middleware chain, ending with the command's handler.
pub struct Next<C, R> {
    chain: Rc<[Rc<dyn Middleware<C, R>>]>,
    index: usize,
    handler: Rc<dyn CommandHandler<C, R>>,
}

impl<C: 'static, R: 'static> Next<C, R> {
    /// Runs the next middleware, or the handler after the last one.
    pub fn run(self, command: C, ctx: CommandContext) -> LocalBoxFuture<'static, Result<R>> {
        match self.chain.get(self.index).cloned() {
            Some(m) => {
                let next = Next {
                    chain: self.chain,
                    index: self.index + 1,
                    handler: self.handler,
                };
                m.handle(command, ctx, next)
            }
            None => self.handler.handle(command, ctx),
        }
    }
}

/// Dispatches commands to the one handler registered for their type, through the middleware.
pub struct CommandBus<C, R> {
    handlers: RefCell<Handlers<C, R>>,
    middleware: RefCell<Vec<Rc<dyn Middleware<C, R>>>>,
}

impl<C: 'static, R: 'static> Default for CommandBus<C, R> {
    fn default() -> Self {
        CommandBus {
            handlers: RefCell::new(HashMap::new()),
            middleware: RefCell::new(Vec::new()),
        }
    }
}

fn check_type(kind: &str, message_type: &str) -> Result<()> {
    if message_type.is_empty() {
        return Err(Error::invalid(format!(
            "a {kind} type must be a non-empty string"
        )));
    }
    Ok(())
}

impl<C: 'static, R: 'static> CommandBus<C, R> {
    /// An empty bus.
    pub fn new() -> Self {
        CommandBus::default()
    }

    /// Registers the handler of `command_type`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] if the type already has a handler (one command, one handler)
    /// or is empty.
    pub fn register(
        &self,
        command_type: &str,
        handler: Rc<dyn CommandHandler<C, R>>,
    ) -> Result<()> {
        check_type("command", command_type)?;
        let mut handlers = self.handlers.borrow_mut();
        if handlers.contains_key(command_type) {
            return Err(Error::invalid(format!(
                "command type {command_type:?} already has a handler"
            )));
        }
        handlers.insert(command_type.to_owned(), handler);
        Ok(())
    }

    /// Registers `handler` for every type of `command_types`, all or none: nothing is
    /// registered when one of them is empty, repeated or already has a handler.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] as for [`register`](Self::register).
    pub fn register_all(
        &self,
        command_types: &[String],
        handler: Rc<dyn CommandHandler<C, R>>,
    ) -> Result<()> {
        for (i, t) in command_types.iter().enumerate() {
            check_type("command", t)?;
            if self.handles(t) || command_types[..i].contains(t) {
                return Err(Error::invalid(format!(
                    "command type {t:?} already has a handler"
                )));
            }
        }
        for t in command_types {
            self.register(t, handler.clone())?;
        }
        Ok(())
    }

    /// Adds a middleware; the first added runs outermost.
    pub fn use_middleware(&self, middleware: Rc<dyn Middleware<C, R>>) {
        self.middleware.borrow_mut().push(middleware);
    }

    /// Whether `command_type` has a handler.
    pub fn handles(&self, command_type: &str) -> bool {
        self.handlers.borrow().contains_key(command_type)
    }

    /// Dispatches `command` of `command_type` through the middleware to its handler and
    /// returns the handler's result.
    ///
    /// # Errors
    /// [`Error::HandlerNotFound`] for a type without a handler, else whatever the middleware
    /// or the handler returns.
    pub fn dispatch(
        &self,
        command_type: &str,
        command: C,
        ctx: CommandContext,
    ) -> LocalBoxFuture<'static, Result<R>> {
        let Some(handler) = self.handlers.borrow().get(command_type).cloned() else {
            let e = Error::HandlerNotFound {
                kind: "command".into(),
                message_type: command_type.to_owned(),
            };
            return Box::pin(std::future::ready(Err(e)));
        };
        let chain: Rc<[Rc<dyn Middleware<C, R>>]> = self.middleware.borrow().clone().into();
        Next {
            chain,
            index: 0,
            handler,
        }
        .run(command, ctx)
    }
}

/// Answers one type of query. Closures `Fn(Q) -> LocalBoxFuture<Result<R>>` are handlers.
pub trait QueryHandler<Q, R> {
    /// Answers `query`.
    fn ask(&self, query: Q) -> LocalBoxFuture<'static, Result<R>>;
}

impl<Q, R, F> QueryHandler<Q, R> for F
where
    F: Fn(Q) -> LocalBoxFuture<'static, Result<R>>,
{
    fn ask(&self, query: Q) -> LocalBoxFuture<'static, Result<R>> {
        self(query)
    }
}

/// Routes queries to the one handler registered for their type.
pub struct QueryBus<Q, R> {
    handlers: RefCell<HashMap<String, Rc<dyn QueryHandler<Q, R>>>>,
}

impl<Q: 'static, R: 'static> Default for QueryBus<Q, R> {
    fn default() -> Self {
        QueryBus {
            handlers: RefCell::new(HashMap::new()),
        }
    }
}

impl<Q: 'static, R: 'static> QueryBus<Q, R> {
    /// An empty bus.
    pub fn new() -> Self {
        QueryBus::default()
    }

    /// Registers the handler of `query_type`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] if the type already has a handler or is empty.
    pub fn register(&self, query_type: &str, handler: Rc<dyn QueryHandler<Q, R>>) -> Result<()> {
        check_type("query", query_type)?;
        let mut handlers = self.handlers.borrow_mut();
        if handlers.contains_key(query_type) {
            return Err(Error::invalid(format!(
                "query type {query_type:?} already has a handler"
            )));
        }
        handlers.insert(query_type.to_owned(), handler);
        Ok(())
    }

    /// Asks the handler of `query_type`.
    ///
    /// # Errors
    /// [`Error::HandlerNotFound`] for a type without a handler, else the handler's error.
    pub fn ask(&self, query_type: &str, query: Q) -> LocalBoxFuture<'static, Result<R>> {
        match self.handlers.borrow().get(query_type).cloned() {
            Some(h) => h.ask(query),
            None => Box::pin(std::future::ready(Err(Error::HandlerNotFound {
                kind: "query".into(),
                message_type: query_type.to_owned(),
            }))),
        }
    }
}

/// A command with its context, as an aggregate behind the bus receives it.
pub struct Addressed<C> {
    /// The command.
    pub command: C,
    /// Its ids and metadata.
    pub context: CommandContext,
}

/// A [`Model`] whose decided events carry the command's context: metadata stamped, ids derived
/// from the command id ([`CommandContext::stamp`]).
pub struct Stamped<M>(pub M);

impl<M: Model> Model for Stamped<M>
where
    M::Command: Sized,
{
    type State = M::State;
    type Command = Addressed<M::Command>;

    fn initial_state(&self) -> Result<M::State> {
        self.0.initial_state()
    }

    fn evolve(&self, state: M::State, events: &[RecordedEvent]) -> Result<M::State> {
        self.0.evolve(state, events)
    }

    fn decide(&self, command: &Self::Command, state: &M::State) -> Result<Vec<NewEvent>> {
        let events = self.0.decide(&command.command, state)?;
        command.context.stamp(events)
    }

    fn encode_state(&self, state: &M::State) -> Result<Json> {
        self.0.encode_state(state)
    }

    fn decode_state(&self, json: &Json) -> Result<M::State> {
        self.0.decode_state(json)
    }
}

/// Which aggregate instance a command addresses.
pub type IdOf<C> = Rc<dyn Fn(&C) -> Result<String>>;
/// What the bus returns for a handled command.
pub type Reply<S, R> = Rc<dyn Fn(Handled<S>) -> Result<R>>;

/// The outcome of a command handled by an [`AggregateHandler`].
pub enum Handled<S> {
    /// The command was decided and its events appended.
    Executed(Executed<S>),
    /// A command with this id was handled before (its events are in the stream): nothing was
    /// appended this time.
    Duplicate,
}

/// Whether `stream` holds an event appended by the command `command_id` (the events a command
/// appends through the bus carry ids derived from its id).
///
/// # Errors
/// Store failures.
pub async fn already_applied<S: EventStore>(
    store: &S,
    stream: &crate::core::event::StreamId,
    command_id: &EventId,
) -> Result<bool> {
    let first = ids::event_id(command_id, 0);
    let mut from = None;
    loop {
        let options = crate::store::ReadStreamOptions {
            from,
            limit: Some(500),
            direction: crate::store::Direction::Backward,
        };
        let events = store.read_stream(stream, &options).await?;
        if events.iter().any(|e| e.id == first) {
            return Ok(true);
        }
        match events.last() {
            Some(last) if events.len() == 500 && last.version.0 > 1 => {
                from = Some(crate::core::event::Version(last.version.0 - 1))
            }
            _ => return Ok(false),
        }
    }
}

/// The common command handler: an aggregate's `execute`, with the command's context stamped
/// on the events it appends. A command whose id was already handled (a retry after a crash, a
/// re-delivered event dispatching it again) is recognised by its derived event ids: when the
/// decider now rejects it, or its ids conflict, and the stream already holds its events, the
/// outcome is [`Handled::Duplicate`] and nothing is appended.
pub struct AggregateHandler<M: Model, S, R> {
    aggregate: Rc<Aggregate<Stamped<M>>>,
    store: Rc<S>,
    id_of: IdOf<M::Command>,
    reply: Reply<M::State, R>,
}

impl<M: Model, S, R> AggregateHandler<M, S, R>
where
    M::Command: Sized,
{
    /// Handles commands with `aggregate` on `store`; `id_of` picks the aggregate id from a
    /// command, `reply` turns the outcome into the bus's result.
    pub fn new(
        aggregate: Rc<Aggregate<Stamped<M>>>,
        store: Rc<S>,
        id_of: IdOf<M::Command>,
        reply: Reply<M::State, R>,
    ) -> Self {
        AggregateHandler {
            aggregate,
            store,
            id_of,
            reply,
        }
    }
}

impl<M, S, R> CommandHandler<M::Command, R> for AggregateHandler<M, S, R>
where
    M: Model + 'static,
    M::Command: Sized + 'static,
    S: EventStore + StateStore + 'static,
    R: 'static,
{
    fn handle(
        &self,
        command: M::Command,
        ctx: CommandContext,
    ) -> LocalBoxFuture<'static, Result<R>> {
        let (aggregate, store, id_of, reply) = (
            self.aggregate.clone(),
            self.store.clone(),
            self.id_of.clone(),
            self.reply.clone(),
        );
        Box::pin(async move {
            let id = id_of(&command)?;
            let command_id = ctx.command_id.clone();
            let addressed = Addressed {
                command,
                context: ctx,
            };
            match aggregate.execute(&*store, &id, &addressed).await {
                Ok(done) => reply(Handled::Executed(done)),
                Err(e @ (Error::DeciderRejected { .. } | Error::EventIdConflict { .. })) => {
                    let stream = aggregate.stream(&id)?;
                    if already_applied(&*store, &stream, &command_id).await? {
                        reply(Handled::Duplicate)
                    } else {
                        Err(e)
                    }
                }
                Err(e) => Err(e),
            }
        })
    }
}

#[cfg(test)]
mod tests;
