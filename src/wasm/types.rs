//! TypeScript declarations of the plain objects the API takes and returns (wasm-bindgen
//! generates the classes; these are the shapes around them).

use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** Any JSON value: what event data may hold. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json | undefined };

/** An event's metadata: a JSON object (correlation and causation ids, a schema version, ...). */
export type Metadata = Record<string, Json | undefined>;

/**
 * One kind of event as an application declares it: a `type` tag and its `data`. An application's
 * events are a union of these; the generic APIs (`store.aggregate<S, C, E>`, `readStream<E>`,
 * `readAll<E>`, `subscribe<E>`) hand each back as a {@link Recorded} member, which narrows `data`
 * by `type`.
 *
 * ```ts
 * type OrderEvent =
 *   | { type: "OrderCreated"; data: { customerId: string } }
 *   | { type: "ItemAdded"; data: { sku: string; qty: number } };
 * ```
 */
export interface EventShape {
  type: string;
  data?: unknown;
}

/** The event shape of untyped calls: any type, JSON data. */
export interface AnyEvent {
  type: string;
  data?: Json;
}

/** The data an event of shape `E` is recorded with: `null` when `E` has no (or an optional) `data`. */
export type RecordedData<E extends EventShape> = "data" extends keyof E
  ? undefined extends E["data"]
    ? Exclude<E["data"], undefined> | null
    : E["data"]
  : null;

/**
 * The recorded form of each member of the event union `E`: a union of `RecordedEvent`s that
 * narrows `data` by `type` (`if (e.type === "ItemAdded") e.data.qty`).
 */
export type Recorded<E extends EventShape = AnyEvent> = E extends EventShape
  ? RecordedEvent<E["type"], RecordedData<E>>
  : never;

/** A new event of the union `E` as `decide` returns it: its `type` and `data`, optionally `metadata` and `id`. */
export type NewEvent<E extends EventShape = AnyEvent> = E & { metadata?: Metadata; id?: string };

/** The condition an append checks first: `"any"`, `"no_stream"`, `"exists"`, or the exact stream version. */
export type ExpectedVersion = "any" | "no_stream" | "exists" | number;

/** An event to append. `id` (a UUID) is generated when absent; `data` defaults to `null`, `metadata` to `{}`. */
export interface EventInput<Type extends string = string, Data = Json, Metadata extends Record<string, Json | undefined> = Record<string, Json | undefined>> {
  type: Type;
  data?: Data;
  metadata?: Metadata;
  id?: string;
}

/** An event as the store recorded it. `version` is 1-based within its stream; `position` is 1-based in the global log; `timestamp` is Unix milliseconds. */
export interface RecordedEvent<Type extends string = string, Data = Json, Metadata extends Record<string, Json | undefined> = Record<string, Json | undefined>> {
  id: string;
  stream: string;
  type: Type;
  data: Data;
  metadata: Metadata;
  version: number;
  position: number;
  timestamp: number;
}

/** Options of `EventStore.inMemory()`. */
export interface StoreOptions {
  /** Largest data + metadata JSON of one event, in bytes (default 1 MiB). */
  maxEventBytes?: number;
  /** Most events in one append (default 10 000). */
  maxBatchEvents?: number;
}

/**
 * A SQLite handle `EventStore.sqlite` accepts, described by the few members it uses: a Durable
 * Object's `ctx.storage` (or `ctx.storage.sql`), a `node:sqlite` `DatabaseSync` (Node >= 22.5,
 * Deno) or a `bun:sqlite` `Database`.
 */
export type SqliteHandle =
  | { sql: { exec(query: string, ...bindings: unknown[]): unknown }; transactionSync<T>(fn: () => T): T }
  | { exec(query: string, ...bindings: unknown[]): unknown; readonly databaseSize: number }
  | { prepare(sql: string): unknown; exec(sql: string): unknown }
  | { prepare(sql: string): unknown; query(sql: string): unknown; transaction(fn: (...args: never[]) => unknown): unknown };

/** Options of `append`. */
export interface AppendOptions {
  /** Default `"any"`. */
  expectedVersion?: ExpectedVersion;
}

/** The result of an append: the stream's version and the global position of its last event. */
export interface AppendResult {
  version: number;
  position: number;
}

/** Options of `readStream`. */
export interface ReadStreamOptions {
  /** First version to return (forward default 1, backward default the last version). */
  from?: number;
  /** Most events to return (default: all). */
  limit?: number;
  direction?: "forward" | "backward";
}

/** Which events a read or subscription keeps. */
export interface EventFilter {
  /** Keep events whose stream starts with this prefix (or one of these). */
  streamPrefix?: string | string[];
  /** Keep events of these types. */
  types?: string[];
}

/** Options of `readAll`. */
export interface ReadAllOptions {
  /** Events with a position strictly greater than this (default 0). */
  after?: number;
  /** Most events to return, counted after filtering (default: all). */
  limit?: number;
  filter?: EventFilter;
}

/** Options of `subscribe`. */
export interface SubscribeOptions extends EventFilter {
  /** Deliver events after this position (default 0: from the start). */
  after?: number;
  /** Most events per callback (default 500). */
  batchSize?: number;
  /** Receives the error that stopped the subscription (a throwing callback, a failed read). */
  onError?: (error: unknown) => void;
  /** Stops the subscription when it aborts (an already aborted signal: no batch is delivered). */
  signal?: AbortSignal;
}

/**
 * The definition of an aggregate (a decider) over commands `Command` and the event union `E`
 * (see {@link EventShape}): `evolve` receives each event narrowed by its `type`, `decide` may
 * only return members of `E`.
 *
 * ```ts
 * type Counter = { n: number };
 * type Add = { type: "Add"; by: number };
 * type Added = { type: "Added"; data: { by: number } };
 * const counter: AggregateDefinition<Counter, Add, Added> = {
 *   name: "counter",
 *   initialState: () => ({ n: 0 }),
 *   evolve: (s, e) => ({ n: s.n + e.data.by }),
 *   decide: (c) => [{ type: "Added", data: { by: c.by } }],
 * };
 * ```
 */
export interface AggregateDefinition<State = unknown, Command = unknown, E extends EventShape = AnyEvent> {
  /** Stream category: aggregate "order" with id "42" lives in stream "order-42". */
  name: string;
  /** A fresh initial state. */
  initialState(): State;
  /** The next state after an event. Deterministic: no clock, randomness or I/O. */
  evolve(state: State, event: Recorded<E>): State;
  /** The events a command produces, or throw to reject it (nothing is appended). */
  decide(command: Command, state: State): NewEvent<E>[];
  /** Take a snapshot every this many events (default: never). */
  snapshotEvery?: number;
  /**
   * Take a snapshot once at least `events` events were appended since the last one AND at
   * least `ms` milliseconds passed since it was taken (store clock). Not with snapshotEvery.
   */
  snapshotAfter?: { events: number; ms: number };
  /** Bump when the state's shape or evolve changes: older snapshots are then ignored (default 1). */
  snapshotVersion?: number;
  /** Reloads after a concurrent append before giving up with WRONG_EXPECTED_VERSION (default 3). */
  maxRetries?: number;
}

/** What `aggregate.execute` resolves to: the state after the command, its version and the events it appended. */
export interface Executed<State = unknown, E extends EventShape = AnyEvent> {
  state: State;
  version: number;
  events: Recorded<E>[];
}

/** What `aggregate.load` resolves to: the state and the version it stands at. */
export interface Loaded<State = unknown> {
  state: State;
  version: number;
}

/** Which past state `aggregate.load` returns: at most one of a stream version, a global position or a time. */
export interface AsOf {
  atVersion?: number;
  atPosition?: number;
  /** A Date or Unix milliseconds. */
  atTime?: Date | number;
}

/** The definition of a projection (a whole-state fold over the log, or the part `filter` keeps), over the event union `E`. */
export interface ProjectionDefinition<State = unknown, E extends EventShape = AnyEvent> {
  /** Storage key of the persisted state and checkpoint. */
  name: string;
  /** Change it when init/evolve change: the projection then rebuilds from the log (default 1). */
  version?: number;
  init(): State;
  /** Deterministic. A throw stops the projection at the last good event (EVOLVE_FAILED). */
  evolve(state: State, event: Recorded<E>): State;
  /** Fold only these events. */
  filter?: EventFilter;
  /** Called after each page of a catch-up or rebuild. */
  onProgress?: (progress: { processed: number; total: number }) => void;
}

/** The write API a read model handler receives. Return (or await) the promises of get/update. */
export interface ReadModelWriter<Value = unknown> {
  get(key: string): Promise<Value | undefined>;
  put(key: string, value: Value): void;
  update(key: string, fn: (current: Value | undefined) => Value | undefined | Promise<Value | undefined>): Promise<Value | undefined>;
  delete(key: string): void;
}

/** A read model's handlers: at most one per event type of `E`, each receiving that type's events. */
export type ReadModelHandlers<Value = unknown, E extends EventShape = AnyEvent> = string extends E["type"]
  ? { [type: string]: ((event: Recorded<E>, rm: ReadModelWriter<Value>) => void | Promise<void>) | undefined }
  : { [T in E["type"]]?: (event: Recorded<Extract<E, { type: T }>>, rm: ReadModelWriter<Value>) => void | Promise<void> };

/**
 * The definition of a read model: records of type `Value` by key, with secondary indexes named
 * by `IndexName` (fields of the records), fed by the event union `E`.
 */
export interface ReadModelDefinition<Value = unknown, IndexName extends string = string, E extends EventShape = AnyEvent> {
  name: string;
  /** Change it when handlers change: the model is cleared and rebuilt from the log (default 1). */
  version?: number;
  /** Record fields to index (string or number values). */
  indexes?: readonly IndexName[];
  /** One handler per event type. A throw stops the model at the last good event (EVOLVE_FAILED);
   * `rebuild()` clears the error and handles the log again. */
  handlers: ReadModelHandlers<Value, E>;
  /** Called after each page (up to 500 events) of a catch-up or rebuild. */
  onProgress?: (progress: { processed: number; total: number }) => void;
}

/** What `readModel.subscribe` callbacks receive: the model changed and the change is visible to get/query. */
export interface ReadModelChange {
  /** The read model's checkpoint: the position of the last event it handled. */
  checkpoint: number;
  /** The record keys the batch wrote (put, update or delete). Absent when any record may have
   * changed: after a rebuild from position 0, or when a synced store's pending events changed. */
  keys?: string[];
}

/** A read model query over one of its indexes. */
export interface ReadModelQuery<IndexName extends string = string> {
  index: IndexName;
  equals?: string | number;
  range?: { gt?: string | number; gte?: string | number; lt?: string | number; lte?: string | number };
  limit?: number;
  reverse?: boolean;
}

/** An upcaster's result: the event's new `data` (JSON), and optionally a new `type` and `metadata`. */
export interface Upcasted {
  type?: string;
  data: unknown;
  metadata?: Metadata;
}

declare global {
  // Explicit resource management (`using`): every class of this package has `[Symbol.dispose]()`
  // (it frees the object like `free()`). Declared here, as @types/node does, for `lib` settings
  // older than ESNext.Disposable; it merges with the standard declaration where that exists.
  interface SymbolConstructor {
    readonly dispose: unique symbol;
    readonly asyncDispose: unique symbol;
  }
}

"#;

#[wasm_bindgen]
extern "C" {
    /// `StoreOptions` in TypeScript.
    #[wasm_bindgen(typescript_type = "StoreOptions")]
    pub type StoreOptionsArg;
    /// `AppendOptions` in TypeScript.
    #[wasm_bindgen(typescript_type = "AppendOptions")]
    pub type AppendOptionsArg;
    /// `ReadStreamOptions` in TypeScript.
    #[wasm_bindgen(typescript_type = "ReadStreamOptions")]
    pub type ReadStreamOptionsArg;
    /// `ReadAllOptions` in TypeScript.
    #[wasm_bindgen(typescript_type = "ReadAllOptions")]
    pub type ReadAllOptionsArg;
    /// `AsOf` in TypeScript.
    #[wasm_bindgen(typescript_type = "AsOf")]
    pub type AsOfArg;
}

/// An optional options argument as a plain `JsValue` (`undefined` when absent).
pub(crate) fn opt<T: Into<JsValue>>(arg: Option<T>) -> JsValue {
    arg.map(Into::into).unwrap_or(JsValue::UNDEFINED)
}
