//! [`Store::compact`]: runs the durable backend's compaction steps until the log is compacted.
//!
//! The loop lives here, not in the bindings: a step merges one window of small records (see
//! [`CompactionStep`]); `compact` repeats steps until one reports that nothing is left, sums
//! what they did and reports each step as it ends.

use std::future::Future;

use super::Store;
use crate::core::event::Position;
use crate::error::Result;
use crate::store::{CompactionStep, EventStore as _};

/// What a whole [`Store::compact`] run did: where it ended and the totals of its steps (what
/// `db.compact()` resolves to in JavaScript, camelCase).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CompactionReport {
    /// The log is compacted up to this position.
    pub compacted_to: Position,
    /// The newest position of the log when the last step ran.
    pub head: Position,
    /// Records replaced, over all steps.
    pub records_read: u64,
    /// Records written instead, over all steps.
    pub records_written: u64,
    /// Events in the replaced records, over all steps.
    pub events: u64,
}

impl Store {
    /// Compacts the log now: runs the backend's compaction steps until one reports that
    /// nothing more can be merged, calling `on_step` after each step, and returns the totals.
    /// A backend that does not compact (memory, SQL) reports its head with nothing done.
    ///
    /// # Errors
    /// The first failing step's error (steps before it stay done: each is atomic).
    pub async fn compact(&self, on_step: impl FnMut(&CompactionStep)) -> Result<CompactionReport> {
        #[cfg(target_arch = "wasm32")]
        if let super::Kind::IndexedDb(store) = &self.0.raw.0 {
            return run_steps(|| store.compact_step(), on_step).await;
        }
        let _ = on_step;
        let head = self.head().await?;
        Ok(CompactionReport {
            compacted_to: head,
            head,
            ..CompactionReport::default()
        })
    }
}

/// Runs `step` until a step reports `more: false`, calling `on_step` after each. (Native
/// builds have no compacting backend: only the tests call it there.)
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
pub(crate) async fn run_steps<F>(
    mut step: impl FnMut() -> F,
    mut on_step: impl FnMut(&CompactionStep),
) -> Result<CompactionReport>
where
    F: Future<Output = Result<CompactionStep>>,
{
    let mut total = CompactionReport::default();
    loop {
        let done = step().await?;
        total.compacted_to = done.compacted_to;
        total.head = done.head;
        total.records_read += done.records_read;
        total.records_written += done.records_written;
        total.events += done.events;
        on_step(&done);
        if !done.more {
            return Ok(total);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::collections::VecDeque;

    use futures::executor::block_on;

    use super::*;
    use crate::error::Error;
    use crate::store::{fixed_clock, MemoryStore};

    fn step(to: u64, head: u64, read: u64, written: u64, more: bool) -> CompactionStep {
        CompactionStep {
            compacted_to: Position(to),
            head: Position(head),
            records_read: read,
            records_written: written,
            events: read,
            more,
        }
    }

    /// Steps from a script; a script that runs dry is a test failure (the loop asked again).
    fn scripted(
        steps: Vec<Result<CompactionStep>>,
    ) -> impl FnMut() -> std::future::Ready<Result<CompactionStep>> {
        let steps = RefCell::new(VecDeque::from(steps));
        move || {
            let next = steps.borrow_mut().pop_front();
            std::future::ready(
                next.unwrap_or_else(|| Err(Error::invalid("asked after the last step"))),
            )
        }
    }

    #[test]
    fn steps_run_until_one_reports_nothing_left_and_their_work_is_summed() {
        let mut seen = Vec::new();
        let report = block_on(run_steps(
            scripted(vec![
                Ok(step(4096, 9000, 4096, 12, true)),
                Ok(step(8192, 9000, 4096, 9, true)),
                Ok(step(9000, 9000, 808, 3, false)),
            ]),
            |s| seen.push(s.compacted_to.0),
        ))
        .unwrap();
        assert_eq!(seen, vec![4096, 8192, 9000]);
        assert_eq!(
            report,
            CompactionReport {
                compacted_to: Position(9000),
                head: Position(9000),
                records_read: 9000,
                records_written: 24,
                events: 9000,
            }
        );
    }

    #[test]
    fn a_first_step_with_nothing_left_ends_the_run_at_once() {
        let mut calls = 0;
        let report = block_on(run_steps(
            scripted(vec![Ok(step(50, 50, 0, 0, false))]),
            |_| calls += 1,
        ))
        .unwrap();
        assert_eq!(calls, 1);
        assert_eq!(
            (report.compacted_to, report.records_read),
            (Position(50), 0)
        );
    }

    #[test]
    fn a_failing_step_ends_the_run_with_its_error_after_the_steps_before_it() {
        let mut seen = Vec::new();
        let err = block_on(run_steps(
            scripted(vec![
                Ok(step(4096, 9000, 4096, 12, true)),
                Err(Error::CorruptData {
                    record: "17".into(),
                    message: "bad".into(),
                }),
                Ok(step(9000, 9000, 1, 1, false)),
            ]),
            |s| seen.push(s.compacted_to.0),
        ))
        .unwrap_err();
        assert!(matches!(err, Error::CorruptData { .. }), "{err:?}");
        assert_eq!(seen, vec![4096]);
    }

    #[test]
    fn a_store_that_does_not_compact_reports_its_head_and_no_work() {
        let store = Store::memory(MemoryStore::new(fixed_clock(0)));
        let mut calls = 0;
        let report = block_on(store.compact(|_| calls += 1)).unwrap();
        assert_eq!(calls, 0);
        assert_eq!(report, CompactionReport::default());
    }
}
