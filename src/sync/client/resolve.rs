//! Resolving a stream's pending events against its newer confirmed state: re-place them
//! (`append`), decide their commands again (`rebase`, crash-safe through the pending set's
//! `rebasing` list), or drop them (`discard`). Used by [`SyncClient::sync`] for the `append` and
//! `rebase` strategies and by the app for streams the `manual` strategy holds.

use crate::core::event::StreamId;
use crate::core::expected::ExpectedVersion;
use crate::error::{Error, Result};
use crate::store::{EventStore, ResetStore};
use crate::sync::client::{Rejected, Resolution, Resolver, SyncClient};
use crate::sync::pending::PendingBatch;

impl<S: ResetStore> SyncClient<S> {
    /// Resolves the pending events of `stream` against its confirmed state now: `Append`
    /// re-places them after it, `Rebase` decides their commands again, `Discard` drops them.
    /// Clears a `manual` hold. Answers how many batches were dropped (each also given to
    /// [`Resolver::rejected`]).
    ///
    /// # Errors
    /// Store failures and the resolver's failures other than a rejection; a rebase stopped by
    /// one keeps the batches not decided yet and resumes at the next sync.
    pub async fn resolve<R: Resolver>(
        &self,
        stream: &StreamId,
        resolution: Resolution,
        resolver: &R,
    ) -> Result<usize> {
        let confirmed = self.replica().inner().stream_version(stream).await?;
        match resolution {
            Resolution::Append => {
                self.replica()
                    .update_pending(|s| {
                        if let Some(p) = s.streams.get_mut(stream.as_str()) {
                            p.base = confirmed;
                            p.held = None;
                        }
                        Ok(())
                    })
                    .await?;
                Ok(0)
            }
            Resolution::Discard => {
                let batches = self
                    .replica()
                    .update_pending(|s| Ok(s.take_batches(stream)))
                    .await?;
                let dropped = batches.len();
                for b in batches {
                    resolver.rejected(Rejected {
                        stream: stream.clone(),
                        command: b.command,
                        events: b.events,
                        error: Error::SyncConflict {
                            stream: stream.clone(),
                            actual: confirmed,
                        },
                    });
                }
                Ok(dropped)
            }
            Resolution::Rebase => {
                self.replica()
                    .update_pending(|s| {
                        let batches = s.take_batches(stream);
                        s.rebasing
                            .get_or_insert_with(stream.as_str(), Vec::new)
                            .extend(batches);
                        Ok(())
                    })
                    .await?;
                self.continue_rebase(stream, resolver).await
            }
        }
    }

    /// Decides the batches waiting in `rebasing` again, oldest first. Each batch leaves the
    /// list in the same write that stores its new events (or, rejected, in a write of its
    /// own), so a rebase interrupted anywhere resumes without deciding anything twice.
    pub(super) async fn continue_rebase<R: Resolver>(
        &self,
        stream: &StreamId,
        resolver: &R,
    ) -> Result<usize> {
        let mut dropped = 0;
        loop {
            let set = self.replica().pending().await?;
            let Some(batch) = set.rebasing.get(stream.as_str()).and_then(|l| l.first()) else {
                return Ok(dropped);
            };
            self.replica().consume_rebasing_on(Some(stream.clone()));
            let outcome = self.replay(stream, batch, resolver).await;
            let unconsumed = self.replica().consume_rebasing_on(None).is_some();
            match outcome {
                Ok(()) if unconsumed => {
                    // Decided nothing new: the command is done.
                    self.replica()
                        .update_pending(|s| Ok(s.pop_rebasing(stream)))
                        .await?;
                }
                Ok(()) => {}
                Err(error @ Error::DeciderRejected { .. }) => {
                    self.replica()
                        .update_pending(|s| Ok(s.pop_rebasing(stream)))
                        .await?;
                    dropped += 1;
                    resolver.rejected(Rejected {
                        stream: stream.clone(),
                        command: batch.command.clone(),
                        events: batch.events.clone(),
                        error,
                    });
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn replay<R: Resolver>(
        &self,
        stream: &StreamId,
        batch: &PendingBatch,
        resolver: &R,
    ) -> Result<()> {
        match &batch.command {
            Some(command) => resolver.rerun(stream, command).await,
            None => self
                .replica()
                .append(stream, batch.events.clone(), ExpectedVersion::Any)
                .await
                .map(drop),
        }
    }
}
