//! Small keyed JSON records kept beside the log: aggregate snapshots and projection
//! checkpoints. They are derived data: losing them costs a replay, never an event.

use crate::core::json::Json;
use crate::error::Result;

/// Keyed JSON records stored with an event store (snapshots, projection checkpoints).
///
/// A `put` replaces the whole record atomically, so a record that holds a checkpoint together
/// with the state at that checkpoint is always consistent, whichever tab wrote it last.
#[allow(async_fn_in_trait)]
pub trait StateStore {
    /// The record under `key`, if any.
    ///
    /// # Errors
    /// Backend failures only.
    async fn get_state(&self, key: &str) -> Result<Option<Json>>;

    /// Stores `value` under `key`, replacing what was there.
    ///
    /// # Errors
    /// Backend failures (quota, closed store).
    async fn put_state(&self, key: &str, value: Json) -> Result<()>;

    /// Removes the record under `key` (no error if absent).
    ///
    /// # Errors
    /// Backend failures only.
    async fn delete_state(&self, key: &str) -> Result<()>;

    /// Compare-and-swap: if the record under `key` is exactly `expected` (`None`: absent),
    /// replaces it with `new` (`None`: deletes it) and answers `true`; otherwise changes
    /// nothing and answers `false`. Read-modify-write loops built on it never lose a
    /// concurrent update. Backends shared by several writers (IndexedDB and its tabs) do the
    /// compare and the write in one transaction; this default is right for single-writer
    /// backends only.
    ///
    /// # Errors
    /// Backend failures only.
    async fn swap_state(
        &self,
        key: &str,
        expected: Option<&Json>,
        new: Option<Json>,
    ) -> Result<bool> {
        let current = self.get_state(key).await?;
        if current.as_ref().map(Json::as_str) != expected.map(Json::as_str) {
            return Ok(false);
        }
        match new {
            Some(value) => self.put_state(key, value).await?,
            None => self.delete_state(key).await?,
        }
        Ok(true)
    }
}
