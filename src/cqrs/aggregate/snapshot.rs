//! Snapshots: an aggregate's state at a version, tagged with the aggregate's snapshot schema
//! version so a changed aggregate ignores snapshots of its older shape, and the policies that
//! say when `execute` takes one.

use serde::Serialize;

use crate::core::event::{Position, StreamId, Timestamp, Version};
use crate::core::json::Json;
use crate::core::object::object_deserialize;

/// When [`super::Aggregate::execute`] takes a snapshot after an append.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SnapshotPolicy {
    /// Never (snapshots are then only taken by [`super::Aggregate::take_snapshot`]).
    #[default]
    Never,
    /// Whenever the stream's version crosses a multiple of `n` (`n > 0`).
    Every(u64),
    /// Once at least `events` events were appended since the last snapshot **and** at least
    /// `millis` milliseconds passed since it was taken, by the store's clock (the timestamp of
    /// the append). With no usable snapshot yet, the time condition holds.
    After {
        /// Events appended since the last snapshot.
        events: u64,
        /// Milliseconds since the last snapshot was taken.
        millis: u64,
    },
}

/// The newest usable snapshot of a stream, as loading found it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SnapshotInfo {
    /// The stream version the snapshot's state includes.
    pub version: Version,
    /// When it was taken (store clock, ms since the epoch).
    pub taken: Timestamp,
}

impl SnapshotPolicy {
    /// Whether the policy takes a snapshot when an append moved a stream from `before` to
    /// `after` at time `now`, `last` being the snapshot the state was loaded from.
    pub fn due(
        self,
        last: Option<SnapshotInfo>,
        before: Version,
        after: Version,
        now: Timestamp,
    ) -> bool {
        match self {
            SnapshotPolicy::Never => false,
            SnapshotPolicy::Every(n) => n > 0 && after.0 / n > before.0 / n,
            SnapshotPolicy::After { events, millis } => {
                let (since, taken) = match last {
                    Some(s) => (s.version.0, Some(s.taken)),
                    None => (0, None),
                };
                let enough_events = after.0.saturating_sub(since) >= events.max(1);
                let long_enough = match taken {
                    None => true,
                    Some(t) => {
                        now.0.saturating_sub(t.0) >= i64::try_from(millis).unwrap_or(i64::MAX)
                    }
                };
                enough_events && long_enough
            }
        }
    }
}

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
    /// When the snapshot was taken (absent in snapshots written before the field existed:
    /// their last event's timestamp stands in).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub taken: Option<Timestamp>,
    /// The state.
    pub state: Json,
}

object_deserialize!(SnapshotRecord {
    schema: u32 = "schema" required,
    version: Version = "version" required,
    position: Position = "position" required,
    timestamp: Timestamp = "timestamp" required,
    taken: Option<Timestamp> = "taken" default,
    state: Json = "state" required,
});

impl SnapshotRecord {
    /// The version and time of taking, for the policy.
    pub fn info(&self) -> SnapshotInfo {
        SnapshotInfo {
            version: self.version,
            taken: self.taken.unwrap_or(self.timestamp),
        }
    }
}

/// The state-store key of a stream's snapshot.
pub(crate) fn key(stream: &StreamId) -> String {
    format!("snapshot:{stream}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(version: u64, taken: i64) -> Option<SnapshotInfo> {
        Some(SnapshotInfo {
            version: Version(version),
            taken: Timestamp(taken),
        })
    }

    #[test]
    fn policy_every_n_events() {
        let every = |n| SnapshotPolicy::Every(n);
        let t = Timestamp(0);
        assert!(every(3).due(None, Version(2), Version(3), t));
        assert!(every(3).due(None, Version(2), Version(7), t));
        assert!(!every(3).due(None, Version(3), Version(5), t));
        assert!(!SnapshotPolicy::Never.due(None, Version(0), Version(100), t));
        assert!(!every(0).due(None, Version(0), Version(100), t));
    }

    #[test]
    fn policy_by_events_and_time_needs_both() {
        let p = SnapshotPolicy::After {
            events: 10,
            millis: 1_000,
        };
        // 10 events since the snapshot at 5, but only 999 ms: not yet.
        assert!(!p.due(at(5, 1_000), Version(14), Version(15), Timestamp(1_999)));
        // 1 s passed but only 9 events.
        assert!(!p.due(at(5, 1_000), Version(13), Version(14), Timestamp(5_000)));
        // Both.
        assert!(p.due(at(5, 1_000), Version(14), Version(15), Timestamp(2_000)));
        // Many events in one append count as well.
        assert!(p.due(at(5, 1_000), Version(5), Version(40), Timestamp(9_000)));
        // No snapshot yet: only the count matters.
        assert!(!p.due(None, Version(0), Version(9), Timestamp(0)));
        assert!(p.due(None, Version(9), Version(10), Timestamp(0)));
        // A clock that went backwards never makes it due early.
        assert!(!p.due(at(5, 9_000), Version(20), Version(21), Timestamp(1_000)));
        // events: 0 behaves as 1 (a snapshot needs something new).
        let zero = SnapshotPolicy::After {
            events: 0,
            millis: 0,
        };
        assert!(!zero.due(at(5, 0), Version(5), Version(5), Timestamp(0)));
        assert!(zero.due(at(5, 0), Version(5), Version(6), Timestamp(0)));
    }
}
