// RxDB 17 with its free Dexie storage (the production setup of RxDB's docs: rxdb/plugins/core
// + rxdb/plugins/storage-dexie, no dev-mode, no schema validator), one document per event.
// Bundled by esbuild into .tmp/bench/rxdb.js (bench/peers.mjs) and imported only by the
// pages that run it: RxDB bundles its own Dexie (4.4.2), which refuses to share a page with
// the Dexie 4.4.7 of the Dexie rows.
//
// Not the same guarantees: RxDB indexes are never unique, so a second event with an already
// used [stream, version] is accepted. The optimistic-concurrency check every other contender
// gets from a unique index (or from eventfold's version check) does not exist here; doing it
// in application code would cost a query per append.
import { createRxDatabase } from "rxdb/plugins/core";
import { getRxStorageDexie } from "rxdb/plugins/storage-dexie";

// RxDB's copy of Dexie turns debug mode on when served from 127.0.0.1 (async stack tagging);
// a deployed site would not have it (as for the Dexie rows).
const DexieSymbol = Symbol.for("Dexie");

const schema = {
  version: 0,
  primaryKey: "id",
  type: "object",
  properties: {
    id: { type: "string", maxLength: 36 },
    stream: { type: "string", maxLength: 64 },
    type: { type: "string" },
    data: { type: "object" },
    metadata: { type: "object" },
    version: { type: "integer", minimum: 1, maximum: 1e9, multipleOf: 1 },
    position: { type: "integer", minimum: 1, maximum: 1e12, multipleOf: 1 },
    timestamp: { type: "integer", minimum: 0, maximum: 1e15, multipleOf: 1 },
  },
  required: ["id", "stream", "type", "data", "metadata", "version", "position", "timestamp"],
  indexes: [["stream", "version"], "position"],
};

export const rxdb = {
  async open(name) {
    const db = await createRxDatabase({ name, storage: getRxStorageDexie(), multiInstance: false });
    if (globalThis[DexieSymbol]) globalThis[DexieSymbol].debug = false;
    const { events } = await db.addCollections({ events: { schema } });
    // Opens the storage before the timer starts.
    await events.findOne("does-not-exist").exec();
    return { db, col: events, versions: new Map(), position: 0 };
  },

  async append(h, stream, events) {
    const timestamp = Date.now();
    let version = h.versions.get(stream) ?? 0;
    const docs = events.map((e) => ({
      id: e.id, stream, type: e.type, data: e.data, metadata: {},
      version: ++version, position: ++h.position, timestamp,
    }));
    h.versions.set(stream, version);
    if (docs.length === 1) {
      await h.col.insert(docs[0]);
      return;
    }
    const res = await h.col.bulkInsert(docs);
    if (res.error.length > 0) throw new Error(`bulkInsert failed: ${JSON.stringify(res.error[0]).slice(0, 200)}`);
  },

  async readAll(h) {
    const docs = await h.col.find({ sort: [{ position: "asc" }] }).exec();
    return docs.map((d) => d.toJSON());
  },

  count: (h) => h.col.count().exec(),
  close: (h) => h.db.close(),
};
