import { test } from "node:test";
import assert from "node:assert/strict";
import { ev, newStore } from "./helpers.mjs";

async function seeded() {
  const s = await newStore();
  for (let i = 1; i <= 10; i++) {
    await s.append("order-1", [ev(i % 2 ? "ItemAdded" : "ItemRemoved", { i })]);
    if (i % 3 === 0) await s.append(`cart-${i}`, [ev("CartOpened", { i })]);
  }
  return s;
}

const versions = (events) => events.map((e) => e.version);

test("readStream reads forward and backward with from and limit", async () => {
  const s = await seeded();
  assert.deepEqual(versions(await s.readStream("order-1")), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.deepEqual(versions(await s.readStream("order-1", { from: 4, limit: 3 })), [4, 5, 6]);
  assert.deepEqual(versions(await s.readStream("order-1", { from: 1, limit: 100, direction: "forward" })).length, 10);
  assert.deepEqual(versions(await s.readStream("order-1", { direction: "backward", limit: 3 })), [10, 9, 8]);
  assert.deepEqual(versions(await s.readStream("order-1", { direction: "backward", from: 2 })), [2, 1]);
  assert.deepEqual(await s.readStream("missing"), []);
  assert.deepEqual(await s.readStream("order-1", { from: 11 }), []);
});

test("recorded events carry every field", async () => {
  const s = await newStore();
  const before = Date.now();
  const id = crypto.randomUUID();
  await s.append("order-1", [{ id, type: "OrderCreated", data: { customerId: "c1" }, metadata: { correlationId: "k" } }]);
  const [e] = await s.readStream("order-1");
  assert.deepEqual(Object.keys(e).sort(), ["data", "id", "metadata", "position", "stream", "timestamp", "type", "version"]);
  assert.deepEqual({ ...e, timestamp: 0 }, {
    id, stream: "order-1", type: "OrderCreated", data: { customerId: "c1" }, metadata: { correlationId: "k" },
    version: 1, position: 1, timestamp: 0,
  });
  assert.ok(e.timestamp >= before && e.timestamp <= Date.now(), "timestamp is Unix milliseconds");
});

test("readAll pages by global position", async () => {
  const s = await seeded();
  const all = await s.readAll();
  assert.deepEqual(all.map((e) => e.position), Array.from({ length: 13 }, (_, i) => i + 1));
  const page1 = await s.readAll({ after: 0, limit: 5 });
  const page2 = await s.readAll({ after: page1.at(-1).position, limit: 5 });
  assert.deepEqual([...page1, ...page2].map((e) => e.position), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.deepEqual(await s.readAll({ after: 13 }), []);
});

test("readAll filters by stream prefix and type; limit counts matches", async () => {
  const s = await seeded();
  const carts = await s.readAll({ filter: { streamPrefix: "cart-" } });
  assert.deepEqual(carts.map((e) => e.stream), ["cart-3", "cart-6", "cart-9"]);
  const both = await s.readAll({ filter: { streamPrefix: ["cart-", "order-"] } });
  assert.equal(both.length, 13);
  const removed = await s.readAll({ filter: { streamPrefix: "order-", types: ["ItemRemoved"] }, limit: 2 });
  assert.deepEqual(removed.map((e) => e.data.i), [2, 4]);
  assert.deepEqual(await s.readAll({ filter: { types: ["Nope"] } }), []);
});

test("returned events are fresh objects: mutating them changes nothing stored", async () => {
  const s = await newStore();
  const data = { items: [{ sku: "p1" }] };
  await s.append("a", [ev("A", data)]);
  data.items[0].sku = "mutated after append";
  const [first] = await s.readStream("a");
  first.data.items.push("mutated after read");
  const [again] = await s.readStream("a");
  assert.deepEqual(again.data, { items: [{ sku: "p1" }] });
});
