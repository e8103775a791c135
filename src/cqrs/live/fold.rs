//! The catch-up loop every fold shares: read a page after the checkpoint, fold it, persist every
//! few pages, report progress, stop at the first failing event.

use crate::core::event::Position;
use crate::error::{Error, Result};
use crate::store::EventStore;

use super::batch::Batch;

/// During a catch-up, a fold is persisted at least once every this many pages.
pub const SAVE_EVERY_PAGES: u32 = 10;

/// How far a catch-up got.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Progress {
    /// Positions folded (or skipped by a filter) since the catch-up started.
    pub processed: u64,
    /// Positions the log held beyond the checkpoint when the catch-up started.
    pub total: u64,
    /// The fold's checkpoint now (not shown to `onProgress`).
    #[serde(skip)]
    pub checkpoint: Position,
}

/// What a catch-up folds the log into, page by page: a projection's state, a read model's
/// records. `S` is the store it reads and persists to.
#[allow(async_fn_in_trait)]
pub trait Fold<S: ?Sized> {
    /// A page of events as this fold takes it.
    type Page: Batch;

    /// Events per page.
    fn page_size(&self, store: &S) -> usize;

    /// Pages folded between two saves (1: every page is persisted with its checkpoint).
    fn save_every(&self) -> u32 {
        SAVE_EVERY_PAGES
    }

    /// The position of the last event folded in (or scanned past).
    fn checkpoint(&self) -> Position;

    /// Reads up to `limit` events after `after`, with the position the read covers (see
    /// [`read_page`](super::read_page)).
    ///
    /// # Errors
    /// Store and reader failures.
    async fn read(
        &self,
        store: &S,
        after: Position,
        limit: usize,
    ) -> Result<(Self::Page, Position)>;

    /// Folds `page`, which covers the log up to `covered`. When an event fails, what the
    /// events before it did is kept, the checkpoint stops at the last of them, and the
    /// failure is returned as `Ok(Some(error))`.
    ///
    /// # Errors
    /// When nothing could be folded (nothing changed then).
    async fn apply(
        &mut self,
        store: &S,
        page: Self::Page,
        covered: Position,
    ) -> Result<Option<Error>>;

    /// Persists what is folded, with its checkpoint, in one write.
    ///
    /// # Errors
    /// Store failures.
    async fn save(&mut self, store: &S) -> Result<()>;
}

/// Catches `fold` up with the log of `store`: pages of [`Fold::page_size`] events, persisted
/// every [`Fold::save_every`] pages, on the last page and on a failure (the fold and its
/// checkpoint are saved together, so a crash between saves only costs a re-fold). Calls
/// `progress` after every page. Holds a [`foreground`](EventStore::foreground) guard
/// throughout, so the store's background maintenance waits until it is done.
///
/// # Errors
/// The first failing event ([`Error::EvolveFailed`]; what came before it is saved), and store
/// failures (what was folded since the last save is then not persisted).
pub async fn catch_up<S: EventStore + ?Sized, F: Fold<S>>(
    store: &S,
    fold: &mut F,
    mut progress: impl FnMut(Progress),
) -> Result<()> {
    let _foreground = store.foreground();
    let start = fold.checkpoint();
    let total = store.head().await?.0.saturating_sub(start.0);
    let size = fold.page_size(store).max(1);
    let mut unsaved = 0;
    loop {
        let after = fold.checkpoint();
        let (page, covered) = fold.read(store, after, size).await?;
        let n = page.len();
        if n == 0 && covered <= after {
            if unsaved > 0 {
                fold.save(store).await?;
            }
            return Ok(());
        }
        let stopped = fold.apply(store, page, covered).await?;
        unsaved += 1;
        if stopped.is_some() || n < size || unsaved >= fold.save_every() {
            fold.save(store).await?;
            unsaved = 0;
        }
        let checkpoint = fold.checkpoint();
        progress(Progress {
            processed: checkpoint.0.saturating_sub(start.0).min(total),
            total,
            checkpoint,
        });
        if let Some(e) = stopped {
            return Err(e);
        }
    }
}
