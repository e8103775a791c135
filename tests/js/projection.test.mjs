import { test } from "node:test";
import assert from "node:assert/strict";
import { ev, newStore } from "./helpers.mjs";

const tick = () => new Promise((r) => setTimeout(r, 10));
const totals = {
  name: "totals",
  version: 1,
  init: () => ({ count: 0, sum: 0 }),
  evolve: (s, e) => (e.type === "Added" ? { count: s.count + 1, sum: s.sum + e.data.n } : s),
};

test("a projection catches up, then follows appends live", async () => {
  const store = await newStore();
  for (let n = 1; n <= 5; n++) await store.append("acc-1", [ev("Added", { n })]);
  await store.append("acc-1", [ev("Ignored", {})]);
  const view = store.projection(totals);
  await view.ready();
  assert.deepEqual(view.state, { count: 5, sum: 15 });
  assert.equal(view.checkpoint, 6);
  const seen = [];
  const unsubscribe = view.subscribe((s) => seen.push(s.sum));
  await store.append("acc-2", [ev("Added", { n: 10 })]);
  await tick();
  assert.deepEqual(view.state, { count: 6, sum: 25 });
  assert.deepEqual(seen, [25]);
  unsubscribe();
  unsubscribe(); // a second call is harmless
  await store.append("acc-2", [ev("Added", { n: 1 })]);
  await tick();
  assert.equal(view.state.sum, 26);
  assert.deepEqual(seen, [25], "no calls after unsubscribe");
  view.close();
});

test("the state and checkpoint are persisted and resumed; a new version rebuilds", async () => {
  const store = await newStore();
  for (let n = 1; n <= 4; n++) await store.append("acc", [ev("Added", { n })]);
  const first = store.projection(totals);
  await first.ready();
  first.close();
  await store.append("acc", [ev("Added", { n: 100 })]);
  let evolved = 0;
  const second = store.projection({ ...totals, evolve: (s, e) => { evolved++; return totals.evolve(s, e); } });
  await second.ready();
  assert.deepEqual(second.state, { count: 5, sum: 110 });
  assert.equal(evolved, 1, "resumed from the persisted checkpoint");
  second.close();
  evolved = 0;
  const v2 = store.projection({ ...totals, version: 2, evolve: (s, e) => { evolved++; return totals.evolve(s, e); } });
  await v2.ready();
  assert.equal(evolved, 5, "a new version folds the whole log");
  assert.deepEqual(v2.state, { count: 5, sum: 110 });
  v2.close();
});

test("rebuild folds the log again; stateAt travels in time; progress is reported", async () => {
  const store = await newStore();
  for (let n = 0; n < 45; n++) await store.append("acc", Array.from({ length: 100 }, () => ev("Added", { n: 1 })));
  const progress = [];
  const view = store.projection({ ...totals, onProgress: (p) => progress.push(p) });
  await view.ready();
  assert.equal(view.state.count, 4500);
  assert.ok(progress.length >= 3, "one report per page");
  assert.deepEqual(progress.at(-1), { processed: 4500, total: 4500 });
  assert.ok(progress.every((p, i) => i === 0 || p.processed >= progress[i - 1].processed));
  assert.deepEqual(await view.stateAt(10), { count: 10, sum: 10 });
  assert.deepEqual(await view.stateAt(0), { count: 0, sum: 0 });
  await view.rebuild();
  assert.equal(view.state.count, 4500);
  view.close();
});

test("an evolve that throws stops at the last good event with EVOLVE_FAILED; a fixed version resumes", async () => {
  const store = await newStore();
  await store.append("acc", [ev("Added", { n: 1 }), ev("Added", { n: 2 }), ev("Added", { n: -1 }), ev("Added", { n: 4 })]);
  const broken = store.projection({ ...totals, evolve: (s, e) => { if (e.data.n < 0) throw new Error("negative"); return totals.evolve(s, e); } });
  await assert.rejects(broken.ready(), (e) => e.code === "EVOLVE_FAILED" && e.position === 3 && /negative/.test(e.message));
  assert.deepEqual(broken.state, { count: 2, sum: 3 });
  assert.equal(broken.checkpoint, 2);
  await store.append("acc", [ev("Added", { n: 5 })]);
  await tick();
  assert.equal(broken.checkpoint, 2, "stays stopped at the last good event");
  broken.close();
  let evolved = 0;
  const fixed = store.projection({ ...totals, evolve: (s, e) => { evolved++; return totals.evolve(s, e); } });
  await fixed.ready();
  assert.deepEqual(fixed.state, { count: 5, sum: 11 });
  assert.equal(evolved, 3, "resumed after the last good checkpoint");
  fixed.close();
});

test("a filter limits what the projection folds", async () => {
  const store = await newStore();
  await store.append("order-1", [ev("Added", { n: 1 })]);
  await store.append("cart-1", [ev("Added", { n: 1000 })]);
  const view = store.projection({ ...totals, name: "orders-only", filter: { streamPrefix: "order-" } });
  await view.ready();
  assert.deepEqual(view.state, { count: 1, sum: 1 });
  assert.equal(view.checkpoint, 2, "the checkpoint moves past filtered-out events");
  view.close();
});

test("a handler that never settles blocks neither appends nor projections", async () => {
  const store = await newStore();
  const view = store.projection(totals);
  await view.ready();
  let calls = 0;
  const stuck = store.subscribe({}, () => { calls++; return new Promise(() => {}); });
  for (let i = 0; i < 5; i++) await store.append("a", [ev("Added", { n: 1 })]);
  await tick();
  assert.equal(calls, 1, "the stuck handler got its first batch and waits");
  assert.equal(await store.headPosition(), 5, "every append resolved");
  assert.deepEqual(view.state, { count: 5, sum: 5 }, "the projection kept up");
  stuck.close();
  view.close();
});

test("bad projection definitions are INVALID_INPUT", async () => {
  const store = await newStore();
  for (const bad of [{}, { ...totals, name: "" }, { ...totals, init: 1 }, { ...totals, evolve: null }, { ...totals, version: -1 }, { ...totals, filter: { types: "x" } }]) {
    assert.throws(() => store.projection(bad), { name: "EventfoldError", code: "INVALID_INPUT" });
  }
});
