//! The store contract suite: one set of behaviours every [`EventStore`] backend must show.
//!
//! Each case is an async function taking a fresh, empty store. Backends run them all with
//! [`contract_tests!`](crate::contract_tests): natively (`native`, on `futures`' executor) or
//! in the browser (`wasm`, with `wasm-bindgen-test`):
//!
//! ```ignore
//! eventfold::contract_tests!(native, MemoryStore::new(eventfold::store::contract::test_clock()));
//! eventfold::contract_tests!(wasm, async { IndexedDbStore::open(&random_name()).await.unwrap() });
//! ```
//!
//! Every failure case also asserts that the store is unchanged afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use crate::core::event::{
    EventId, EventType, NewEvent, Position, RecordedEvent, StreamId, Timestamp, Version,
};
use crate::core::expected::ExpectedVersion;
use crate::core::json::Json;
use crate::error::Error;
use crate::store::{
    Clock, Direction, EventFilter, EventStore, ReadAllOptions, ReadStreamOptions, Subscription,
};

/// A clock that ticks one millisecond per call, from 1 700 000 000 000.
pub fn test_clock() -> Clock {
    let t = Arc::new(AtomicI64::new(1_700_000_000_000));
    Arc::new(move || Timestamp(t.fetch_add(1, Ordering::Relaxed)))
}

/// A stream id (panics on an invalid name: test helper).
pub fn sid(s: &str) -> StreamId {
    StreamId::new(s).unwrap()
}

/// A deterministic UUID (version 4 layout) numbered `n`.
pub fn id(n: u32) -> EventId {
    let mut b = [0u8; 16];
    b[..4].copy_from_slice(&n.to_be_bytes());
    b[6] = 0x40;
    b[8] = 0x80;
    EventId::from_bytes(b)
}

/// Event `n` of type `ty`, with id [`id`]`(n)` and data `{"n": n}`.
pub fn ev(n: u32, ty: &str) -> NewEvent {
    NewEvent::new(
        id(n),
        EventType::new(ty).unwrap(),
        Json::parse(format!(r#"{{"n":{n}}}"#)).unwrap(),
    )
}

/// Events `range` of type `Happened`.
pub fn evs(range: std::ops::Range<u32>) -> Vec<NewEvent> {
    range.map(|n| ev(n, "Happened")).collect()
}

fn all() -> ReadAllOptions {
    ReadAllOptions::default()
}

fn fwd(from: Option<u64>, limit: Option<usize>) -> ReadStreamOptions {
    ReadStreamOptions {
        from: from.map(Version),
        limit,
        direction: Direction::Forward,
    }
}

fn bwd(from: Option<u64>, limit: Option<usize>) -> ReadStreamOptions {
    ReadStreamOptions {
        from: from.map(Version),
        limit,
        direction: Direction::Backward,
    }
}

/// Everything observable about a store, to prove a failed call changed nothing.
pub async fn snapshot<S: EventStore>(store: &S) -> (Position, Vec<RecordedEvent>) {
    (
        store.head().await.unwrap(),
        store.read_all(&all()).await.unwrap(),
    )
}

async fn append_ok<S: EventStore>(
    store: &S,
    stream: &str,
    events: Vec<NewEvent>,
    ev: ExpectedVersion,
) -> (u64, u64) {
    let r = store.append(&sid(stream), events, ev).await.unwrap();
    (r.version.0, r.position.0)
}

/// Runs a failing append and asserts its error code and that nothing changed.
async fn append_fails<S: EventStore>(
    store: &S,
    stream: &str,
    events: Vec<NewEvent>,
    expected: ExpectedVersion,
    code: &str,
) -> Error {
    let before = snapshot(store).await;
    let err = store
        .append(&sid(stream), events, expected)
        .await
        .expect_err("append should fail");
    assert_eq!(err.code(), code, "{err}");
    assert_eq!(
        snapshot(store).await,
        before,
        "a failed append changed the store"
    );
    err
}

fn versions(events: &[RecordedEvent]) -> Vec<u64> {
    events.iter().map(|e| e.version.0).collect()
}

fn positions(events: &[RecordedEvent]) -> Vec<u64> {
    events.iter().map(|e| e.position.0).collect()
}

use ExpectedVersion::{Any, Exact, Exists, NoStream};

pub async fn no_stream_creates_the_stream<S: EventStore>(s: &S) {
    assert_eq!(append_ok(s, "a", evs(1..2), NoStream).await, (1, 1));
    assert_eq!(s.stream_version(&sid("a")).await.unwrap(), Version(1));
}

pub async fn no_stream_on_an_existing_stream_fails<S: EventStore>(s: &S) {
    append_ok(s, "a", evs(1..3), NoStream).await;
    let err = append_fails(s, "a", evs(3..4), NoStream, "WRONG_EXPECTED_VERSION").await;
    assert_eq!(
        err,
        Error::WrongExpectedVersion {
            stream: sid("a"),
            expected: NoStream,
            actual: Version(2)
        }
    );
}

pub async fn any_appends_to_new_and_existing_streams<S: EventStore>(s: &S) {
    assert_eq!(append_ok(s, "a", evs(1..2), Any).await, (1, 1));
    assert_eq!(append_ok(s, "a", evs(2..4), Any).await, (3, 3));
}

pub async fn exists_on_a_new_stream_fails<S: EventStore>(s: &S) {
    append_ok(s, "other", evs(1..2), Any).await;
    let err = append_fails(s, "a", evs(2..3), Exists, "WRONG_EXPECTED_VERSION").await;
    assert_eq!(
        err,
        Error::WrongExpectedVersion {
            stream: sid("a"),
            expected: Exists,
            actual: Version(0)
        }
    );
}

pub async fn exists_appends_to_an_existing_stream<S: EventStore>(s: &S) {
    append_ok(s, "a", evs(1..2), NoStream).await;
    assert_eq!(append_ok(s, "a", evs(2..3), Exists).await, (2, 2));
}

pub async fn exact_version_appends_when_it_matches<S: EventStore>(s: &S) {
    append_ok(s, "a", evs(1..3), Exact(Version(0))).await;
    assert_eq!(
        append_ok(s, "a", evs(3..4), Exact(Version(2))).await,
        (3, 3)
    );
}

pub async fn exact_version_too_low_or_too_high_fails<S: EventStore>(s: &S) {
    append_ok(s, "a", evs(1..4), NoStream).await;
    for v in [0, 1, 2, 4, 100] {
        let err = append_fails(
            s,
            "a",
            evs(10..11),
            Exact(Version(v)),
            "WRONG_EXPECTED_VERSION",
        )
        .await;
        assert_eq!(
            err,
            Error::WrongExpectedVersion {
                stream: sid("a"),
                expected: Exact(Version(v)),
                actual: Version(3)
            }
        );
    }
}

pub async fn exact_zero_behaves_as_no_stream<S: EventStore>(s: &S) {
    assert_eq!(
        append_ok(s, "a", evs(1..2), Exact(Version(0))).await,
        (1, 1)
    );
    append_fails(
        s,
        "a",
        evs(2..3),
        Exact(Version(0)),
        "WRONG_EXPECTED_VERSION",
    )
    .await;
}

pub async fn a_batch_gets_consecutive_versions_and_positions<S: EventStore>(s: &S) {
    assert_eq!(append_ok(s, "a", evs(1..6), NoStream).await, (5, 5));
    let read = s.read_stream(&sid("a"), &fwd(None, None)).await.unwrap();
    assert_eq!(versions(&read), [1, 2, 3, 4, 5]);
    assert_eq!(positions(&read), [1, 2, 3, 4, 5]);
    let ids: Vec<_> = read.iter().map(|e| e.id.clone()).collect();
    assert_eq!(ids, (1..6).map(id).collect::<Vec<_>>());
}

pub async fn positions_are_global_and_versions_per_stream<S: EventStore>(s: &S) {
    append_ok(s, "a", evs(1..3), NoStream).await;
    assert_eq!(append_ok(s, "b", evs(3..4), NoStream).await, (1, 3));
    assert_eq!(
        append_ok(s, "a", evs(4..5), Exact(Version(2))).await,
        (3, 4)
    );
    let log = s.read_all(&all()).await.unwrap();
    assert_eq!(positions(&log), [1, 2, 3, 4]);
    let streams: Vec<_> = log
        .iter()
        .map(|e| (e.stream.as_str().to_owned(), e.version.0))
        .collect();
    assert_eq!(
        streams,
        [
            ("a".into(), 1),
            ("a".into(), 2),
            ("b".into(), 1),
            ("a".into(), 3)
        ]
    );
    assert_eq!(s.head().await.unwrap(), Position(4));
}

pub async fn an_oversized_event_in_a_batch_writes_nothing<S: EventStore>(s: &S) {
    append_ok(s, "a", evs(1..2), NoStream).await;
    let mut batch = evs(2..5);
    let big = format!(
        "\"{}\"",
        "x".repeat(crate::core::append::DEFAULT_MAX_EVENT_BYTES)
    );
    batch[1].data = Json::parse(big).unwrap();
    let err = append_fails(s, "a", batch, Any, "INVALID_INPUT").await;
    assert!(err.to_string().contains("events[1]"), "{err}");
}

pub async fn an_id_twice_in_a_batch_is_invalid<S: EventStore>(s: &S) {
    let batch = vec![ev(1, "A"), ev(2, "B"), ev(1, "A")];
    append_fails(s, "a", batch, Any, "INVALID_INPUT").await;
}

pub async fn an_empty_batch_is_invalid<S: EventStore>(s: &S) {
    append_ok(s, "a", evs(1..2), NoStream).await;
    append_fails(s, "a", Vec::new(), Any, "INVALID_INPUT").await;
}

pub async fn metadata_must_be_an_object<S: EventStore>(s: &S) {
    let mut batch = evs(1..3);
    batch[1].metadata = Json::parse("[1,2]").unwrap();
    append_fails(s, "a", batch, Any, "INVALID_INPUT").await;
}

pub async fn a_retried_batch_returns_the_original_result<S: EventStore>(s: &S) {
    let first = append_ok(s, "a", evs(1..4), NoStream).await;
    let before = snapshot(s).await;
    assert_eq!(append_ok(s, "a", evs(1..4), NoStream).await, first);
    append_ok(s, "b", evs(10..11), NoStream).await;
    append_ok(s, "a", evs(4..5), Exact(Version(3))).await;
    // Still recognised after the stream and the log moved on.
    assert_eq!(append_ok(s, "a", evs(1..4), NoStream).await, first);
    assert_eq!(
        append_ok(s, "a", evs(4..5), Exact(Version(3))).await,
        (4, 5)
    );
    let log = s.read_all(&all()).await.unwrap();
    assert_eq!(log.len(), before.1.len() + 2, "a retry wrote duplicates");
}

pub async fn a_retry_with_any_or_exists_is_idempotent<S: EventStore>(s: &S) {
    append_ok(s, "a", evs(1..2), NoStream).await;
    let r = append_ok(s, "a", evs(2..4), Any).await;
    assert_eq!(append_ok(s, "a", evs(2..4), Any).await, r);
    assert_eq!(append_ok(s, "a", evs(2..4), Exists).await, r);
    assert_eq!(s.stream_version(&sid("a")).await.unwrap(), Version(3));
}

pub async fn a_reused_id_with_other_content_conflicts<S: EventStore>(s: &S) {
    append_ok(s, "a", evs(1..3), NoStream).await;
    let mut changed = evs(1..3);
    changed[1].data = Json::parse(r#"{"n":"changed"}"#).unwrap();
    let err = append_fails(s, "a", changed, NoStream, "EVENT_ID_CONFLICT").await;
    assert!(
        matches!(err, Error::EventIdConflict { ref id, .. } if *id == super::contract::id(2)),
        "{err}"
    );
    let retyped = vec![ev(1, "Other"), ev(2, "Happened")];
    append_fails(s, "a", retyped, NoStream, "EVENT_ID_CONFLICT").await;
}

pub async fn a_reused_id_in_another_stream_conflicts<S: EventStore>(s: &S) {
    append_ok(s, "a", evs(1..2), NoStream).await;
    append_fails(s, "b", evs(1..2), Any, "EVENT_ID_CONFLICT").await;
}

pub async fn a_reused_id_at_another_place_conflicts<S: EventStore>(s: &S) {
    append_ok(s, "a", evs(1..3), NoStream).await;
    append_fails(s, "a", evs(2..3), Exact(Version(2)), "EVENT_ID_CONFLICT").await;
    append_fails(s, "a", evs(1..3), Exists, "EVENT_ID_CONFLICT").await;
}

pub async fn a_partly_appended_batch_conflicts<S: EventStore>(s: &S) {
    append_ok(s, "a", evs(1..3), NoStream).await;
    append_fails(s, "a", evs(2..5), Any, "EVENT_ID_CONFLICT").await;
    append_fails(s, "a", evs(0..2), Any, "EVENT_ID_CONFLICT").await;
}

pub async fn read_stream_forward<S: EventStore>(s: &S) {
    append_ok(s, "a", evs(1..11), NoStream).await;
    append_ok(s, "b", evs(20..22), NoStream).await;
    let read = |o| async move { versions(&s.read_stream(&sid("a"), &o).await.unwrap()) };
    assert_eq!(read(fwd(None, None)).await, (1..=10).collect::<Vec<_>>());
    assert_eq!(read(fwd(Some(4), Some(3))).await, [4, 5, 6]);
    assert_eq!(read(fwd(Some(9), Some(5))).await, [9, 10]);
    assert_eq!(read(fwd(Some(0), Some(2))).await, [1, 2]);
    assert!(read(fwd(Some(11), None)).await.is_empty());
    assert!(read(fwd(None, Some(0))).await.is_empty());
}

pub async fn read_stream_backward<S: EventStore>(s: &S) {
    append_ok(s, "a", evs(1..11), NoStream).await;
    let read = |o| async move { versions(&s.read_stream(&sid("a"), &o).await.unwrap()) };
    assert_eq!(read(bwd(None, Some(3))).await, [10, 9, 8]);
    assert_eq!(read(bwd(Some(4), None)).await, [4, 3, 2, 1]);
    assert_eq!(read(bwd(Some(50), Some(2))).await, [10, 9]);
    assert_eq!(read(bwd(Some(2), Some(5))).await, [2, 1]);
}

pub async fn read_stream_of_a_missing_stream_is_empty<S: EventStore>(s: &S) {
    append_ok(s, "a", evs(1..3), NoStream).await;
    assert!(s
        .read_stream(&sid("missing"), &fwd(None, None))
        .await
        .unwrap()
        .is_empty());
    assert!(s
        .read_stream(&sid("missing"), &bwd(None, None))
        .await
        .unwrap()
        .is_empty());
    assert_eq!(s.stream_version(&sid("missing")).await.unwrap(), Version(0));
    // A prefix of an existing stream's name is another stream.
    assert!(s
        .read_stream(&sid("a-"), &fwd(None, None))
        .await
        .unwrap()
        .is_empty());
}

pub async fn read_stream_reads_only_its_stream<S: EventStore>(s: &S) {
    for i in 0..6u32 {
        let stream = if i % 2 == 0 { "a" } else { "ab" };
        append_ok(s, stream, evs(i..i + 1), Any).await;
    }
    let a = s.read_stream(&sid("a"), &fwd(None, None)).await.unwrap();
    assert_eq!(positions(&a), [1, 3, 5]);
    assert_eq!(versions(&a), [1, 2, 3]);
    assert!(a.iter().all(|e| e.stream == sid("a")));
}

pub async fn read_all_pages_by_position<S: EventStore>(s: &S) {
    append_ok(s, "a", evs(1..6), NoStream).await;
    append_ok(s, "b", evs(6..11), NoStream).await;
    let page = |after, limit| async move {
        positions(
            &s.read_all(&ReadAllOptions {
                after: Position(after),
                limit,
                ..all()
            })
            .await
            .unwrap(),
        )
    };
    assert_eq!(page(0, None).await, (1..=10).collect::<Vec<_>>());
    assert_eq!(page(0, Some(3)).await, [1, 2, 3]);
    assert_eq!(page(3, Some(3)).await, [4, 5, 6]);
    assert_eq!(page(8, Some(5)).await, [9, 10]);
    assert!(page(10, None).await.is_empty());
    assert!(page(1000, None).await.is_empty());
    assert!(page(0, Some(0)).await.is_empty());
}

pub async fn read_all_filters_by_stream_prefix<S: EventStore>(s: &S) {
    append_ok(s, "order-1", evs(1..3), NoStream).await;
    append_ok(s, "cart-1", evs(3..5), NoStream).await;
    append_ok(s, "order-2", evs(5..6), NoStream).await;
    let filter = |p: &[&str]| ReadAllOptions {
        filter: EventFilter {
            stream_prefixes: p.iter().map(|s| s.to_string()).collect(),
            types: None,
        },
        ..all()
    };
    assert_eq!(
        positions(&s.read_all(&filter(&["order-"])).await.unwrap()),
        [1, 2, 5]
    );
    assert_eq!(
        positions(&s.read_all(&filter(&["cart-", "order-2"])).await.unwrap()),
        [3, 4, 5]
    );
    assert!(s.read_all(&filter(&["nope"])).await.unwrap().is_empty());
}

pub async fn read_all_filters_by_type<S: EventStore>(s: &S) {
    let batch = vec![
        ev(1, "Created"),
        ev(2, "Added"),
        ev(3, "Added"),
        ev(4, "Confirmed"),
    ];
    append_ok(s, "order-1", batch, NoStream).await;
    let types = |t: &[&str]| ReadAllOptions {
        filter: EventFilter {
            stream_prefixes: vec![],
            types: Some(t.iter().map(|t| EventType::new(t).unwrap()).collect()),
        },
        ..all()
    };
    assert_eq!(
        positions(&s.read_all(&types(&["Added"])).await.unwrap()),
        [2, 3]
    );
    assert_eq!(
        positions(&s.read_all(&types(&["Created", "Confirmed"])).await.unwrap()),
        [1, 4]
    );
    assert!(s.read_all(&types(&[])).await.unwrap().is_empty());
}

pub async fn read_all_limit_counts_matching_events<S: EventStore>(s: &S) {
    for i in 0..20u32 {
        let stream = if i % 4 == 0 { "keep-1" } else { "skip-1" };
        append_ok(s, stream, vec![ev(i, "E")], Any).await;
    }
    let opts = |after| ReadAllOptions {
        after: Position(after),
        limit: Some(3),
        filter: EventFilter {
            stream_prefixes: vec!["keep-".into()],
            types: Some(vec![EventType::new("E").unwrap()]),
        },
    };
    assert_eq!(positions(&s.read_all(&opts(0)).await.unwrap()), [1, 5, 9]);
    assert_eq!(positions(&s.read_all(&opts(9)).await.unwrap()), [13, 17]);
}

pub async fn data_round_trips_exactly<S: EventStore>(s: &S) {
    let payloads = [
        r#"{"nested":{"deep":{"deeper":[1,{"x":null}]}},"empty":{},"list":[]}"#,
        r#"{"unicode":"héllo wörld ✓ 日本語 🎉","escapes":"quote\" backslash\\ tab\t nl\n","ctrl":"\u0001"}"#,
        r#"{"max":9007199254740991,"min":-9007199254740991,"float":0.1,"exp":1e-7,"neg":-0.5}"#,
        "null",
        r#"[1,"two",[3],{"four":4}]"#,
        r#""just a string""#,
        "42",
        "true",
    ];
    let batch: Vec<NewEvent> = payloads
        .iter()
        .enumerate()
        .map(|(i, p)| NewEvent {
            data: Json::parse(*p).unwrap(),
            metadata: Json::parse(format!(
                r#"{{"correlationId":"c-{i}","schemaVersion":2,"ü":"ß"}}"#
            ))
            .unwrap(),
            ..ev(i as u32, "Data")
        })
        .collect();
    append_ok(s, "data-1", batch.clone(), NoStream).await;
    let read = s
        .read_stream(&sid("data-1"), &fwd(None, None))
        .await
        .unwrap();
    assert_eq!(read.len(), batch.len());
    for (new, got) in batch.iter().zip(&read) {
        assert!(new.same_content(got), "{new:?} != {got:?}");
        assert_eq!(got.stream, sid("data-1"));
    }
    assert_eq!(s.read_all(&all()).await.unwrap(), read);
}

pub async fn unicode_stream_names_and_types_round_trip<S: EventStore>(s: &S) {
    let stream = "commande-é✓-日本";
    let batch = vec![ev(1, "Créé ✓")];
    append_ok(s, stream, batch, NoStream).await;
    let read = s.read_stream(&sid(stream), &fwd(None, None)).await.unwrap();
    assert_eq!(read[0].event_type.as_str(), "Créé ✓");
    assert_eq!(read[0].stream.as_str(), stream);
}

pub async fn timestamps_never_go_backwards<S: EventStore>(s: &S) {
    for i in 0..5u32 {
        append_ok(s, "a", vec![ev(i, "E")], Any).await;
    }
    let log = s.read_all(&all()).await.unwrap();
    assert!(
        log.windows(2).all(|w| w[0].timestamp <= w[1].timestamp),
        "{log:?}"
    );
    assert!(
        log[0].timestamp.0 > 1_600_000_000_000,
        "timestamps are Unix milliseconds"
    );
}

pub async fn a_failed_append_does_not_consume_positions<S: EventStore>(s: &S) {
    append_ok(s, "a", evs(1..3), NoStream).await;
    append_fails(s, "a", evs(3..5), NoStream, "WRONG_EXPECTED_VERSION").await;
    append_fails(s, "b", evs(1..2), NoStream, "EVENT_ID_CONFLICT").await;
    assert_eq!(append_ok(s, "b", evs(3..5), NoStream).await, (2, 4));
}

pub async fn reads_of_an_empty_store_are_empty<S: EventStore>(s: &S) {
    assert_eq!(s.head().await.unwrap(), Position(0));
    assert!(s.read_all(&all()).await.unwrap().is_empty());
    assert!(s
        .read_stream(&sid("a"), &fwd(None, None))
        .await
        .unwrap()
        .is_empty());
}

pub async fn many_streams_and_events_stay_consistent<S: EventStore>(s: &S) {
    let mut n = 0;
    for round in 0..5u64 {
        for stream in 0..10u32 {
            let batch = evs(n..n + 3);
            n += 3;
            let r = append_ok(s, &format!("s-{stream}"), batch, Exact(Version(round * 3))).await;
            assert_eq!(r.0, round * 3 + 3);
        }
    }
    assert_eq!(s.head().await.unwrap(), Position(150));
    for stream in 0..10u32 {
        let read = s
            .read_stream(&sid(&format!("s-{stream}")), &fwd(None, None))
            .await
            .unwrap();
        assert_eq!(versions(&read), (1..=15).collect::<Vec<_>>());
        assert!(read.windows(2).all(|w| w[0].position < w[1].position));
    }
    let back = s
        .read_stream(&sid("s-3"), &bwd(Some(10), Some(4)))
        .await
        .unwrap();
    assert_eq!(versions(&back), [10, 9, 8, 7]);
}

fn poll_once<F: Future>(f: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(Waker::noop()))
}

pub async fn a_subscription_catches_up_then_goes_live<S: EventStore>(s: &S) {
    append_ok(s, "order-1", evs(1..4), NoStream).await;
    append_ok(s, "cart-1", evs(4..5), NoStream).await;
    let filter = EventFilter {
        stream_prefixes: vec!["order-".into()],
        types: None,
    };
    let mut sub = Subscription::new(s, Position(1), filter, 100);
    let first = sub.next_batch().await.unwrap().unwrap();
    assert_eq!(
        positions(&first),
        [2, 3],
        "catch-up starts after the checkpoint"
    );
    {
        let mut waiting = pin!(sub.next_batch());
        assert!(
            poll_once(waiting.as_mut()).is_pending(),
            "caught up: waits for appends"
        );
        append_ok(s, "cart-1", evs(5..6), Any).await;
        append_ok(s, "order-2", evs(6..8), NoStream).await;
        let live = waiting.await.unwrap().unwrap();
        assert_eq!(positions(&live), [6, 7]);
    }
    append_ok(s, "order-1", evs(8..9), Any).await;
    assert_eq!(positions(&sub.next_batch().await.unwrap().unwrap()), [8]);
    assert_eq!(sub.checkpoint(), Position(8));
}

pub async fn a_subscription_delivers_in_batches_in_order<S: EventStore>(s: &S) {
    append_ok(s, "a", evs(0..25), NoStream).await;
    let mut sub = Subscription::new(s, Position(0), EventFilter::default(), 10);
    let mut seen = Vec::new();
    while seen.len() < 25 {
        let batch = sub.next_batch().await.unwrap().unwrap();
        assert!(batch.len() <= 10);
        seen.extend(positions(&batch));
    }
    assert_eq!(seen, (1..=25).collect::<Vec<_>>());
}

/// Runs every contract case as its own test. `native` builds a store with the expression and
/// runs the case on `futures`' executor; `wasm` awaits the expression in a `wasm_bindgen_test`.
#[macro_export]
macro_rules! contract_tests {
    ($kind:ident, $make:expr) => {
        $crate::__contract_case!(
            $kind,
            $make,
            no_stream_creates_the_stream,
            no_stream_on_an_existing_stream_fails,
            any_appends_to_new_and_existing_streams,
            exists_on_a_new_stream_fails,
            exists_appends_to_an_existing_stream,
            exact_version_appends_when_it_matches,
            exact_version_too_low_or_too_high_fails,
            exact_zero_behaves_as_no_stream,
            a_batch_gets_consecutive_versions_and_positions,
            positions_are_global_and_versions_per_stream,
            an_oversized_event_in_a_batch_writes_nothing,
            an_id_twice_in_a_batch_is_invalid,
            an_empty_batch_is_invalid,
            metadata_must_be_an_object,
            a_retried_batch_returns_the_original_result,
            a_retry_with_any_or_exists_is_idempotent,
            a_reused_id_with_other_content_conflicts,
            a_reused_id_in_another_stream_conflicts,
            a_reused_id_at_another_place_conflicts,
            a_partly_appended_batch_conflicts,
            read_stream_forward,
            read_stream_backward,
            read_stream_of_a_missing_stream_is_empty,
            read_stream_reads_only_its_stream,
            read_all_pages_by_position,
            read_all_filters_by_stream_prefix,
            read_all_filters_by_type,
            read_all_limit_counts_matching_events,
            data_round_trips_exactly,
            unicode_stream_names_and_types_round_trip,
            timestamps_never_go_backwards,
            a_failed_append_does_not_consume_positions,
            reads_of_an_empty_store_are_empty,
            many_streams_and_events_stay_consistent,
            a_subscription_catches_up_then_goes_live,
            a_subscription_delivers_in_batches_in_order,
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __contract_case {
    (native, $make:expr, $($case:ident),+ $(,)?) => {$(
        #[test]
        fn $case() {
            let store = $make;
            futures::executor::block_on($crate::store::contract::$case(&store));
        }
    )+};
    (wasm, $make:expr, $($case:ident),+ $(,)?) => {$(
        #[wasm_bindgen_test::wasm_bindgen_test]
        async fn $case() {
            let store = $make.await;
            $crate::store::contract::$case(&store).await;
        }
    )+};
}
