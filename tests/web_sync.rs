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
