// Shared helpers of the Node tests. They run against the packed package, installed into a
// consumer project, so `eventfold` resolves exactly as it does for a user.
import assert from "node:assert/strict";
import { EventStore } from "eventfold";

/**
 * A fresh store: in memory, or with EVENTFOLD_STORE=sqlite (Node >= 22.5, as scripts/test-package
 * runs the suite a second time) a SQL store on a fresh node:sqlite database, so every test of
 * aggregates, projections, read models, buses and sagas also runs on it.
 */
export async function newStore(options) {
  if (process.env.EVENTFOLD_STORE === "sqlite") {
    const { DatabaseSync } = await import("node:sqlite");
    return EventStore.sqlite(new DatabaseSync(":memory:"), options);
  }
  return EventStore.inMemory(options);
}

/** Everything observable about a store, to prove a failed call changed nothing. */
export async function snapshot(store) {
  return { head: await store.headPosition(), log: await store.readAll() };
}

/** Asserts that `promise` rejects with an EventfoldError of `code` and the store is unchanged. */
export async function rejectsUnchanged(store, promise, code, fields = {}) {
  const before = await snapshot(store);
  await assert.rejects(promise, (e) => {
    assert.ok(e instanceof Error, "a real Error");
    assert.equal(e.name, "EventfoldError");
    assert.equal(e.code, code, e.message);
    for (const [k, v] of Object.entries(fields)) assert.deepEqual(e[k], v, `field ${k}`);
    return true;
  });
  assert.deepEqual(await snapshot(store), before, "the failed call changed the store");
}

export const ev = (type, data, extra = {}) => ({ type, data, id: crypto.randomUUID(), ...extra });

/** Polls `check` until it returns a truthy value (or fails after `ms`). */
export async function waitFor(check, ms = 5000, what = "condition") {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
