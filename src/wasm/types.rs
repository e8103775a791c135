//! TypeScript declarations of the plain objects the API takes and returns (wasm-bindgen
//! generates the classes; these are the shapes around them).

use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** Any JSON value: what event data may hold. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json | undefined };

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
  | { sql: { exec(query: string, ...bindings: any[]): any }; transactionSync<T>(fn: () => T): T }
  | { exec(query: string, ...bindings: any[]): any; readonly databaseSize: number }
  | { prepare(sql: string): any; exec(sql: string): any }
  | { prepare(sql: string): any; query(sql: string): any; transaction(fn: (...args: any[]) => any): any };

/** Options of `createSyncHandler` / `store.syncHandler`. */
export interface SyncHandlerOptions {
  /** Bearer tokens and the stream prefixes each may read and write (`""`: every stream); none: open (localhost and IP hosts only). */
  tokens?: { [token: string]: { read?: string[]; write?: string[] } };
  limits?: {
    /** Largest request body in bytes (default 16 MiB); larger ones get 413. */
    maxBodyBytes?: number;
    /** Events per pull when the request names no limit (default 1000). */
    defaultPull?: number;
    /** Most events per pull (default 5000). */
    maxPull?: number;
    /** Most events in one push (default 10 000). */
    maxPushEvents?: number;
    /** Most missing events sent back with one conflict (default 1000). */
    maxMissing?: number;
    /** About the most bytes of events in one answer (default 4 MiB; at least one event). */
    maxAnswerBytes?: number;
  };
}

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
}

/** The definition of an aggregate (a decider). */
export interface AggregateDefinition<State = any, Command = any> {
  /** Stream category: aggregate "order" with id "42" lives in stream "order-42". */
  name: string;
  /** A fresh initial state. */
  initialState: () => State;
  /** The next state after an event. Deterministic: no clock, randomness or I/O. */
  evolve: (state: State, event: RecordedEvent) => State;
  /** The events a command produces, or throw to reject it (nothing is appended). */
  decide: (command: Command, state: State) => EventInput[];
  /** Take a snapshot every this many events (default: never). */
  snapshotEvery?: number;
  /** Bump when the state's shape or evolve changes: older snapshots are then ignored (default 1). */
  snapshotVersion?: number;
  /** Reloads after a concurrent append before giving up with WRONG_EXPECTED_VERSION (default 3). */
  maxRetries?: number;
}

/** The definition of a projection (a whole-state fold over the log). */
export interface ProjectionDefinition<State = any> {
  /** Storage key of the persisted state and checkpoint. */
  name: string;
  /** Change it when init/evolve change: the projection then rebuilds from the log (default 1). */
  version?: number;
  init: () => State;
  /** Deterministic. A throw stops the projection at the last good event (EVOLVE_FAILED). */
  evolve: (state: State, event: RecordedEvent) => State;
  /** Fold only these events. */
  filter?: EventFilter;
  /** Called after each page of a catch-up or rebuild. */
  onProgress?: (progress: { processed: number; total: number }) => void;
}

/** The write API a read model handler receives. Return (or await) the promises of get/update. */
export interface ReadModelWriter<Value = any> {
  get(key: string): Promise<Value | undefined>;
  put(key: string, value: Value): void;
  update(key: string, fn: (current: Value | undefined) => Value | undefined | Promise<Value | undefined>): Promise<Value | undefined>;
  delete(key: string): void;
}

/** The definition of a read model: keyed records with secondary indexes. */
export interface ReadModelDefinition<Value = any> {
  name: string;
  /** Change it when handlers change: the model is cleared and rebuilt from the log (default 1). */
  version?: number;
  /** Record fields to index (string or number values). */
  indexes?: string[];
  /** One handler per event type. A throw stops the model at the last good event (EVOLVE_FAILED);
   * `rebuild()` clears the error and handles the log again. */
  handlers: Record<string, (event: RecordedEvent, rm: ReadModelWriter<Value>) => void | Promise<void>>;
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

/** A read model query over one index. */
export interface ReadModelQuery {
  index: string;
  equals?: string | number;
  range?: { gt?: string | number; gte?: string | number; lt?: string | number; lte?: string | number };
  limit?: number;
  reverse?: boolean;
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
}

/// An optional options argument as a plain `JsValue` (`undefined` when absent).
pub(crate) fn opt<T: Into<JsValue>>(arg: Option<T>) -> JsValue {
    arg.map(Into::into).unwrap_or(JsValue::UNDEFINED)
}
