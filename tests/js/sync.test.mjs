// store.sync() against a real eventfold-server (SQLite): offline appends kept pending,
// convergence of two devices, conflicts (rebase with rejections), pending events shown by
// aggregates, projections and read models, and bad options.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { EventStore } from "eventfold";
import { startServer } from "./server.mjs";
import { cart, device as makeDevice, eventually } from "./sync-fixtures.mjs";

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

const device = (scope) => makeDevice(server, scope);

const log = async (store) =>
  (await store.readAll()).map((e) => [e.id, e.stream, e.version]);

test("offline appends stay pending and reach the server once it is back", async () => {
  const a = await device();
  await server.pause();
  await a.carts.execute("1", { sku: "p1" });
  await a.carts.execute("1", { sku: "p2" });
  // Pending: visible in the stream and the aggregate, not in the confirmed log.
  const stream = await a.store.readStream("cart-1");
  assert.deepEqual(stream.map((e) => [e.version, e.position]), [[1, 0], [2, 0]]);
  assert.deepEqual((await a.carts.load("1")).state.items, ["p1", "p2"]);
  assert.equal(await a.store.headPosition(), 0);
  await assert.rejects(a.sync.now(), (e) => e.code === "NETWORK");
  assert.equal(a.sync.status.pending, 2, "nothing lost while offline");
  assert.equal(a.sync.status.online, false);
  await server.resume();
  const report = await a.sync.now();
  assert.equal(report.pushed, 2);
  assert.equal(a.sync.status.pending, 0);
  assert.equal(a.sync.status.online, true);
  const confirmed = await a.store.readStream("cart-1");
  assert.deepEqual(confirmed.map((e) => e.position > 0), [true, true]);
  // Up to date: one request answers it.
  assert.equal((await a.sync.now()).requests, 1);
});

test("two devices converge to the server's log; a rebase reports the command now rejected", async () => {
  const a = await device();
  const b = await device();
  await a.carts.execute("2", { sku: "a1" });
  await a.sync.now();
  await b.sync.now();
  // Both fill the cart offline on version 1: only two more fit.
  await a.carts.execute("2", { sku: "a2" });
  await a.carts.execute("2", { sku: "a3" });
  await b.carts.execute("2", { sku: "b2" });
  await b.sync.now();
  await a.sync.now();
  await b.sync.now();
  assert.deepEqual(await log(a.store), await log(b.store));
  const items = (await a.carts.load("2")).state.items;
  assert.deepEqual(items, ["a1", "b2", "a2"]);
  assert.deepEqual((await b.carts.load("2")).state.items, items);
  assert.equal(a.rejected.length, 1);
  assert.equal(a.rejected[0].stream, "cart-2");
  assert.deepEqual(a.rejected[0].command, { sku: "a3" });
  assert.equal(a.rejected[0].error.code, "DECIDER_REJECTED");
  assert.match(a.rejected[0].error.message, /cart is full/);
  assert.equal(b.rejected.length, 0);
});

test("projections and read models show pending events on top of confirmed state", async () => {
  const a = await device();
  const count = a.store.projection({
    name: "count", version: 1,
    init: () => ({ n: 0 }),
    evolve: (s, e) => ({ n: s.n + 1 }),
  });
  const items = a.store.readModel({
    name: "items", version: 1, indexes: ["cart"],
    handlers: { ItemAdded: (e, rm) => rm.put(e.id, { cart: e.stream, sku: e.data.sku }) },
  });
  await count.ready();
  await items.ready();
  await server.pause();
  const seen = new Promise((resolve) => count.subscribe((s) => s.n === 1 && resolve()));
  const changes = [];
  items.subscribe((c) => changes.push(c));
  const { events } = await a.carts.execute("3", { sku: "x" });
  await seen;
  await eventually(() => changes.length > 0, "the read model subscriber to hear of the pending event");
  assert.equal(changes[0].keys, undefined, "no keys: pending events may change any record");
  assert.equal(changes[0].checkpoint, items.checkpoint);
  assert.equal(count.state.n, 1);
  assert.equal(count.checkpoint, 0, "the persisted state holds confirmed events only");
  assert.deepEqual(await items.get(events[0].id), { cart: "cart-3", sku: "x" });
  assert.deepEqual(
    (await items.query({ index: "cart", equals: "cart-3" })).map((r) => r.sku),
    ["x"],
  );
  await server.resume();
  await a.sync.now();
  await count.ready();
  assert.equal(count.state.n, await a.store.headPosition(), "confirmed now, counted once");
  assert.deepEqual(await items.get(events[0].id), { cart: "cart-3", sku: "x" });
  await eventually(() => changes.some((c) => c.keys?.includes(events[0].id)), "the confirmed batch's keys");
});

test("streams outside the scope stay local", async () => {
  const a = await device(["cart-"]);
  await a.store.append("prefs-1", [{ type: "Theme", data: "dark" }]);
  assert.equal(a.sync.status.pending, 0);
  assert.equal(await a.store.headPosition(), 1);
});

test("bad options are INVALID_INPUT; sync() is called once per store", async () => {
  const store = await EventStore.inMemory();
  for (const options of [{}, { url: "ftp://x" }, { url: server.url, scope: "cart-" }, { url: server.url, conflicts: "merge" }, { url: server.url, token: 5 }, { url: server.url, pullLimit: 0 }, { url: server.url, pullLimit: 1.5 }]) {
    assert.throws(() => store.sync(options), (e) => e.code === "INVALID_INPUT");
  }
  store.sync({ url: server.url });
  assert.throws(() => store.sync({ url: server.url }), (e) => e.code === "INVALID_INPUT");
});

const until = (sync, predicate) =>
  new Promise((resolve) => {
    if (predicate(sync.status)) return resolve(sync.status);
    const off = sync.onStatus((s) => {
      if (predicate(s)) {
        off();
        resolve(s);
      }
    });
  });

test("start() pushes pending events by itself, pulls others' on its interval, and stop() ends it", async () => {
  const store = await EventStore.inMemory();
  const carts = store.aggregate(cart);
  const sync = store.sync({ url: server.url, scope: ["cart-"], pollIntervalMs: 50 });
  sync.start();
  try {
    await until(sync, (s) => s.leader && s.lastSync !== null);
    await carts.execute("9", { sku: "auto" });
    await eventually(async () => (await store.readStream("cart-9"))[0]?.position > 0, "the push");
    assert.equal(sync.status.online, true);
    const other = await device();
    await other.carts.execute("9", { sku: "from-b" });
    await other.sync.now();
    await eventually(async () => (await carts.load("9")).state.items.length === 2, "the pull");
    assert.deepEqual((await carts.load("9")).state.items, ["auto", "from-b"]);
  } finally {
    sync.stop();
  }
  await until(sync, (s) => !s.leader);
});

test("a bad sync option is INVALID_INPUT naming its field; absent, null and undefined are defaults", async () => {
  const s = await EventStore.inMemory();
  const names = (field) => (e) => e.name === "EventfoldError" && e.code === "INVALID_INPUT" && e.message.includes(field);
  const url = "http://127.0.0.1:1";
  assert.throws(() => s.sync({ url, pullLimit: 0 }), names("pullLimit"));
  assert.throws(() => s.sync({ url, scope: "cart-" }), (e) => names("scope")(e) && /array/.test(e.message));
  assert.throws(() => s.sync({ url, token: 5 }), names("token"));
  assert.throws(() => s.sync({ pullLimit: 5 }), names("missing field `url`"));
  assert.throws(() => s.sync({ url: "ftp://x", pullLimit: 5 }), names('url: url must start with http:// or https://, got "ftp://x"'));
  for (const conflicts of ["merge", 5, { order: "merge" }, { order: {} }]) {
    assert.throws(() => s.sync({ url, conflicts }), (e) => names("conflicts")(e) && /"rebase", "append" or "manual"/.test(e.message));
  }
  assert.equal(s.sync({ url, token: undefined, scope: null, pullLimit: undefined }).status.pending, 0);
});
