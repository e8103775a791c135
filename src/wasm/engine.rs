//! The JavaScript `EventStore` class.

use std::sync::Arc;

use crate::wasm::promise::to_promise;
use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;

use crate::core::append::StoreLimits;
use crate::core::event::{Position, Timestamp};
use crate::engine::{Store, UpcastStep as JsStep};
use crate::error::{Error, Result};
use crate::store::indexeddb::{Durability, IdbOptions, IndexedDbStore};
use crate::store::sql::{JsSqlExecutor, SqlStore};
use crate::store::{Clock, EventStore as _, MemoryStore};
use crate::wasm::aggregate::Aggregates;
use crate::wasm::convert::{self, get, opt_u64};
use crate::wasm::error::to_js;
use crate::wasm::subscription;
use crate::wasm::types::{
    opt, AppendOptionsArg, ReadAllOptionsArg, ReadStreamOptionsArg, StoreOptionsArg,
};
use crate::wasm::{aggregate, projection, readmodel};
use std::rc::Rc;

/// Runs `f` as a promise, turning its error into an `EventfoldError`.
fn promise<F>(f: F) -> Promise
where
    F: std::future::Future<Output = Result<JsValue>> + 'static,
{
    to_promise(async move { f.await.map_err(to_js) })
}

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

// Type parameters of generic methods, which wasm-bindgen cannot declare: scripts/build-pkg.mjs
// adds them to the declarations (docs/testing.md, "Generic declarations").
#[wasm_bindgen(typescript_custom_section)]
const TS_GENERICS: &'static str = r#"
// @eventfold-generics EventStore.readStream<E extends EventShape = AnyEvent>
// @eventfold-generics EventStore.readAll<E extends EventShape = AnyEvent>
// @eventfold-generics EventStore.aggregate<State, Command, E extends EventShape = AnyEvent>
// @eventfold-generics EventStore.projection<State, E extends EventShape = AnyEvent>
// @eventfold-generics EventStore.readModel<Value, IndexName extends string = string, E extends EventShape = AnyEvent>
"#;

#[cfg(feature = "bus")]
#[wasm_bindgen(typescript_custom_section)]
const TS_BUS_GENERICS: &'static str = r#"
// @eventfold-generics EventStore.bus<C extends MessageMap<C> = AnyMessages, Q extends MessageMap<Q> = AnyMessages>
"#;

#[wasm_bindgen(typescript_custom_section)]
const TS_SUBSCRIBE: &'static str = r#"
/** What `store.subscribe(options, callback)` returns: call it to stop the subscription. */
export interface Unsubscribe {
  (): void;
  /** Whether the subscription has stopped (stopped, the store closed, or the callback failed). */
  readonly closed: boolean;
  /** The position of the last event delivered. */
  readonly checkpoint: number;
  /** @deprecated Call the function itself: `unsubscribe()`. `close()` works in 0.1 and goes in the next release. */
  close(): void;
  [Symbol.dispose](): void;
}

/**
 * What `store.subscribe(options)` without a callback returns: the batches, in position order,
 * catch-up then live. The subscription reads at most one batch ahead of the loop. `break` (or
 * `return()`, `close()`, `options.signal`) ends it; an error that stops it is thrown by the loop.
 */
export interface EventBatches<E extends EventShape = AnyEvent> extends AsyncIterableIterator<Recorded<E>[]> {
  /** Ends the subscription (as `break` does). */
  close(): void;
  /** Whether the subscription has ended. */
  readonly closed: boolean;
  /** The position of the last event delivered. */
  readonly checkpoint: number;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface EventStore {
  /**
   * Calls `callback` with batches of events in position order: first those already stored
   * after `after`, then new ones as they are appended (in the browser, from other tabs too).
   * Options: `{ after?, streamPrefix?, types?, batchSize? (default 500), onError?, signal? }`.
   * When the callback returns a promise, the next batch waits for it; when it throws, the
   * subscription stops and `onError` receives the error. Returns the function that stops it
   * (an aborted `signal` stops it too). Given the app's event union `E`, the events are typed.
   *
   * ```ts
   * const unsubscribe = store.subscribe({ after: 0, streamPrefix: "order-" }, (events) => {
   *   for (const e of events) console.log(e.position, e.type);
   * });
   * unsubscribe();
   * ```
   */
  subscribe<E extends EventShape = AnyEvent>(options: SubscribeOptions | undefined, callback: (events: Recorded<E>[]) => void | Promise<void>): Unsubscribe;
  /**
   * Without a callback: the same batches as an async iterator.
   *
   * ```ts
   * for await (const events of store.subscribe({ after: 0, streamPrefix: "order-" })) {
   *   render(events);
   *   if (done) break; // ends the subscription
   * }
   * ```
   */
  subscribe<E extends EventShape = AnyEvent>(options?: SubscribeOptions): EventBatches<E>;
}
"#;

/// An event store: an append-only log of events in streams, with optimistic concurrency,
/// idempotent appends, reads by stream or by global position, and live subscriptions.
///
/// ```ts
/// import { EventStore } from "eventfold";
/// const store = await EventStore.inMemory();
/// await store.append("order-1", [{ type: "OrderCreated", data: { customerId: "c1" } }],
///   { expectedVersion: "no_stream" });
/// const events = await store.readStream("order-1");
/// ```
#[wasm_bindgen(js_name = EventStore)]
pub struct JsEventStore {
    /// The one view of the store every class of this store works on.
    pub(crate) store: Store,
    aggregates: Aggregates,
}

impl JsEventStore {
    pub(crate) fn new(store: Store) -> Self {
        JsEventStore {
            store,
            aggregates: Aggregates::default(),
        }
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

    /// Storage health of a durable store: `{ usage, quota, persisted }` in bytes, from
    /// `navigator.storage` (for the whole origin). Rejects with `UNSUPPORTED` on an in-memory
    /// store or where `navigator.storage` is missing.
    ///
    /// ```ts
    /// const { usage, quota, persisted } = await db.storage();
    /// ```
    #[wasm_bindgen(
        unchecked_return_type = "Promise<{ usage: number; quota: number; persisted: boolean }>"
    )]
    pub fn storage(&self) -> Promise {
        let store = self.store.clone();
        promise(async move { Ok(convert::plain(&store.storage_estimate().await?)) })
    }

    /// Compacts the log now: merges runs of adjacent small records (a log built from
    /// single-event appends has one per event) into one record per stream, a window of up to
    /// 4,096 events per step, so that such a log reads like one written in batches; a second
    /// pass then merges small windows with each other and the records the first passed over. A
    /// step decodes and encodes in short slices outside any transaction (pausing while this tab
    /// appends, and waiting up to half a second for a pause in its appends before it reads and
    /// before it writes) and holds the write lock only for its final write. Positions, versions, ids
    /// and every read answer stay the same; appends from this and other tabs go on, and a crash at any point
    /// leaves the log whole. `onProgress` is called after each step with `{ compactedTo, head,
    /// recordsRead, recordsWritten, events }`; resolves to the totals. Durable stores also do
    /// this by themselves once appends have been idle for a second (unless opened with
    /// `compaction: "manual"`); an in-memory store has nothing to compact.
    ///
    /// ```ts
    /// const { recordsRead, recordsWritten } = await db.compact({
    ///   onProgress: (p) => console.log(`compacted up to ${p.compactedTo} of ${p.head}`),
    /// });
    /// ```
    #[wasm_bindgen(
        unchecked_return_type = "Promise<{ compactedTo: number; head: number; recordsRead: number; recordsWritten: number; events: number }>"
    )]
    pub fn compact(
        &self,
        #[wasm_bindgen(
            unchecked_param_type = "{ onProgress?: (progress: { compactedTo: number; head: number; recordsRead: number; recordsWritten: number; events: number }) => void }"
        )]
        options: JsValue,
    ) -> Promise {
        let store = self.store.clone();
        promise(async move {
            let on_progress = get(&options, "onProgress")?;
            let on_progress = match on_progress.is_undefined() || on_progress.is_null() {
                true => None,
                false => Some(
                    on_progress
                        .dyn_into::<Function>()
                        .map_err(|_| Error::invalid("compact: onProgress must be a function"))?,
                ),
            };
            let total = store
                .compact(|step| {
                    if let Some(f) = &on_progress {
                        let _ = f.call1(&JsValue::UNDEFINED, &convert::plain(step));
                    }
                })
                .await?;
            Ok(convert::plain(&total))
        })
    }

    /// The browser's own message when it deleted this database's previous contents before
    /// this open, or `undefined`. Chromium does that when it finds the database's files corrupt
    /// (after a crash, a full disk or a damaged file) and says so once, to the next open; the
    /// store then opens empty. Events not yet synced are gone; a synced store pulls the server's
    /// log again on its next sync. Always `undefined` in memory, on SQLite, and in browsers that
    /// do not report it.
    ///
    /// ```ts
    /// const db = await EventStore.open({ name: "app" });
    /// if (db.dataLoss) showBanner(`Local data was lost: ${db.dataLoss}`);
    /// ```
    #[wasm_bindgen(getter, js_name = dataLoss)]
    pub fn data_loss(&self) -> Option<String> {
        self.store.data_loss().map(str::to_owned)
    }

    /// Asks the browser to keep this origin's data under storage pressure
    /// (`navigator.storage.persist()`); resolves to whether storage is persisted. Rejects with
    /// `UNSUPPORTED` on an in-memory store.
    ///
    /// ```ts
    /// if (!(await db.requestPersistence())) console.warn("data may be evicted");
    /// ```
    #[wasm_bindgen(js_name = requestPersistence, unchecked_return_type = "Promise<boolean>")]
    pub fn request_persistence(&self) -> Promise {
        let store = self.store.clone();
        promise(async move { Ok(JsValue::from_bool(store.request_persistence().await?)) })
    }

    /// Closes the store: subscriptions end, and on a durable store every later call rejects
    /// with `STORE_CLOSED` (appends already in flight still complete). Idempotent.
    ///
    /// ```ts
    /// db.close();
    /// ```
    pub fn close(&self) {
        self.store.close();
    }

    /// Appends events to the end of a stream, atomically (all or none). Ids are generated for
    /// events without one; pass your own (`crypto.randomUUID()`) to make retries idempotent.
    /// Resolves to `{ version, position }`: the stream's version and the global position of the
    /// last event. Rejects with `WRONG_EXPECTED_VERSION`, `EVENT_ID_CONFLICT` or
    /// `INVALID_INPUT`, having written nothing.
    ///
    /// ```ts
    /// const { version } = await store.append("order-1",
    ///   [{ type: "ItemAdded", data: { sku: "p1", qty: 2 }, id: crypto.randomUUID() }],
    ///   { expectedVersion: 1 });
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<AppendResult>")]
    pub fn append(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] stream: JsValue,
        #[wasm_bindgen(unchecked_param_type = "EventInput[]")] events: JsValue,
        options: Option<AppendOptionsArg>,
    ) -> Promise {
        let options = opt(options);
        let parsed = (|| {
            Ok::<_, Error>((
                convert::stream_arg(&stream)?,
                convert::new_events(&events)?,
                convert::expected_version(&options)?,
            ))
        })();
        let store = self.store.clone();
        promise(async move {
            let (stream, events, expected) = parsed?;
            Ok(convert::plain(
                &store.append(&stream, events, expected).await?,
            ))
        })
    }

    /// Reads one stream: `{ from?, limit?, direction?: "forward" | "backward" }`. Forward
    /// starts at version 1 by default, backward at the last version. A missing stream reads
    /// as `[]`.
    ///
    /// Given the app's event union (see `EventShape`), the events come back typed, narrowing
    /// `data` by `type` (the store does not check the data against it).
    ///
    /// ```ts
    /// const last10 = await store.readStream("order-1", { direction: "backward", limit: 10 });
    /// const typed = await store.readStream<OrderEvent>("order-1");
    /// ```
    #[wasm_bindgen(js_name = readStream, unchecked_return_type = "Promise<Recorded<E>[]>")]
    pub fn read_stream(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] stream: JsValue,
        options: Option<ReadStreamOptionsArg>,
    ) -> Promise {
        let options = opt(options);
        let parsed =
            convert::stream_arg(&stream).and_then(|s| Ok((s, convert::options(&options)?)));
        let store = self.store.clone();
        promise(async move {
            let (stream, options) = parsed?;
            if let Some(events) = store.read_stream_js(&stream, &options).await? {
                return Ok(events.into());
            }
            crate::wasm::convert::recorded_to_js(&store.read_stream(&stream, &options).await?)
        })
    }

    /// Reads the global log after a position: `{ after?, limit?, filter?: { streamPrefix?,
    /// types? } }`. `limit` counts the events returned (after filtering).
    ///
    /// ```ts
    /// const page = await store.readAll({ after: 0, limit: 1000, filter: { streamPrefix: "order-" } });
    /// ```
    #[wasm_bindgen(js_name = readAll, unchecked_return_type = "Promise<Recorded<E>[]>")]
    pub fn read_all(&self, options: Option<ReadAllOptionsArg>) -> Promise {
        let parsed = convert::options(&opt(options));
        let store = self.store.clone();
        promise(async move { crate::wasm::batch::JsPages::read_js(&store, &parsed?).await })
    }

    /// The stream's version: its number of events, 0 if it does not exist.
    #[wasm_bindgen(js_name = streamVersion, unchecked_return_type = "Promise<number>")]
    pub fn stream_version(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] stream: JsValue,
    ) -> Promise {
        let parsed = convert::stream_arg(&stream);
        let store = self.store.clone();
        promise(async move {
            let v = store.stream_version(&parsed?).await?;
            Ok(JsValue::from_f64(v.0 as f64))
        })
    }

    /// The global position of the newest event (0 for an empty store).
    #[wasm_bindgen(js_name = headPosition, unchecked_return_type = "Promise<number>")]
    pub fn head_position(&self) -> Promise {
        let store = self.store.clone();
        promise(async move { Ok(JsValue::from_f64(store.head().await?.0 as f64)) })
    }

    /// Delivers batches of events in position order: first those already stored after
    /// `after`, then new ones as they are appended (in the browser, from other tabs too).
    /// Declared in `TS_SUBSCRIBE` (two forms: with a callback it returns a function that stops
    /// it; without, an async iterator of batches).
    #[wasm_bindgen(skip_typescript)]
    pub fn subscribe(
        &self,
        options: JsValue,
        callback: JsValue,
    ) -> std::result::Result<JsValue, JsValue> {
        let parse = || -> Result<_> {
            let callback = if callback.is_undefined() || callback.is_null() {
                None
            } else {
                Some(
                    callback
                        .dyn_into::<Function>()
                        .map_err(|_| Error::invalid("subscribe needs a callback function"))?,
                )
            };
            let on_error = get(&options, "onError")?.dyn_into::<Function>().ok();
            let batch = opt_u64(&options, "batchSize")?.unwrap_or(500);
            Ok((
                Position(opt_u64(&options, "after")?.unwrap_or(0)),
                convert::options(&options)?,
                usize::try_from(batch).unwrap_or(usize::MAX),
                callback,
                on_error,
                convert::abort_signal(&options)?,
            ))
        };
        let (after, filter, batch, callback, on_error, signal) = parse().map_err(to_js)?;
        let store = self.store.clone();
        Ok(match callback {
            Some(callback) => {
                let sub =
                    subscription::start(store, after, filter, batch, callback, on_error, None);
                subscription::unsubscriber(sub, &signal).into()
            }
            None => {
                let channel = subscription::batch_channel();
                let end = channel.end();
                let sub = subscription::start(
                    store,
                    after,
                    filter,
                    batch,
                    channel.push(),
                    Some(end.clone()),
                    Some(end),
                );
                channel.attach(sub, &signal)
            }
        })
    }

    /// Defines an aggregate (a decider) stored in streams `<name>-<id>`. Options: `name`,
    /// `initialState()`, `evolve(state, event)`, `decide(command, state)` (returns new events
    /// `[{ type, data, metadata? }]` or throws to reject), `snapshotEvery` (events between
    /// snapshots), `snapshotVersion` (bump it when the state's shape changes), `maxRetries`.
    /// `evolve` must be deterministic: same events, same state.
    ///
    /// ```ts
    /// const orders = store.aggregate({ name: "order", initialState, evolve, decide, snapshotEvery: 100 });
    /// await orders.execute("42", { type: "AddItem", sku: "p1", qty: 2 });
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Aggregate<State, Command, E>")]
    pub fn aggregate(
        &self,
        #[wasm_bindgen(unchecked_param_type = "AggregateDefinition<State, Command, E>")]
        options: JsValue,
    ) -> std::result::Result<aggregate::Aggregate, JsValue> {
        aggregate::define(self.store.clone(), &self.aggregates, &options).map_err(to_js)
    }

    /// Defines a projection: `{ name, version, init(), evolve(state, event), filter?,
    /// onProgress? }`. It loads its persisted state, catches up, then follows new events;
    /// a changed `version` rebuilds it from the log.
    ///
    /// ```ts
    /// const view = store.projection({ name: "totals", version: 1, init, evolve });
    /// await view.ready();
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Projection<State>")]
    pub fn projection(
        &self,
        #[wasm_bindgen(unchecked_param_type = "ProjectionDefinition<State, E>")] options: JsValue,
    ) -> std::result::Result<projection::Projection, JsValue> {
        projection::define(self.store.clone(), &options).map_err(to_js)
    }

    /// Registers an upcaster: events of `type` at schema version `fromVersion`
    /// (`metadata.schemaVersion`, 1 when absent) are read through `upcast(event)`, which returns
    /// the event one version up (`{ type?, data, metadata? }`). Reads, subscriptions,
    /// aggregates and projections see the upcast shape; stored events are never rewritten.
    ///
    /// ```ts
    /// store.upcast("ItemAdded", 1, (e) => ({ data: { ...e.data, priceMinor: Math.round(e.data.price * 100) } }));
    /// ```
    pub fn upcast(
        &self,
        #[wasm_bindgen(js_name = "type")] event_type: &str,
        #[wasm_bindgen(js_name = "fromVersion")] from_version: u32,
        #[wasm_bindgen(unchecked_param_type = "(event: RecordedEvent) => Upcasted")]
        upcast: Function,
    ) -> std::result::Result<(), JsValue> {
        self.store
            .register_upcaster(event_type, from_version, Rc::new(JsStep(upcast)))
            .map_err(to_js)
    }

    /// Defines a read model: `{ name, version, indexes: [field names], handlers: { EventType:
    /// (event, rm) => void | Promise<void> } }`, where `rm` offers `put(key, value)`,
    /// `update(key, fn)`, `delete(key)` and `get(key)`. Each page of events is handled and its
    /// writes commit together with the checkpoint. A changed `version` rebuilds the model.
    ///
    /// ```ts
    /// const list = store.readModel({ name: "orders", version: 1, indexes: ["status"], handlers });
    /// await list.ready();
    /// await list.query({ index: "status", equals: "pending", limit: 50 });
    /// ```
    #[wasm_bindgen(js_name = readModel, unchecked_return_type = "ReadModel<Value, IndexName>")]
    pub fn read_model(
        &self,
        #[wasm_bindgen(unchecked_param_type = "ReadModelDefinition<Value, IndexName, E>")]
        options: JsValue,
    ) -> std::result::Result<readmodel::ReadModel, JsValue> {
        readmodel::define(self.store.clone(), &options).map_err(to_js)
    }
}

/// `store.sync()` and `store.syncHandler()`: the cargo feature `sync` (not in the
/// `eventfold/core` build).
#[cfg(feature = "sync")]
#[wasm_bindgen(js_class = EventStore)]
impl JsEventStore {
    /// The sync server of this store as a Fetch handler, `(request: Request) =>
    /// Promise<Response>`: sync protocol v1 exactly as `eventfold-server` serves it (pull,
    /// push, stream reads, health, the live stream; bearer tokens with prefixes; body limits;
    /// gzip where `CompressionStream` exists). Options: `tokens?: { [token]: { read?: string[],
    /// write?: string[] } }` (none: everything open), `limits?: { maxBodyBytes?, defaultPull?,
    /// maxPull?, maxPushEvents?, maxMissing? }`. Usually reached through
    /// `createSyncHandler({ store, tokens?, limits? })`. Throws `INVALID_INPUT` for bad
    /// options and `UNSUPPORTED` on an IndexedDB store.
    ///
    /// ```ts
    /// const handle = store.syncHandler({ tokens: { s3cr3t: { read: [""], write: ["order-"] } } });
    /// const response = await handle(new Request("http://x/v1/health"));
    /// ```
    #[wasm_bindgen(js_name = syncHandler, unchecked_return_type = "(request: Request) => Promise<Response>")]
    pub fn sync_handler(
        &self,
        #[wasm_bindgen(unchecked_param_type = "SyncHandlerOptions")] options: JsValue,
    ) -> std::result::Result<Function, JsValue> {
        crate::wasm::serve::handler(self.store.clone(), &options).map_err(to_js)
    }

    /// Syncs this store with an `eventfold-server` (docs/sync-protocol.md): `{ url, token?,
    /// scope?: string[] (stream prefixes; all streams by default), conflicts?: "rebase" |
    /// "append" | "manual" | { [aggregate]: strategy } (default "rebase"), pollIntervalMs?,
    /// pullLimit? (events per pull, default 5000) }`.
    /// From now on appends to streams in the scope are kept **pending** (they work offline;
    /// `readStream`, aggregates, projections and read models show them on top of the confirmed
    /// events) until a sync confirms them in the server's order. Call it once per store, in
    /// every tab, before defining projections and read models; `start()` syncs in one tab at
    /// a time. Rejects with `INVALID_INPUT` for bad options or a second call.
    ///
    /// ```ts
    /// const sync = db.sync({ url: "http://127.0.0.1:8787", token, scope: ["order-"], conflicts: "rebase" });
    /// sync.onRejected(({ stream, command, error }) => toast(`${command.type}: ${error.message}`));
    /// sync.start();
    /// await sync.now(); // push pending, pull new; NETWORK when offline (nothing lost)
    /// ```
    pub fn sync(
        &self,
        #[wasm_bindgen(unchecked_param_type = "SyncOptions")] options: JsValue,
    ) -> std::result::Result<crate::wasm::sync::SyncHandle, JsValue> {
        crate::wasm::sync::start(&self.store, self.aggregates.clone(), &options).map_err(to_js)
    }
}

/// `store.bus()`: the cargo feature `bus` (only in the full `eventfold` build).
#[cfg(feature = "bus")]
#[wasm_bindgen(js_class = EventStore)]
impl JsEventStore {
    /// A bus over this store: command and query handlers, middleware, event handlers with side
    /// effects and sagas. Options: `{ onError? }`, called with the failures of background
    /// workers. See `docs/buses-and-sagas.md`.
    ///
    /// ```ts
    /// const bus = store.bus({ onError: console.error });
    /// bus.registerAggregate(order, { commands: ["Create"], id: (c) => c.orderId });
    /// await bus.dispatch({ type: "Create", orderId: "42", customerId: "c1" });
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Bus<C, Q>")]
    pub fn bus(
        &self,
        options: Option<crate::wasm::bus::BusOptionsArg>,
    ) -> std::result::Result<crate::wasm::bus::Bus, JsValue> {
        let options = opt(options);
        crate::wasm::bus::define(self.store.clone(), &options).map_err(to_js)
    }
}
