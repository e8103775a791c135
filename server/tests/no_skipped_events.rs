//! No skipped events: concurrent pushes through two server instances on one PostgreSQL while a
//! puller pages continuously (alternating between the instances). The puller must see every
//! pushed event exactly once, at contiguous positions, whatever order the transactions commit in.
//!
//! Checked to be sensitive: with positions taken from a PostgreSQL sequence (and per-stream
//! locks) instead of the store's commit-ordered positions, this test fails in every run, the
//! puller missing events whose transactions committed after a higher position's.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;
mod pg;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use eventfold::store::contract::test_clock;
use eventfold_server::store::postgres::PostgresStore;
use eventfold_server::{Auth, StoreThread};
use serde_json::{json, Value};

const WRITERS: u32 = 6;
const PUSHES_PER_WRITER: u32 = 60;

async fn instance(url: &str, schema: &str) -> common::Server {
    let (url, schema) = (url.to_owned(), schema.to_owned());
    let backend = StoreThread::start(
        move || async move { PostgresStore::connect(&url, Some(&schema), test_clock()).await },
        common::limits(),
    )
    .await
    .unwrap();
    common::serve(Arc::new(backend), Auth::Open).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_puller_sees_every_event_exactly_once_across_two_instances() {
    let Some(url) = pg::pg_url() else { return };
    let schema = pg::fresh_schema();
    let servers = Arc::new([instance(&url, &schema).await, instance(&url, &schema).await]);
    let done = Arc::new(AtomicBool::new(false));

    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let servers = servers.clone();
        writers.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for k in 0..PUSHES_PER_WRITER {
                let n = 1 + (k % 3);
                let events: Vec<Value> = (0..n)
                    .map(|j| {
                        let id = format!("{w:08x}-{k:04x}-4000-8000-{j:012x}");
                        ids.push(id.clone());
                        json!({"id": id, "type": "E", "data": {"w": w, "k": k}, "metadata": {}})
                    })
                    .collect();
                let body = json!({"v": 1, "streams": [
                    {"stream": format!("s-{w}-{}", k % 4), "expectedVersion": "any", "events": events}
                ]});
                let server = &servers[((w + k) % 2) as usize];
                let a = server.post("/v1/push", None, body.to_string()).await;
                assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
                assert!(a.json()["results"][0]["ok"].is_object(), "{}", a.json());
            }
            ids
        }));
    }

    let puller = {
        let (servers, done) = (servers.clone(), done.clone());
        tokio::spawn(async move {
            let mut seen = Vec::<(u64, String)>::new();
            let mut checkpoint = Value::Null;
            let mut pulls = 0u32;
            loop {
                let finished = done.load(Ordering::SeqCst);
                let body = json!({"v": 1, "after": checkpoint, "limit": 7});
                let a = servers[(pulls % 2) as usize]
                    .post("/v1/pull", None, body.to_string())
                    .await;
                pulls += 1;
                assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
                let page = a.json();
                for e in page["events"].as_array().unwrap() {
                    seen.push((
                        e["position"].as_u64().unwrap(),
                        e["id"].as_str().unwrap().to_owned(),
                    ));
                }
                checkpoint = page["checkpoint"].clone();
                if finished && !page["more"].as_bool().unwrap() {
                    return (seen, pulls);
                }
            }
        })
    };

    let mut pushed = Vec::new();
    for w in writers {
        pushed.extend(w.await.unwrap());
    }
    done.store(true, Ordering::SeqCst);
    let (seen, pulls) = puller.await.unwrap();

    let positions: Vec<u64> = seen.iter().map(|(p, _)| *p).collect();
    let expected: Vec<u64> = (1..=pushed.len() as u64).collect();
    assert_eq!(
        positions, expected,
        "positions skipped, repeated or out of order"
    );
    let seen_ids: HashSet<&str> = seen.iter().map(|(_, id)| id.as_str()).collect();
    assert_eq!(seen_ids.len(), seen.len(), "an event was delivered twice");
    let pushed_ids: HashSet<&str> = pushed.iter().map(String::as_str).collect();
    assert_eq!(seen_ids, pushed_ids, "the puller missed events");
    eprintln!(
        "no skipped events: {} events from {} concurrent writers through 2 instances, {pulls} pulls",
        pushed.len(),
        WRITERS
    );
}
