//! The catch-up loop, with a fold that records what it is asked to do.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use futures::executor::LocalPool;

use super::append;
use crate::core::append::AppendResult;
use crate::core::event::{NewEvent, Position, RecordedEvent, StreamId, Version};
use crate::core::expected::ExpectedVersion;
use crate::cqrs::live::{catch_up, read_page, Fold, Recorded};
use crate::error::{Error, Result};
use crate::store::contract::test_clock;
use crate::store::{
    Activity, ChangeNotifier, EventFilter, EventStore, Foreground, MemoryStore, ReadAllOptions,
    ReadStreamOptions,
};

#[derive(Default)]
struct Recorder {
    checkpoint: Position,
    sum: i64,
    page_size: usize,
    pages: Vec<usize>,
    saves: Vec<Position>,
    fail_on: Option<i64>,
    /// When set: the foreground work counted on it at each read, apply and save.
    watch: Option<Rc<Activity>>,
    running: RefCell<Vec<u32>>,
}

impl Recorder {
    fn observe(&self) {
        if let Some(a) = &self.watch {
            self.running.borrow_mut().push(a.running());
        }
    }
}

impl<S: EventStore> Fold<S> for Recorder {
    type Page = Vec<RecordedEvent>;

    fn page_size(&self, _: &S) -> usize {
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
        store: &S,
        after: Position,
        limit: usize,
    ) -> Result<(Self::Page, Position)> {
        self.observe();
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

    async fn apply(&mut self, _: &S, page: Self::Page, covered: Position) -> Result<Option<Error>> {
        self.observe();
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

    async fn save(&mut self, _: &S) -> Result<()> {
        self.observe();
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

/// A memory store whose foreground work is counted, like the IndexedDB store's (which yields
/// its idle-time compaction to it).
struct Counted {
    store: MemoryStore,
    activity: Rc<Activity>,
}

impl EventStore for Counted {
    async fn append(
        &self,
        stream: &StreamId,
        events: Vec<NewEvent>,
        expected: ExpectedVersion,
    ) -> Result<AppendResult> {
        self.store.append(stream, events, expected).await
    }

    async fn read_stream(
        &self,
        stream: &StreamId,
        options: &ReadStreamOptions,
    ) -> Result<Vec<RecordedEvent>> {
        self.store.read_stream(stream, options).await
    }

    async fn read_all(&self, options: &ReadAllOptions) -> Result<Vec<RecordedEvent>> {
        self.store.read_all(options).await
    }

    async fn stream_version(&self, stream: &StreamId) -> Result<Version> {
        self.store.stream_version(stream).await
    }

    async fn head(&self) -> Result<Position> {
        self.store.head().await
    }

    fn changes(&self) -> &ChangeNotifier {
        self.store.changes()
    }

    fn foreground(&self) -> Foreground {
        self.activity.begin()
    }
}

#[test]
fn a_catch_up_counts_as_foreground_work_from_its_first_page_to_its_last_save() {
    let mut pool = LocalPool::new();
    let now = Rc::new(Cell::new(0.0));
    let clock = now.clone();
    let activity = Activity::new(Rc::new(move || clock.get()));
    let store = Counted {
        store: MemoryStore::new(test_clock()),
        activity: activity.clone(),
    };
    append(&mut pool, &store, "n-1", &[1; 7]);
    now.set(60_000.0);
    assert_eq!(activity.wait_before_idle(1000.0), 0.0, "idle before");
    let mut fold = Recorder {
        page_size: 3,
        watch: Some(activity.clone()),
        ..Recorder::default()
    };
    pool.run_until(catch_up(&store, &mut fold, |_| {
        assert_eq!(activity.running(), 1, "held while progress is reported");
    }))
    .unwrap();
    assert_eq!(fold.sum, 7);
    let running = fold.running.borrow().clone();
    // 3 pages read and applied, the empty read that ends it, 2 saves: all inside the guard.
    assert_eq!(running.len(), 3 * 2 + 1 + 2, "{running:?}");
    assert!(running.iter().all(|n| *n == 1), "{running:?}");
    assert_eq!(activity.running(), 0, "dropped when the catch-up ends");
    assert_eq!(
        activity.wait_before_idle(1000.0),
        1000.0,
        "background work waits a full idle period after it"
    );
}
