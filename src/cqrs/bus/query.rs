//! The query bus: one handler per query type.

use std::rc::Rc;

use super::registry::Registry;
use crate::cqrs::runtime::LocalBoxFuture;
use crate::error::Result;

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
    handlers: Registry<dyn QueryHandler<Q, R>>,
}

impl<Q: 'static, R: 'static> Default for QueryBus<Q, R> {
    fn default() -> Self {
        QueryBus {
            handlers: Registry::new("query"),
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
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) if the type already has a handler or
    /// is empty.
    pub fn register(&self, query_type: &str, handler: Rc<dyn QueryHandler<Q, R>>) -> Result<()> {
        self.handlers.register(query_type, handler)
    }

    /// Asks the handler of `query_type`.
    ///
    /// # Errors
    /// [`Error::HandlerNotFound`](crate::Error::HandlerNotFound) for a type without a handler,
    /// else the handler's error.
    pub fn ask(&self, query_type: &str, query: Q) -> LocalBoxFuture<'static, Result<R>> {
        match self.handlers.get(query_type) {
            Ok(h) => h.ask(query),
            Err(e) => Box::pin(std::future::ready(Err(e))),
        }
    }
}
