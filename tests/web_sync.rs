//! What sync needs from the IndexedDB store, in headless Chromium: compare-and-swap of state
//! records that stays atomic across connections (tabs), and a replica keeping pending events
//! beside the confirmed log.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::rc::Rc;

use eventfold::core::append::StoreLimits;
use eventfold::store::indexeddb::{IdbOptions, IndexedDbStore};
use eventfold::store::{contract, StateStore};
use eventfold::sync::replica::Replica;
use eventfold::{EventStore, ExpectedVersion, Json, Position, Timestamp, Version};
use futures::future::join_all;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

fn random_name() -> String {
    format!("eventfold-test-{}", (js_sys::Math::random() * 1e16) as u64)
}

async fn open(name: &str) -> IndexedDbStore {
    IndexedDbStore::open(IdbOptions::new(name)).await.unwrap()
}

#[wasm_bindgen_test]
async fn swap_state_compares_then_writes() {
    let s = open(&random_name()).await;
    let one = Json::parse("1").unwrap();
    let two = Json::parse("2").unwrap();
    assert!(!s
        .swap_state("k", Some(&one), Some(two.clone()))
        .await
        .unwrap());
    assert_eq!(
        s.get_state("k").await.unwrap(),
        None,
        "a failed swap writes nothing"
    );
    assert!(s.swap_state("k", None, Some(one.clone())).await.unwrap());
    assert!(!s.swap_state("k", None, Some(two.clone())).await.unwrap());
    assert!(s
        .swap_state("k", Some(&one), Some(two.clone()))
        .await
        .unwrap());
    assert_eq!(s.get_state("k").await.unwrap(), Some(two.clone()));
    assert!(s.swap_state("k", Some(&two), None).await.unwrap());
    assert_eq!(s.get_state("k").await.unwrap(), None);
}

/// Read-modify-write loops from two connections (as two tabs) never lose an increment.
#[wasm_bindgen_test]
async fn concurrent_swaps_from_two_connections_lose_no_update() {
    let name = random_name();
    let (a, b) = (Rc::new(open(&name).await), Rc::new(open(&name).await));
    let increment = |s: &Rc<IndexedDbStore>| {
        let s = s.clone();
        async move {
            loop {
                let current = s.get_state("n").await.unwrap();
                let n: u64 = current.as_ref().map_or(0, |j| j.decode().unwrap());
                let next = Json::parse(format!("{}", n + 1)).unwrap();
                if s.swap_state("n", current.as_ref(), Some(next))
                    .await
                    .unwrap()
                {
                    return;
                }
            }
        }
    };
    let work: Vec<_> = (0..40)
        .map(|i| increment(if i % 2 == 0 { &a } else { &b }))
        .collect();
    join_all(work).await;
    assert_eq!(
        a.get_state("n").await.unwrap(),
        Some(Json::parse("40").unwrap())
    );
}

#[wasm_bindgen_test]
async fn a_replica_keeps_pending_events_beside_the_confirmed_log() {
    let name = random_name();
    let store = Rc::new(open(&name).await);
    let clock: eventfold::store::Clock = std::sync::Arc::new(|| Timestamp(5));
    let replica = Replica::new(
        store.clone(),
        vec!["order-".into()],
        StoreLimits::default(),
        clock,
    );
    let stream = contract::sid("order-1");
    replica
        .append(&stream, contract::evs(0..2), ExpectedVersion::NoStream)
        .await
        .unwrap();
    assert_eq!(replica.stream_version(&stream).await.unwrap(), Version(2));
    assert_eq!(
        store.head().await.unwrap(),
        Position(0),
        "nothing in the confirmed log"
    );
    // Another connection (tab) sees the same pending events.
    let other = Rc::new(open(&name).await);
    let clock: eventfold::store::Clock = std::sync::Arc::new(|| Timestamp(6));
    let replica2 = Replica::new(other, vec!["order-".into()], StoreLimits::default(), clock);
    let shown = replica2
        .read_stream(&stream, &Default::default())
        .await
        .unwrap();
    assert_eq!(
        shown
            .iter()
            .map(|e| (e.version.0, e.position.0))
            .collect::<Vec<_>>(),
        [(1, 0), (2, 0)]
    );
    let err = replica2
        .append(
            &stream,
            contract::evs(2..3),
            ExpectedVersion::Exact(Version(1)),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "WRONG_EXPECTED_VERSION");
    assert_eq!(replica.pending().await.unwrap().len(), 2);
}

/// A reset in one connection: one transaction drops the synced streams, keeps the others at
/// their positions, forgets derived state; another connection (a tab with a warm cache and id
/// map) sees the result and may append an id that only the dropped log held.
#[wasm_bindgen_test]
async fn a_reset_drops_synced_streams_atomically_and_another_connection_follows() {
    use eventfold::store::{LogReset, ReadAllOptions, ReadModelStore, RecordWrite, ResetStore};
    use eventfold::StreamId;
    let name = random_name();
    let (a, b) = (open(&name).await, open(&name).await);
    let (order, pref) = (
        StreamId::new("order-1").unwrap(),
        StreamId::new("pref-1").unwrap(),
    );
    let ev = contract::ev;
    a.append(
        &order,
        vec![ev(1, "A"), ev(2, "A")],
        ExpectedVersion::NoStream,
    )
    .await
    .unwrap();
    a.append(&pref, vec![ev(3, "P")], ExpectedVersion::NoStream)
        .await
        .unwrap();
    // b's cache and id map are warm (its fast path would write after position 4).
    b.append(&pref, vec![ev(4, "P")], ExpectedVersion::Exact(Version(1)))
        .await
        .unwrap();
    let j = |t: &str| Json::parse(t).unwrap();
    for key in ["projection:x", "snapshot:order-1", "snapshot:pref-1", "k"] {
        a.put_state(key, j("1")).await.unwrap();
    }
    let record = RecordWrite {
        key: "r".into(),
        value: Some((j("{}"), Vec::new())),
    };
    a.commit_records("m", vec![record], "readmodel:m", j("{}"))
        .await
        .unwrap();
    let before = a.read_all(&ReadAllOptions::default()).await.unwrap();
    let drops = |s: &str| s.starts_with("order-");
    let forgets = |k: &str| k.starts_with("projection:") || k == "snapshot:order-1";

    // A failing rewrite aborts the whole reset: nothing changed.
    let fail = |_: Option<&Json>| Err(eventfold::Error::storage("injected"));
    let failed = LogReset {
        drops: &drops,
        forgets: &forgets,
        rewrites: vec![("k", &fail)],
    };
    assert!(a.reset_log(&failed).await.is_err());
    assert_eq!(
        a.read_all(&ReadAllOptions::default()).await.unwrap(),
        before
    );
    assert_eq!(a.get_state("projection:x").await.unwrap(), Some(j("1")));
    assert!(a.record("m", "r").await.unwrap().is_some());

    let two = |_: Option<&Json>| Ok(Some(Json::parse("2").unwrap()));
    let reset = LogReset {
        drops: &drops,
        forgets: &forgets,
        rewrites: vec![("k", &two)],
    };
    let outcome = a.reset_log(&reset).await.unwrap();
    assert_eq!(
        (outcome.dropped, outcome.kept, outcome.head),
        (2, 2, Position(5))
    );
    assert_eq!(a.changes().resets(), 1);
    for s in [&a, &b] {
        let log = s.read_all(&ReadAllOptions::default()).await.unwrap();
        let kept: Vec<_> = log
            .iter()
            .map(|e| (e.stream.as_str(), e.position.0))
            .collect();
        assert_eq!(
            kept,
            [("pref-1", 3), ("pref-1", 4)],
            "kept at their positions"
        );
        assert_eq!(s.stream_version(&order).await.unwrap(), Version(0));
        assert_eq!(
            s.head().await.unwrap(),
            Position(5),
            "the marker moved the head"
        );
        let after = ReadAllOptions {
            after: Position(3),
            limit: Some(1),
            ..ReadAllOptions::default()
        };
        assert_eq!(s.read_all(&after).await.unwrap()[0].position, Position(4));
    }
    assert_eq!(a.get_state("projection:x").await.unwrap(), None);
    assert_eq!(a.get_state("snapshot:order-1").await.unwrap(), None);
    assert_eq!(a.get_state("snapshot:pref-1").await.unwrap(), Some(j("1")));
    assert_eq!(b.get_state("k").await.unwrap(), Some(j("2")));
    assert_eq!(b.record("m", "r").await.unwrap(), None);

    // b's remembered head and ids are stale: its append must not land in the dropped range,
    // and an id only the dropped log held is free again.
    let r = b
        .append(&order, vec![ev(1, "A")], ExpectedVersion::NoStream)
        .await
        .unwrap();
    assert_eq!((r.version, r.position), (Version(1), Position(6)));
    let r = a
        .append(&order, vec![ev(2, "A")], ExpectedVersion::Exact(Version(1)))
        .await
        .unwrap();
    assert_eq!((r.version, r.position), (Version(2), Position(7)));
    // An id still in the log is still refused.
    let again = b
        .append(&order, vec![ev(3, "A")], ExpectedVersion::Any)
        .await
        .unwrap_err();
    assert_eq!(again.code(), "EVENT_ID_CONFLICT");
    let reopened = open(&name).await;
    let log = reopened.read_all(&ReadAllOptions::default()).await.unwrap();
    assert_eq!(
        log.iter().map(|e| e.position.0).collect::<Vec<_>>(),
        [3, 4, 6, 7]
    );
}
