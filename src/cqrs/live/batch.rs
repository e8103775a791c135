//! What a live view folds: batches of events, and the readers that make them. A batch is
//! whatever shape the fold consumes (Rust [`RecordedEvent`]s, or JavaScript objects that cross
//! the wasm boundary once per page); the runtime only needs its length and positions.

use crate::core::event::{Position, RecordedEvent};
use crate::error::Result;
use crate::store::{EventStore, ReadAllOptions};

/// Events in position order, as a fold consumes them.
pub trait Batch {
    /// How many events.
    fn len(&self) -> usize;

    /// Whether there are none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The global position of the event at `index` (`index < len`).
    fn position(&self, index: usize) -> Position;
}

impl Batch for [RecordedEvent] {
    fn len(&self) -> usize {
        <[RecordedEvent]>::len(self)
    }

    fn position(&self, index: usize) -> Position {
        self.get(index).map(|e| e.position).unwrap_or_default()
    }
}

/// An owned batch a reader returns: a [`Batch`] that can be cut short.
pub trait Page: Batch {
    /// Keeps the first `len` events.
    fn truncate(&mut self, len: usize);
}

impl Batch for Vec<RecordedEvent> {
    fn len(&self) -> usize {
        <[RecordedEvent]>::len(self)
    }

    fn position(&self, index: usize) -> Position {
        self.as_slice().position(index)
    }
}

impl Page for Vec<RecordedEvent> {
    fn truncate(&mut self, len: usize) {
        Vec::truncate(self, len)
    }
}

/// How a live view reads the log of a store `S` and turns events into the batches its fold
/// takes: the one place where events get the shape the fold consumes.
#[allow(async_fn_in_trait)]
pub trait Pages<S: ?Sized> {
    /// The batches this reader makes.
    type Page: Page;

    /// How many events a page should hold when the fold asks for `preferred`: a reader whose
    /// pages cost a read, not decoding, reads larger ones.
    fn page_size(&self, store: &S, preferred: usize) -> usize {
        let _ = store;
        preferred
    }

    /// The confirmed events `options` selects.
    ///
    /// # Errors
    /// Store failures, or events the reader cannot convert.
    async fn read(&self, store: &S, options: &ReadAllOptions) -> Result<Self::Page>;

    /// `events` (a synced store's pending events) as a batch.
    ///
    /// # Errors
    /// Events the reader cannot convert.
    fn convert(&self, events: &[RecordedEvent]) -> Result<Self::Page>;
}

/// The Rust reader: [`RecordedEvent`]s from [`EventStore::read_all`], as they are stored.
#[derive(Clone, Copy, Debug, Default)]
pub struct Recorded;

impl<S: EventStore + ?Sized> Pages<S> for Recorded {
    type Page = Vec<RecordedEvent>;

    async fn read(&self, store: &S, options: &ReadAllOptions) -> Result<Vec<RecordedEvent>> {
        store.read_all(options).await
    }

    fn convert(&self, events: &[RecordedEvent]) -> Result<Vec<RecordedEvent>> {
        Ok(events.to_vec())
    }
}

/// Reads the page after `options.after` and says how far it covers the log: the last event
/// read on a full page; otherwise the head seen before reading (events a filter skipped count
/// as covered).
///
/// # Errors
/// Store and reader failures.
pub async fn read_page<S: EventStore + ?Sized, R: Pages<S>>(
    store: &S,
    pages: &R,
    options: &ReadAllOptions,
) -> Result<(R::Page, Position)> {
    let head = store.head().await?;
    let page = pages.read(store, options).await?;
    let n = page.len();
    let full = options.limit.is_some_and(|limit| n >= limit);
    let covered = match n {
        0 => options.after.max(head),
        _ if full => page.position(n - 1),
        _ => page.position(n - 1).max(head),
    };
    Ok((page, covered))
}
