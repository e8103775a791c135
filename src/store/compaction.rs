//! What a compaction step reports: the shared record of the durable backends that merge small
//! records (IndexedDB today) and of the engine loop that runs their steps
//! ([`crate::engine::Store::compact`]).

use crate::core::event::Position;

/// What one compaction step did (`onProgress` of `db.compact()` in JavaScript: camelCase,
/// without `more`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CompactionStep {
    /// The log is compacted up to this position (records after it were not looked at yet).
    pub compacted_to: Position,
    /// The newest position of the log when the step ran.
    pub head: Position,
    /// Records the step replaced (0: the window was not worth merging, nothing was left, or
    /// another compaction or a reset changed the window first).
    pub records_read: u64,
    /// Records it wrote instead.
    pub records_written: u64,
    /// Events in the records it replaced.
    pub events: u64,
    /// Whether records remain that a later step could merge (false: compaction is done up to
    /// the newest record).
    #[serde(skip)]
    pub more: bool,
}
