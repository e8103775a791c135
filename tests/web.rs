//! The IndexedDB store in headless Chromium (`wasm-pack test --headless --chrome`): the whole
//! shared contract suite, then what only this backend has: durability across reopen, group
//! commit, the ConstraintError slow path, corrupt records, closing, schema upgrades, multi-tab
//! notifications and storage health. Every test uses a fresh random database.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::cell::RefCell;

use eventfold::store::indexeddb::{
    error_from_dom_exception, Durability, IdbOptions, IndexedDbStore, CHUNKS, PREV_INDEX,
    SCHEMA_VERSION, STREAM_INDEX,
};
use eventfold::store::{
    Bound, EventFilter, IndexKey, IndexQuery, IndexRange, ReadAllOptions, ReadModelStore,
    ReadStreamOptions, RecordWrite, StateStore, Subscription,
};
use eventfold::{
    Error, EventId, EventStore, EventType, ExpectedVersion, Json, MemoryStore, NewEvent, Position,
    RecordedEvent, StreamId, Version,
};
use futures::future::join_all;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use web_sys::{IdbDatabase, IdbFactory, IdbOpenDbRequest, IdbRequest, IdbTransaction};

wasm_bindgen_test_configure!(run_in_browser);

fn random_name() -> String {
    format!("eventfold-test-{}", (js_sys::Math::random() * 1e16) as u64)
}

async fn open(name: &str) -> IndexedDbStore {
    IndexedDbStore::open(IdbOptions::new(name)).await.unwrap()
}

eventfold::contract_tests!(wasm, async { open(&random_name()).await });

// ---------------------------------------------------------------------------------------------
// helpers (the shared ones come from the contract suite)

use eventfold::store::contract::{self, evs, id, sid, snapshot};

fn ev(n: u32) -> NewEvent {
    contract::ev(n, "Happened")
}

async fn log(s: &IndexedDbStore) -> Vec<RecordedEvent> {
    s.read_all(&ReadAllOptions::default()).await.unwrap()
}

fn factory() -> IdbFactory {
    js_sys::Reflect::get(&js_sys::global(), &"indexedDB".into())
        .unwrap()
        .unchecked_into()
}

/// Resolves with a request's result (or rejects with its error).
async fn settle(req: &IdbRequest) -> Result<JsValue, JsValue> {
    let r = req.clone();
    let promise = js_sys::Promise::new(&mut |resolve, reject| {
        let (r1, r2) = (r.clone(), r.clone());
        let ok = Closure::once_into_js(move |_: web_sys::Event| {
            resolve
                .call1(&JsValue::NULL, &r1.result().unwrap_or(JsValue::NULL))
                .unwrap();
        });
        let err = Closure::once_into_js(move |e: web_sys::Event| {
            e.prevent_default();
            let error: JsValue = r2
                .error()
                .ok()
                .flatten()
                .map(Into::into)
                .unwrap_or_default();
            reject.call1(&JsValue::NULL, &error).unwrap();
        });
        r.set_onsuccess(Some(ok.unchecked_ref()));
        r.set_onerror(Some(err.unchecked_ref()));
    });
    JsFuture::from(promise).await
}

/// Opens database `name` at `version` by hand, running `upgrade` in its versionchange
/// transaction.
async fn raw_open(
    name: &str,
    version: u32,
    upgrade: impl FnOnce(&IdbDatabase, &IdbTransaction) + 'static,
) -> IdbDatabase {
    let req: IdbOpenDbRequest = factory().open_with_u32(name, version).unwrap();
    let r = req.clone();
    let upgrade = RefCell::new(Some(upgrade));
    let on_upgrade = Closure::<dyn FnMut(web_sys::Event)>::new(move |_: web_sys::Event| {
        let db: IdbDatabase = r.result().unwrap().unchecked_into();
        let tx = r.transaction().unwrap();
        if let Some(f) = upgrade.borrow_mut().take() {
            f(&db, &tx);
        }
    });
    req.set_onupgradeneeded(Some(on_upgrade.as_ref().unchecked_ref()));
    let db = settle(&req).await.unwrap();
    drop(on_upgrade);
    db.unchecked_into()
}

async fn raw_version(name: &str) -> f64 {
    let req = factory().open(name).unwrap();
    let db: IdbDatabase = settle(&req).await.unwrap().unchecked_into();
    let v = db.version();
    db.close();
    v
}

/// Puts `record` into `chunks` by hand.
async fn raw_put(name: &str, record: &JsValue) {
    let db = raw_open(name, SCHEMA_VERSION, |_, _| panic!("no upgrade expected")).await;
    let tx = db
        .transaction_with_str_and_mode(CHUNKS, web_sys::IdbTransactionMode::Readwrite)
        .unwrap();
    let req = tx.object_store(CHUNKS).unwrap().put(record).unwrap();
    settle(&req).await.unwrap();
    db.close();
}

fn obj(fields: &[(&str, JsValue)]) -> JsValue {
    let o = js_sys::Object::new();
    for (k, v) in fields {
        js_sys::Reflect::set(&o, &(*k).into(), v).unwrap();
    }
    o.into()
}

fn strings(items: &[&str]) -> JsValue {
    items
        .iter()
        .map(|s| JsValue::from_str(s))
        .collect::<js_sys::Array>()
        .into()
}

/// Yields to the event loop (lets BroadcastChannel messages arrive).
async fn tick(ms: i32) {
    let p = js_sys::Promise::new(&mut |resolve, _| {
        let w: web_sys::Window = js_sys::global().unchecked_into();
        w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
            .unwrap();
    });
    JsFuture::from(p).await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// opening and closing

#[wasm_bindgen_test]
async fn an_empty_name_is_invalid_input() {
    for name in ["", "  "] {
        let err = IndexedDbStore::open(IdbOptions::new(name))
            .await
            .err()
            .unwrap();
        assert_eq!(err.code(), "INVALID_INPUT", "{err}");
    }
}

#[wasm_bindgen_test]
async fn data_survives_close_and_reopen() {
    let name = random_name();
    let s = open(&name).await;
    s.append(&sid("a"), evs(1..4), ExpectedVersion::NoStream)
        .await
        .unwrap();
    s.append(&sid("b"), evs(4..5), ExpectedVersion::NoStream)
        .await
        .unwrap();
    let before = snapshot(&s).await;
    s.close();
    drop(s);
    for durability in [Durability::Strict, Durability::Relaxed] {
        let s = IndexedDbStore::open(IdbOptions {
            durability,
            ..IdbOptions::new(&name)
        })
        .await
        .unwrap();
        assert_eq!(snapshot(&s).await.0, before.0);
        assert_eq!(snapshot(&s).await.1.len(), before.1.len());
        assert_eq!(
            s.changes().head(),
            before.0,
            "the notifier starts at the head"
        );
        s.close();
    }
    let s = open(&name).await;
    assert_eq!(snapshot(&s).await, before);
    let r = s
        .append(&sid("a"), evs(5..6), ExpectedVersion::Exact(Version(3)))
        .await
        .unwrap();
    assert_eq!((r.version, r.position), (Version(4), Position(5)));
}

#[wasm_bindgen_test]
async fn a_closed_store_answers_store_closed_and_ends_subscriptions() {
    let name = random_name();
    let s = open(&name).await;
    s.append(&sid("a"), evs(1..3), ExpectedVersion::NoStream)
        .await
        .unwrap();
    let mut sub = Subscription::new(&s, Position(0), EventFilter::default(), 10);
    assert_eq!(sub.next_batch().await.unwrap().unwrap().len(), 2);
    // Caught up and waiting: closing ends the subscription.
    let close_later = async {
        tick(5).await;
        s.close();
    };
    let (ended, ()) = futures::future::join(sub.next_batch(), close_later).await;
    assert_eq!(ended, Ok(None));
    let closed = |e: Error| assert_eq!(e.code(), "STORE_CLOSED", "{e}");
    closed(
        s.append(&sid("a"), evs(3..4), ExpectedVersion::Any)
            .await
            .unwrap_err(),
    );
    closed(s.read_all(&ReadAllOptions::default()).await.unwrap_err());
    closed(
        s.read_stream(&sid("a"), &ReadStreamOptions::default())
            .await
            .unwrap_err(),
    );
    closed(s.stream_version(&sid("a")).await.unwrap_err());
    closed(s.head().await.unwrap_err());
    closed(s.storage().await.unwrap_err());
    closed(s.request_persistence().await.unwrap_err());
    s.close();
    drop(s);
    let s = open(&name).await;
    assert_eq!(s.head().await.unwrap(), Position(2), "nothing was written");
}

// ---------------------------------------------------------------------------------------------
// group commit

#[wasm_bindgen_test]
async fn concurrent_appends_share_one_transaction_with_their_own_results() {
    let s = open(&random_name()).await;
    for k in 0..4u32 {
        s.append(
            &sid(&format!("g-{k}")),
            evs(k..k + 1),
            ExpectedVersion::NoStream,
        )
        .await
        .unwrap();
    }
    let before = s.transactions_committed();
    let jobs: Vec<(String, ExpectedVersion)> = (0..16u32)
        .map(|i| {
            let stream = format!("g-{}", i % 4);
            let expected = match i / 4 {
                0 => ExpectedVersion::Exact(Version(1)), // ok: 1 -> 2
                1 => ExpectedVersion::Exact(Version(1)), // wrong: the group's first moved it to 2
                2 => ExpectedVersion::Any,               // ok: 2 -> 3
                _ => ExpectedVersion::NoStream,          // wrong: it exists
            };
            (stream, expected)
        })
        .collect();
    let ids: Vec<StreamId> = jobs.iter().map(|(stream, _)| sid(stream)).collect();
    let futures = jobs
        .iter()
        .zip(&ids)
        .enumerate()
        .map(|(i, ((_, expected), stream))| {
            let n = 100 + i as u32 * 2;
            s.append(stream, evs(n..n + 2), *expected)
        });
    let results = join_all(futures).await;
    assert_eq!(
        s.transactions_committed(),
        before + 1,
        "16 appends of one tick share one transaction"
    );
    let mut next_position = 4;
    for (i, r) in results.iter().enumerate() {
        match i / 4 {
            0 | 2 => {
                next_position += 2;
                let r = r.as_ref().unwrap();
                let version = if i / 4 == 0 { 3 } else { 5 };
                assert_eq!(
                    (r.version.0, r.position.0),
                    (version, next_position),
                    "append {i}"
                );
            }
            _ => {
                let actual = if i / 4 == 1 { 3 } else { 5 };
                assert_eq!(
                    r.as_ref().unwrap_err(),
                    &Error::WrongExpectedVersion {
                        stream: sid(&jobs[i].0),
                        expected: jobs[i].1,
                        actual: Version(actual),
                    },
                    "append {i}"
                );
            }
        }
    }
    let log = log(&s).await;
    assert_eq!(log.len(), 4 + 16, "failed appends wrote nothing");
    let positions: Vec<u64> = log.iter().map(|e| e.position.0).collect();
    assert_eq!(positions, (1..=20).collect::<Vec<_>>());
    for k in 0..4 {
        let stream = s
            .read_stream(&sid(&format!("g-{k}")), &ReadStreamOptions::default())
            .await
            .unwrap();
        let versions: Vec<u64> = stream.iter().map(|e| e.version.0).collect();
        assert_eq!(versions, [1, 2, 3, 4, 5]);
    }
}

#[wasm_bindgen_test]
async fn a_reused_id_in_a_group_fails_alone() {
    let name = random_name();
    let s = open(&name).await;
    let first = s
        .append(&sid("a"), evs(1..3), ExpectedVersion::NoStream)
        .await
        .unwrap();
    let mut changed = ev(2);
    changed.data = Json::parse(r#"{"changed":true}"#).unwrap();
    let results = join_all([
        s.append(&sid("b"), evs(10..11), ExpectedVersion::NoStream),
        s.append(&sid("a"), evs(1..3), ExpectedVersion::NoStream), // a retry: idempotent
        s.append(&sid("c"), vec![changed], ExpectedVersion::Any),  // reused id: conflict
        s.append(&sid("b"), evs(11..12), ExpectedVersion::Exact(Version(1))),
        s.append(&sid("d"), evs(20..21), ExpectedVersion::Any),
        s.append(&sid("d"), evs(20..21), ExpectedVersion::Any), // same id twice in a group
    ])
    .await;
    assert_eq!(results[0].as_ref().unwrap().position, Position(3));
    assert_eq!(results[1].as_ref().unwrap(), &first);
    assert_eq!(results[2].as_ref().unwrap_err().code(), "EVENT_ID_CONFLICT");
    assert_eq!(results[3].as_ref().unwrap().position, Position(4));
    assert_eq!(results[4].as_ref().unwrap().position, Position(5));
    assert_eq!(results[5].as_ref().unwrap(), results[4].as_ref().unwrap());
    let log = log(&s).await;
    let ids: Vec<EventId> = log.iter().map(|e| e.id.clone()).collect();
    assert_eq!(ids, [id(1), id(2), id(10), id(11), id(20)]);
}

// ---------------------------------------------------------------------------------------------
// idempotency across reopen (the ConstraintError slow path)

#[wasm_bindgen_test]
async fn retries_and_conflicts_are_recognised_after_reopen() {
    let name = random_name();
    let s = open(&name).await;
    let original = s
        .append(&sid("a"), evs(1..4), ExpectedVersion::NoStream)
        .await
        .unwrap();
    s.append(&sid("b"), evs(4..5), ExpectedVersion::NoStream)
        .await
        .unwrap();
    s.close();
    drop(s);
    let s = open(&name).await;
    let before = snapshot(&s).await;
    for expected in [
        ExpectedVersion::NoStream,
        ExpectedVersion::Any,
        ExpectedVersion::Exact(Version(0)),
    ] {
        assert_eq!(
            s.append(&sid("a"), evs(1..4), expected).await.unwrap(),
            original
        );
    }
    let mut changed = evs(1..4);
    changed[2].data = Json::parse("[]").unwrap();
    for (stream, events, expected) in [
        ("a", changed, ExpectedVersion::Any),
        ("c", evs(4..5), ExpectedVersion::Any),
        ("a", evs(2..4), ExpectedVersion::Exact(Version(3))),
        ("a", evs(3..6), ExpectedVersion::Any),
    ] {
        let err = s.append(&sid(stream), events, expected).await.unwrap_err();
        assert_eq!(err.code(), "EVENT_ID_CONFLICT", "{err}");
        assert_eq!(snapshot(&s).await, before, "a conflict changed the store");
    }
}

// ---------------------------------------------------------------------------------------------
// large appends are split into chunks

#[wasm_bindgen_test]
async fn a_large_append_spans_several_records_and_reads_back_whole() {
    let s = open(&random_name()).await;
    let big = "x".repeat(1000);
    let batch: Vec<NewEvent> = (0..300u32)
        .map(|n| NewEvent {
            data: Json::parse(format!(r#"{{"n":{n},"pad":"{big}"}}"#)).unwrap(),
            ..ev(n)
        })
        .collect();
    s.append(&sid("big"), batch.clone(), ExpectedVersion::NoStream)
        .await
        .unwrap();
    s.append(&sid("small"), evs(1000..1001), ExpectedVersion::NoStream)
        .await
        .unwrap();
    let all = log(&s).await;
    assert_eq!(all.len(), 301);
    for (new, got) in batch.iter().zip(&all) {
        assert!(new.same_content(got));
    }
    let mid = s
        .read_stream(
            &sid("big"),
            &ReadStreamOptions {
                from: Some(Version(150)),
                limit: Some(3),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let versions: Vec<u64> = mid.iter().map(|e| e.version.0).collect();
    assert_eq!(versions, [150, 151, 152]);
    let page = s
        .read_all(&ReadAllOptions {
            after: Position(199),
            limit: Some(2),
            ..Default::default()
        })
        .await
        .unwrap();
    let positions: Vec<u64> = page.iter().map(|e| e.position.0).collect();
    assert_eq!(positions, [200, 201]);
    // A retry of the whole split batch is still recognised.
    let again = s
        .append(&sid("big"), batch, ExpectedVersion::NoStream)
        .await
        .unwrap();
    assert_eq!(again.position, Position(300));
    assert_eq!(log(&s).await.len(), 301);
}

// ---------------------------------------------------------------------------------------------
// corrupt data

#[wasm_bindgen_test]
async fn a_corrupt_record_is_a_typed_error_naming_it() {
    let name = random_name();
    let s = open(&name).await;
    s.append(&sid("a"), evs(1..3), ExpectedVersion::NoStream)
        .await
        .unwrap();
    let garbage = obj(&[
        ("p", JsValue::from_f64(3.0)),
        ("n", JsValue::from_f64(1.0)),
        ("s", "a".into()),
        ("v", JsValue::from_f64(3.0)),
        ("t", JsValue::from_f64(0.0)),
        ("ids", strings(&["not-an-id"])),
        ("e", "{this is not json".into()),
    ]);
    raw_put(&name, &garbage).await;
    let corrupt = |e: Error| {
        assert_eq!(e.code(), "CORRUPT_DATA", "{e}");
        assert!(
            matches!(&e, Error::CorruptData { record, .. } if record == "chunks/3"),
            "{e:?}"
        );
    };
    corrupt(s.read_all(&ReadAllOptions::default()).await.unwrap_err());
    corrupt(
        s.read_stream(&sid("a"), &ReadStreamOptions::default())
            .await
            .unwrap_err(),
    );
    // Records before the corrupt one still read.
    let ok = s
        .read_all(&ReadAllOptions {
            limit: Some(2),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(ok.len(), 2);
    // Wrong shapes: a mismatching header, a non-numeric field.
    let wrong_count = obj(&[
        ("p", JsValue::from_f64(10.0)),
        ("n", JsValue::from_f64(2.0)),
        ("s", "z".into()),
        ("v", JsValue::from_f64(2.0)),
        ("t", JsValue::from_f64(0.0)),
        ("ids", strings(&[])),
        ("e", "[]".into()),
    ]);
    raw_put(&name, &wrong_count).await;
    let err = s
        .read_all(&ReadAllOptions {
            after: Position(3),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::CorruptData { record, .. } if record == "chunks/10"),
        "{err:?}"
    );
    let no_time = obj(&[("p", JsValue::from_f64(11.0)), ("t", "soon".into())]);
    raw_put(&name, &no_time).await;
    let err = s
        .append(&sid("q"), evs(50..51), ExpectedVersion::Any)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::CorruptData { record, .. } if record == "chunks/11"),
        "{err:?}"
    );
    assert_eq!(
        s.head().await.unwrap(),
        Position(11),
        "the failed append wrote nothing"
    );
}

// ---------------------------------------------------------------------------------------------
// schema versions

fn create_v1_schema(db: &IdbDatabase) {
    let params = web_sys::IdbObjectStoreParameters::new();
    params.set_key_path(&"p".into());
    let chunks = db
        .create_object_store_with_optional_parameters(CHUNKS, &params)
        .unwrap();
    let unique = web_sys::IdbIndexParameters::new();
    unique.set_unique(true);
    chunks
        .create_index_with_str_sequence_and_optional_parameters(
            STREAM_INDEX,
            &strings(&["s", "v"]),
            &unique,
        )
        .unwrap();
}

#[wasm_bindgen_test]
async fn a_version_1_database_is_upgraded_in_place() {
    let name = random_name();
    let old_event = RecordedEvent {
        id: id(7),
        stream: sid("legacy-1"),
        event_type: EventType::new("Imported").unwrap(),
        data: Json::parse(r#"{"from":"v1"}"#).unwrap(),
        metadata: Json::empty_object(),
        version: Version(1),
        position: Position(1),
        timestamp: eventfold::Timestamp(1_700_000_000_000),
    };
    let text = serde_json::to_string(&[&old_event]).unwrap();
    let record = obj(&[
        ("p", JsValue::from_f64(1.0)),
        ("n", JsValue::from_f64(1.0)),
        ("s", "legacy-1".into()),
        ("v", JsValue::from_f64(1.0)),
        ("t", JsValue::from_f64(1_700_000_000_000.0)),
        ("ids", strings(&[id(7).as_str()])),
        ("e", text.into()),
    ]);
    let db = raw_open(&name, 1, |db, _| create_v1_schema(db)).await;
    let tx = db
        .transaction_with_str_and_mode(CHUNKS, web_sys::IdbTransactionMode::Readwrite)
        .unwrap();
    settle(&tx.object_store(CHUNKS).unwrap().put(&record).unwrap())
        .await
        .unwrap();
    db.close();
    assert_eq!(raw_version(&name).await, 1.0);

    let s = open(&name).await;
    assert_eq!(raw_version(&name).await, f64::from(SCHEMA_VERSION));
    // The upgrade filled in q, the position before the record, and indexed it.
    let db = raw_open(&name, SCHEMA_VERSION, |_, _| panic!("no upgrade expected")).await;
    let tx = db.transaction_with_str(CHUNKS).unwrap();
    let chunks = tx.object_store(CHUNKS).unwrap();
    let upgraded = settle(&chunks.get(&JsValue::from_f64(1.0)).unwrap())
        .await
        .unwrap();
    assert_eq!(
        js_sys::Reflect::get(&upgraded, &"q".into())
            .unwrap()
            .as_f64(),
        Some(0.0)
    );
    let by_prev = chunks.index(PREV_INDEX).unwrap();
    let found = settle(&by_prev.get_key(&JsValue::from_f64(0.0)).unwrap())
        .await
        .unwrap();
    assert_eq!(found.as_f64(), Some(1.0));
    db.close();
    assert_eq!(log(&s).await, std::slice::from_ref(&old_event));
    // The old record's ids are known: its id cannot be reused.
    let mut other = NewEvent::new(id(7), EventType::new("Imported").unwrap(), Json::null());
    let err = s
        .append(&sid("legacy-2"), vec![other.clone()], ExpectedVersion::Any)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "EVENT_ID_CONFLICT");
    other.data = old_event.data.clone();
    let retry = s
        .append(&sid("legacy-1"), vec![other], ExpectedVersion::NoStream)
        .await
        .unwrap();
    assert_eq!(retry.position, Position(1));
    let r = s
        .append(
            &sid("legacy-1"),
            evs(8..9),
            ExpectedVersion::Exact(Version(1)),
        )
        .await
        .unwrap();
    assert_eq!((r.version, r.position), (Version(2), Position(2)));
}

#[wasm_bindgen_test]
async fn a_version_2_database_gets_a_multi_entry_prev_index() {
    // A record exactly as version 2 wrote it (the record layout did not change), copied from
    // a current store into a database built by hand with version 2's schema.
    let source = random_name();
    let s = open(&source).await;
    s.append(&sid("a"), evs(1..3), ExpectedVersion::NoStream)
        .await
        .unwrap();
    let written = log(&s).await;
    s.close();
    let db = raw_open(&source, SCHEMA_VERSION, |_, _| {
        panic!("no upgrade expected")
    })
    .await;
    let tx = db.transaction_with_str(CHUNKS).unwrap();
    let records = settle(&tx.object_store(CHUNKS).unwrap().get_all().unwrap())
        .await
        .unwrap();
    db.close();

    let name = random_name();
    let db = raw_open(&name, 2, |db, _| {
        let params = web_sys::IdbObjectStoreParameters::new();
        params.set_key_path(&"p".into());
        let chunks = db
            .create_object_store_with_optional_parameters(CHUNKS, &params)
            .unwrap();
        let unique = web_sys::IdbIndexParameters::new();
        unique.set_unique(true);
        chunks
            .create_index_with_str_sequence_and_optional_parameters(
                STREAM_INDEX,
                &strings(&["s", "v"]),
                &unique,
            )
            .unwrap();
        chunks
            .create_index_with_str_and_optional_parameters(PREV_INDEX, "q", &unique)
            .unwrap();
        db.create_object_store("state").unwrap();
        let params = web_sys::IdbObjectStoreParameters::new();
        params.set_key_path(&strings(&["m", "k"]));
        let records = db
            .create_object_store_with_optional_parameters("records", &params)
            .unwrap();
        let multi = web_sys::IdbIndexParameters::new();
        multi.set_multi_entry(true);
        records
            .create_index_with_str_and_optional_parameters("entries", "x", &multi)
            .unwrap();
    })
    .await;
    let tx = db
        .transaction_with_str_and_mode(CHUNKS, web_sys::IdbTransactionMode::Readwrite)
        .unwrap();
    for record in js_sys::Array::from(&records).iter() {
        settle(&tx.object_store(CHUNKS).unwrap().add(&record).unwrap())
            .await
            .unwrap();
    }
    db.close();

    let s = open(&name).await;
    assert_eq!(log(&s).await, written);
    let r = s
        .append(&sid("a"), evs(3..4), ExpectedVersion::Exact(Version(2)))
        .await
        .unwrap();
    assert_eq!(r.position, Position(3));
    s.close();
    assert_eq!(raw_version(&name).await, f64::from(SCHEMA_VERSION));
    let db = raw_open(&name, SCHEMA_VERSION, |_, _| panic!("no upgrade expected")).await;
    let tx = db.transaction_with_str(CHUNKS).unwrap();
    let prev = tx.object_store(CHUNKS).unwrap().index(PREV_INDEX).unwrap();
    assert!(prev.multi_entry() && prev.unique());
    let count = settle(&prev.count().unwrap()).await.unwrap();
    assert_eq!(count.as_f64(), Some(2.0), "one entry per record");
    db.close();
}

#[wasm_bindgen_test]
async fn a_database_from_a_newer_schema_is_refused_and_left_alone() {
    let name = random_name();
    let newer = SCHEMA_VERSION + 1;
    let db = raw_open(&name, newer, |db, _| {
        db.create_object_store("future").unwrap();
    })
    .await;
    db.close();
    let err = IndexedDbStore::open(IdbOptions::new(&name))
        .await
        .err()
        .unwrap();
    assert_eq!(
        err,
        Error::SchemaTooNew {
            found: newer,
            supported: SCHEMA_VERSION
        }
    );
    assert_eq!(raw_version(&name).await, f64::from(newer));
}

#[wasm_bindgen_test]
async fn another_tab_upgrading_closes_the_store_cleanly() {
    let name = random_name();
    let s = open(&name).await;
    s.append(&sid("a"), evs(1..2), ExpectedVersion::NoStream)
        .await
        .unwrap();
    // Another tab (a second connection) upgrades: this store must let it through.
    let db = raw_open(&name, SCHEMA_VERSION + 1, |_, _| {}).await;
    db.close();
    let reason = s.closed_reason().expect("the store closed itself");
    assert!(reason.contains("another tab upgraded"), "{reason}");
    let err = s
        .append(&sid("a"), evs(2..3), ExpectedVersion::Any)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::StoreClosed { reason } if reason.contains("another tab upgraded")),
        "{err:?}"
    );
    assert!(s.changes().is_closed());
}

// ---------------------------------------------------------------------------------------------
// several tabs (two connections in one page behave as two tabs: separate connections and
// BroadcastChannel objects)

#[wasm_bindgen_test]
async fn appends_in_another_tab_reach_subscribers() {
    let name = random_name();
    let (a, b) = (open(&name).await, open(&name).await);
    let mut received = Vec::new();
    let mut sub = Subscription::new(&b, Position(0), EventFilter::default(), 100);
    a.append(&sid("x"), evs(1..3), ExpectedVersion::NoStream)
        .await
        .unwrap();
    received.extend(sub.next_batch().await.unwrap().unwrap());
    {
        let waiting = sub.next_batch();
        let append_later = async {
            tick(5).await;
            a.append(&sid("y"), evs(3..4), ExpectedVersion::NoStream)
                .await
                .unwrap();
        };
        let (batch, ()) = futures::future::join(waiting, append_later).await;
        received.extend(batch.unwrap().unwrap());
    }
    let positions: Vec<u64> = received.iter().map(|e| e.position.0).collect();
    assert_eq!(positions, [1, 2, 3]);
    assert_eq!(b.changes().head(), Position(3), "b learned a's head");
}

#[wasm_bindgen_test]
async fn a_tab_with_an_outdated_view_cannot_overwrite_another_tabs_appends() {
    let name = random_name();
    let (a, b) = (open(&name).await, open(&name).await);
    a.append(&sid("s"), evs(1..2), ExpectedVersion::NoStream)
        .await
        .unwrap();
    b.append(&sid("s"), evs(2..4), ExpectedVersion::Exact(Version(1)))
        .await
        .unwrap();
    // Right away, before b's BroadcastChannel message reaches a: a still believes the log
    // ends at 1 and stream s is at version 1.
    let err = a
        .append(&sid("s"), evs(4..5), ExpectedVersion::Exact(Version(1)))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        Error::WrongExpectedVersion {
            stream: sid("s"),
            expected: ExpectedVersion::Exact(Version(1)),
            actual: Version(3)
        }
    );
    b.append(&sid("t"), evs(5..6), ExpectedVersion::NoStream)
        .await
        .unwrap();
    // Ids b wrote are known to a at once, although a has not caught up yet.
    let again = a
        .append(&sid("t"), evs(5..6), ExpectedVersion::Any)
        .await
        .unwrap();
    assert_eq!((again.version, again.position), (Version(1), Position(4)));
    b.append(&sid("u"), evs(7..8), ExpectedVersion::NoStream)
        .await
        .unwrap();
    let err = a
        .append(&sid("v"), evs(7..8), ExpectedVersion::Any)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "EVENT_ID_CONFLICT", "{err}");
    let r = a
        .append(&sid("s"), evs(6..7), ExpectedVersion::Any)
        .await
        .unwrap();
    assert_eq!((r.version, r.position), (Version(4), Position(6)));
    let positions: Vec<(u64, String, u64)> = log(&b)
        .await
        .iter()
        .map(|e| (e.position.0, e.stream.to_string(), e.version.0))
        .collect();
    assert_eq!(
        positions,
        [
            (1, "s".into(), 1),
            (2, "s".into(), 2),
            (3, "s".into(), 3),
            (4, "t".into(), 1),
            (5, "u".into(), 1),
            (6, "s".into(), 4)
        ]
    );
}

#[wasm_bindgen_test]
async fn two_tabs_racing_on_one_stream_take_each_version_once() {
    let name = random_name();
    let (a, b) = (open(&name).await, open(&name).await);
    let mut wins = 0;
    let mut losses = 0;
    for round in 0..10u32 {
        let expected = ExpectedVersion::Exact(Version(u64::from(round)));
        let n = 1000 + round * 10;
        let (ra, rb) = futures::future::join(
            a.append(&sid("race"), evs(n..n + 1), expected),
            b.append(&sid("race"), evs(n + 1..n + 2), expected),
        )
        .await;
        for r in [ra, rb] {
            match r {
                Ok(r) => {
                    wins += 1;
                    assert_eq!(r.version.0, u64::from(round) + 1);
                }
                Err(Error::WrongExpectedVersion { actual, .. }) => {
                    losses += 1;
                    assert_eq!(actual.0, u64::from(round) + 1);
                }
                Err(e) => panic!("{e}"),
            }
        }
    }
    assert_eq!((wins, losses), (10, 10));
    let stream = a
        .read_stream(&sid("race"), &ReadStreamOptions::default())
        .await
        .unwrap();
    let versions: Vec<u64> = stream.iter().map(|e| e.version.0).collect();
    assert_eq!(versions, (1..=10).collect::<Vec<_>>());
    assert_eq!(log(&b).await, stream);
}

// ---------------------------------------------------------------------------------------------
// storage health and errors

#[wasm_bindgen_test]
async fn storage_reports_usage_and_quota() {
    let s = open(&random_name()).await;
    s.append(&sid("a"), evs(1..50), ExpectedVersion::NoStream)
        .await
        .unwrap();
    let info = s.storage().await.unwrap();
    assert!(info.quota > 0, "{info:?}");
    assert!(info.usage <= info.quota, "{info:?}");
    let granted = s.request_persistence().await.unwrap();
    let after = s.storage().await.unwrap();
    assert_eq!(after.persisted, granted);
}

#[wasm_bindgen_test]
fn dom_exception_names_map_to_typed_errors() {
    let quota = error_from_dom_exception("QuotaExceededError", "the quota has been exceeded");
    assert_eq!(
        quota,
        Error::QuotaExceeded {
            message: "the quota has been exceeded".into()
        }
    );
    assert_eq!(
        error_from_dom_exception("VersionError", "").code(),
        "SCHEMA_TOO_NEW"
    );
    assert_eq!(
        error_from_dom_exception("InvalidStateError", "closing").code(),
        "STORE_CLOSED"
    );
    let abort = error_from_dom_exception("AbortError", "aborted");
    assert_eq!(abort.code(), "STORAGE_ERROR");
    assert!(abort.to_string().contains("aborted"), "{abort}");
    let other = error_from_dom_exception("UnknownError", "disk");
    assert!(other.to_string().contains("UnknownError"), "{other}");
}

// ---------------------------------------------------------------------------------------------
// state records and read models, compared with the in-memory reference store

#[wasm_bindgen_test]
async fn state_records_round_trip_and_survive_reopen() {
    let name = random_name();
    let s = open(&name).await;
    assert_eq!(s.get_state("snap/order-1").await.unwrap(), None);
    let v = Json::parse(r#"{"version":3,"state":{"total":12.5,"ü":"✓"}}"#).unwrap();
    s.put_state("snap/order-1", v.clone()).await.unwrap();
    s.put_state("other", Json::parse("[1]").unwrap())
        .await
        .unwrap();
    s.close();
    drop(s);
    let s = open(&name).await;
    assert_eq!(s.get_state("snap/order-1").await.unwrap(), Some(v));
    s.delete_state("snap/order-1").await.unwrap();
    s.delete_state("never-there").await.unwrap();
    assert_eq!(s.get_state("snap/order-1").await.unwrap(), None);
    assert!(s.get_state("other").await.unwrap().is_some());
    s.close();
    assert_eq!(
        s.get_state("other").await.unwrap_err().code(),
        "STORE_CLOSED"
    );
}

fn rm_value(status: &str, total: f64) -> (Json, Vec<(String, IndexKey)>) {
    (
        Json::parse(format!(r#"{{"status":"{status}","total":{total}}}"#)).unwrap(),
        vec![
            ("status".into(), IndexKey::Text(status.into())),
            ("total".into(), IndexKey::Number(total)),
        ],
    )
}

#[wasm_bindgen_test]
async fn read_models_answer_like_the_reference_store() {
    let idb = open(&random_name()).await;
    let mem = MemoryStore::new(eventfold::store::contract::test_clock());
    let writes = |batch: &[(&str, Option<(&str, f64)>)]| -> Vec<RecordWrite> {
        batch
            .iter()
            .map(|(k, v)| RecordWrite {
                key: (*k).to_string(),
                value: v.map(|(s, t)| rm_value(s, t)),
            })
            .collect()
    };
    let first = writes(&[
        ("o-1", Some(("pending", 10.0))),
        ("o-2", Some(("paid", 5.5))),
        ("o-3", Some(("pending", -2.0))),
        ("o-10", Some(("shipped", 10.0))),
        ("o-4", Some(("pending", 99.0))),
    ]);
    let second = writes(&[("o-4", None), ("o-2", Some(("pending", 7.0)))]);
    let other_model = writes(&[("x-1", Some(("pending", 1.0)))]);
    for (batch, cp) in [(first, "1"), (second, "2")] {
        idb.commit_records(
            "orders",
            batch.clone(),
            "rm/orders",
            Json::parse(cp).unwrap(),
        )
        .await
        .unwrap();
        mem.commit_records("orders", batch, "rm/orders", Json::parse(cp).unwrap())
            .await
            .unwrap();
    }
    idb.commit_records("other", other_model.clone(), "rm/other", Json::null())
        .await
        .unwrap();
    mem.commit_records("other", other_model, "rm/other", Json::null())
        .await
        .unwrap();
    assert_eq!(
        idb.get_state("rm/orders").await.unwrap(),
        Some(Json::parse("2").unwrap()),
        "the checkpoint commits with the records"
    );
    let text = |s: &str| IndexKey::Text(s.into());
    let bound = |key: IndexKey, open: bool| Some(Bound { key, open });
    let ranges = [
        IndexRange::default(),
        IndexRange {
            lower: bound(text("pending"), false),
            upper: bound(text("pending"), false),
        },
        IndexRange {
            lower: bound(text("paid"), true),
            upper: None,
        },
        IndexRange {
            lower: None,
            upper: bound(text("shipped"), true),
        },
        IndexRange {
            lower: bound(IndexKey::Number(-2.0), true),
            upper: bound(IndexKey::Number(10.0), false),
        },
    ];
    for index in ["status", "total", "missing"] {
        for range in &ranges {
            for (limit, reverse) in [
                (None, false),
                (Some(2), false),
                (Some(2), true),
                (None, true),
            ] {
                let q = IndexQuery {
                    index: index.into(),
                    range: range.clone(),
                    limit,
                    reverse,
                };
                assert_eq!(
                    idb.query_records("orders", &q).await.unwrap(),
                    mem.query_records("orders", &q).await.unwrap(),
                    "{q:?}"
                );
            }
        }
    }
    assert_eq!(
        idb.record("orders", "o-2").await.unwrap(),
        mem.record("orders", "o-2").await.unwrap()
    );
    assert_eq!(idb.record("orders", "o-4").await.unwrap(), None);
    idb.clear_records("orders").await.unwrap();
    let all = IndexQuery {
        index: "status".into(),
        range: IndexRange::default(),
        limit: None,
        reverse: false,
    };
    assert!(idb.query_records("orders", &all).await.unwrap().is_empty());
    assert_eq!(idb.record("orders", "o-1").await.unwrap(), None);
    assert_eq!(
        idb.query_records("other", &all).await.unwrap().len(),
        1,
        "clearing a model leaves the others"
    );
}

// ---------------------------------------------------------------------------------------------
// measurements (not assertions): `cargo test --release --target wasm32-unknown-unknown --test
// web -- --include-ignored --nocapture measure` with the runner env of wasm-pack; numbers go to
// docs/storage.md

fn now() -> f64 {
    let perf = js_sys::Reflect::get(&js_sys::global(), &"performance".into()).unwrap();
    let now: js_sys::Function = js_sys::Reflect::get(&perf, &"now".into())
        .unwrap()
        .unchecked_into();
    now.call0(&perf).unwrap().as_f64().unwrap()
}

/// ~200 bytes of JSON per event, like the benchmark's.
fn sized_event(n: u32) -> NewEvent {
    NewEvent::new(
        EventId::parse(format!("{:08x}-0000-4000-8000-{:012x}", n, n)).unwrap(),
        EventType::new("ItemAdded").unwrap(),
        Json::parse(format!(
            r#"{{"sku":"sku-{n:06}","qty":{},"price":{}.5,"note":"{}"}}"#,
            n % 7,
            n % 100,
            "x".repeat(120)
        ))
        .unwrap(),
    )
}

/// Raw IndexedDB from JavaScript writing eventfold's records, one transaction per `per` events;
/// with `ids_index`, plus a unique multiEntry index on the ids (the earlier layout).
async fn measure_raw_js(name: &str, events: u32, per: u32, ids_index: bool) -> f64 {
    let f = js_sys::Function::new_with_args(
        "name, total, per, idsIndex",
        r#"return (async () => {
          const open = indexedDB.open(name, 1);
          open.onupgradeneeded = () => {
            const c = open.result.createObjectStore("chunks", { keyPath: "p" });
            c.createIndex("stream", ["s", "v"], { unique: true });
            c.createIndex("prev", "q", { unique: true });
            if (idsIndex) c.createIndex("ids", "ids", { unique: true, multiEntry: true });
          };
          const db = await new Promise((res, rej) => { open.onsuccess = () => res(open.result); open.onerror = () => rej(open.error); });
          const t0 = performance.now();
          let p = 0;
          for (let i = 0; i < total; i += per) {
            const tx = db.transaction("chunks", "readwrite", { durability: "relaxed" });
            const evs = [];
            for (let k = 0; k < per; k++) evs.push({ id: crypto.randomUUID(), stream: "s", type: "ItemAdded", data: { sku: "sku-" + k, qty: k % 7, price: 1.5, note: "x".repeat(120) }, metadata: {}, version: p + 1, position: ++p, timestamp: Date.now() });
            tx.objectStore("chunks").add({ p, q: p - per, n: per, s: "s", v: p, t: Date.now(), ids: evs.map((e) => e.id), e: JSON.stringify(evs) });
            const done = new Promise((res, rej) => { tx.oncomplete = res; tx.onabort = () => rej(tx.error); });
            tx.commit();
            await done;
          }
          const ms = performance.now() - t0;
          db.close();
          return ms;
        })()"#,
    );
    let args = js_sys::Array::of4(
        &name.into(),
        &f64::from(events).into(),
        &f64::from(per).into(),
        &ids_index.into(),
    );
    let p: js_sys::Promise = f.apply(&JsValue::NULL, &args).unwrap().unchecked_into();
    JsFuture::from(p).await.unwrap().as_f64().unwrap()
}

fn report(what: &str, events: u32, ms: f64) {
    wasm_bindgen_test::console_log!(
        "MEASURE {what}: {events} events in {ms:.0} ms = {:.0} events/s",
        f64::from(events) * 1000.0 / ms
    );
}

#[wasm_bindgen_test]
#[ignore]
async fn measure_throughput() {
    let relaxed = |name: &str| IdbOptions {
        durability: Durability::Relaxed,
        ..IdbOptions::new(name)
    };
    // (a) bulk: 100,000 events in awaited appends of 100.
    let s = IndexedDbStore::open(relaxed(&random_name())).await.unwrap();
    let total = 100_000u32;
    let t0 = now();
    for i in (0..total).step_by(100) {
        let batch = (i..i + 100).map(sized_event).collect();
        s.append(
            &sid(&format!("bulk-{}", i / 100 % 1000)),
            batch,
            ExpectedVersion::Any,
        )
        .await
        .unwrap();
    }
    report("eventfold bulk appends of 100", total, now() - t0);
    let t0 = now();
    let all = s.read_all(&ReadAllOptions::default()).await.unwrap();
    report("eventfold readAll", all.len() as u32, now() - t0);
    let name = s.name().to_string();
    s.close();
    drop(s);
    // The price of the in-memory id check: a new connection's first append reads every id.
    let s = IndexedDbStore::open(relaxed(&name)).await.unwrap();
    let t0 = now();
    s.append(
        &sid("after-reopen"),
        vec![sized_event(total + 1)],
        ExpectedVersion::Any,
    )
    .await
    .unwrap();
    wasm_bindgen_test::console_log!(
        "MEASURE first append after reopening a {total}-event log: {:.0} ms",
        now() - t0
    );
    let t0 = now();
    s.append(
        &sid("after-reopen"),
        vec![sized_event(total + 2)],
        ExpectedVersion::Any,
    )
    .await
    .unwrap();
    wasm_bindgen_test::console_log!("MEASURE second append: {:.1} ms", now() - t0);
    s.close();
    for ids in [true, false] {
        let ms = measure_raw_js(&random_name(), total, 100, ids).await;
        report(
            &format!("raw JS same layout, appends of 100, ids index {ids}"),
            total,
            ms,
        );
    }

    // (b) 2,000 single-event awaited appends.
    let s = IndexedDbStore::open(relaxed(&random_name())).await.unwrap();
    let t0 = now();
    for i in 0..2000u32 {
        s.append(&sid("single"), vec![sized_event(i)], ExpectedVersion::Any)
            .await
            .unwrap();
    }
    report("eventfold single awaited appends", 2000, now() - t0);
    let t0 = now();
    let stream = s
        .read_stream(&sid("single"), &ReadStreamOptions::default())
        .await
        .unwrap();
    report(
        "eventfold readStream of 1-event chunks",
        stream.len() as u32,
        now() - t0,
    );
    s.close();
    let ms = measure_raw_js(&random_name(), 2000, 1, false).await;
    report("raw JS, eventfold's layout, single appends", 2000, ms);

    // (c) 16 concurrent appenders, 2,000 single-event appends in all.
    let s = IndexedDbStore::open(relaxed(&random_name())).await.unwrap();
    let before = s.transactions_committed();
    let t0 = now();
    let streams: Vec<StreamId> = (0..16).map(|k| sid(&format!("c-{k}"))).collect();
    let appenders = streams.iter().enumerate().map(|(k, stream)| {
        let s = &s;
        async move {
            for i in 0..125u32 {
                s.append(
                    stream,
                    vec![sized_event(k as u32 * 1000 + i)],
                    ExpectedVersion::Any,
                )
                .await
                .unwrap();
            }
        }
    });
    join_all(appenders).await;
    report("eventfold 16 concurrent appenders", 2000, now() - t0);
    wasm_bindgen_test::console_log!(
        "MEASURE transactions for 2000 concurrent appends: {}",
        s.transactions_committed() - before
    );

    // (d) a 10,000-event stream read back.
    let s = IndexedDbStore::open(relaxed(&random_name())).await.unwrap();
    for i in (0..10_000u32).step_by(100) {
        let batch = (i..i + 100).map(sized_event).collect();
        s.append(&sid("long"), batch, ExpectedVersion::Any)
            .await
            .unwrap();
    }
    let t0 = now();
    let stream = s
        .read_stream(&sid("long"), &ReadStreamOptions::default())
        .await
        .unwrap();
    report(
        "eventfold readStream 10k (chunks of 100)",
        stream.len() as u32,
        now() - t0,
    );
    let t0 = now();
    for v in (1..=10_000u64).step_by(100) {
        let one = s
            .read_stream(
                &sid("long"),
                &ReadStreamOptions {
                    from: Some(Version(v)),
                    limit: Some(1),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(one.len(), 1);
    }
    report(
        "eventfold single-event readStream (100 reads)",
        100,
        now() - t0,
    );
}
