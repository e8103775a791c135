// LiveStore 0.4 (@livestore/livestore + @livestore/adapter-web), set up as its docs show:
// `makePersistedAdapter({ storage: { type: "opfs" }, worker, sharedWorker })` and
// `createStorePromise({ schema, adapter, storeId })`; one synced event per appended event,
// materialized into one SQLite row (bench/peers/livestore-schema.js). Bundled by esbuild into
// .tmp/bench/ with its two worker entry points (bench/livestore.mjs).
//
// Not the same model: `store.commit(...)` is synchronous and applies the events to the
// session's in-memory SQLite; the leader worker then writes them to its eventlog and state
// databases on OPFS. An append here commits the append's events in one `commit` (one
// transaction) and resolves when the leader has confirmed them (`subscribeSyncStatus`:
// nothing pending). There is no expected-version check: LiveStore orders events by its own
// sequence numbers and accepts any event its schema decodes; a second event with an already
// used [stream, version] is stored too.
import { makePersistedAdapter } from "@livestore/adapter-web";
import { createStorePromise } from "@livestore/livestore";
import { events, schema, tables } from "./livestore-schema.js";

const worker = (options) => new Worker("/.tmp/bench/livestore-worker.js", { type: "module", name: options.name });
const sharedWorker = (options) =>
  new SharedWorker("/.tmp/bench/livestore-shared-worker.js", { type: "module", name: options.name });

const channel = new MessageChannel();
const waiting = [];
channel.port1.onmessage = () => waiting.shift()?.();
/** A macrotask turn without setTimeout's 4 ms clamp (lets the leader's messages in). */
const turn = () => new Promise((resolve) => {
  waiting.push(resolve);
  channel.port2.postMessage(null);
});

/**
 * Resolves when the leader thread has confirmed every event this session committed
 * (`store.syncStatus()`: nothing pending). Polled once per macrotask turn:
 * `subscribeSyncStatus` did not call back for every confirmation here (appends stalled
 * with nothing pending).
 */
async function confirmed(store) {
  while (!store.syncStatus().isSynced) await turn();
}

export const livestore = {
  async open(name) {
    const adapter = makePersistedAdapter({ storage: { type: "opfs" }, worker, sharedWorker });
    const store = await createStorePromise({ schema, adapter, storeId: name, disableDevtools: true });
    return { store, versions: new Map(), position: 0 };
  },

  async append(h, stream, batch) {
    const timestamp = Date.now();
    let version = h.versions.get(stream) ?? 0;
    const list = batch.map((e) => events.appended({
      id: e.id, stream, version: ++version, position: ++h.position, type: e.type, data: e.data, timestamp,
    }));
    h.versions.set(stream, version);
    h.store.commit(...list);
    await confirmed(h.store);
  },

  async readAll(h) {
    return h.store.query(tables.events.orderBy("position", "asc"));
  },

  count: (h) => h.store.query(tables.events.count()),
  close: (h) => h.store.shutdownPromise(),
};
