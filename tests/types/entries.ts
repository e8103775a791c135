// The declarations of each entry (scripts/builds.mjs): "eventfold/core" and "eventfold/sync"
// declare what their wasm has and nothing else (the @ts-expect-error lines must be needed).
import * as core from "eventfold/core";
import * as synced from "eventfold/sync";
import type { AggregateDefinition, Sync } from "eventfold/sync";

const counter: AggregateDefinition<number, { type: "Inc" }> = {
  name: "counter",
  initialState: () => 0,
  evolve: (n) => n + 1,
  decide: () => [{ type: "Inc", data: {} }],
};

export async function coreEntry(): Promise<number> {
  const store: core.EventStore = await core.EventStore.inMemory();
  const r: core.AppendResult = await store.append("order-1", [{ type: "A", data: {} }], { expectedVersion: "no_stream" });
  const list = store.readModel<{ id: string; n: number }>({
    name: "list",
    handlers: { A: (e, rm) => rm.update(e.stream, (c) => ({ id: e.stream, n: (c?.n ?? 0) + 1 })).then(() => undefined) },
  });
  await list.ready();
  const projection = store.projection({ name: "n", version: 1, init: () => 0, evolve: (n: number) => n + 1 });
  await projection.ready();
  const executed = await store.aggregate(counter).execute("1", { type: "Inc" });
  try {
    await store.append("order-1", [], { expectedVersion: 0 });
  } catch (e) {
    if (core.isEventfoldError(e) && e.code === "WRONG_EXPECTED_VERSION") console.log(e.actual);
  }
  // @ts-expect-error eventfold/core has no sync server: createSyncHandler is in eventfold/sync
  core.createSyncHandler({ store });
  // @ts-expect-error eventfold/core has no sync: import eventfold/sync or eventfold
  store.sync({ url: "http://127.0.0.1:8787" });
  // @ts-expect-error eventfold/core has no buses
  store.bus();
  return r.version + executed.version;
}

export async function syncEntry(): Promise<number> {
  const store: synced.EventStore = await synced.EventStore.inMemory();
  const sync: Sync = store.sync({ url: "http://127.0.0.1:8787", scope: ["order-"] });
  sync.start();
  const handler: (request: Request) => Promise<Response> = synced.createSyncHandler({ store });
  void handler;
  // @ts-expect-error eventfold/sync has no buses: import eventfold
  store.bus();
  return (await store.aggregate(counter).execute("1", { type: "Inc" })).version;
}
