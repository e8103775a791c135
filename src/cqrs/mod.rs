//! The CQRS layer on top of the store: aggregates that decide on commands (write side),
//! projections and read models folded from the log and kept live by one runtime ([`live`]:
//! catch-up, follow, rebuild, reset, close), buses, side-effect handlers and sagas, and the
//! worker pool that runs handlers and sagas in the background ([`workers`]). Generic over the
//! store, the model and the batch folded, so the same runners serve Rust code and JavaScript
//! functions.
//!
//! The buses, side-effect handlers, sagas and workers are the cargo feature `bus` (on by
//! default).

pub mod aggregate;
#[cfg(feature = "bus")]
pub mod bus;
#[cfg(feature = "bus")]
pub mod handlers;
pub mod ids;
pub mod live;
pub mod model;
pub mod projection;
pub mod read_model;
pub mod runtime;
#[cfg(feature = "bus")]
pub mod saga;
#[cfg(feature = "bus")]
mod tagged;
#[cfg(feature = "bus")]
pub mod workers;

pub use aggregate::{
    Aggregate, AggregateConfig, AsOf, Executed, Loaded, SnapshotInfo, SnapshotPolicy,
};
pub use model::{DeciderModel, IdSource, Model};
pub use projection::{
    Applied, Projection, ProjectionFold, ProjectionRunner, ProjectionState, ProjectionView,
};
