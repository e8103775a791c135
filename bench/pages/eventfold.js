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

const ANY = { expectedVersion: "any" };

export const eventfold = {
  async open(name) {
    const { EventStore, reason } = await load();
    if (!EventStore) throw new Error(reason);
    return EventStore.open({ name, durability: "relaxed" });
  },

  append: (store, stream, events) => store.append(stream, events, ANY),
  readStream: (store, stream) => store.readStream(stream, { from: 1, limit: 1_000_000 }),
  readAll: (store) => store.readAll({ after: 0, limit: 1_000_000 }),
  count: async (store) => (await store.readAll({ after: 0, limit: 1_000_000 })).length,
  close: (store) => store.close(),
};
