//! Live views: the one runtime that keeps a fold of the log up to date for projections and
//! read models. It resumes from what the fold persisted, catches up page by page (persisting
//! every few pages), then follows: new events (this store's appends, other tabs' appends as the
//! store's [`ChangeNotifier`](crate::store::ChangeNotifier) reports them, sync pulls), a synced
//! store's pending events (shown on top, never persisted), a rebuild on request, a restart from
//! position 0 when the log is reset, until it is closed.
//!
//! The runtime is generic over the batch it folds ([`Pages`] makes them): the Rust path reads
//! [`RecordedEvent`](crate::RecordedEvent)s ([`Recorded`]); the JavaScript binding reads pages
//! that cross the wasm boundary once as JavaScript values. Both run the same [`catch_up`] and
//! [`run`].
//!
//! - [`batch`]: [`Batch`], [`Page`], [`Pages`] (how pages are read and converted);
//! - [`fold`]: [`Fold`] (what a catch-up folds) and [`catch_up`];
//! - [`view`]: [`LiveFold`], the [`View`] handle and [`run`], the lifecycle;
//! - [`subscribers`]: who is told of changes;
//! - [`query`]: [`LiveQuery`], one query's answer kept as a snapshot for UI frameworks.
//!
//! The folds themselves: [`ProjectionFold`](crate::cqrs::ProjectionFold) and
//! [`ReadModelFold`](crate::cqrs::read_model::ReadModelFold).

pub mod batch;
pub mod fold;
pub mod query;
pub mod subscribers;
pub mod view;

pub use batch::{read_page, Batch, Page, Pages, Recorded};
pub use fold::{catch_up, Fold, Progress, SAVE_EVERY_PAGES};
pub use query::LiveQuery;
pub use subscribers::Subscribers;
pub use view::{run, LiveFold, View};

#[cfg(test)]
pub(crate) mod tests;
