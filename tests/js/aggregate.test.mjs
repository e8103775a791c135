import { test } from "node:test";
import assert from "node:assert/strict";
import { newStore, snapshot } from "./helpers.mjs";
import { order } from "./order.mjs";

test("execute decides, appends and returns the new state", async () => {
  const store = await newStore();
  const orders = store.aggregate(order);
  const created = await orders.execute("42", { type: "Create", customerId: "c1" });
  assert.equal(created.version, 1);
  assert.equal(created.state.status, "open");
  assert.equal(created.events[0].type, "OrderCreated");
  assert.equal(created.events[0].stream, "order-42");
  const added = await orders.execute("42", { type: "AddItem", sku: "p1", qty: 3, unitPrice: 1999 });
  assert.equal(added.state.total, 5997);
  assert.deepEqual((await orders.load("42")).state, added.state);
  assert.equal(orders.streamOf("42"), "order-42");
});

test("a rejecting decide gives DECIDER_REJECTED with the domain error as cause, and appends nothing", async () => {
  const store = await newStore();
  const orders = store.aggregate(order);
  await orders.execute("1", { type: "Create", customerId: "c1" });
  const before = await snapshot(store);
  await assert.rejects(orders.execute("1", { type: "Confirm" }), (e) => {
    assert.equal(e.name, "EventfoldError");
    assert.equal(e.code, "DECIDER_REJECTED");
    assert.match(e.message, /empty order cannot be confirmed/);
    assert.ok(e.cause instanceof Error);
    assert.equal(e.cause.message, "an empty order cannot be confirmed");
    return true;
  });
  await assert.rejects(orders.execute("1", { type: "AddItem", sku: "x", qty: -1, unitPrice: 5 }), { code: "DECIDER_REJECTED" });
  assert.deepEqual(await snapshot(store), before);
});

test("a decider returning malformed events is INVALID_INPUT and appends nothing", async () => {
  const store = await newStore();
  const cases = [
    () => "not an array",
    () => [{ data: 1 }],
    () => [{ type: "T", data: { f() {} } }],
    () => Promise.resolve([{ type: "T" }]),
    () => [{ type: "T", metadata: [1] }],
  ];
  for (const [i, decide] of cases.entries()) {
    const agg = store.aggregate({ ...order, name: `bad${i}`, decide });
    const before = await snapshot(store);
    await assert.rejects(agg.execute("1", {}), { code: "INVALID_INPUT" }, `case ${i}`);
    assert.deepEqual(await snapshot(store), before);
  }
});

test("a decider returning nothing appends nothing and returns the current state", async () => {
  const store = await newStore();
  const agg = store.aggregate({ ...order, decide: () => [] });
  assert.deepEqual(await agg.execute("1", {}), { state: order.initialState(), version: 0, events: [] });
  assert.equal(await store.headPosition(), 0);
});

test("concurrent commands on one aggregate are serialised by retries: none is lost", async () => {
  const store = await newStore();
  const orders = store.aggregate(order);
  await orders.execute("9", { type: "Create", customerId: "c" });
  const adds = Array.from({ length: 8 }, (_, i) => orders.execute("9", { type: "AddItem", sku: `p${i}`, qty: 1, unitPrice: 100 }));
  const results = await Promise.allSettled(adds);
  const ok = results.filter((r) => r.status === "fulfilled").length;
  const state = (await orders.load("9")).state;
  assert.equal(Object.keys(state.lines).length, ok);
  assert.equal(state.total, ok * 100);
  for (const r of results) if (r.status === "rejected") assert.equal(r.reason.code, "WRONG_EXPECTED_VERSION");
});

test("snapshots every N events give the same state as a full replay", async () => {
  const store = await newStore();
  const snap = store.aggregate({ ...order, snapshotEvery: 3 });
  await snap.execute("s", { type: "Create", customerId: "c" });
  for (let i = 0; i < 20; i++) await snap.execute("s", { type: "AddItem", sku: `p${i % 4}`, qty: i + 1, unitPrice: 10 + i });
  let evolved = 0;
  const counting = store.aggregate({ ...order, snapshotVersion: 1, evolve: (s, e) => { evolved++; return order.evolve(s, e); } });
  const fromSnapshot = await counting.load("s");
  assert.ok(evolved < 3, `loaded from a snapshot: only ${evolved} events replayed`);
  evolved = 0;
  const replay = store.aggregate({ ...order, snapshotVersion: 2, evolve: (s, e) => { evolved++; return order.evolve(s, e); } });
  const full = await replay.load("s");
  assert.equal(evolved, 21, "a changed snapshotVersion ignores old snapshots");
  assert.deepEqual(fromSnapshot, full);
});

test("snapshot(id) takes one now, deleteSnapshots(id) makes loading replay", async () => {
  const store = await newStore();
  let evolved = 0;
  const orders = store.aggregate({ ...order, evolve: (s, e) => { evolved++; return order.evolve(s, e); } });
  assert.equal(await orders.snapshot("n"), null, "no events: nothing to snapshot");
  await orders.execute("n", { type: "Create", customerId: "c" });
  for (let i = 0; i < 5; i++) await orders.execute("n", { type: "AddItem", sku: "p", qty: 1, unitPrice: 10 });
  assert.deepEqual(await orders.snapshot("n"), { version: 6 });
  evolved = 0;
  const loaded = await orders.load("n");
  assert.equal(evolved, 0, "loaded from the snapshot taken now");
  assert.equal(loaded.version, 6);
  assert.equal(loaded.state.total, 50);
  await orders.deleteSnapshots("n");
  evolved = 0;
  assert.deepEqual(await orders.load("n"), loaded, "the same state after a full replay");
  assert.equal(evolved, 6, "no snapshot left: every event replayed");
  await orders.deleteSnapshots("n"); // nothing left to delete: fine
  const before = await snapshot(store);
  await assert.rejects(orders.snapshot(""), { name: "EventfoldError", code: "INVALID_INPUT" });
  await assert.rejects(orders.deleteSnapshots(""), { name: "EventfoldError", code: "INVALID_INPUT" });
  assert.deepEqual(await snapshot(store), before);
});

test("snapshotAfter: { events, ms } snapshots once enough events AND enough time passed", async () => {
  const store = await newStore();
  let evolved = 0;
  const def = { ...order, evolve: (s, e) => { evolved++; return order.evolve(s, e); } };
  const orders = store.aggregate({ ...def, snapshotAfter: { events: 3, ms: 200 } });
  const replayedOnLoad = async () => { evolved = 0; await orders.load("t"); return evolved; };
  await orders.execute("t", { type: "Create", customerId: "c" });
  await orders.execute("t", { type: "AddItem", sku: "a", qty: 1, unitPrice: 1 });
  assert.equal(await replayedOnLoad(), 2, "2 events: no snapshot yet");
  await orders.execute("t", { type: "AddItem", sku: "a", qty: 1, unitPrice: 1 });
  assert.equal(await replayedOnLoad(), 0, "3 events, no snapshot before: taken");
  for (let i = 0; i < 4; i++) await orders.execute("t", { type: "AddItem", sku: "a", qty: 1, unitPrice: 1 });
  assert.equal(await replayedOnLoad(), 4, "4 more events within 200 ms: not yet");
  await new Promise((r) => setTimeout(r, 250));
  await orders.execute("t", { type: "AddItem", sku: "a", qty: 1, unitPrice: 1 });
  assert.equal(await replayedOnLoad(), 0, "5 events and 250 ms since: taken");
  assert.throws(() => store.aggregate({ ...order, snapshotEvery: 2, snapshotAfter: { events: 2, ms: 0 } }), { code: "INVALID_INPUT" });
  assert.throws(() => store.aggregate({ ...order, snapshotAfter: { events: -1, ms: 0 } }), { code: "INVALID_INPUT" });
  assert.throws(() => store.aggregate({ ...order, snapshotAfter: 5 }), { code: "INVALID_INPUT" });
});

test("load travels in time by version, position and timestamp", async () => {
  const store = await newStore();
  const orders = store.aggregate(order);
  await orders.execute("t", { type: "Create", customerId: "c" });
  await store.append("other-1", [{ type: "Noise" }]);
  await orders.execute("t", { type: "AddItem", sku: "a", qty: 1, unitPrice: 100 });
  await new Promise((r) => setTimeout(r, 5));
  await orders.execute("t", { type: "AddItem", sku: "b", qty: 1, unitPrice: 50 });
  assert.equal((await orders.load("t", { atVersion: 1 })).state.total, 0);
  assert.equal((await orders.load("t", { atVersion: 2 })).state.total, 100);
  assert.deepEqual((await orders.load("t", { atVersion: 0 })), { state: order.initialState(), version: 0 });
  assert.equal((await orders.load("t", { atPosition: 3 })).state.total, 100);
  assert.equal((await orders.load("t", { atPosition: 2 })).version, 1);
  const log = await store.readStream("order-t");
  assert.equal((await orders.load("t", { atTime: log[1].timestamp })).state.total, 100);
  assert.equal((await orders.load("t", { atTime: new Date(log[2].timestamp) })).state.total, 150);
  await assert.rejects(orders.load("t", { atVersion: 1, atPosition: 1 }), { code: "INVALID_INPUT" });
});

test("bad definitions are INVALID_INPUT", async () => {
  const store = await newStore();
  for (const bad of [{}, { ...order, name: "" }, { ...order, decide: 1 }, { ...order, evolve: undefined }, { ...order, snapshotEvery: -1 }]) {
    assert.throws(() => store.aggregate(bad), { name: "EventfoldError", code: "INVALID_INPUT" });
  }
  const orders = store.aggregate(order);
  await assert.rejects(orders.execute("", { type: "Create", customerId: "c" }), { code: "INVALID_INPUT" });
});

test("an evolve that throws while loading is EVOLVE_FAILED naming the event", async () => {
  const store = await newStore();
  await store.append("order-x", [{ type: "OrderCreated", data: { customerId: "c" } }, { type: "Poison" }]);
  const agg = store.aggregate({ ...order, evolve: (s, e) => { if (e.type === "Poison") throw new Error("cannot"); return order.evolve(s, e); } });
  await assert.rejects(agg.load("x"), (e) => e.code === "EVOLVE_FAILED" && /Poison/.test(e.message) && /order-x/.test(e.message));
});
