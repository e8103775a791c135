// eventfold's durable IndexedDB store through its public JS API (the npm package in pkg/),
// with relaxed durability like every other contender. The wasm module loads inside
// `EventStore.open`, which runs before the timer starts.

/** The EventStore class if this build has the IndexedDB store, or why not. */
async function load() {
  try {
    const { EventStore } = await import("/pkg/index.js");
    if (typeof EventStore.open !== "function") {
      return { reason: "this build of pkg/ has no EventStore.open (IndexedDB store)" };
    }
    return { EventStore };
  } catch (e) {
    return { reason: `importing /pkg/index.js failed: ${e}` };
  }
}

/** `null` when eventfold can run here, else the reason it cannot. */
export async function eventfoldUnavailable() {
  return (await load()).reason ?? null;
}

import { ORDER_TYPES, orderRecord } from "/bench/data.js";

const ANY = { expectedVersion: "any" };

/** HOT_STREAM ("order-hot") as the aggregate "order" with id "hot": a running total. */
const hotAggregate = (snapshotEvery) => ({
  name: "order",
  initialState: () => ({ count: 0, total: 0 }),
  evolve: (s, e) => ({ count: s.count + 1, total: s.total + e.data.qty * (e.data.price ?? 0) }),
  decide: (c) => [{ type: "ItemAdded", data: { qty: c.qty, price: 0 } }],
  snapshotEvery,
});

/** Aggregate "order" over the streams `order-<id>` of the "app" datasets: a running total. */
const appAggregate = {
  name: "order",
  initialState: () => ({ count: 0, total: 0 }),
  evolve: (s, e) => ({ count: s.count + 1, total: s.total + e.data.qty * e.data.price }),
  decide: () => [],
};

/** eventfold with `options` passed to `EventStore.open` (besides name and durability). */
export function eventfoldWith(options) {
  return {
    ...eventfold,
    async open(name) {
      const { EventStore, reason } = await load();
      if (!EventStore) throw new Error(reason);
      return EventStore.open({ name, durability: "relaxed", ...options });
    },
  };
}

export const eventfold = {
  async open(name) {
    const { EventStore, reason } = await load();
    if (!EventStore) throw new Error(reason);
    return EventStore.open({ name, durability: "relaxed" });
  },

  /** Loads aggregates `ids` one after the other; returns their versions. */
  async loadAggregates(store, ids) {
    const orders = store.aggregate(appAggregate);
    const versions = [];
    for (const id of ids) versions.push((await orders.load(id)).version);
    return versions;
  },
  compact: (store) => store.compact(),

  /** (q) The read model of orders by bucket, built (untimed) over the stored log. */
  async prepareQuery(store) {
    const handle = (e, rm) => rm.update(e.stream, (current) => orderRecord(current, e.stream, e));
    const model = store.readModel({
      name: "bench-orders", version: 1, indexes: ["bucket"],
      handlers: Object.fromEntries(ORDER_TYPES.map((t) => [t, handle])),
    });
    await model.ready();
    return model;
  },
  query: (model, bucket, limit) => model.query({ index: "bucket", equals: bucket, limit }),

  append: (store, stream, events) => store.append(stream, events, ANY),
  readStream: (store, stream) => store.readStream(stream, { from: 1, limit: 1_000_000 }),
  readAll: (store) => store.readAll({ after: 0, limit: 1_000_000 }),
  /** A projection over the whole log, from an empty checkpoint (fresh profile). */
  async replay(store, evolve, init) {
    const view = store.projection({ name: "bench-replay", version: 1, init: () => init, evolve });
    await view.ready();
    view.close();
    return view.state;
  },
  loadAggregate: (store) => store.aggregate(hotAggregate(0)).load("hot"),
  snapshotAggregate: (store) => store.aggregate(hotAggregate(1)).execute("hot", { qty: 1 }),
  count: async (store) => (await store.readAll({ after: 0, limit: 1_000_000 })).length,
  close: (store) => store.close(),
};
