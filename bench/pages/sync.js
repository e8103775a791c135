// Catch-up from the sync server (the page's own origin passes /v1/… to it, see bench/sync.mjs):
// eventfold's `store.sync({ url }).now()` into a fresh `EventStore.open` store, and the raw
// baseline: the same pull requests (same JSON, same page size) with `fetch`, each page written
// to IndexedDB in eventfold's layout (one record per run of a stream, see raw-idb.js "batch")
// plus the checkpoint, in one readwrite transaction per page.
import { LAYOUTS, RELAXED, completion, request } from "./raw-idb.js";

const batch = LAYOUTS.batch;

export const rawSync = {
  async open(name) {
    const req = indexedDB.open(name, 1);
    req.onupgradeneeded = () => {
      batch.create(req.result);
      req.result.createObjectStore("meta");
    };
    return { db: await request(req) };
  },
  prepareSync: () => null,

  /** Pulls until `more` is false; resolves to the number of requests. */
  async catchUp(h, _session, { pullLimit }) {
    let after = null;
    let requests = 0;
    for (;;) {
      const res = await fetch("/v1/pull", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ v: 1, after, limit: pullLimit, scope: [] }),
      });
      requests += 1;
      if (!res.ok) throw new Error(`pull answered ${res.status}: ${await res.text()}`);
      const page = await res.json();
      const events = page.events;
      const tx = h.db.transaction(["chunks", "meta"], "readwrite", RELAXED);
      const chunks = tx.objectStore("chunks");
      for (let start = 0, i = 1; i <= events.length; i++) {
        if (i === events.length || events[i].stream !== events[start].stream) {
          batch.put(chunks, events[start].stream, events.slice(start, i));
          start = i;
        }
      }
      tx.objectStore("meta").put(page.checkpoint, "checkpoint");
      const done = completion(tx);
      tx.commit();
      await done;
      after = page.checkpoint;
      if (!page.more) return { requests };
    }
  },
  upToDate: () => null,
  count: (h) => batch.count(h.db.transaction("chunks", "readonly").objectStore("chunks")),
  close: (h) => h.db.close(),
};

/** eventfold's half, over the store `eventfold.open` gave (see eventfold.js). */
export const eventfoldSync = {
  prepareSync: (store, { pullLimit }) => store.sync({ url: location.origin, pullLimit }),
  async catchUp(_store, sync) {
    const report = await sync.now();
    return { requests: report.requests };
  },
  /** Requests one more `now()` sends once up to date (the protocol's promise: one). */
  upToDate: async (_store, sync) => (await sync.now()).requests,
};
