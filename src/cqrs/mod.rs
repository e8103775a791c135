//! The CQRS layer on top of the store: aggregates that decide on commands (write side),
//! projections and read models folded from the log and kept live by one runtime ([`live`]:
//! catch-up, follow, rebuild, reset, close), buses, side-effect handlers and sagas, and the
//! worker pool that runs handlers and sagas in the background ([`workers`]). Generic over the
//! store, the model and the batch folded, so the same runners serve Rust code and JavaScript
//! functions.

pub mod aggregate;
pub mod bus;
pub mod handlers;
pub mod ids;
pub mod live;
pub mod model;
pub mod projection;
pub mod read_model;
pub mod runtime;
pub mod saga;
mod tagged;
pub mod workers;

pub use aggregate::{
    Aggregate, AggregateConfig, AsOf, Executed, Loaded, SnapshotInfo, SnapshotPolicy,
};
pub use model::{DeciderModel, IdSource, Model};
pub use projection::{
    Applied, Projection, ProjectionFold, ProjectionRunner, ProjectionState, ProjectionView,
};
