//! The command bus: one handler per command type, behind a middleware chain.

use std::cell::RefCell;
use std::rc::Rc;

use super::context::CommandContext;
use super::registry::Registry;
use crate::cqrs::runtime::LocalBoxFuture;
use crate::error::Result;

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
    handlers: Registry<dyn CommandHandler<C, R>>,
    middleware: RefCell<Vec<Rc<dyn Middleware<C, R>>>>,
}

impl<C: 'static, R: 'static> Default for CommandBus<C, R> {
    fn default() -> Self {
        CommandBus {
            handlers: Registry::new("command"),
            middleware: RefCell::new(Vec::new()),
        }
    }
}

impl<C: 'static, R: 'static> CommandBus<C, R> {
    /// An empty bus.
    pub fn new() -> Self {
        CommandBus::default()
    }

    /// Registers the handler of `command_type`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) if the type already has a handler
    /// (one command, one handler) or is empty.
    pub fn register(
        &self,
        command_type: &str,
        handler: Rc<dyn CommandHandler<C, R>>,
    ) -> Result<()> {
        self.handlers.register(command_type, handler)
    }

    /// Registers `handler` for every type of `command_types`, all or none: nothing is
    /// registered when one of them is empty, repeated or already has a handler.
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) as for [`register`](Self::register).
    pub fn register_all(
        &self,
        command_types: &[String],
        handler: Rc<dyn CommandHandler<C, R>>,
    ) -> Result<()> {
        for (i, t) in command_types.iter().enumerate() {
            self.handlers.check_new(t)?;
            if command_types[..i].contains(t) {
                return Err(self.handlers.taken(t));
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
        self.handlers.contains(command_type)
    }

    /// Dispatches `command` of `command_type` through the middleware to its handler and
    /// returns the handler's result.
    ///
    /// # Errors
    /// [`Error::HandlerNotFound`](crate::Error::HandlerNotFound) for a type without a handler,
    /// else whatever the middleware or the handler returns.
    pub fn dispatch(
        &self,
        command_type: &str,
        command: C,
        ctx: CommandContext,
    ) -> LocalBoxFuture<'static, Result<R>> {
        let handler = match self.handlers.get(command_type) {
            Ok(handler) => handler,
            Err(e) => return Box::pin(std::future::ready(Err(e))),
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
