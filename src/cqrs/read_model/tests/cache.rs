//! The record cache: a write behind the model's back (as another tab's fold makes) shows
//! whether an answer came from memory or from the store.

use super::{by_total, get, record, start, Running, Tally};
use crate::core::event::Position;
use crate::cqrs::live::tests::{append, reset, store, sync};
use crate::store::{IndexKey, ReadModelStore, RecordWrite};
use futures::executor::LocalPool;

/// Writes `key = {"total":total,"count":0}` into the model's records without the model
/// knowing (its own fold never made it; another connection could have).
fn behind_its_back(r: &mut Running, key: &str, total: i64) {
    let write = RecordWrite {
        key: key.to_owned(),
        value: Some((
            record(total, 0),
            vec![("total".to_owned(), IndexKey::Number(total as f64))],
        )),
    };
    let state = crate::core::json::Json::parse("{}").unwrap();
    r.pool
        .run_until(
            r.store
                .commit_records("tally", vec![write], "test:elsewhere", state),
        )
        .unwrap();
}

fn keys(r: &mut Running, gte: f64) -> Vec<String> {
    let rows = r.pool.run_until(r.view.query(by_total(gte))).unwrap();
    rows.into_iter().map(|(k, _)| k).collect()
}

fn ready(pool: LocalPool) -> Running {
    let store = store();
    let mut pool = pool;
    append(&mut pool, &store, "n-1", &[5]);
    append(&mut pool, &store, "n-2", &[50]);
    let mut r = start(pool, store, Tally::default());
    r.pool.run_until(r.view.ready()).unwrap();
    r
}

#[test]
fn a_repeated_get_is_answered_from_memory_until_the_model_writes_that_key() {
    let mut r = ready(LocalPool::new());
    let first = get(&mut r, "n-1");
    assert_eq!(first.as_deref(), Some(r#"{"total":5,"count":1}"#));
    behind_its_back(&mut r, "n-1", 999);
    assert_eq!(get(&mut r, "n-1"), first, "the second get came from memory");
    assert_eq!(get(&mut r, "n-404"), None);
    behind_its_back(&mut r, "n-404", 1);
    assert_eq!(get(&mut r, "n-404"), None, "absent records are cached too");

    append(&mut r.pool, &r.store, "n-1", &[1]);
    r.pool.run_until_stalled();
    assert_eq!(
        get(&mut r, "n-1").as_deref(),
        Some(r#"{"total":1000,"count":1}"#),
        "the model's write dropped the entry: the fold read 999 from the store and added 1"
    );
    assert_eq!(get(&mut r, "n-404"), None, "other keys stay cached");
}

#[test]
fn a_repeated_query_is_answered_from_memory_until_the_model_writes_any_record() {
    let mut r = ready(LocalPool::new());
    assert_eq!(keys(&mut r, 10.0), ["n-2"]);
    behind_its_back(&mut r, "n-7", 70);
    assert_eq!(keys(&mut r, 10.0), ["n-2"], "from memory");
    assert_eq!(keys(&mut r, 60.0), ["n-7"], "another query reads the store");

    append(&mut r.pool, &r.store, "n-3", &[30]);
    r.pool.run_until_stalled();
    assert_eq!(
        keys(&mut r, 10.0),
        ["n-3", "n-2", "n-7"],
        "any write of the model drops every cached query"
    );
}

#[test]
fn while_the_view_is_behind_the_log_reads_go_to_the_store() {
    let mut r = ready(LocalPool::new());
    assert_eq!(
        get(&mut r, "n-1").as_deref(),
        Some(r#"{"total":5,"count":1}"#)
    );
    assert_eq!(keys(&mut r, 1.0), ["n-1", "n-2"]);
    // Another tab appends to n-1 and its fold writes the record before this tab's fold ran:
    // this tab has heard of the append (the head moved) but not folded it yet.
    append(&mut r.pool, &r.store, "n-8", &[1]);
    behind_its_back(&mut r, "n-1", 6);
    assert!(
        r.view.checkpoint() < Position(3),
        "this tab's view has not folded it"
    );
    let from_store = r
        .pool
        .run_until(r.view.get("n-1"))
        .unwrap()
        .map(|j| j.as_str().to_owned());
    assert_eq!(from_store.as_deref(), Some(r#"{"total":6,"count":0}"#));
}

#[test]
fn a_rebuild_and_a_log_reset_drop_everything_cached() {
    let mut pool = LocalPool::new();
    let store = store();
    sync(&store, "s-");
    append(&mut pool, &store, "n-1", &[5]);
    let mut r = start(pool, store, Tally::default());
    r.pool.run_until(r.view.ready()).unwrap();
    assert_eq!(
        get(&mut r, "n-1").as_deref(),
        Some(r#"{"total":5,"count":1}"#)
    );
    assert_eq!(keys(&mut r, 1.0), ["n-1"]);
    behind_its_back(&mut r, "n-1", 999);
    r.pool.run_until(r.view.rebuild()).unwrap();
    assert_eq!(
        get(&mut r, "n-1").as_deref(),
        Some(r#"{"total":5,"count":1}"#),
        "rebuilt from the log, not the cached or the foreign value"
    );

    assert_eq!(keys(&mut r, 1.0), ["n-1"]);
    reset(&mut r.pool, &r.store, "n-1");
    r.pool.run_until_stalled();
    assert_eq!(get(&mut r, "n-1"), None, "dropped by the reset");
    assert!(keys(&mut r, 1.0).is_empty(), "the cached query went too");
}
