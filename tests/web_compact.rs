//! Compaction of the IndexedDB store in headless Chromium: a log of single-event appends is
//! merged into fewer records while every read answer, position, version and id stays the same,
//! and appends (also from a connection that last saw the log before the compaction) go on.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use eventfold::store::contract::{ev, id, sid};
use eventfold::store::indexeddb::{IdbOptions, IndexedDbStore, CHUNKS};
use eventfold::store::{Direction, EventFilter, ReadAllOptions, ReadStreamOptions};
use eventfold::{Error, EventStore, ExpectedVersion, Position, RecordedEvent, Version};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

fn random_name() -> String {
    format!(
        "eventfold-compact-{}",
        (js_sys::Math::random() * 1e16) as u64
    )
}

async fn open(name: &str) -> IndexedDbStore {
    IndexedDbStore::open(IdbOptions {
        auto_compact: false,
        ..IdbOptions::new(name)
    })
    .await
    .unwrap()
}

/// How many records `chunks` holds, counted by a raw connection.
async fn record_count(name: &str) -> u32 {
    let factory: web_sys::IdbFactory = js_sys::Reflect::get(&js_sys::global(), &"indexedDB".into())
        .unwrap()
        .unchecked_into();
    let req = factory.open(name).unwrap();
    let db: web_sys::IdbDatabase = settle(req.unchecked_ref()).await.unchecked_into();
    let tx = db.transaction_with_str(CHUNKS).unwrap();
    let count = tx.object_store(CHUNKS).unwrap().count().unwrap();
    let n = settle(&count).await.as_f64().unwrap() as u32;
    db.close();
    n
}

async fn settle(req: &web_sys::IdbRequest) -> JsValue {
    let r = req.clone();
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let r1 = r.clone();
        let ok = wasm_bindgen::closure::Closure::once_into_js(move |_: web_sys::Event| {
            resolve
                .call1(&JsValue::NULL, &r1.result().unwrap())
                .unwrap();
        });
        r.set_onsuccess(Some(ok.unchecked_ref()));
    });
    JsFuture::from(promise).await.unwrap()
}

const STREAMS: u32 = 7;

/// `n` single-event appends spread over [`STREAMS`] streams, as an app makes them.
/// Appends issued together share a transaction (group commit) but each is its own record.
async fn single_appends(s: &IndexedDbStore, range: std::ops::Range<u32>) {
    let all: Vec<u32> = range.collect();
    for group in all.chunks(100) {
        let appends = group.iter().map(|&i| {
            let stream = sid(&format!("order-{}", i % STREAMS));
            async move {
                s.append(&stream, vec![ev(i, "Happened")], ExpectedVersion::Any)
                    .await
                    .unwrap()
            }
        });
        futures::future::join_all(appends).await;
    }
}

/// Everything a reader can ask, to compare before and after a compaction.
async fn answers(s: &IndexedDbStore) -> Vec<Vec<RecordedEvent>> {
    let mut out = vec![s.read_all(&ReadAllOptions::default()).await.unwrap()];
    for (after, limit) in [(0, 1), (5, 17), (100, 50), (333, 1000), (599, 10)] {
        let options = ReadAllOptions {
            after: Position(after),
            limit: Some(limit),
            ..ReadAllOptions::default()
        };
        out.push(s.read_all(&options).await.unwrap());
    }
    let filtered = ReadAllOptions {
        after: Position(40),
        limit: Some(30),
        filter: EventFilter {
            stream_prefixes: vec!["order-3".into()],
            ..EventFilter::default()
        },
    };
    out.push(s.read_all(&filtered).await.unwrap());
    for k in 0..STREAMS {
        let stream = sid(&format!("order-{k}"));
        for (from, limit, direction) in [
            (None, None, Direction::Forward),
            (Some(3), Some(20), Direction::Forward),
            (Some(80), Some(1), Direction::Forward),
            (None, Some(5), Direction::Backward),
        ] {
            let options = ReadStreamOptions {
                from: from.map(Version),
                limit,
                direction,
            };
            out.push(s.read_stream(&stream, &options).await.unwrap());
        }
    }
    out
}

async fn compact_all(s: &IndexedDbStore) -> (u64, u64) {
    let (mut read, mut written) = (0, 0);
    loop {
        let step = s.compact_step().await.unwrap();
        read += step.records_read;
        written += step.records_written;
        if !step.more {
            return (read, written);
        }
    }
}

#[wasm_bindgen_test]
async fn compaction_merges_single_appends_and_changes_no_answer() {
    let name = random_name();
    let s = open(&name).await;
    single_appends(&s, 0..600).await;
    let before = answers(&s).await;
    let versions: Vec<Version> = {
        let mut v = Vec::new();
        for k in 0..STREAMS {
            v.push(s.stream_version(&sid(&format!("order-{k}"))).await.unwrap());
        }
        v
    };
    assert_eq!(record_count(&name).await, 600);

    let (read, written) = compact_all(&s).await;
    // Every record but the newest is merged: one record per stream.
    assert_eq!(read, 599);
    assert_eq!(written, u64::from(STREAMS));
    assert_eq!(record_count(&name).await, STREAMS + 1);
    assert_eq!(answers(&s).await, before);
    for k in 0..STREAMS {
        let v = s.stream_version(&sid(&format!("order-{k}"))).await.unwrap();
        assert_eq!(v, versions[k as usize]);
    }
    assert_eq!(s.head().await.unwrap(), Position(600));
    // Compacting again finds nothing to do.
    assert_eq!(compact_all(&s).await, (0, 0));

    // A reopened connection (fresh id map) sees the same log and appends after it.
    s.close();
    let s = open(&name).await;
    assert_eq!(answers(&s).await, before);
    let r = s
        .append(
            &sid("order-0"),
            vec![ev(600, "Happened")],
            ExpectedVersion::Exact(versions[0]),
        )
        .await
        .unwrap();
    assert_eq!(r.position, Position(601));
    assert_eq!(r.version, Version(versions[0].0 + 1));
}

#[wasm_bindgen_test]
async fn ids_and_versions_stay_checked_after_compaction() {
    let name = random_name();
    let s = open(&name).await;
    single_appends(&s, 0..100).await;
    compact_all(&s).await;
    let stream = sid("order-1");
    // An idempotent retry of an event that now lives in a merged record gets its original
    // result; reusing its id elsewhere is refused; a stale expected version too.
    let original = s
        .read_stream(&stream, &ReadStreamOptions::default())
        .await
        .unwrap();
    let first = &original[0];
    let retry = s
        .append(
            &stream,
            vec![ev(1, "Happened")],
            ExpectedVersion::Exact(Version(0)),
        )
        .await
        .unwrap();
    assert_eq!(
        (retry.version, retry.position),
        (first.version, first.position)
    );
    let before = s.read_all(&ReadAllOptions::default()).await.unwrap();
    let reused = s
        .append(
            &sid("order-9"),
            vec![ev(1, "Happened")],
            ExpectedVersion::Any,
        )
        .await;
    assert!(
        matches!(reused, Err(Error::EventIdConflict { .. })),
        "{reused:?}"
    );
    let stale = s
        .append(
            &stream,
            vec![ev(1000, "Happened")],
            ExpectedVersion::Exact(Version(3)),
        )
        .await;
    assert!(
        matches!(stale, Err(Error::WrongExpectedVersion { .. })),
        "{stale:?}"
    );
    assert_eq!(
        s.read_all(&ReadAllOptions::default()).await.unwrap(),
        before
    );
    assert_eq!(id(1), first.id);
}

#[wasm_bindgen_test]
async fn a_connection_with_a_head_inside_a_compacted_window_cannot_append_over_it() {
    let name = random_name();
    let a = open(&name).await;
    let b = open(&name).await;
    single_appends(&a, 0..10).await; // a remembers head 10
    single_appends(&b, 10..200).await;
    compact_all(&b).await;
    // a's fast attempt chains after position 10, which is now inside a merged record: the
    // multiEntry `prev` index still holds it, so the attempt fails and a refreshes.
    let r = a
        .append(
            &sid("order-x"),
            vec![ev(500, "Happened"), ev(501, "Happened")],
            ExpectedVersion::Any,
        )
        .await
        .unwrap();
    assert_eq!(r.position, Position(202));
    let all = b.read_all(&ReadAllOptions::default()).await.unwrap();
    let positions: Vec<u64> = all.iter().map(|e| e.position.0).collect();
    assert_eq!(positions, (1..=202).collect::<Vec<_>>());
}

#[wasm_bindgen_test]
async fn appends_between_steps_and_a_second_compactor_keep_the_log_whole() {
    let name = random_name();
    let a = open(&name).await;
    let b = open(&name).await;
    single_appends(&a, 0..5000).await;
    let before = a.read_all(&ReadAllOptions::default()).await.unwrap();
    // Two connections compact at once while one of them appends.
    let appending = Box::pin(async {
        single_appends(&a, 5000..5100).await;
        (0u64, 0u64)
    }) as std::pin::Pin<Box<dyn std::future::Future<Output = (u64, u64)> + '_>>;
    let done = futures::future::join_all(vec![
        appending,
        Box::pin(compact_all(&a)),
        Box::pin(compact_all(&b)),
    ])
    .await;
    let (ra, rb) = (done[1], done[2]);
    assert!(ra.0 + rb.0 >= 4000, "{ra:?} {rb:?}");
    let after = b.read_all(&ReadAllOptions::default()).await.unwrap();
    assert_eq!(after[..5000], before[..]);
    let positions: Vec<u64> = after.iter().map(|e| e.position.0).collect();
    assert_eq!(positions, (1..=5100).collect::<Vec<_>>());
}

#[wasm_bindgen_test]
async fn a_reset_while_a_step_builds_its_records_is_never_undone() {
    use eventfold::store::{LogReset, ResetStore};
    let name = random_name();
    let a = open(&name).await;
    let b = open(&name).await;
    single_appends(&a, 0..4000).await;
    let kept: Vec<RecordedEvent> = a
        .read_all(&ReadAllOptions::default())
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.stream.as_str() != "order-1")
        .collect();
    // The step plans (a readonly transaction) before the reset's transaction starts; the reset
    // then commits while the step decodes and encodes, so the step's write must find the
    // window changed and give way: written as planned, it would bring order-1 back.
    let drops = |s: &str| s == "order-1";
    let forgets = |_: &str| false;
    let reset = LogReset {
        drops: &drops,
        forgets: &forgets,
        rewrites: Vec::new(),
    };
    let (step, outcome) = futures::future::join(a.compact_step(), b.reset_log(&reset)).await;
    let (step, outcome) = (step.unwrap(), outcome.unwrap());
    assert_eq!(outcome.dropped, 4000 / u64::from(STREAMS) + 1);
    if step.records_read == 0 {
        assert!(step.more, "{step:?}");
    }
    for s in [&a, &b] {
        let all = s.read_all(&ReadAllOptions::default()).await.unwrap();
        assert_eq!(all, kept);
    }
    compact_all(&a).await;
    for s in [&a, &b] {
        let all = s.read_all(&ReadAllOptions::default()).await.unwrap();
        assert_eq!(all, kept);
        let dropped = s
            .read_stream(&sid("order-1"), &ReadStreamOptions::default())
            .await;
        assert!(
            matches!(&dropped, Ok(events) if events.is_empty()),
            "{dropped:?}"
        );
    }
}

#[wasm_bindgen_test]
async fn two_connections_planning_the_same_window_merge_it_once() {
    let name = random_name();
    let a = open(&name).await;
    let b = open(&name).await;
    single_appends(&a, 0..3000).await;
    let before = answers(&a).await;
    let (sa, sb) = futures::future::join(a.compact_step(), b.compact_step()).await;
    let (sa, sb) = (sa.unwrap(), sb.unwrap());
    // Both read the same plan; the second write finds the progress moved and changes nothing.
    assert_eq!(sa.records_read + sb.records_read, 2999, "{sa:?} {sb:?}");
    // One record per stream and ~48 KiB, plus the newest record.
    let written = sa.records_written + sb.records_written;
    assert!(written >= u64::from(STREAMS) && written <= 2 * u64::from(STREAMS));
    assert_eq!(u64::from(record_count(&name).await), written + 1);
    assert_eq!(answers(&a).await, before);
    assert_eq!(answers(&b).await, before);
    assert_eq!(compact_all(&b).await, (0, 0));
}

/// `n` rounds of appends, each round `per_stream` single appends to every stream, each round
/// followed by a whole compaction that must change no answer. Returns the answers at the end.
async fn rounds_compacted(s: &IndexedDbStore, n: u32, per_stream: u32) -> Vec<Vec<RecordedEvent>> {
    let per_round = per_stream * STREAMS;
    for round in 0..n {
        single_appends(s, round * per_round..(round + 1) * per_round).await;
        let before = answers(s).await;
        compact_all(s).await;
        assert_eq!(answers(s).await, before, "round {round}");
    }
    answers(s).await
}

#[wasm_bindgen_test]
async fn records_a_step_passed_over_are_merged_by_the_second_pass() {
    let name = random_name();
    let s = open(&name).await;
    // Idle-time compaction after every few appends: each step's window holds every stream
    // once, so the first pass merges nothing and moves on. Without a second pass the log
    // keeps one record per event (210).
    let end = rounds_compacted(&s, 30, 1).await;
    let records = record_count(&name).await;
    assert!(records < 4 * STREAMS, "{records} records");
    // The merged records still answer the id check: a retry gets its original result.
    let first = s
        .read_stream(&sid("order-1"), &ReadStreamOptions::default())
        .await
        .unwrap()[0]
        .clone();
    let retry = s
        .append(
            &sid("order-1"),
            vec![ev(1, "Happened")],
            ExpectedVersion::Exact(Version(0)),
        )
        .await
        .unwrap();
    assert_eq!(
        (retry.version, retry.position),
        (first.version, first.position)
    );
    // A reopened connection reads the same log and appends after it.
    s.close();
    let s = open(&name).await;
    assert_eq!(answers(&s).await, end);
    let r = s
        .append(
            &sid("order-0"),
            vec![ev(9999, "Happened")],
            ExpectedVersion::Exact(Version(30)),
        )
        .await
        .unwrap();
    assert_eq!(r.position, Position(211));
}

#[wasm_bindgen_test]
async fn windows_are_merged_with_each_other_by_the_second_pass() {
    let name = random_name();
    let s = open(&name).await;
    // Each round's window merges 14 records into 7; without a second pass, 20 rounds leave
    // ~140 records, one per stream and window.
    rounds_compacted(&s, 20, 2).await;
    let records = record_count(&name).await;
    assert!(records < 4 * STREAMS, "{records} records");
    assert_eq!(compact_all(&s).await, (0, 0));
}

#[wasm_bindgen_test]
async fn a_reset_while_a_second_pass_step_builds_its_records_is_never_undone() {
    use eventfold::store::{LogReset, ResetStore};
    let name = random_name();
    let a = open(&name).await;
    let b = open(&name).await;
    // One first-pass step per round: windows the second pass has not merged yet.
    for round in 0..10 {
        single_appends(&a, round * 2 * STREAMS..(round + 1) * 2 * STREAMS).await;
        a.compact_step().await.unwrap();
    }
    let kept: Vec<RecordedEvent> = a
        .read_all(&ReadAllOptions::default())
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.stream.as_str() != "order-1")
        .collect();
    let drops = |s: &str| s == "order-1";
    let forgets = |_: &str| false;
    let reset = LogReset {
        drops: &drops,
        forgets: &forgets,
        rewrites: Vec::new(),
    };
    // The step is the second pass's (the first has nothing left); written as planned after
    // the reset, it would bring order-1 back.
    let (step, outcome) = futures::future::join(a.compact_step(), b.reset_log(&reset)).await;
    step.unwrap();
    assert_eq!(outcome.unwrap().dropped, 20);
    for s in [&a, &b] {
        assert_eq!(s.read_all(&ReadAllOptions::default()).await.unwrap(), kept);
    }
    compact_all(&a).await;
    for s in [&a, &b] {
        assert_eq!(s.read_all(&ReadAllOptions::default()).await.unwrap(), kept);
        let dropped = s
            .read_stream(&sid("order-1"), &ReadStreamOptions::default())
            .await;
        assert!(
            matches!(&dropped, Ok(events) if events.is_empty()),
            "{dropped:?}"
        );
    }
}

/// Resolves after `ms` milliseconds.
async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        web_sys::window()
            .unwrap()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
            .unwrap();
    });
    JsFuture::from(promise).await.unwrap();
}

/// Idle-time compaction gives way to foreground work on its connection: it does not run while
/// a catch-up holds its guard (`EventStore::foreground`, as `catch_up` does across its pages)
/// or while reads of the log keep coming, however many idle periods pass, and it runs once
/// they stop. Observed through the record count (a raw connection: not foreground work).
#[wasm_bindgen_test]
async fn idle_compaction_waits_for_a_catch_up_and_for_reads_then_runs() {
    let name = random_name();
    let s = IndexedDbStore::open(IdbOptions::new(&name)).await.unwrap();
    s.set_compaction_idle_ms(100.0);
    let catch_up = s.foreground();
    single_appends(&s, 0..140).await;
    let before = answers(&s).await;
    assert_eq!(record_count(&name).await, 140);

    // A catch-up in progress: six idle periods pass with nothing else running.
    sleep(600).await;
    assert_eq!(
        record_count(&name).await,
        140,
        "no step wrote while the catch-up ran"
    );
    drop(catch_up);

    // Reads of the log, page after page, as a reader pages through it (gaps shorter than the
    // idle period).
    let mut pages = 0;
    let start = js_sys::Date::now();
    while js_sys::Date::now() - start < 600.0 {
        let after = (pages * 20) % 140;
        let page = s
            .read_all(&ReadAllOptions {
                after: Position(after),
                limit: Some(20),
                ..ReadAllOptions::default()
            })
            .await
            .unwrap();
        assert_eq!(page.len(), 20);
        pages += 1;
        sleep(20).await;
    }
    assert_eq!(
        record_count(&name).await,
        140,
        "no step wrote while reads kept coming ({pages} pages)"
    );

    // Once they stop, it runs by itself: every record but the newest merged.
    let mut polls = 0;
    while record_count(&name).await != STREAMS + 1 {
        polls += 1;
        assert!(
            polls < 400,
            "compaction did not finish after the reads stopped"
        );
        sleep(50).await;
    }
    assert_eq!(answers(&s).await, before);
}

/// `compact()` on a log whose only record is the newest one (the plan never takes it: the next
/// appends may join it) has nothing to do, and says the log is compacted up to its head.
#[wasm_bindgen_test]
async fn a_finished_compaction_reports_the_log_compacted_to_its_head() {
    let name = random_name();
    let s = open(&name).await;
    s.append(
        &sid("solo"),
        vec![ev(10_000, "Happened")],
        ExpectedVersion::NoStream,
    )
    .await
    .unwrap();
    let step = s.compact_step().await.unwrap();
    assert_eq!(
        (step.compacted_to, step.head, step.more, step.records_read),
        (Position(1), Position(1), false, 0),
        "{step:?}"
    );
    // An empty log: 0 of 0.
    let empty = open(&random_name()).await;
    let step = empty.compact_step().await.unwrap();
    assert_eq!(
        (step.compacted_to, step.head, step.more),
        (Position(0), Position(0), false)
    );

    // A longer log: steps report how far the first pass got, the last one the head, and a
    // run on the unchanged log again (nothing to do) the same.
    single_appends(&s, 0..139).await;
    let mut steps = Vec::new();
    loop {
        let step = s.compact_step().await.unwrap();
        steps.push(step);
        if !step.more {
            break;
        }
    }
    let last = steps.last().unwrap();
    assert_eq!(
        (last.compacted_to, last.head),
        (Position(140), Position(140))
    );
    assert!(
        steps[..steps.len() - 1]
            .iter()
            .all(|s| s.compacted_to < Position(140)),
        "{steps:?}"
    );
    for _ in 0..2 {
        let again = s.compact_step().await.unwrap();
        assert_eq!(
            (
                again.compacted_to,
                again.head,
                again.more,
                again.records_read
            ),
            (Position(140), Position(140), false, 0)
        );
    }
}
