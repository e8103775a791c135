import { test } from "node:test";
import assert from "node:assert/strict";
import { ev, newStore, waitFor } from "./helpers.mjs";

const tick = () => new Promise((r) => setTimeout(r, 15));

const ordersModel = {
  name: "orders",
  version: 1,
  indexes: ["customerId", "status", "total"],
  handlers: {
    OrderCreated: (e, rm) => rm.put(e.stream, { id: e.stream, customerId: e.data.customerId, status: "open", total: 0 }),
    ItemAdded: (e, rm) => rm.update(e.stream, (o) => ({ ...o, total: o.total + e.data.qty * e.data.unitPrice })),
    OrderConfirmed: (e, rm) => rm.update(e.stream, (o) => ({ ...o, status: "confirmed" })),
    OrderDeleted: (e, rm) => rm.delete(e.stream),
  },
};

async function seed(store) {
  const orders = [["o1", "alice", 300], ["o2", "bob", 100], ["o3", "alice", 200], ["o4", "carol", 50]];
  for (const [id, customerId, price] of orders) {
    await store.append(`order-${id}`, [ev("OrderCreated", { customerId }), ev("ItemAdded", { qty: 1, unitPrice: price })]);
  }
  await store.append("order-o2", [ev("OrderConfirmed")]);
}

test("handlers build keyed records; get and index queries read them", async () => {
  const store = await newStore();
  await seed(store);
  const list = store.readModel(ordersModel);
  await list.ready();
  assert.deepEqual(await list.get("order-o2"), { id: "order-o2", customerId: "bob", status: "confirmed", total: 100 });
  assert.equal(await list.get("missing"), undefined);
  const alice = await list.query({ index: "customerId", equals: "alice" });
  assert.deepEqual(alice.map((o) => o.id), ["order-o1", "order-o3"]);
  const open = await list.query({ index: "status", equals: "open", limit: 2 });
  assert.deepEqual(open.map((o) => o.id), ["order-o1", "order-o3"]);
  const mid = await list.query({ index: "total", range: { gte: 100, lt: 300 } });
  assert.deepEqual(mid.map((o) => o.total), [100, 200]);
  const top = await list.query({ index: "total", range: { gt: 50 }, reverse: true, limit: 2 });
  assert.deepEqual(top.map((o) => o.total), [300, 200]);
  list.close();
});

test("a read model follows new events live, including deletes", async () => {
  const store = await newStore();
  await seed(store);
  const list = store.readModel(ordersModel);
  await list.ready();
  await store.append("order-o1", [ev("OrderConfirmed")]);
  await store.append("order-o4", [ev("OrderDeleted")]);
  await tick();
  assert.equal((await list.get("order-o1")).status, "confirmed");
  assert.equal(await list.get("order-o4"), undefined);
  assert.deepEqual((await list.query({ index: "status", equals: "confirmed" })).map((o) => o.id), ["order-o1", "order-o2"]);
  assert.deepEqual(await list.query({ index: "customerId", equals: "carol" }), [], "the index entry went with the record");
  list.close();
});

test("records and checkpoint persist together and resume; a new version rebuilds", async () => {
  const store = await newStore();
  await seed(store);
  const first = store.readModel(ordersModel);
  await first.ready();
  const checkpoint = first.checkpoint;
  first.close();
  let calls = 0;
  const count = (h) => (e, rm) => { calls++; return h(e, rm); };
  const counted = Object.fromEntries(Object.entries(ordersModel.handlers).map(([k, h]) => [k, count(h)]));
  await store.append("order-o3", [ev("OrderConfirmed")]);
  const second = store.readModel({ ...ordersModel, handlers: counted });
  await second.ready();
  assert.equal(calls, 1, "resumed after the checkpoint");
  assert.equal(second.checkpoint, checkpoint + 1);
  second.close();
  calls = 0;
  const rebuilt = store.readModel({ ...ordersModel, version: 2, handlers: counted });
  await rebuilt.ready();
  assert.equal(calls, 10, "version 2 handled the whole log again");
  assert.equal((await rebuilt.get("order-o3")).status, "confirmed");
  rebuilt.close();
});

test("a throwing handler stops the model at the last good event, its own writes undone", async () => {
  const store = await newStore();
  await store.append("order-a", [ev("OrderCreated", { customerId: "x" })]);
  await store.append("order-b", [ev("OrderCreated", { customerId: "poison" })]);
  await store.append("order-c", [ev("OrderCreated", { customerId: "y" })]);
  const handlers = {
    OrderCreated: (e, rm) => {
      rm.put(e.stream, { id: e.stream, customerId: e.data.customerId, status: "open" });
      if (e.data.customerId === "poison") throw new Error("bad customer");
    },
  };
  const broken = store.readModel({ ...ordersModel, name: "p", handlers });
  await assert.rejects(broken.ready(), (e) => e.code === "EVOLVE_FAILED" && e.position === 2 && /bad customer/.test(e.message));
  assert.equal(broken.checkpoint, 1);
  assert.ok(await broken.get("order-a"));
  assert.equal(await broken.get("order-b"), undefined, "the failing event's write was undone");
  broken.close();
  const fixed = store.readModel({ ...ordersModel, name: "p", handlers: { OrderCreated: (e, rm) => rm.put(e.stream, { id: e.stream, status: "open" }) } });
  await fixed.ready();
  assert.ok(await fixed.get("order-b"));
  assert.ok(await fixed.get("order-c"));
  fixed.close();
});

test("bad definitions, bad records and unknown indexes are INVALID_INPUT", async () => {
  const store = await newStore();
  for (const bad of [{}, { ...ordersModel, name: "" }, { ...ordersModel, handlers: 1 }, { ...ordersModel, handlers: { A: 1 } }, { ...ordersModel, indexes: "status" }]) {
    assert.throws(() => store.readModel(bad), { code: "INVALID_INPUT" });
  }
  const list = store.readModel(ordersModel);
  await list.ready();
  await assert.rejects(list.query({ index: "nope", equals: 1 }), { code: "INVALID_INPUT" });
  await assert.rejects(list.query({ index: "status", range: { gt: 1, gte: 2 } }), { code: "INVALID_INPUT", message: "invalid input: pass gte or gt, not both" });
  await assert.rejects(list.query({ index: "status", equals: { x: 1 } }), { code: "INVALID_INPUT" });
  // Each bad query option is named; absent, null and undefined ones are defaults.
  const names = (field) => (e) => e.code === "INVALID_INPUT" && e.message.includes(field);
  await assert.rejects(list.query({ index: "status", limit: "ten" }), names("limit"));
  await assert.rejects(list.query({ index: "status", reverse: "yes" }), names("reverse"));
  await assert.rejects(list.query({ index: "status", range: { gte: [] } }), names("range"));
  await assert.rejects(list.query({ index: "status", equals: Number.NaN }), names("equals"));
  await assert.rejects(list.query({ index: 5, equals: 1 }), names("index"));
  await assert.rejects(list.query("status"), names("options"));
  assert.deepEqual(await list.query({ index: "status", equals: "open", limit: undefined, reverse: null, range: null }), []);
  list.close();
  await store.append("r-1", [ev("R")]);
  for (const put of [(rm) => rm.put("k", [1]), (rm) => rm.put("", {}), (rm) => rm.put("k", { status: {} }), (rm) => rm.put("k", { f() {} })]) {
    const m = store.readModel({ name: `bad-${Math.random()}`, indexes: ["status"], handlers: { R: (e, rm) => put(rm) } });
    await assert.rejects(m.ready(), { code: "EVOLVE_FAILED" });
    m.close();
  }
});

test("subscribe: called after each handled batch, once its writes are visible, with checkpoint and keys", async () => {
  const store = await newStore();
  await seed(store);
  const list = store.readModel(ordersModel);
  await list.ready();
  const changes = [];
  const seen = [];
  const unsubscribe = list.subscribe((change) => {
    changes.push(change);
    seen.push(list.get("order-o1").then((o) => o?.status));
  });
  assert.equal(typeof unsubscribe, "function");
  await store.append("order-o1", [ev("OrderConfirmed")]);
  await waitFor(() => changes.length === 1, 5000, "a change");
  assert.deepEqual(changes[0], { checkpoint: 10, keys: ["order-o1"] });
  assert.equal(list.checkpoint, 10);
  assert.deepEqual(await Promise.all(seen), ["confirmed"], "get saw the batch inside the callback");
  await store.append("order-o9", [ev("OrderCreated", { customerId: "dan" })]);
  await store.append("order-o2", [ev("OrderDeleted")]);
  await waitFor(() => changes.at(-1).checkpoint === 12, 5000, "both appends");
  assert.deepEqual(changes.slice(1).flatMap((c) => c.keys).sort(), ["order-o2", "order-o9"], "puts and deletes");
  await store.append("other-1", [ev("Unhandled")]);
  await store.append("order-o3", [ev("OrderConfirmed")]);
  await waitFor(() => changes.at(-1).checkpoint === 14, 5000, "the last append");
  assert.ok(changes.every((c) => c.keys.length > 0), "events the model does not handle call no one");
  unsubscribe();
  unsubscribe(); // a second call is harmless
  const before = changes.length;
  await store.append("order-o4", [ev("OrderConfirmed")]);
  await waitFor(async () => (await list.get("order-o4")).status === "confirmed", 5000, "the model to follow");
  assert.equal(changes.length, before, "unsubscribed");
  list.close();
});

test("subscribe: a throwing subscriber breaks neither the read model nor other subscribers", async () => {
  const store = await newStore();
  const list = store.readModel(ordersModel);
  await list.ready();
  let others = 0;
  const reported = [];
  const consoleError = console.error;
  console.error = (...args) => reported.push(args);
  try {
    list.subscribe(() => { throw new Error("subscriber bug"); });
    list.subscribe(() => { others++; });
    await store.append("order-a", [ev("OrderCreated", { customerId: "x" })]);
    await waitFor(() => others === 1, 5000, "the second subscriber");
    await store.append("order-a", [ev("OrderConfirmed")]);
    await waitFor(() => others === 2, 5000, "the next batch");
  } finally {
    console.error = consoleError;
  }
  await list.ready();
  assert.equal((await list.get("order-a")).status, "confirmed");
  // What the subscriber threw is reported, once per call, with the error itself.
  assert.equal(reported.length, 2);
  assert.match(reported[0][0], /a read model subscriber threw/);
  assert.equal(reported[0][1].message, "subscriber bug");
  list.close();
});

test("rebuild clears the records and the checkpoint and handles the whole log again", async () => {
  const store = await newStore();
  await seed(store);
  let shape = "v1";
  const handlers = {
    ...ordersModel.handlers,
    OrderCreated: (e, rm) => {
      rm.put(e.stream, { id: e.stream, customerId: e.data.customerId, status: "open", total: 0, shape });
      if (shape === "v1") rm.put(`extra-${e.stream}`, { id: e.stream });
    },
  };
  const progress = [];
  const list = store.readModel({ ...ordersModel, handlers, onProgress: (p) => progress.push(p) });
  await list.ready();
  assert.deepEqual(progress.at(-1), { processed: 9, total: 9 });
  assert.ok(await list.get("extra-order-o1"));
  const changes = [];
  list.subscribe((c) => changes.push(c));
  shape = "v2";
  const [a, b] = await Promise.all([list.rebuild(), list.rebuild()]);
  assert.equal(a, undefined);
  assert.equal(b, undefined);
  assert.equal(list.checkpoint, 9);
  assert.deepEqual(changes[0], { checkpoint: 0 }, "told first that anything may have changed");
  assert.equal(changes.at(-1).checkpoint, 9);
  assert.equal(await list.get("extra-order-o1"), undefined, "records of the old handlers are gone");
  assert.equal((await list.get("order-o1")).shape, "v2");
  assert.deepEqual((await list.query({ index: "status", equals: "confirmed" })).map((o) => o.id), ["order-o2"]);
  await store.append("order-o1", [ev("OrderConfirmed")]);
  await waitFor(async () => (await list.get("order-o1")).status === "confirmed", 5000, "following after the rebuild");
  list.close();
  await assert.rejects(list.rebuild(), { name: "EventfoldError", code: "INVALID_INPUT" });
});

test("rebuild clears a handler error: the fixed model handles the log from the start", async () => {
  const store = await newStore();
  await store.append("order-a", [ev("OrderCreated", { customerId: "x" })]);
  await store.append("order-b", [ev("OrderCreated", { customerId: "poison" })]);
  let poisoned = true;
  const handlers = {
    OrderCreated: (e, rm) => {
      if (poisoned && e.data.customerId === "poison") throw new Error("bad customer");
      rm.put(e.stream, { id: e.stream, customerId: e.data.customerId, status: "open" });
    },
  };
  const list = store.readModel({ ...ordersModel, name: "fixable", handlers });
  await assert.rejects(list.ready(), { code: "EVOLVE_FAILED", position: 2 });
  assert.equal(list.error.code, "EVOLVE_FAILED");
  await store.append("order-c", [ev("OrderCreated", { customerId: "y" })]);
  await tick();
  assert.equal(list.checkpoint, 1, "stopped at the last good event");
  poisoned = false;
  await list.rebuild();
  assert.equal(list.error, undefined);
  await list.ready();
  assert.equal(list.checkpoint, 3);
  assert.deepEqual((await list.query({ index: "status", equals: "open" })).map((o) => o.id), ["order-a", "order-b", "order-c"]);
  list.close();
});
