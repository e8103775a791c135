//! Corrupt records are typed errors naming the record.

use super::*;

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

#[wasm_bindgen_test]
async fn a_damaged_state_or_read_model_record_is_corrupt_data_naming_it() {
    let name = random_name();
    let s = open(&name).await;
    s.put_state("good", Json::parse("[1]").unwrap())
        .await
        .unwrap();
    // Written behind the store's back: a state value that is not JSON text, and a read-model
    // record whose `j` is a number.
    let db = raw_open(&name, SCHEMA_VERSION, |_, _| panic!("no upgrade expected")).await;
    let tx = db
        .transaction_with_str_sequence_and_mode(
            &strings(&["state", "records"]),
            web_sys::IdbTransactionMode::Readwrite,
        )
        .unwrap();
    let state = tx.object_store("state").unwrap();
    settle(
        &state
            .put_with_key(&JsValue::from_f64(42.0), &"num".into())
            .unwrap(),
    )
    .await
    .unwrap();
    settle(
        &state
            .put_with_key(&"{not json".into(), &"text".into())
            .unwrap(),
    )
    .await
    .unwrap();
    let record = obj(&[
        ("m", "orders".into()),
        ("k", "o1".into()),
        ("j", JsValue::from_f64(7.0)),
        ("x", js_sys::Array::new().into()),
    ]);
    settle(&tx.object_store("records").unwrap().put(&record).unwrap())
        .await
        .unwrap();
    db.close();
    let corrupt = |e: Error, name: &str| {
        assert!(
            matches!(&e, Error::CorruptData { record, .. } if record == name),
            "{e:?}"
        );
    };
    corrupt(s.get_state("num").await.unwrap_err(), "state/num");
    corrupt(s.get_state("text").await.unwrap_err(), "state/text");
    corrupt(
        s.record("orders", "o1").await.unwrap_err(),
        "records/orders/o1",
    );
    // The rest still reads; absent keys are None.
    assert_eq!(s.get_state("good").await.unwrap(), Json::parse("[1]").ok());
    assert_eq!(s.get_state("missing").await.unwrap(), None);
    assert_eq!(s.record("orders", "o2").await.unwrap(), None);
    s.close();
    assert_eq!(
        s.record("orders", "o2").await.unwrap_err().code(),
        "STORE_CLOSED"
    );
}
