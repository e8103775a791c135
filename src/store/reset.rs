//! Dropping part of the log in one atomic step: what a synced client does when its server's
//! store was replaced (`CHECKPOINT_MISMATCH`, see `docs/sync.md`), so it can pull the new
//! server's log from scratch while keeping its local-only streams and its pending events.
//!
//! **Positions never move and are never reused.** The events of the dropped streams leave
//! holes in the positions; kept events keep theirs; the reset itself takes the next position
//! (a marker holding no event), so the head moves past every position anyone has seen and
//! new events come after it. A position-based checkpoint taken before the reset therefore
//! never skips a new event, but what it summarises may include dropped events: the reset
//! deletes the persisted state derived from the log (the state keys `forgets` names and every
//! read-model record) in the same step, and counts itself on the store's
//! [`ChangeNotifier`](crate::store::ChangeNotifier) ([`resets`](crate::store::ChangeNotifier::resets))
//! so that live projections, read models and subscriptions start again from position 0.

use crate::core::event::Position;
use crate::core::json::Json;
use crate::error::Result;
use crate::store::{EventStore, ReadModelStore, StateStore};

/// A state record rewritten by a reset from its current value (`None`: absent); answering
/// `None` deletes it.
pub type Rewrite<'a> = &'a dyn Fn(Option<&Json>) -> Result<Option<Json>>;

/// What one [`ResetStore::reset_log`] drops, forgets and rewrites.
pub struct LogReset<'a> {
    /// Whether the events of the stream with this name are dropped (the others are kept).
    pub drops: &'a dyn Fn(&str) -> bool,
    /// Whether the state record under this key is deleted (derived state: projection
    /// checkpoints, read-model checkpoints, snapshots of dropped streams, …).
    pub forgets: &'a dyn Fn(&str) -> bool,
    /// State records rewritten from their current value, read and written inside the reset
    /// (so a concurrent compare-and-swap on them is never lost).
    pub rewrites: Vec<(&'a str, Rewrite<'a>)>,
}

/// What a reset did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResetOutcome {
    /// Events dropped.
    pub dropped: u64,
    /// Events kept (streams `drops` did not name).
    pub kept: u64,
    /// The head after the reset: the position of its marker.
    pub head: Position,
}

/// A store whose log can be partly dropped (the memory store and the IndexedDB store; the
/// server's stores never drop events).
#[allow(async_fn_in_trait)]
pub trait ResetStore: EventStore + StateStore + ReadModelStore {
    /// In one atomic step: drops the events of every stream `reset.drops` names, keeps the
    /// others with their positions and versions, deletes the state records `reset.forgets`
    /// names and every read-model record, applies `reset.rewrites`, and takes the next
    /// position as the reset's marker (see the module docs). Event ids of dropped events may
    /// be appended again afterwards. Then wakes every waiter on
    /// [`changes`](EventStore::changes) with the reset counted (other tabs of a browser store
    /// are told too).
    ///
    /// # Errors
    /// A rewrite's error, backend failures (quota, closed store), `CORRUPT_DATA` for a record
    /// that cannot be read. Nothing is changed in any of these cases.
    async fn reset_log(&self, reset: &LogReset<'_>) -> Result<ResetOutcome>;
}
