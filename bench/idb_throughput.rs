//! Throughput of the IndexedDB store against raw IndexedDB from JavaScript writing the same
//! records (measurements, not assertions; numbers go to docs/storage.md). Not part of `cargo
//! test` / `wasm-pack test` (`test = false` in Cargo.toml); run it with
//! `CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner cargo test --release
//! --target wasm32-unknown-unknown --test idb_throughput -- --nocapture`.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use eventfold::store::contract::sid;
use eventfold::store::indexeddb::{Durability, IdbOptions, IndexedDbStore};
use eventfold::store::{ReadAllOptions, ReadStreamOptions};
use eventfold::{
    EventId, EventStore, EventType, ExpectedVersion, Json, NewEvent, StreamId, Version,
};
use futures::future::join_all;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

fn random_name() -> String {
    format!("eventfold-bench-{}", (js_sys::Math::random() * 1e16) as u64)
}

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
