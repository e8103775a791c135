//! Catch-up subscriptions: read what exists after a checkpoint, then wait for more.

use std::ops::Deref;

use crate::core::event::{Position, RecordedEvent};
use crate::error::Result;
use crate::store::{EventFilter, EventStore, ReadAllOptions};

/// A subscription to the global log: each [`next_batch`](Self::next_batch) returns the next
/// events after its checkpoint that pass its filter, in position order, waiting for new appends
/// once it has caught up.
///
/// When the log is reset ([`ResetStore`](crate::store::ResetStore)), the subscription starts
/// again from the position it was created with: the events after it are delivered again as
/// the log holds them now (a batch whose positions go back tells the subscriber).
pub struct Subscription<H> {
    store: H,
    start: Position,
    resets: u64,
    checkpoint: Position,
    filter: EventFilter,
    batch_size: usize,
}

impl<H, S> Subscription<H>
where
    H: Deref<Target = S>,
    S: EventStore + ?Sized,
{
    /// A subscription that delivers events after `after`, at most `batch_size` per batch.
    pub fn new(store: H, after: Position, filter: EventFilter, batch_size: usize) -> Self {
        let resets = store.changes().resets();
        Subscription {
            store,
            start: after,
            resets,
            checkpoint: after,
            filter,
            batch_size: batch_size.max(1),
        }
    }

    /// The position of the last event delivered (or scanned past).
    pub fn checkpoint(&self) -> Position {
        self.checkpoint
    }

    /// The next batch, waiting for appends when caught up. `None` once the store closes.
    ///
    /// # Errors
    /// Whatever reading the store fails with.
    pub async fn next_batch(&mut self) -> Result<Option<Vec<RecordedEvent>>> {
        loop {
            let resets = self.store.changes().resets();
            if resets != self.resets {
                self.resets = resets;
                self.checkpoint = self.start;
            }
            let seen_head = self.store.changes().head();
            let options = ReadAllOptions {
                after: self.checkpoint,
                limit: Some(self.batch_size),
                filter: self.filter.clone(),
            };
            let events = self.store.read_all(&options).await?;
            if let Some(last) = events.last() {
                self.checkpoint = last.position;
                return Ok(Some(events));
            }
            // Nothing matched up to at least `seen_head`: skip past it, then wait.
            self.checkpoint = self.checkpoint.max(seen_head);
            if !self.store.changes().wait_beyond(self.checkpoint).await {
                return Ok(None);
            }
        }
    }
}
