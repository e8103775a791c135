//! Re-syncing from scratch when the server's store is another one (`CHECKPOINT_MISMATCH`: the
//! server was reset, restored from an older backup, or replaced).
//!
//! [`SyncClient::reset`] runs one [`ResetStore::reset_log`]: in one atomic step it drops the
//! confirmed events of the synced streams (local-only streams are kept, with their positions),
//! clears the checkpoint and marks the client as resetting, marks every pending stream
//! [`unbased`](crate::sync::pending::PendingStream::unbased) (its base referred to the dropped
//! log), and deletes the persisted state derived from the log: projection and read-model
//! checkpoints and states, every read-model record, and snapshots of synced streams. A crash
//! before that step changed nothing (the next sync meets the mismatch again); a crash after it
//! leaves a store without a checkpoint, so the next sync simply pulls from the start.
//!
//! Then [`sync`](SyncClient::sync) pulls everything, reconciles the unbased streams by id
//! against the new server's streams (pending events it already holds are confirmed, the rest
//! are a conflict resolved by the stream's strategy, as if the server had moved on), pushes,
//! and reports [`resynced`](crate::sync::client::SyncReport::resynced).

use crate::core::json::Json;
use crate::error::{Error, Result};
use crate::store::{LogReset, ResetOutcome, ResetStore, Rewrite};
use crate::sync::client::{Meta, SyncClient, SyncReport, META_KEY};
use crate::sync::pending::{PendingSet, PENDING_KEY};

/// Prefixes of the state keys holding data derived from the whole log, deleted by a reset:
/// projections (`crate::cqrs::ProjectionRunner`) and read-model checkpoints.
pub const DERIVED_STATE_PREFIXES: [&str; 2] = ["projection:", "readmodel:"];

/// The prefix of aggregate snapshots (`snapshot:<stream>`), deleted for synced streams.
const SNAPSHOT_PREFIX: &str = "snapshot:";

impl<S: ResetStore> SyncClient<S> {
    /// Drops the confirmed log of the sync scope and everything derived from it, keeping
    /// local-only streams and pending events, so the next pull starts from scratch (see the
    /// module docs). [`sync`](Self::sync) calls it on `CHECKPOINT_MISMATCH`; an app may call it
    /// to re-sync on purpose.
    ///
    /// # Errors
    /// Store failures; `CORRUPT_DATA` when the pending set does not decode. Nothing is changed
    /// then.
    pub async fn reset(&self) -> Result<ResetOutcome> {
        let replica = self.replica();
        let drops = |stream: &str| replica.in_scope(stream);
        let forgets = |key: &str| {
            DERIVED_STATE_PREFIXES.iter().any(|p| key.starts_with(p))
                || key
                    .strip_prefix(SNAPSHOT_PREFIX)
                    .is_some_and(|stream| replica.in_scope(stream))
        };
        let meta = |_: Option<&Json>| {
            let meta = Meta {
                checkpoint: None,
                resetting: true,
            };
            Ok(Some(Json::from_value(&meta)?))
        };
        let pending = |current: Option<&Json>| {
            let Some(json) = current else {
                return Ok(None);
            };
            let mut set: PendingSet = json.decode().map_err(|e| Error::CorruptData {
                record: format!("state/{PENDING_KEY}"),
                message: e.to_string(),
            })?;
            set.unbase();
            Ok(Some(Json::from_value(&set)?))
        };
        let rewrites: Vec<(&str, Rewrite<'_>)> = vec![(META_KEY, &meta), (PENDING_KEY, &pending)];
        let outcome = replica
            .inner()
            .reset_log(&LogReset {
                drops: &drops,
                forgets: &forgets,
                rewrites,
            })
            .await?;
        // The pending set was rewritten: projections fold it again.
        replica.pending_changed();
        Ok(outcome)
    }

    /// At the end of a sync: a reset is reported once, when a sync completes after it.
    pub(crate) async fn finish_reset(&self, report: &mut SyncReport) -> Result<()> {
        let meta = self.meta().await?;
        if meta.resetting {
            let done = Meta {
                checkpoint: meta.checkpoint,
                resetting: false,
            };
            self.replica()
                .inner()
                .put_state(META_KEY, Json::from_value(&done)?)
                .await?;
            report.resynced = true;
        }
        Ok(())
    }
}
