// Live queries (readModel.liveQuery / liveGet, projection.liveState) against the packed package:
// the contract React's useSyncExternalStore and Svelte stores rely on. subscribe calls back at
// once and after each change and returns an unsubscribe function; getSnapshot() returns the
// same object until the answer changes; both are bound (passed without `this`).
import { test } from "node:test";
import assert from "node:assert/strict";
import { ev, newStore, rejectsUnchanged, waitFor } from "./helpers.mjs";

const model = {
  name: "orders", version: 1, indexes: ["status"],
  handlers: {
    OrderCreated: (e, rm) => rm.put(e.stream, { id: e.stream, status: "open" }),
    OrderShipped: (e, rm) => rm.update(e.stream, (o) => ({ ...o, status: "shipped" })),
    Noted: () => {},
  },
};
const settle = () => new Promise((r) => setTimeout(r, 30));

test("a live read-model query: stable snapshot, a new one after each change that alters it", async () => {
  const store = await newStore();
  await store.append("order-1", [ev("OrderCreated", {})]);
  const orders = store.readModel(model);
  const open = orders.liveQuery({ index: "status", equals: "open" });
  const { subscribe, getSnapshot } = open; // React passes them without `this`
  assert.equal(getSnapshot(), undefined, "nothing before the first evaluation");
  const heard = [];
  const unsubscribe = subscribe((rows) => heard.push(rows));
  assert.deepEqual(heard, [undefined], "called at once (the Svelte store contract)");
  await waitFor(() => getSnapshot() !== undefined);
  const first = getSnapshot();
  assert.deepEqual(first.map((o) => o.id), ["order-1"]);
  assert.equal(getSnapshot(), first, "the same array between changes");

  await store.append("note-1", [ev("Noted", {})]);
  await settle();
  assert.equal(getSnapshot(), first, "an event that leaves the answer as it is keeps the snapshot");

  await store.append("order-2", [ev("OrderCreated", {})]);
  await waitFor(() => getSnapshot() !== first);
  assert.deepEqual(getSnapshot().map((o) => o.id), ["order-1", "order-2"]);
  await store.append("order-1", [ev("OrderShipped", {})]);
  await waitFor(() => getSnapshot().length === 1);
  assert.deepEqual(heard.slice(1).map((rows) => rows.map((o) => o.id)), [["order-1"], ["order-1", "order-2"], ["order-2"]]);

  unsubscribe();
  unsubscribe();
  const last = getSnapshot();
  await store.append("order-3", [ev("OrderCreated", {})]);
  await settle();
  assert.equal(heard.length, 4, "nobody called after unsubscribing");
  assert.equal(getSnapshot(), last, "not followed while nobody listens");
  const again = [];
  open.subscribe((rows) => again.push(rows));
  await waitFor(() => again.length === 2);
  assert.deepEqual(again[1].map((o) => o.id), ["order-2", "order-3"], "a new subscriber gets the current answer");
});

test("a live get: null for an absent record, then the record; liveState follows a projection", async () => {
  const store = await newStore();
  const orders = store.readModel(model);
  const one = orders.liveGet("order-9");
  const off = one.subscribe(() => {});
  await waitFor(() => one.getSnapshot() !== undefined);
  assert.equal(one.getSnapshot(), null);
  await store.append("order-9", [ev("OrderCreated", {})]);
  await waitFor(() => one.getSnapshot() !== null);
  assert.deepEqual(one.getSnapshot(), { id: "order-9", status: "open" });
  off();

  const count = store.projection({ name: "count", init: () => ({ n: 0 }), evolve: (s) => ({ n: s.n + 1 }) });
  const state = count.liveState();
  const seen = [];
  state.subscribe((s) => seen.push(s));
  await waitFor(() => state.getSnapshot()?.n === 1);
  assert.equal(state.getSnapshot(), count.state, "the projection's state object itself");
  await store.append("x-1", [ev("Any", {})]);
  await waitFor(() => state.getSnapshot().n === 2);
  assert.deepEqual(seen.slice(-1), [{ n: 2 }]);
});

test("a live query of an undeclared index throws INVALID_INPUT and changes nothing", async () => {
  const store = await newStore();
  await store.append("order-1", [ev("OrderCreated", {})]);
  const orders = store.readModel(model);
  await orders.ready();
  await rejectsUnchanged(store, (async () => orders.liveQuery({ index: "nope", equals: 1 }))(), "INVALID_INPUT");
});
