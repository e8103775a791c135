//! Measurements, not assertions (ignored by default; tests never assert timings):
//! `CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_PANIC=unwind bash scripts/with-postgres \
//!  cargo test --release -p eventfold-server --test throughput -- --ignored --nocapture`
//! (the workspace's release profile is tuned for the wasm package: LTO and panic=abort, which
//! `cargo test --release` of this crate does not build with).
//! Push throughput over HTTP on SQLite and PostgreSQL, and pull throughput and gzip bytes per
//! event on the wire.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;
mod pg;

use std::sync::Arc;
use std::time::Instant;

use eventfold::store::contract::test_clock;
use eventfold_server::store::postgres::PostgresStore;
use eventfold_server::{Auth, StoreThread};
use serde_json::json;

const CLIENTS: u32 = 4;

/// A random v4-shaped UUID, so compression sees realistic ids.
fn random_id() -> String {
    use std::hash::BuildHasher;
    let h = |x: u32| {
        std::collections::hash_map::RandomState::new()
            .hash_one(x)
            .to_be_bytes()
    };
    let (a, b) = (h(1), h(2));
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&a);
    bytes[8..].copy_from_slice(&b);
    eventfold::EventId::from_bytes(bytes).to_string()
}
const PUSHES: u32 = 100;
const BATCH: u32 = 25;

async fn measure(name: &str, server: Arc<common::Server>) {
    let start = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let server = server.clone();
        tasks.push(tokio::spawn(async move {
            for k in 0..PUSHES {
                let events: Vec<_> = (0..BATCH)
                    .map(|j| json!({"id": random_id(), "type": "ItemAdded",
                        "data": {"sku": format!("p-{j}"), "qty": j % 5 + 1, "price": 1999}, "metadata": {"correlationId": format!("c{c}-{k}")}}))
                    .collect();
                let body = json!({"v": 1, "streams": [{"stream": format!("order-{c}-{}", k % 10), "expectedVersion": "any", "events": events}]});
                let a = server.post("/v1/push", None, body.to_string()).await;
                assert_eq!(a.status, 200);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let push = start.elapsed().as_secs_f64();
    let total = f64::from(CLIENTS * PUSHES * BATCH);
    let start = Instant::now();
    let (mut after, mut events, mut wire) = (serde_json::Value::Null, 0usize, 0usize);
    loop {
        let res = server
            .client
            .post(format!("{}/v1/pull", server.url))
            .header("accept-encoding", "gzip")
            .body(json!({"v": 1, "after": after, "limit": 5000}).to_string())
            .send()
            .await
            .unwrap();
        let bytes = res.bytes().await.unwrap();
        wire += bytes.len();
        let plain = server
            .post(
                "/v1/pull",
                None,
                json!({"v": 1, "after": after, "limit": 5000}).to_string(),
            )
            .await
            .json();
        events += plain["events"].as_array().unwrap().len();
        after = plain["checkpoint"].clone();
        if !plain["more"].as_bool().unwrap() {
            break;
        }
    }
    let pull = start.elapsed().as_secs_f64();
    eprintln!(
        "{name}: push {:.0} events/s ({} requests of {BATCH} from {CLIENTS} clients); pull {events} events in {pull:.2}s (x2 requests), {:.1} gzip bytes/event",
        total / push,
        CLIENTS * PUSHES,
        wire as f64 / events as f64
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement; run with --ignored --nocapture"]
async fn push_and_pull_throughput() {
    let dir = std::env::temp_dir().join(format!("eventfold-tp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sqlite = common::start(Auth::Open, Some(dir.join("tp.sqlite"))).await;
    measure("sqlite (file, WAL, synchronous=FULL)", Arc::new(sqlite)).await;
    let _ = std::fs::remove_dir_all(dir);
    if let Some(url) = pg::pg_url() {
        let schema = pg::fresh_schema();
        let backend = StoreThread::start(
            move || async move { PostgresStore::connect(&url, Some(&schema), test_clock()).await },
            common::limits(),
        )
        .await
        .unwrap();
        measure(
            "postgres (fsync=off test cluster)",
            Arc::new(common::serve(Arc::new(backend), Auth::Open).await),
        )
        .await;
    }
}
