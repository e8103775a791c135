// (e) load time: from `import` to the first durable append on a page that has loaded nothing
// of the library yet (a fresh profile: no HTTP cache, no compiled-code cache). The page itself
// imports nothing; `window.bench.load(...)` starts the timer, imports the library, opens a
// database and appends one event, and stops the timer when the append's transaction is done.
const event = () => ({ id: crypto.randomUUID(), type: "OrderCreated", data: { customerId: "c1", total: 42 }, metadata: {} });

const LOADERS = {
  /** Dexie 4 with the per-event schema of the other benchmarks, and its first `add`. */
  async dexie(name) {
    const { default: Dexie } = await import("/node_modules/dexie/dist/dexie.mjs");
    Dexie.debug = false;
    const db = new Dexie(name);
    db.version(1).stores({ events: "++position,&[stream+version],&id" });
    await db.events.add({ ...event(), stream: "order-1", version: 1 });
    return () => db.close();
  },
  /** An eventfold entry (`/pkg/<file>`): `EventStore.open` and its first append. */
  async eventfold(name, file) {
    const { EventStore } = await import(`/pkg/${file}`);
    const store = await EventStore.open({ name });
    const r = await store.append("order-1", [event()], { expectedVersion: "no_stream" });
    if (r.version !== 1) throw new Error(`the first append returned version ${r.version}`);
    return () => store.close();
  },
};

window.bench = {
  /** `{ ms }` from before the import to the end of the first append. */
  async load({ contender, file }) {
    const t0 = performance.now();
    const close = await LOADERS[contender === "dexie" ? "dexie" : "eventfold"]("load", file);
    const ms = performance.now() - t0;
    await close();
    return { ms };
  },
};
