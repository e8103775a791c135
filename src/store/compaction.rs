//! What a compaction step reports: the shared record of the durable backends that merge small
//! records (IndexedDB today) and of the engine loop that runs their steps
//! ([`crate::engine::Store::compact`]).

use crate::core::event::Position;

/// What one compaction step did (`onProgress` of `db.compact()` in JavaScript: camelCase,
/// without `more`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CompactionStep {
    /// The log is compacted up to this position (records after it were not looked at yet);
    /// the head once nothing is left to merge (see [`reported`](Self::reported)).
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

impl CompactionStep {
    /// The step as reported: one that ends the run (`more` false) has compacted the log up to
    /// its head. (A plan never takes the newest record, which the next appends may join: a
    /// record alone has nothing to merge with, so it counts as compacted; without this a
    /// one-event log would report "compacted to 0 of 1" when nothing is left to do.)
    pub fn reported(mut self) -> Self {
        if !self.more {
            self.compacted_to = self.compacted_to.max(self.head);
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(to: u64, head: u64, more: bool) -> CompactionStep {
        CompactionStep {
            compacted_to: Position(to),
            head: Position(head),
            more,
            ..CompactionStep::default()
        }
    }

    #[test]
    fn a_step_that_ends_the_run_reports_the_log_compacted_to_its_head() {
        // A one-event log: the plan leaves its only record alone, nothing is left to do.
        assert_eq!(step(0, 1, false).reported().compacted_to, Position(1));
        // 600 single-event appends: merged up to 599, the newest record left for what follows.
        assert_eq!(step(599, 600, false).reported().compacted_to, Position(600));
        // An empty log.
        assert_eq!(step(0, 0, false).reported(), step(0, 0, false));
    }

    #[test]
    fn a_step_with_more_to_do_reports_how_far_the_first_pass_got() {
        assert_eq!(step(4096, 9000, true).reported(), step(4096, 9000, true));
        assert_eq!(step(0, 1, true).reported().compacted_to, Position(0));
    }
}
