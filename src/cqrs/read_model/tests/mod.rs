//! Tests of read models as live views over the in-memory store (a replica for pending events);
//! `live.rs`: live queries of their records.

mod cache;
mod live;

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;

use futures::executor::LocalPool;
use futures::task::LocalSpawnExt;

use super::{Change, Handled, Handlers, ReadModelDef, ReadModelView};
use crate::core::event::RecordedEvent;
use crate::core::event::{EventType, Position};
use crate::core::json::Json;
use crate::cqrs::live::tests::{append, reset, spawn_tracked, store, sync};
use crate::cqrs::live::Recorded;
use crate::engine::Store;
use crate::error::{Error, Result};
use crate::store::{Bound, IndexKey, IndexRange, ReadModelStore};
use crate::store::{IndexQuery, RecordWrite, StateStore};

/// Per stream: `{"total": sum of the values, "count": events}`, indexed by total; a negative
/// value deletes the record; fails on `poison` while it is set.
#[derive(Clone, Default)]
struct Tally {
    poison: Rc<Cell<Option<i64>>>,
    handled: Rc<Cell<usize>>,
}

fn record(total: i64, count: i64) -> Json {
    Json::parse(format!(r#"{{"total":{total},"count":{count}}}"#)).unwrap()
}

impl Handlers<[RecordedEvent]> for Tally {
    async fn handle(
        &self,
        store: &Store,
        def: &ReadModelDef,
        events: &[RecordedEvent],
    ) -> Result<Handled> {
        let mut overlay: BTreeMap<String, Option<Json>> = BTreeMap::new();
        let mut order = Vec::new();
        for (i, e) in events.iter().enumerate() {
            let n: i64 = e.data.decode()?;
            if Some(n) == self.poison.get() {
                let writes = to_writes(&order, &overlay);
                return Ok(Handled {
                    writes,
                    applied: i,
                    error: Some(Error::EvolveFailed {
                        position: e.position,
                        message: format!("cannot handle {n}"),
                    }),
                });
            }
            let key = e.stream.as_str().to_owned();
            let current = match overlay.get(&key) {
                Some(v) => v.clone(),
                None => store.record(def.name(), &key).await?,
            };
            let (total, count) = current.map_or((0, 0), |j| {
                let v: serde_json::Value = j.decode().unwrap();
                (v["total"].as_i64().unwrap(), v["count"].as_i64().unwrap())
            });
            if !order.contains(&key) {
                order.push(key.clone());
            }
            overlay.insert(key, (n >= 0).then(|| record(total + n, count + 1)));
            self.handled.set(self.handled.get() + 1);
        }
        Ok(Handled {
            writes: to_writes(&order, &overlay),
            applied: events.len(),
            error: None,
        })
    }
}

fn to_writes(order: &[String], overlay: &BTreeMap<String, Option<Json>>) -> Vec<RecordWrite> {
    order
        .iter()
        .map(|key| RecordWrite {
            key: key.clone(),
            value: overlay[key].clone().map(|json| {
                let total = json.decode::<serde_json::Value>().unwrap()["total"]
                    .as_f64()
                    .unwrap();
                (json, vec![("total".to_owned(), IndexKey::Number(total))])
            }),
        })
        .collect()
}

type TallyView = ReadModelView<Tally, Recorded, [RecordedEvent]>;

struct Running {
    pool: LocalPool,
    store: Store,
    view: TallyView,
    tally: Tally,
    changes: Rc<RefCell<Vec<Change>>>,
    ended: Rc<Cell<bool>>,
}

fn start(mut pool: LocalPool, store: Store, tally: Tally) -> Running {
    let def = ReadModelDef::new(
        "tally",
        1,
        vec!["total".into()],
        vec![EventType::new("N").unwrap()],
    )
    .unwrap();
    let (view, run) = ReadModelView::start(store.clone(), def, tally.clone(), Recorded, |_| {});
    let changes = Rc::new(RefCell::new(Vec::new()));
    let c = changes.clone();
    view.subscribe(move |change| c.borrow_mut().push(change.clone()));
    let ended = spawn_tracked(&mut pool, run);
    Running {
        pool,
        store,
        view,
        tally,
        changes,
        ended,
    }
}

fn get(r: &mut Running, key: &str) -> Option<String> {
    r.pool
        .run_until(r.view.get(key))
        .unwrap()
        .map(|j| j.as_str().to_owned())
}

fn change(checkpoint: u64, keys: Option<&[&str]>) -> Change {
    Change {
        checkpoint: Position(checkpoint),
        keys: keys.map(|k| k.iter().map(|s| s.to_string()).collect()),
    }
}

fn by_total(gte: f64) -> IndexQuery {
    IndexQuery {
        index: "total".into(),
        range: IndexRange {
            lower: Some(Bound {
                key: IndexKey::Number(gte),
                open: false,
            }),
            upper: None,
        },
        limit: None,
        reverse: false,
    }
}

#[test]
fn catches_up_in_pages_each_committed_with_its_checkpoint_then_follows() {
    let mut pool = LocalPool::new();
    let store = store();
    append(&mut pool, &store, "n-1", &[1; 600]);
    append(&mut pool, &store, "n-2", &[2; 600]);
    let mut r = start(pool, store, Tally::default());
    assert_eq!(r.pool.run_until(r.view.ready()), Ok(()));
    assert_eq!(
        *r.changes.borrow(),
        [
            change(500, Some(&["n-1"])),
            change(1000, Some(&["n-1", "n-2"])),
            change(1200, Some(&["n-2"])),
        ],
        "one change per page of 500, after its commit"
    );
    assert_eq!(
        get(&mut r, "n-1").as_deref(),
        Some(r#"{"total":600,"count":600}"#)
    );
    assert_eq!(
        get(&mut r, "n-2").as_deref(),
        Some(r#"{"total":1200,"count":600}"#)
    );
    let saved = r
        .pool
        .run_until(r.store.get_state("readmodel:tally"))
        .unwrap()
        .unwrap();
    assert_eq!(saved.as_str(), r#"{"version":1,"checkpoint":1200}"#);

    append(&mut r.pool, &r.store, "n-3", &[7]);
    r.pool.run_until_stalled();
    assert_eq!(
        r.changes.borrow().last(),
        Some(&change(1201, Some(&["n-3"])))
    );
    assert_eq!(r.view.checkpoint(), Position(1201));
    let rows = r.pool.run_until(r.view.query(by_total(700.0))).unwrap();
    assert_eq!(
        rows.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        ["n-2"]
    );
    let rows = r.pool.run_until(r.view.query(by_total(0.0))).unwrap();
    assert_eq!(
        rows.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        ["n-3", "n-1", "n-2"]
    );
}

#[test]
fn resumes_from_its_checkpoint_and_a_new_version_clears_the_records() {
    let mut pool = LocalPool::new();
    let store = store();
    append(&mut pool, &store, "n-1", &[1, 2]);
    let mut r = start(pool, store.clone(), Tally::default());
    r.pool.run_until(r.view.ready()).unwrap();
    r.view.close();
    append(&mut r.pool, &store, "n-1", &[3]);
    let mut again = start(r.pool, store.clone(), Tally::default());
    again.pool.run_until(again.view.ready()).unwrap();
    assert_eq!(
        again.tally.handled.get(),
        1,
        "only the new event is handled"
    );
    assert_eq!(
        get(&mut again, "n-1").as_deref(),
        Some(r#"{"total":6,"count":3}"#)
    );
    again.view.close();

    let def = ReadModelDef::new(
        "tally",
        2,
        vec!["total".into()],
        vec![EventType::new("N").unwrap()],
    )
    .unwrap();
    let tally = Tally::default();
    let (v2, run) = ReadModelView::start(store, def, tally.clone(), Recorded, |_| {});
    again.pool.spawner().spawn_local(run).unwrap();
    again.pool.run_until(v2.ready()).unwrap();
    assert_eq!(
        tally.handled.get(),
        3,
        "version 2 handled the whole log again"
    );
}

#[test]
fn rebuild_clears_the_records_and_handles_the_log_again() {
    let mut pool = LocalPool::new();
    let store = store();
    append(&mut pool, &store, "n-1", &[1, 2]);
    append(&mut pool, &store, "n-2", &[-1]);
    let mut r = start(pool, store, Tally::default());
    r.pool.run_until(r.view.ready()).unwrap();
    r.changes.borrow_mut().clear();
    let (a, b) = (r.view.rebuild(), r.view.rebuild());
    assert_eq!(
        r.pool.run_until(futures::future::join(a, b)),
        (Ok(()), Ok(()))
    );
    assert_eq!(r.tally.handled.get(), 6);
    assert_eq!(
        *r.changes.borrow(),
        [change(0, None), change(3, Some(&["n-1", "n-2"]))],
        "first told that anything may have changed"
    );
    assert_eq!(
        get(&mut r, "n-1").as_deref(),
        Some(r#"{"total":3,"count":2}"#)
    );
    assert_eq!(get(&mut r, "n-2"), None);
}

#[test]
fn a_handler_error_stops_at_the_last_good_event_and_a_rebuild_clears_it() {
    let mut pool = LocalPool::new();
    let store = store();
    append(&mut pool, &store, "n-1", &[1]);
    append(&mut pool, &store, "n-2", &[13]);
    append(&mut pool, &store, "n-3", &[3]);
    let tally = Tally {
        poison: Rc::new(Cell::new(Some(13))),
        ..Tally::default()
    };
    let mut r = start(pool, store, tally);
    let err = r.pool.run_until(r.view.ready()).unwrap_err();
    assert_eq!(
        err,
        Error::EvolveFailed {
            position: Position(2),
            message: "cannot handle 13".into()
        }
    );
    assert_eq!(r.view.checkpoint(), Position(1));
    assert_eq!(
        *r.changes.borrow(),
        [change(1, Some(&["n-1"]))],
        "what came before is committed"
    );
    assert!(get(&mut r, "n-1").is_some());
    assert_eq!(get(&mut r, "n-2"), None, "the failing event wrote nothing");
    append(&mut r.pool, &r.store, "n-4", &[4]);
    r.pool.run_until_stalled();
    assert_eq!(
        r.view.checkpoint(),
        Position(1),
        "a stopped model does not move"
    );

    r.tally.poison.set(None);
    assert_eq!(r.pool.run_until(r.view.rebuild()), Ok(()));
    assert_eq!(r.view.error(), None);
    assert_eq!(r.view.checkpoint(), Position(4));
    assert_eq!(
        get(&mut r, "n-2").as_deref(),
        Some(r#"{"total":13,"count":1}"#)
    );
}

#[test]
fn a_log_reset_restarts_from_position_0() {
    let mut pool = LocalPool::new();
    let store = store();
    sync(&store, "s-");
    append(&mut pool, &store, "n-1", &[1]);
    append(&mut pool, &store, "n-2", &[2]);
    let mut r = start(pool, store, Tally::default());
    r.pool.run_until(r.view.ready()).unwrap();
    reset(&mut r.pool, &r.store, "n-1");
    r.pool.run_until_stalled();
    assert_eq!(
        get(&mut r, "n-1"),
        None,
        "records of dropped events are gone"
    );
    assert_eq!(
        get(&mut r, "n-2").as_deref(),
        Some(r#"{"total":2,"count":1}"#)
    );
    assert_eq!(
        *r.changes.borrow(),
        [
            change(2, Some(&["n-1", "n-2"])),
            change(0, None),
            change(3, Some(&["n-2"])),
        ],
        "after the reset: anything may have changed, then the kept events again"
    );
}

#[test]
fn pending_events_are_shown_on_top_of_the_records_and_never_stored() {
    let mut pool = LocalPool::new();
    let store = store();
    sync(&store, "n-9");
    append(&mut pool, &store, "n-1", &[5]);
    append(&mut pool, &store, "n-9", &[100]);
    let mut r = start(pool, store, Tally::default());
    r.pool.run_until(r.view.ready()).unwrap();
    assert_eq!(
        get(&mut r, "n-9").as_deref(),
        Some(r#"{"total":100,"count":1}"#)
    );
    assert_eq!(
        r.pool.run_until(r.store.record("tally", "n-9")).unwrap(),
        None,
        "not stored"
    );
    let rows = r.pool.run_until(r.view.query(by_total(0.0))).unwrap();
    assert_eq!(
        rows.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        ["n-1", "n-9"]
    );
    let before = r.changes.borrow().len();
    append(&mut r.pool, &r.store, "n-9", &[1]);
    r.pool.run_until_stalled();
    assert_eq!(
        r.changes.borrow()[before..],
        [change(1, None)],
        "told that anything may have changed"
    );
    assert_eq!(
        get(&mut r, "n-9").as_deref(),
        Some(r#"{"total":101,"count":2}"#)
    );
    assert_eq!(
        r.view.checkpoint(),
        Position(1),
        "pending events move no checkpoint"
    );
}

#[test]
fn unknown_indexes_are_invalid_input_and_close_ends_the_model() {
    let pool = LocalPool::new();
    let mut r = start(pool, store(), Tally::default());
    r.pool.run_until(r.view.ready()).unwrap();
    let mut q = by_total(0.0);
    q.index = "nope".into();
    assert_eq!(
        r.pool.run_until(r.view.query(q)).unwrap_err().code(),
        "INVALID_INPUT"
    );
    r.view.close();
    r.pool.run_until_stalled();
    assert!(r.ended.get());
    append(&mut r.pool, &r.store, "n-1", &[1]);
    r.pool.run_until_stalled();
    assert_eq!(get(&mut r, "n-1"), None, "a closed model does not follow");
}
