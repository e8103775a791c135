//! The CQRS layer on top of the store: aggregates that decide on commands (write side) and
//! projections folded from the log (read side), the command and query buses, event handlers
//! with side effects, sagas, and the worker pool that runs handlers and sagas in the
//! background. Generic over the store and over the model, so the same runners serve Rust
//! deciders and JavaScript functions.

pub mod aggregate;
pub mod bus;
pub mod handlers;
pub mod ids;
pub mod model;
pub mod projection;
pub mod runtime;
pub mod saga;
mod tagged;
pub mod workers;

pub use aggregate::{Aggregate, AggregateConfig, AsOf, Executed, Loaded};
pub use model::{DeciderModel, IdSource, Model};
pub use projection::{Applied, Projection, ProjectionRunner, ProjectionState};
