//! Live queries of a read model's records: they follow appends and pending events, keep
//! their snapshot when an evaluation gives the same records, and a live get hears only of
//! changes that touch its key.

use std::cell::RefCell;
use std::rc::Rc;

use futures::task::LocalSpawnExt;

use super::{by_total, start, Running, Tally};
use crate::cqrs::live::query::Spawner;
use crate::cqrs::live::tests::{append, store, sync};
use crate::cqrs::live::LiveQuery;
use futures::executor::LocalPool;

fn spawner(r: &Running) -> Spawner {
    let spawner = r.pool.spawner();
    Rc::new(move |f| spawner.spawn_local(f).unwrap())
}

/// Every snapshot a subscriber of `q` heard, and what the query snapshot is now.
fn heard<T: Clone + 'static>(q: &LiveQuery<T>) -> Rc<RefCell<Vec<Option<T>>>> {
    let heard = Rc::new(RefCell::new(Vec::new()));
    let h = heard.clone();
    q.subscribe(move |s| h.borrow_mut().push(s.clone()));
    heard
}

#[test]
fn a_live_query_follows_appends_and_pending_events_and_keeps_an_unchanged_answer() {
    let mut pool = LocalPool::new();
    let store = store();
    sync(&store, "n-9");
    append(&mut pool, &store, "n-1", &[5]);
    let mut r = start(pool, store, Tally::default());
    let keys = |rows: &Vec<(String, crate::Json)>| {
        Ok(Rc::new(
            rows.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>(),
        ))
    };
    let q = r
        .view
        .live_query(by_total(10.0), Box::new(keys), spawner(&r))
        .unwrap();
    let heard = heard(&q);
    r.pool.run_until_stalled();
    assert_eq!(q.snapshot().as_deref(), Some(&vec![]), "n-1 has 5 < 10");
    let empty = q.snapshot().unwrap();

    append(&mut r.pool, &r.store, "n-2", &[3]);
    r.pool.run_until_stalled();
    assert!(
        Rc::ptr_eq(&empty, &q.snapshot().unwrap()),
        "a change outside the range keeps the snapshot"
    );
    assert_eq!(heard.borrow().len(), 2, "and calls nobody");

    append(&mut r.pool, &r.store, "n-1", &[6]);
    r.pool.run_until_stalled();
    assert_eq!(q.snapshot().as_deref(), Some(&vec!["n-1".to_owned()]));

    // A pending event (not yet synced) shows at once, stored or not.
    append(&mut r.pool, &r.store, "n-9", &[50]);
    r.pool.run_until_stalled();
    assert_eq!(
        q.snapshot().as_deref(),
        Some(&vec!["n-1".to_owned(), "n-9".to_owned()])
    );
    assert_eq!(heard.borrow().len(), 4);
}

#[test]
fn a_live_get_hears_only_of_its_key_and_shows_none_for_an_absent_record() {
    let mut pool = LocalPool::new();
    let store = store();
    append(&mut pool, &store, "n-1", &[1]);
    let mut r = start(pool, store, Tally::default());
    let text = |j: &Option<crate::Json>| Ok(Rc::new(j.as_ref().map(|j| j.as_str().to_owned())));
    let one = r.view.live_get("n-1", Box::new(text), spawner(&r));
    let absent = r.view.live_get("n-7", Box::new(text), spawner(&r));
    let (heard_one, heard_absent) = (heard(&one), heard(&absent));
    r.pool.run_until_stalled();
    assert_eq!(
        one.snapshot().as_deref(),
        Some(&Some(r#"{"total":1,"count":1}"#.to_owned()))
    );
    assert_eq!(absent.snapshot().as_deref(), Some(&None));

    append(&mut r.pool, &r.store, "n-2", &[4]);
    r.pool.run_until_stalled();
    append(&mut r.pool, &r.store, "n-1", &[2]);
    r.pool.run_until_stalled();
    assert_eq!(
        one.snapshot().as_deref(),
        Some(&Some(r#"{"total":3,"count":2}"#.to_owned()))
    );
    assert_eq!(
        heard_one.borrow().len(),
        3,
        "at once, n-1 read, n-1 changed"
    );
    assert_eq!(
        heard_absent.borrow().len(),
        2,
        "at once, then read as absent"
    );

    append(&mut r.pool, &r.store, "n-7", &[9]);
    r.pool.run_until_stalled();
    assert_eq!(
        absent.snapshot().as_deref(),
        Some(&Some(r#"{"total":9,"count":1}"#.to_owned()))
    );
}
