//! The catch-up loop, with a fold that records what it is asked to do.

use futures::executor::LocalPool;

use super::append;
use crate::core::event::{Position, RecordedEvent};
use crate::cqrs::live::{catch_up, read_page, Fold, Recorded};
use crate::error::{Error, Result};
use crate::store::contract::test_clock;
use crate::store::{EventFilter, MemoryStore};

#[derive(Default)]
struct Recorder {
    checkpoint: Position,
    sum: i64,
    page_size: usize,
    pages: Vec<usize>,
    saves: Vec<Position>,
    fail_on: Option<i64>,
}

impl Fold<MemoryStore> for Recorder {
    type Page = Vec<RecordedEvent>;

    fn page_size(&self, _: &MemoryStore) -> usize {
        self.page_size
    }

    fn save_every(&self) -> u32 {
        2
    }

    fn checkpoint(&self) -> Position {
        self.checkpoint
    }

    async fn read(
        &self,
        store: &MemoryStore,
        after: Position,
        limit: usize,
    ) -> Result<(Self::Page, Position)> {
        let options = crate::store::ReadAllOptions {
            after,
            limit: Some(limit),
            filter: EventFilter {
                stream_prefixes: vec!["n-".into()],
                types: None,
            },
        };
        read_page(store, &Recorded, &options).await
    }

    async fn apply(
        &mut self,
        _: &MemoryStore,
        page: Self::Page,
        covered: Position,
    ) -> Result<Option<Error>> {
        self.pages.push(page.len());
        for e in &page {
            let n: i64 = e.data.decode()?;
            if Some(n) == self.fail_on {
                return Ok(Some(Error::EvolveFailed {
                    position: e.position,
                    message: format!("cannot add {n}"),
                }));
            }
            self.sum += n;
            self.checkpoint = e.position;
        }
        self.checkpoint = covered;
        Ok(None)
    }

    async fn save(&mut self, _: &MemoryStore) -> Result<()> {
        self.saves.push(self.checkpoint);
        Ok(())
    }
}

#[test]
fn catch_up_reads_pages_saves_every_n_pages_and_on_the_last_and_reports_progress() {
    let mut pool = LocalPool::new();
    let store = MemoryStore::new(test_clock());
    append(&mut pool, &store, "n-1", &[1; 10]);
    append(&mut pool, &store, "other", &[100, 100]);
    let mut fold = Recorder {
        page_size: 3,
        ..Recorder::default()
    };
    let mut progress = Vec::new();
    pool.run_until(catch_up(&store, &mut fold, |p| {
        progress.push((p.processed, p.total, p.checkpoint.0))
    }))
    .unwrap();
    assert_eq!(fold.sum, 10);
    assert_eq!(fold.pages, [3, 3, 3, 1], "pages of 3; the last one short");
    assert_eq!(
        fold.saves,
        [Position(6), Position(12)],
        "saved every 2 pages and after the last one, which covers the skipped events"
    );
    assert_eq!(progress, [(3, 12, 3), (6, 12, 6), (9, 12, 9), (12, 12, 12)]);

    // Nothing new: nothing read beyond one empty page, nothing saved.
    pool.run_until(catch_up(&store, &mut fold, |_| {})).unwrap();
    assert_eq!((fold.pages.len(), fold.saves.len()), (4, 2));
}

#[test]
fn catch_up_stops_at_a_failing_event_and_saves_what_came_before() {
    let mut pool = LocalPool::new();
    let store = MemoryStore::new(test_clock());
    append(&mut pool, &store, "n-1", &[1, 2, 3, 4, 13, 6, 7]);
    let mut fold = Recorder {
        page_size: 3,
        fail_on: Some(13),
        ..Recorder::default()
    };
    let err = pool
        .run_until(catch_up(&store, &mut fold, |_| {}))
        .unwrap_err();
    assert_eq!(err.code(), "EVOLVE_FAILED");
    assert_eq!((fold.sum, fold.checkpoint), (10, Position(4)));
    assert_eq!(
        fold.saves,
        [Position(4)],
        "the last good event is saved at once"
    );
}
