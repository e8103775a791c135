// AbortSignal on long calls: aggregate.execute, projection and read model ready()/rebuild().
// An aborted call rejects with signal.reason (an AbortError DOMException by default, as fetch
// does) and writes nothing; aborting a wait leaves the view running.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ev, newStore, rejectsUnchanged, snapshot, waitFor } from "./helpers.mjs";

const counter = {
  name: "counter",
  initialState: () => ({ n: 0 }),
  evolve: (s, e) => ({ n: s.n + e.data.by }),
  decide: (c) => [{ type: "Added", data: { by: c.by } }],
};

const isAbortError = (e) => {
  assert.equal(e.name, "AbortError");
  return true;
};

test("execute with an aborted signal rejects with AbortError and appends nothing", async () => {
  const store = await newStore();
  const counters = store.aggregate(counter);
  await counters.execute("c1", { by: 1 });
  const before = await snapshot(store);
  await assert.rejects(counters.execute("c1", { by: 2 }, { signal: AbortSignal.abort() }), isAbortError);
  const reason = new Error("the user left the page");
  await assert.rejects(counters.execute("c1", { by: 2 }, { signal: AbortSignal.abort(reason) }), (e) => e === reason);
  assert.deepEqual(await snapshot(store), before, "nothing appended");
  const done = await counters.execute("c1", { by: 5 }, { signal: new AbortController().signal });
  assert.equal(done.state.n, 6, "a signal that never aborts changes nothing");
});

test("an abort while decide runs stops the command before its append", async () => {
  const store = await newStore();
  const controller = new AbortController();
  const counters = store.aggregate({ ...counter, decide: (c) => {
    controller.abort();
    return [{ type: "Added", data: { by: c.by } }];
  } });
  const before = await snapshot(store);
  await assert.rejects(counters.execute("c1", { by: 2 }, { signal: controller.signal }), isAbortError);
  assert.deepEqual(await snapshot(store), before, "nothing appended");
});

test("a signal that is not an AbortSignal is INVALID_INPUT", async () => {
  const store = await newStore();
  const counters = store.aggregate(counter);
  await rejectsUnchanged(store, counters.execute("c1", { by: 1 }, { signal: "soon" }), "INVALID_INPUT");
});

test("aborting ready() ends the wait; the projection goes on catching up", async () => {
  const store = await newStore();
  for (let i = 0; i < 20; i++) {
    await store.append(`n-${i}`, Array.from({ length: 100 }, () => ev("Added", { by: 1 })));
  }
  const totals = store.projection({ name: "totals", init: () => 0, evolve: (s, e) => s + e.data.by });
  const controller = new AbortController();
  const waiting = totals.ready({ signal: controller.signal });
  controller.abort();
  await assert.rejects(waiting, isAbortError);
  await totals.ready();
  assert.equal(totals.state, 2000);
  await assert.rejects(totals.ready({ signal: AbortSignal.abort() }), isAbortError, "aborted before the call");
});

test("rebuild() with an aborted signal rebuilds nothing; read model ready() takes a signal too", async () => {
  const store = await newStore();
  await store.append("n-1", [ev("Added", { by: 1 }), ev("Added", { by: 2 })]);
  let evolved = 0;
  const totals = store.projection({ name: "totals", init: () => 0, evolve: (s, e) => { evolved++; return s + e.data.by; } });
  await totals.ready();
  assert.equal(evolved, 2);
  await assert.rejects(totals.rebuild({ signal: AbortSignal.abort() }), isAbortError);
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(evolved, 2, "nothing was folded again");
  await totals.rebuild({ signal: new AbortController().signal });
  assert.equal(evolved, 4, "a rebuild not aborted folds the log again");

  const list = store.readModel({ name: "list", indexes: ["n"], handlers: { Added: (e, rm) => rm.put(e.id, { n: e.data.by }) } });
  await list.ready({ signal: new AbortController().signal });
  await assert.rejects(list.ready({ signal: AbortSignal.abort() }), isAbortError);
  await assert.rejects(list.rebuild({ signal: AbortSignal.abort() }), isAbortError);
  await waitFor(async () => (await list.query({ index: "n", range: { gte: 0 } })).length === 2);
});
