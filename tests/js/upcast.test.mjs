import { test } from "node:test";
import assert from "node:assert/strict";
import { ev, newStore } from "./helpers.mjs";

test("upcasters lift old event shapes on every read path; stored events are untouched", async () => {
  const store = await newStore();
  await store.append("order-1", [ev("ItemAdded", { sku: "a", price: 12.5 })]);
  await store.append("order-1", [ev("ItemAdded", { sku: "b", priceMinor: 300 }, { metadata: { schemaVersion: 2 } })]);
  store.upcast("ItemAdded", 1, (e) => ({ data: { sku: e.data.sku, priceMinor: Math.round(e.data.price * 100) } }));
  const read = await store.readStream("order-1");
  assert.deepEqual(read.map((e) => e.data), [{ sku: "a", priceMinor: 1250 }, { sku: "b", priceMinor: 300 }]);
  assert.deepEqual(read.map((e) => e.metadata.schemaVersion), [2, 2]);
  assert.deepEqual((await store.readAll()).map((e) => e.data.priceMinor), [1250, 300]);

  const view = store.projection({ name: "sum", init: () => 0, evolve: (s, e) => s + e.data.priceMinor });
  await view.ready();
  assert.equal(view.state, 1550);
  view.close();
  const agg = store.aggregate({ name: "order", initialState: () => 0, evolve: (s, e) => s + e.data.priceMinor, decide: () => [] });
  assert.equal((await agg.load("1")).state, 1550);

  const seen = [];
  const unsubscribe = store.subscribe({}, (events) => seen.push(...events.map((e) => e.data.priceMinor)));
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(seen, [1250, 300]);
  unsubscribe();
});

test("upcasters chain across versions and may rename the type", async () => {
  const store = await newStore();
  await store.append("s", [ev("Old", { v: 1 })]);
  store.upcast("Old", 1, (e) => ({ data: { v: e.data.v, step: 2 } }));
  store.upcast("Old", 2, (e) => ({ type: "New", data: { ...e.data, step: 3 } }));
  const [e] = await store.readAll();
  assert.equal(e.type, "New");
  assert.deepEqual(e.data, { v: 1, step: 3 });
  assert.equal(e.metadata.schemaVersion, 3);
});

test("registering an upcaster twice or with bad arguments is INVALID_INPUT", async () => {
  const store = await newStore();
  store.upcast("T", 1, (e) => e);
  assert.throws(() => store.upcast("T", 1, (e) => e), { code: "INVALID_INPUT" });
  assert.throws(() => store.upcast("", 1, (e) => e), { code: "INVALID_INPUT" });
  assert.throws(() => store.upcast("T", 0, (e) => e), { code: "INVALID_INPUT" });
});

test("bus handlers and read models see the upcast shape too; a throwing upcaster fails the read, naming it", async () => {
  const store = await newStore();
  await store.append("order-2", [ev("ItemAdded", { sku: "a", price: 2 })]);
  store.upcast("ItemAdded", 1, (e) => ({ data: { sku: e.data.sku, priceMinor: e.data.price * 100 } }));
  const list = store.readModel({
    name: "items", version: 1, indexes: ["priceMinor"],
    handlers: { ItemAdded: (e, rm) => rm.put(e.data.sku, { priceMinor: e.data.priceMinor }) },
  });
  await list.ready();
  assert.deepEqual(await list.get("a"), { priceMinor: 200 });
  const bus = store.bus();
  const handled = [];
  bus.on({ name: "prices", handlers: { ItemAdded: (e) => { handled.push(e.data.priceMinor); } } });
  bus.start();
  await new Promise((r) => setTimeout(r, 30));
  bus.stop();
  assert.deepEqual(handled, [200]);

  const broken = await newStore();
  await broken.append("s", [ev("T", {})]);
  broken.upcast("T", 1, () => { throw new Error("no price"); });
  await assert.rejects(broken.readAll(), (e) => e.code === "INVALID_INPUT" && /upcaster of T v1 failed: no price/.test(e.message));
  broken.upcast("U", 1, () => 42);
  await broken.append("s", [ev("U", {})], { expectedVersion: 1 });
  await assert.rejects(broken.readStream("s", { from: 2 }), (e) => e.code === "INVALID_INPUT" && /must return an event object/.test(e.message));
});
