//! A read model as the live-view runtime folds it: each page's handler writes commit
//! atomically with the checkpoint, then subscribers hear which keys changed.

use std::borrow::Borrow;
use std::marker::PhantomData;

use crate::core::event::Position;
use crate::cqrs::live::{read_page, Batch, Fold, LiveFold, Pages};
use crate::engine::Store;
use crate::error::{Error, Result};
use crate::store::{ReadAllOptions, ReadModelStore, RecordWrite, StateStore};

use super::{Change, Handlers, Parts, PAGE_SIZE};

struct Saved {
    version: u32,
    checkpoint: Position,
}

crate::core::object::object_deserialize!(Saved {
    version: u32 = "version" required,
    checkpoint: Position = "checkpoint" required,
});

/// A read model being caught up: the checkpoint, and the writes of the page not yet committed.
pub struct ReadModelFold<'a, H, R, B: ?Sized> {
    parts: &'a Parts<H, R>,
    checkpoint: Position,
    writes: Vec<RecordWrite>,
    /// The keys to tell subscribers of once the writes are committed.
    changed: Option<Vec<String>>,
    /// The pending-change count last shown.
    pending: Option<Position>,
    batch: PhantomData<fn(&B)>,
}

impl<'a, H, R, B: ?Sized> ReadModelFold<'a, H, R, B> {
    pub(super) fn new(parts: &'a Parts<H, R>) -> Self {
        ReadModelFold {
            parts,
            checkpoint: Position(0),
            writes: Vec::new(),
            changed: None,
            pending: None,
            batch: PhantomData,
        }
    }

    fn notify(&self, keys: Option<Vec<String>>) {
        self.parts.subscribers.notify(&Change {
            checkpoint: self.checkpoint,
            keys,
        });
    }
}

impl<H, R, B> Fold<Store> for ReadModelFold<'_, H, R, B>
where
    H: Handlers<B>,
    R: Pages<Store>,
    R::Page: Borrow<B>,
    B: ?Sized,
{
    type Page = R::Page;

    fn page_size(&self, _: &Store) -> usize {
        PAGE_SIZE
    }

    fn save_every(&self) -> u32 {
        1
    }

    fn checkpoint(&self) -> Position {
        self.checkpoint
    }

    async fn read(
        &self,
        store: &Store,
        after: Position,
        limit: usize,
    ) -> Result<(R::Page, Position)> {
        let options = ReadAllOptions {
            after,
            limit: Some(limit),
            filter: self.parts.def.filter.clone(),
        };
        read_page(store, &self.parts.pages, &options).await
    }

    async fn apply(
        &mut self,
        store: &Store,
        page: R::Page,
        covered: Position,
    ) -> Result<Option<Error>> {
        if page.is_empty() {
            // Only events the model does not handle: the checkpoint moves, nobody is told.
            self.checkpoint = covered.max(self.checkpoint);
            return Ok(None);
        }
        let handled = self
            .parts
            .handlers
            .handle(store, &self.parts.def, page.borrow())
            .await?;
        let keys: Vec<String> = handled.writes.iter().map(|w| w.key.clone()).collect();
        self.checkpoint = match (&handled.error, handled.applied) {
            (None, _) => covered.max(self.checkpoint),
            (Some(_), 0) => self.checkpoint,
            (Some(_), n) => page.position(n - 1),
        };
        self.changed = match handled.error {
            Some(_) if keys.is_empty() => None,
            _ => Some(keys),
        };
        self.writes = handled.writes;
        Ok(handled.error)
    }

    async fn save(&mut self, store: &Store) -> Result<()> {
        let def = &self.parts.def;
        let writes = std::mem::take(&mut self.writes);
        let keys: Vec<String> = writes.iter().map(|w| w.key.clone()).collect();
        let committed = store
            .commit_records(
                &def.name,
                writes,
                &def.state_key(),
                def.checkpoint_json(self.checkpoint)?,
            )
            .await;
        // Also after a failed commit: whether any of it landed is not known here.
        self.parts.cache.written(keys.iter().map(String::as_str));
        committed?;
        if let Some(keys) = self.changed.take() {
            self.notify(Some(keys));
        }
        Ok(())
    }
}

impl<H, R, B> LiveFold for ReadModelFold<'_, H, R, B>
where
    H: Handlers<B>,
    R: Pages<Store>,
    R::Page: Borrow<B>,
    B: ?Sized,
{
    async fn resume(&mut self, store: &Store) -> Result<()> {
        let def = &self.parts.def;
        let saved = store
            .get_state(&def.state_key())
            .await?
            .and_then(|j| j.decode::<Saved>().ok());
        match saved {
            Some(s) if s.version == def.version => {
                self.checkpoint = s.checkpoint;
                Ok(())
            }
            _ => self.clear(store).await,
        }
    }

    /// Clears the records and the checkpoint (nothing may survive of a log that was reset: a
    /// page committed after the reset would otherwise write dropped events back) and tells
    /// the subscribers that anything may have changed.
    async fn restart(&mut self, store: &Store) -> Result<()> {
        self.clear(store).await?;
        self.notify(None);
        Ok(())
    }

    async fn show(&mut self, _: &Store, pending: Position) {
        if self
            .pending
            .replace(pending)
            .is_some_and(|seen| seen != pending)
        {
            self.notify(None);
        }
    }
}

impl<H, R, B: ?Sized> ReadModelFold<'_, H, R, B> {
    async fn clear(&mut self, store: &Store) -> Result<()> {
        let def = &self.parts.def;
        self.writes.clear();
        self.changed = None;
        let cleared = store.clear_records(&def.name).await;
        self.parts.cache.clear();
        cleared?;
        store
            .commit_records(
                &def.name,
                Vec::new(),
                &def.state_key(),
                def.checkpoint_json(Position(0))?,
            )
            .await?;
        self.checkpoint = Position(0);
        Ok(())
    }
}
