//! The IndexedDB store in headless Chromium (`wasm-pack test --headless --chrome`): the whole
//! shared contract suite, then what only this backend has, one module per concept: opening,
//! closing and schema versions (`lifecycle`), group commit, idempotency across reopen and large
//! appends (`writes`), corrupt records (`corrupt`), several tabs (`tabs`), storage health and
//! DOM errors (`health`), state and read-model records (`records`). Raw IndexedDB helpers are in
//! `raw`. Every test uses a fresh random database. The throughput measurement lives in
//! `bench/idb_throughput.rs`.
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

mod corrupt;
mod health;
mod lifecycle;
mod raw;
mod records;
mod tabs;
mod writes;

use raw::*;

fn random_name() -> String {
    format!("eventfold-test-{}", (js_sys::Math::random() * 1e16) as u64)
}

async fn open(name: &str) -> IndexedDbStore {
    IndexedDbStore::open(IdbOptions::new(name)).await.unwrap()
}

eventfold::contract_tests!(wasm, async { open(&random_name()).await });

// helpers (the shared ones come from the contract suite)

use eventfold::store::contract::{self, evs, id, sid, snapshot};

fn ev(n: u32) -> NewEvent {
    contract::ev(n, "Happened")
}

async fn log(s: &IndexedDbStore) -> Vec<RecordedEvent> {
    s.read_all(&ReadAllOptions::default()).await.unwrap()
}
