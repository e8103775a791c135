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

mod aggregate;
mod command;
mod context;
mod query;
mod registry;

pub use aggregate::{already_applied, Addressed, AggregateHandler, Handled, IdOf, Reply, Stamped};
pub use command::{CommandBus, CommandHandler, Middleware, Next};
pub use context::CommandContext;
pub use query::{QueryBus, QueryHandler};

use crate::error::Error;

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

#[cfg(test)]
mod tests;
