//! State records and read models, compared with the in-memory reference store.

use super::*;

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
