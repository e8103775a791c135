//! TypeScript declarations of `store.sync()`'s options and of the values the `Sync` class
//! takes and returns (the class itself is declared by wasm-bindgen from `mod.rs`).

use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TS_SYNC_TYPES: &'static str = r#"
/** How pending events of a stream are reconciled with the server's newer events. */
export type ConflictStrategy = "rebase" | "append" | "manual";

/** Options of `store.sync()`. */
export interface SyncOptions {
  /** The eventfold-server, e.g. `"http://127.0.0.1:8787"`. */
  url: string;
  /** Bearer token (see the server's `--tokens`). */
  token?: string;
  /** Stream prefixes to sync (all streams by default). Appends to these streams become pending. */
  scope?: string[];
  /** One strategy for all, or one per aggregate name (default `"rebase"`; `"rebase"` re-places events that no aggregate decided). */
  conflicts?: ConflictStrategy | Record<string, ConflictStrategy>;
  /** How often `start()` checks the server when nothing else wakes it (default 30 000 ms). */
  pollIntervalMs?: number;
  /** Events asked per pull request (default 5000, the reference server's maximum; a server clamps larger asks to its own). */
  pullLimit?: number;
}

/** A stream held by the `manual` strategy: the server is at `actual`. */
export interface HeldStream {
  stream: string;
  actual: number;
}

/** What `sync.status` reports. */
export interface SyncStatus {
  /** Events appended locally and not confirmed by the server yet. */
  pending: number;
  /** The server position this store has pulled up to. */
  checkpoint: number;
  /** Whether the last exchange reached the server. */
  online: boolean;
  /** Whether an exchange is running now. */
  syncing: boolean;
  /** Whether this tab is the one syncing in the background (`start()`). */
  leader: boolean;
  /** When the last exchange succeeded (Unix ms). */
  lastSync: number | null;
  /** The last exchange's error (`NETWORK` when offline), cleared by the next success. */
  lastError: EventfoldError | null;
  /** Streams waiting for `resolve()` (manual strategy). */
  held: HeldStream[];
  /**
   * When this tab last re-synced from scratch (Unix ms): the server's store was another one
   * (`CHECKPOINT_MISMATCH`: reset, restored or replaced), so the synced streams' log was dropped
   * and pulled again; pending events were kept and reconciled. `null` if never.
   */
  resyncedAt: number | null;
}

/** What one `sync.now()` did. */
export interface SyncReport {
  pulled: number;
  pushed: number;
  rejected: number;
  held: HeldStream[];
  /** The server's newest position. */
  head: number;
  /** HTTP requests sent. */
  requests: number;
  /**
   * Whether this exchange finished a re-sync from scratch (the server's store was another one):
   * the synced streams were dropped and pulled again, projections and read models rebuilt.
   */
  resynced: boolean;
}

/** A pending command (or appended events) dropped for good, reported once. */
export interface RejectedCommand {
  stream: string;
  /** The command, when an aggregate decided the events. */
  command?: unknown;
  events: EventInput[];
  /** `DECIDER_REJECTED` (a rebase found it rejected), `SYNC_CONFLICT` (discarded), or the server's refusal. */
  error: EventfoldError;
}
"#;
