// Dexie 4.4.7, the library a web developer would otherwise pick: the per-event layout of the
// raw "event" baseline, declared as a Dexie schema, one `bulkAdd` per append (one
// transaction each), relaxed durability and Dexie.debug off.
import Dexie from "/node_modules/dexie/dist/dexie.mjs";

Dexie.debug = false;

export const dexie = {
  async open(name) {
    const db = new Dexie(name, { chromeTransactionDurability: "relaxed" });
    db.version(1).stores({ events: "position, &[stream+version], &id" });
    await db.open();
    return { db, versions: new Map(), position: 0 };
  },

  append(h, stream, events) {
    const timestamp = Date.now();
    let version = h.versions.get(stream) ?? 0;
    const recorded = events.map((e) => ({
      id: e.id, stream, type: e.type, data: e.data, metadata: {},
      version: ++version, position: ++h.position, timestamp,
    }));
    h.versions.set(stream, version);
    return h.db.events.bulkAdd(recorded);
  },

  /** The whole log in position order (the primary key). */
  readAll: (h) => h.db.events.toArray(),
  count: (h) => h.db.events.count(),
  close: (h) => h.db.close(),
};
