// sync.now({ signal }) against a real eventfold-server, through the fault proxy (proxy.mjs) so
// the abort lands while a chosen request is in flight: the call rejects with signal.reason, the
// exchange stops at that request (pulled pages stored whole, nothing after), pushed events stay
// pending until an answer confirms them, and a background sync (start()) is not interrupted.
// The cancelling rules themselves are tested natively (src/sync/scheduler/tests.rs).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { EventStore } from "eventfold";
import { startServer } from "./server.mjs";
import { startProxy } from "./proxy.mjs";
import { eventually } from "./sync-fixtures.mjs";

let server;
let proxy;
before(async () => {
  server = await startServer();
  proxy = await startProxy(server.url);
});
after(async () => {
  await proxy?.close();
  await server?.stop();
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const isAbortError = (e) => {
  assert.equal(e.name, "AbortError");
  return true;
};
const pulls = () => proxy.requests.filter((r) => r.url.startsWith("/v1/pull")).length;

/** A store syncing `scope` through the proxy. */
async function device(scope, options = {}) {
  const store = await EventStore.inMemory();
  return { store, sync: store.sync({ url: proxy.url, scope, ...options }) };
}

/** Puts `streams` × `per` events of `prefix` on the server (directly, not through the proxy). */
async function seed(prefix, streams, per) {
  const store = await EventStore.inMemory();
  const sync = store.sync({ url: server.url, scope: [prefix] });
  for (let s = 0; s < streams; s++) {
    await store.append(`${prefix}${s}`, Array.from({ length: per }, (_, i) => ({ type: "Seeded", data: { s, i } })));
  }
  assert.equal((await sync.now()).pushed, streams * per);
}

test("an aborted pull stops the exchange there: the pages before it stay, whole, and the next now() goes on", async () => {
  await seed("bulk-", 8, 25); // 200 events: 4 pages of 50
  const { store, sync } = await device(["bulk-"], { pullLimit: 50 });
  const controller = new AbortController();
  const before = pulls();
  proxy.fault("/v1/pull", "during", { after: 2, fn: () => controller.abort() });
  await assert.rejects(sync.now({ signal: controller.signal }), isAbortError);
  await sleep(200);
  assert.equal(pulls() - before, 3, "no request after the aborted one");
  const log = await store.readAll();
  assert.deepEqual(log.map((e) => e.position), Array.from({ length: 100 }, (_, i) => i + 1),
    "the two pages answered before the abort, whole; not the third");
  assert.equal(sync.status.syncing, false);
  assert.equal(sync.status.checkpoint, 100, "the checkpoint of the last stored page");
  assert.equal(sync.status.lastError, null, "an abort is no failure");
  const report = await sync.now();
  assert.equal(report.pulled, 100, "the rest, once");
  const all = await store.readAll();
  assert.equal(all.length, 200);
  assert.equal(new Set(all.map((e) => e.id)).size, 200);
});

test("a signal aborted before the call sends nothing; the reason given is the rejection", async () => {
  const { store, sync } = await device(["early-"]);
  await store.append("early-1", [{ type: "Kept", data: {} }]);
  const seen = proxy.requests.length;
  await assert.rejects(sync.now({ signal: AbortSignal.abort() }), isAbortError);
  const reason = new Error("the user left the page");
  await assert.rejects(sync.now({ signal: AbortSignal.abort(reason) }), (e) => e === reason);
  await sleep(50);
  assert.equal(proxy.requests.length, seen, "no request");
  assert.equal(sync.status.pending, 1);
  assert.equal((await sync.now({ signal: new AbortController().signal })).pushed, 1, "a signal that never aborts changes nothing");
});

test("an aborted push keeps the events pending; the next now() finds them confirmed and pushes nothing", async () => {
  const { store, sync } = await device(["push-"]);
  await store.append("push-1", [{ type: "A", data: {} }, { type: "B", data: {} }]);
  const controller = new AbortController();
  proxy.fault("/v1/push", "during", { fn: () => controller.abort() });
  await assert.rejects(sync.now({ signal: controller.signal }), isAbortError);
  await eventually(() => !sync.status.syncing, "the exchange to end");
  assert.equal(sync.status.pending, 2, "no answer confirmed them");
  // The request the client gave up on still reaches the server (the proxy forwards it).
  const push = proxy.requests.findLast((r) => r.url.startsWith("/v1/push"));
  await eventually(() => push.answer !== undefined, "the server to answer the abandoned push");
  const report = await sync.now();
  assert.equal(report.pushed, 0, "the server had them already");
  assert.equal(sync.status.pending, 0);
  const other = await device(["push-"]);
  await other.sync.now();
  assert.deepEqual((await other.store.readStream("push-1")).map((e) => e.type), ["A", "B"], "once each");
});

test("aborting one now() leaves the others sharing its exchange, and a background sync, running", async () => {
  const { store, sync } = await device(["shared-"]);
  await store.append("shared-1", [{ type: "A", data: {} }]);
  const controller = new AbortController();
  proxy.fault("/v1/push", "during", { fn: () => controller.abort() });
  const aborted = sync.now({ signal: controller.signal });
  const kept = sync.now();
  await assert.rejects(aborted, isAbortError);
  assert.equal((await kept).pushed, 1, "the exchange went on for the other caller");

  const background = await device(["bg-"], { pollIntervalMs: 60_000 });
  await background.store.append("bg-1", [{ type: "A", data: {} }]);
  const stop = new AbortController();
  proxy.fault("/v1/push", "during", { fn: () => stop.abort() });
  background.sync.start();
  await assert.rejects(background.sync.now({ signal: stop.signal }), isAbortError);
  await eventually(() => background.sync.status.pending === 0 && !background.sync.status.syncing, "the background push");
  assert.equal(background.sync.status.lastError, null);
  background.sync.stop();
});

test("a signal that is not an AbortSignal is INVALID_INPUT", async () => {
  const { sync } = await device(["bad-"]);
  const seen = proxy.requests.length;
  for (const options of [{ signal: "soon" }, { signal: {} }, 5]) {
    await assert.rejects(sync.now(options), (e) => e.name === "EventfoldError" && e.code === "INVALID_INPUT");
  }
  assert.equal(proxy.requests.length, seen, "no request");
});
