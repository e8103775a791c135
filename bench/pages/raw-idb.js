// Raw IndexedDB baselines: what a hand-written JavaScript event store does, no library.
//
// Both layouts keep the indexes an event store needs (global order, unique stream version,
// unique event id), write with `durability: "relaxed"` (as every contender does), issue
// requests without per-request callbacks, commit explicitly and count an append as done
// when its transaction completes. Stream versions and positions are tracked in memory,
// which is the cheapest a store can do.
//
// - "event" layout: one record per event, key path `position`, unique index on
//   [stream, version], unique index on id.
// - "batch" layout: one record per append, exactly the record eventfold writes (see
//   src/store/indexeddb/codec.rs and schema.rs): `{ p, q, n, s, v, t, ids, e }` keyed by the
//   position of the last event, unique index on q (the position before the record), unique
//   index on [s, v], `e` = the recorded events as one JSON text. Like eventfold, it has no
//   index on event ids (eventfold checks ids against a map in memory; this baseline does
//   not check them at all).

import { orderRecord } from "/bench/data.js";

export const RELAXED = { durability: "relaxed" };

export function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

export function completion(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error("transaction aborted"));
  });
}

export const LAYOUTS = {
  event: {
    store: "events",
    create(db) {
      const s = db.createObjectStore("events", { keyPath: "position" });
      s.createIndex("stream", ["stream", "version"], { unique: true });
      s.createIndex("id", "id", { unique: true });
    },
    /** Adds one record per event. */
    put(store, stream, recorded) {
      for (const r of recorded) store.add(r);
    },
    /** Records as events (they already are). */
    events: (records) => records,
    count: (store) => request(store.count()),
  },
  batch: {
    store: "chunks",
    create(db) {
      const s = db.createObjectStore("chunks", { keyPath: "p" });
      s.createIndex("stream", ["s", "v"], { unique: true });
      s.createIndex("prev", "q", { unique: true });
    },
    /** Adds the whole append as one record. */
    put(store, stream, recorded) {
      const last = recorded[recorded.length - 1];
      store.add({
        p: last.position, q: recorded[0].position - 1, n: recorded.length,
        s: stream, v: last.version, t: last.timestamp,
        ids: recorded.map((r) => r.id), e: JSON.stringify(recorded),
      });
    },
    /** Decodes records back into events, one JSON.parse per record. */
    events(records) {
      const out = [];
      for (const r of records) for (const ev of JSON.parse(r.e)) out.push(ev);
      return out;
    },
    async count(store) {
      let n = 0;
      for (const r of await request(store.getAll())) n += r.n;
      return n;
    },
  },
};

/** A raw IndexedDB contender over `layout` ("event" or "batch"). */
export function rawIdb(layout) {
  const L = LAYOUTS[layout];
  return {
    async open(name) {
      const req = indexedDB.open(name, 1);
      req.onupgradeneeded = () => L.create(req.result);
      const db = await request(req);
      return { db, versions: new Map(), position: 0 };
    },

    /** One append = one readwrite transaction, awaited until it completes. */
    append(h, stream, events) {
      const timestamp = Date.now();
      let version = h.versions.get(stream) ?? 0;
      const recorded = events.map((e) => ({
        id: e.id, stream, type: e.type, data: e.data, metadata: {},
        version: ++version, position: ++h.position, timestamp,
      }));
      h.versions.set(stream, version);
      const tx = h.db.transaction(L.store, "readwrite", RELAXED);
      L.put(tx.objectStore(L.store), stream, recorded);
      const done = completion(tx);
      tx.commit();
      return done;
    },

    async readStream(h, stream) {
      const index = h.db.transaction(L.store, "readonly").objectStore(L.store).index("stream");
      return L.events(await request(index.getAll(IDBKeyRange.bound([stream, 1], [stream, Infinity]))));
    },

    async readAll(h) {
      return L.events(await request(h.db.transaction(L.store, "readonly").objectStore(L.store).getAll()));
    },

    /** The plain-JS baseline of a projection: read every record, fold in a loop. */
    async replay(h, evolve, init) {
      const events = L.events(await request(h.db.transaction(L.store, "readonly").objectStore(L.store).getAll()));
      let state = init;
      for (const e of events) state = evolve(state, e);
      return state;
    },

    /** The plain-JS baseline of an aggregate load: read the hot stream, fold it in a loop. */
    async loadAggregate(h) {
      const index = h.db.transaction(L.store, "readonly").objectStore(L.store).index("stream");
      const events = L.events(await request(index.getAll(IDBKeyRange.bound(["order-hot", 1], ["order-hot", Infinity]))));
      let state = { count: 0, total: 0 };
      for (const e of events) state = { count: state.count + 1, total: state.total + e.data.qty * (e.data.price ?? 0) };
      return { state, version: events.at(-1)?.version ?? 0 };
    },

    /**
     * (q) What an app without a library does: fold the log into one record per stream in its
     * own database (untimed), indexed by bucket, then query that index in a new transaction
     * each time.
     */
    async prepareQuery(h) {
      const records = new Map();
      for (const e of L.events(await request(h.db.transaction(L.store, "readonly").objectStore(L.store).getAll()))) {
        records.set(e.stream, orderRecord(records.get(e.stream), e.stream, e));
      }
      const open = indexedDB.open(`${h.db.name}-orders`, 1);
      open.onupgradeneeded = () => open.result.createObjectStore("orders", { keyPath: "id" }).createIndex("bucket", "bucket");
      const db = await request(open);
      const tx = db.transaction("orders", "readwrite", RELAXED);
      for (const r of records.values()) tx.objectStore("orders").put(r);
      const done = completion(tx);
      tx.commit();
      await done;
      return db;
    },
    query: (db, bucket, limit) =>
      request(db.transaction("orders", "readonly").objectStore("orders").index("bucket").getAll(bucket, limit)),

    count: (h) => L.count(h.db.transaction(L.store, "readonly").objectStore(L.store)),
    close: (h) => h.db.close(),
  };
}
