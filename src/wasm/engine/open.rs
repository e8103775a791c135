//! Opening a store: `EventStore.inMemory`, `EventStore.open` (IndexedDB) and
//! `EventStore.sqlite`, and the options they take.

use std::sync::Arc;

use js_sys::Promise;
use wasm_bindgen::prelude::*;

use super::JsEventStore;
use crate::core::append::StoreLimits;
use crate::core::event::Timestamp;
use crate::engine::Store;
use crate::error::{Error, Result};
use crate::store::indexeddb::{Durability, IdbOptions, IndexedDbStore};
use crate::store::sql::{JsSqlExecutor, SqlStore};
use crate::store::{Clock, MemoryStore};
use crate::wasm::convert;
use crate::wasm::promise::promise;
use crate::wasm::types::{opt, StoreOptionsArg};

fn js_clock() -> Clock {
    Arc::new(|| Timestamp(js_sys::Date::now() as i64))
}

/// The options of `EventStore.open`, `inMemory` and `sqlite` (each takes what applies to it;
/// `name`, `durability` and `compaction` are IndexedDB's).
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoreOptions {
    name: Option<String>,
    durability: Option<Durability>,
    compaction: Option<Compaction>,
    max_event_bytes: Option<u64>,
    max_batch_events: Option<u64>,
}

/// `compaction: "auto" | "manual"` of `EventStore.open`.
#[derive(serde::Deserialize)]
#[serde(rename_all = "lowercase")]
enum Compaction {
    Auto,
    Manual,
}

impl StoreOptions {
    fn read(options: &JsValue) -> Result<Self> {
        convert::options(options)
    }

    fn limits(&self) -> StoreLimits {
        StoreLimits::with(self.max_event_bytes, self.max_batch_events)
    }
}

#[wasm_bindgen(js_class = EventStore)]
impl JsEventStore {
    /// A store held in memory; works in every runtime (browser, Node, Deno, workerd).
    /// Options: `maxEventBytes` (data + metadata JSON of one event, default 1 MiB) and
    /// `maxBatchEvents` (events in one append, default 10 000).
    ///
    /// ```ts
    /// const store = await EventStore.inMemory({ maxEventBytes: 64 * 1024 });
    /// ```
    #[wasm_bindgen(js_name = inMemory, unchecked_return_type = "Promise<EventStore>")]
    pub fn in_memory(options: Option<StoreOptionsArg>) -> Promise {
        let options = opt(options);
        promise(async move {
            let store =
                MemoryStore::with_limits(js_clock(), StoreOptions::read(&options)?.limits());
            Ok(JsEventStore::new(Store::memory(store)).into())
        })
    }

    /// A durable store in the browser's IndexedDB database `name` (created or upgraded on
    /// open), shared safely by the tabs of this origin: appends from other tabs reach
    /// subscribers here. Options: `name` (required), `durability` (`"default"`, `"relaxed"`:
    /// acknowledged once the data reached the operating system, or `"strict"`: flushed to
    /// disk), `maxEventBytes`, `maxBatchEvents`, `compaction` (`"auto"`, the default: merge
    /// adjacent small records in idle time, see `compact()`; or `"manual"`). Rejects with
    /// `INVALID_INPUT` (empty name),
    /// `SCHEMA_TOO_NEW` (created by a newer eventfold), `UNSUPPORTED` (no IndexedDB, e.g. in
    /// Node).
    ///
    /// ```ts
    /// const db = await EventStore.open({ name: "shop", durability: "strict" });
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<EventStore>")]
    pub fn open(
        #[wasm_bindgen(
            unchecked_param_type = "{ name: string; durability?: \"default\" | \"relaxed\" | \"strict\"; maxEventBytes?: number; maxBatchEvents?: number; compaction?: \"auto\" | \"manual\" }"
        )]
        options: JsValue,
    ) -> Promise {
        promise(async move {
            let options = StoreOptions::read(&options)?;
            let Some(name) = options.name.clone() else {
                return Err(Error::invalid("open needs { name: string }"));
            };
            let store = IndexedDbStore::open(IdbOptions {
                name,
                durability: options.durability.unwrap_or_default(),
                limits: options.limits(),
                auto_compact: !matches!(options.compaction, Some(Compaction::Manual)),
            })
            .await?;
            Ok(JsEventStore::new(Store::indexeddb(store)).into())
        })
    }

    /// A durable store in the runtime's own SQLite database: a Durable Object's `ctx.storage`
    /// (transactions through `ctx.storage.transactionSync`; `ctx.storage.sql` works too), a
    /// `node:sqlite` `DatabaseSync` (Node >= 22.5, Deno) or a `bun:sqlite` `Database`. The
    /// log, snapshots, projection checkpoints and read models live in `eventfold_*` tables of
    /// that database; each write is one transaction. Options: `maxEventBytes`,
    /// `maxBatchEvents`. Rejects with `INVALID_INPUT` for a handle it cannot use (naming what
    /// it expects) and `SCHEMA_TOO_NEW` for a database written by a newer eventfold.
    ///
    /// ```ts
    /// import { DatabaseSync } from "node:sqlite";
    /// const store = await EventStore.sqlite(new DatabaseSync("events.db"));
    /// // In a Durable Object: this.store = await EventStore.sqlite(ctx.storage);
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<EventStore>")]
    pub fn sqlite(
        #[wasm_bindgen(unchecked_param_type = "SqliteHandle")] handle: JsValue,
        options: Option<StoreOptionsArg>,
    ) -> Promise {
        let options = opt(options);
        promise(async move {
            let db = JsSqlExecutor::new(&handle)?;
            let id = crate::wasm::convert::random_id().replace('-', "");
            let limits = StoreOptions::read(&options)?.limits();
            let store = SqlStore::open(db, js_clock(), limits, id)?;
            Ok(JsEventStore::new(Store::sqlite(store)).into())
        })
    }
}
