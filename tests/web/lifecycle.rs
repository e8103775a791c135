//! Opening, closing and schema versions: durability across reopen, a closed store, the
//! upgrade of a version 1 database, a newer schema refused, another tab upgrading.

use super::*;

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

// Schema versions.

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
async fn a_failing_upgrade_is_a_storage_error_and_rolls_back() {
    // A version-1 database that somehow already has a `state` store: the upgrade to the
    // current schema fails creating it, inside the `versionchange` transaction.
    let name = random_name();
    let db = raw_open(&name, 1, |db, _| {
        create_v1_schema(db);
        db.create_object_store("state").unwrap();
    })
    .await;
    db.close();
    let err = IndexedDbStore::open(IdbOptions::new(&name))
        .await
        .err()
        .unwrap();
    assert!(
        matches!(&err, Error::Storage { message }
            if message.starts_with("upgrading the database from schema version 1 to 3 failed: ConstraintError")),
        "{err:?}"
    );
    // Rolled back: still version 1, without the stores the upgrade created before failing.
    assert_eq!(raw_version(&name).await, 1.0);
    let db = raw_open(&name, 1, |_, _| panic!("no upgrade expected")).await;
    let stores = db.object_store_names();
    assert_eq!(
        stores.length(),
        2,
        "chunks and the foreign state store only"
    );
    assert!(!stores.contains("records"));
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
