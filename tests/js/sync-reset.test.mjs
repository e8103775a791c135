// Re-sync from scratch against a real eventfold-server (SQLite): the server is replaced by a
// fresh one (new database, new store id); the client's next sync answers CHECKPOINT_MISMATCH by
// dropping its synced log, pulling the new server's log, and reconciling its pending events;
// local-only streams, projections and read models follow.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "./server.mjs";
import { device as makeDevice, eventually } from "./sync-fixtures.mjs";

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

const device = () => makeDevice(server);

/** The server's whole log, pulled over HTTP. */
async function serverLog() {
  const res = await fetch(`${server.url}/v1/pull`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ v: 1, limit: 5000 }),
  });
  assert.equal(res.status, 200);
  return (await res.json()).events.map((e) => [e.id, e.stream, e.version, JSON.stringify(e.data)]);
}

test("a replaced server: the synced log is pulled again, pending events pushed once, derived state rebuilt", async () => {
  const a = await device();
  const b = await device();
  await a.store.append("prefs-1", [{ type: "Theme", data: "dark" }]);
  const skus = a.store.projection({
    name: "skus", version: 1,
    init: () => [],
    evolve: (s, e) => (e.type === "ItemAdded" ? [...s, e.data.sku] : s),
  });
  const byCart = a.store.readModel({
    name: "byCart", version: 1, indexes: [],
    handlers: { ItemAdded: (e, rm) => rm.update(e.stream, (c) => ({ skus: [...(c?.skus ?? []), e.data.sku] })) },
  });
  await a.carts.execute("1", { sku: "old1" });
  await b.carts.execute("2", { sku: "old2" });
  await a.sync.now();
  await b.sync.now();
  await a.sync.now();
  await skus.ready();
  await eventually(() => skus.state.length === 2, "the projection to show the old server");

  // The server is replaced while a is offline with a pending command.
  await server.pause();
  await a.carts.execute("1", { sku: "mine" });
  await server.wipe();
  const c = await device();
  await c.carts.execute("1", { sku: "new1" });
  await c.sync.now();

  const statuses = [];
  a.sync.onStatus((s) => statuses.push(s));
  await byCart.ready();
  const changes = [];
  byCart.subscribe((c) => changes.push(c));
  const report = await a.sync.now();
  assert.equal(report.resynced, true);
  assert.equal(a.sync.status.lastError, null);
  assert.equal(typeof a.sync.status.resyncedAt, "number");
  assert.ok(statuses.some((s) => s.resyncedAt !== null), "onStatus told the app");
  assert.equal(a.sync.status.pending, 0);

  const server1 = await serverLog();
  assert.deepEqual(server1.map((e) => JSON.parse(e[3]).sku), ["new1", "mine"], "rebased once, after new1");
  const local = (await a.store.readAll()).filter((e) => e.stream.startsWith("cart-"));
  assert.deepEqual(local.map((e) => [e.id, e.stream, e.version, JSON.stringify(e.data)]), server1);
  const prefs = await a.store.readStream("prefs-1");
  assert.deepEqual(prefs.map((e) => [e.data, e.position]), [["dark", 1]], "the local stream is intact");

  await eventually(() => JSON.stringify(skus.state) === JSON.stringify(["new1", "mine"]),
    "the projection to be rebuilt from the new log");
  await byCart.ready();
  await eventually(async () =>
    JSON.stringify(await byCart.get("cart-1")) === JSON.stringify({ skus: ["new1", "mine"] }) &&
    (await byCart.get("cart-2")) === undefined, "the read model to be rebuilt from the new log");
  assert.ok(changes.some((c) => c.checkpoint === 0 && c.keys === undefined), "subscribers heard of the rebuild");
  assert.ok(changes.some((c) => c.keys?.includes("cart-1")), "and of the new log's batches");

  // Reported once; the next sync is an ordinary one.
  assert.equal((await a.sync.now()).resynced, false);
});
