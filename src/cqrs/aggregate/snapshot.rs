//! Snapshot records: an aggregate's state at a version, tagged with the aggregate's snapshot
//! schema version so a changed aggregate ignores snapshots of its older shape.

use serde::Serialize;

use crate::core::event::{Position, StreamId, Timestamp, Version};
use crate::core::json::Json;
use crate::core::object::object_deserialize;

/// What is stored under [`key`].
#[derive(Serialize)]
pub(crate) struct SnapshotRecord {
    /// The aggregate's snapshot schema version when it was taken.
    pub schema: u32,
    /// The stream version the state includes.
    pub version: Version,
    /// Position of the last event included.
    pub position: Position,
    /// Timestamp of the last event included.
    pub timestamp: Timestamp,
    /// The state.
    pub state: Json,
}

object_deserialize!(SnapshotRecord {
    schema: u32 = "schema" required,
    version: Version = "version" required,
    position: Position = "position" required,
    timestamp: Timestamp = "timestamp" required,
    state: Json = "state" required,
});

/// The state-store key of a stream's snapshot.
pub(crate) fn key(stream: &StreamId) -> String {
    format!("snapshot:{stream}")
}

/// Whether a policy of one snapshot every `every` events takes one when a stream moves from
/// `before` to `after` (it crossed a multiple of `every`).
pub(crate) fn due(every: Option<u64>, before: Version, after: Version) -> bool {
    match every {
        Some(n) if n > 0 => after.0 / n > before.0 / n,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_every_n_events() {
        assert!(due(Some(3), Version(2), Version(3)));
        assert!(due(Some(3), Version(2), Version(7)));
        assert!(!due(Some(3), Version(3), Version(5)));
        assert!(!due(None, Version(0), Version(100)));
        assert!(!due(Some(0), Version(0), Version(100)));
    }
}
