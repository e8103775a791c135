// Fault injection through a real HTTP proxy (proxy.mjs) between sync clients and a real
// eventfold-server (SQLite): answers dropped after the server committed, duplicated and
// delayed requests (and a delayed duplicate replayed late), answers cut mid-pull, and the
// server process killed and restarted mid-push. After recovery every client's confirmed log
// (readAll) equals the server's log read over HTTP: same ids, order, versions, data; nothing
// lost, nothing twice.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { EventStore } from "eventfold";
import { startServer } from "./server.mjs";
import { answerJson, forward, startProxy } from "./proxy.mjs";

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

const ev = (type, data) => ({ type, data, id: crypto.randomUUID() });

/** A client store syncing `scope` through the proxy. */
async function client(scope, options = {}) {
  const store = await EventStore.inMemory();
  const sync = store.sync({ url: proxy.url, scope: [scope], conflicts: "append", ...options });
  return { store, sync };
}

/** The server's log of `scope`, pulled over HTTP straight from the server (no proxy). */
async function serverLog(scope) {
  const events = [];
  let after = null;
  for (;;) {
    const res = await fetch(`${server.url}/v1/pull`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ v: 1, after, limit: 5000, scope: [scope] }),
    });
    assert.equal(res.status, 200);
    const page = await res.json();
    events.push(...page.events);
    after = page.checkpoint;
    if (!page.more) return events;
  }
}

const shape = (e) => [e.id, e.stream, e.version, e.type, JSON.stringify(e.data)];

/** Every client's confirmed log equals the server's; no id twice; `expected` ids all there. */
async function converged(scope, clients, expected) {
  const log = await serverLog(scope);
  const ids = log.map((e) => e.id);
  assert.equal(new Set(ids).size, ids.length, "an event id is twice on the server");
  for (const id of expected) assert.ok(ids.includes(id), `event ${id} was lost`);
  assert.equal(log.length, expected.length, "the server holds events nobody appended");
  // Versions are 1.. per stream, in log order.
  const versions = new Map();
  for (const e of log) {
    versions.set(e.stream, (versions.get(e.stream) ?? 0) + 1);
    assert.equal(e.version, versions.get(e.stream), `version of ${e.id}`);
  }
  for (const c of clients) {
    assert.equal(c.sync.status.pending, 0, "nothing left pending");
    assert.deepEqual((await c.store.readAll()).map(shape), log.map(shape));
  }
  return log;
}

const rejectsNetwork = (p) => assert.rejects(p, (e) => e.code === "NETWORK");

test("a push answer dropped after the server committed: the retry duplicates nothing", async () => {
  const a = await client("drop-");
  const events = [ev("A", 1), ev("B", 2), ev("C", 3)];
  await a.store.append("drop-1", events);
  proxy.fault("/v1/push", "drop");
  await rejectsNetwork(a.sync.now());
  assert.equal(a.sync.status.pending, 3, "still pending: the client never saw the answer");
  assert.equal((await serverLog("drop-")).length, 3, "but the server committed them");
  const report = await a.sync.now();
  assert.equal(report.pushed, 0, "found confirmed by the pull: nothing pushed again");
  await converged("drop-", [a], events.map((e) => e.id));
  // A pull answer lost on the way: nothing stored, the next sync takes it again.
  const b = await client("drop-");
  proxy.fault("/v1/pull", "drop");
  await rejectsNetwork(b.sync.now());
  assert.equal(await b.store.headPosition(), 0);
  await b.sync.now();
  await converged("drop-", [a, b], events.map((e) => e.id));
});

test("a duplicated push is answered idempotently; a delayed duplicate replayed later writes nothing", async () => {
  const a = await client("dup-");
  const b = await client("dup-");
  const first = [ev("A", 1), ev("A", 2)];
  await a.store.append("dup-1", first);
  proxy.fault("/v1/push", "duplicate");
  const report = await a.sync.now();
  assert.equal(report.pushed, 2);
  const push = proxy.requests.findLast((r) => r.url === "/v1/push");
  assert.equal(push.fault, "duplicate");
  assert.equal(push.first.status, 200, "the server saw the push twice");
  assert.deepEqual(answerJson(push.first).results, answerJson(push.answer).results,
    "and answered the second exactly like the first");
  // B moves the stream on; then A's old push arrives again, late.
  await b.sync.now();
  const second = [ev("B", 3)];
  await b.store.append("dup-1", second);
  await b.sync.now();
  const late = await forward(server.url, push, push.body);
  assert.equal(late.status, 200);
  assert.deepEqual(answerJson(late).results[0].ok, answerJson(push.answer).results[0].ok,
    "the original result, nothing written");
  await a.sync.now();
  await converged("dup-", [a, b], [...first, ...second].map((e) => e.id));
});

test("a delayed push answer: another client commits meanwhile; both converge", async () => {
  const a = await client("delay-");
  const b = await client("delay-");
  const start = [ev("A", 0)];
  await a.store.append("delay-1", start);
  await a.sync.now();
  await b.sync.now();
  const fromA = [ev("A", 1), ev("A", 2)];
  const fromB = [ev("B", 1)];
  await a.store.append("delay-1", fromA);
  await b.store.append("delay-1", fromB);
  let release;
  proxy.fault("/v1/push", "delay", { until: new Promise((r) => (release = r)) });
  const slow = a.sync.now();
  // Wait until the server has answered A's push (committed); the answer is held.
  const held = () => proxy.requests.findLast((r) => r.url === "/v1/push" && r.fault === "delay");
  while (!held()?.answer) await new Promise((r) => setTimeout(r, 10));
  const rb = await b.sync.now(); // B conflicts with A's committed events and re-places its own
  assert.equal(rb.pushed, 1);
  release();
  const ra = await slow;
  assert.equal(ra.pushed, 2);
  await a.sync.now();
  const log = await converged("delay-", [a, b], [...start, ...fromA, ...fromB].map((e) => e.id));
  assert.deepEqual(log.map((e) => e.type), ["A", "A", "A", "B"], "A's events first: they committed first");
});

test("an answer cut mid-pull keeps the pages stored before it; the next sync resumes", async () => {
  const writer = await client("cut-");
  const events = Array.from({ length: 35 }, (_, i) => ev("E", i));
  for (let s = 0; s < 5; s++) await writer.store.append(`cut-${s}`, events.slice(s * 7, s * 7 + 7));
  await writer.sync.now();
  const reader = await client("cut-", { pullLimit: 10 });
  proxy.fault("/v1/pull", "delay", { ms: 0 }); // page 1 passes
  proxy.fault("/v1/pull", "truncate"); // page 2 is cut
  await rejectsNetwork(reader.sync.now());
  assert.equal(await reader.store.headPosition(), 10, "the first page stayed, nothing of the cut one");
  const report = await reader.sync.now();
  assert.equal(report.pulled, 25);
  assert.equal(report.requests, 3, "pages of 10: 10 + 10 + 5");
  await converged("cut-", [writer, reader], events.map((e) => e.id));
});

test("the server killed and restarted mid-push, at several moments: nothing lost or duplicated", async (t) => {
  const a = await client("crash-");
  const outcomes = [];
  const b = await client("crash-");
  const expected = [];
  for (const [round, ms] of [0, 1, 3, 10, 30, 100].entries()) {
    // A pushes 4 streams in one request; the server is killed ms after it arrives.
    for (let s = 0; s < 4; s++) {
      const batch = [ev("A", { round, s }), ev("A", { round, s, k: 2 })];
      expected.push(...batch.map((e) => e.id));
      await a.store.append(`crash-${s}`, batch);
    }
    // B appends to one of the same streams offline.
    const mine = ev("B", { round });
    expected.push(mine.id);
    await b.store.append(`crash-${round % 4}`, [mine]);
    proxy.fault("/v1/push", "during", {
      fn: async () => {
        await new Promise((r) => setTimeout(r, ms));
        await server.pause("SIGKILL");
      },
    });
    await rejectsNetwork(a.sync.now());
    await rejectsNetwork(b.sync.now()); // the server is down
    assert.equal(a.sync.status.pending + b.sync.status.pending >= 1, true);
    await server.resume();
    const onServer = new Set((await serverLog("crash-")).map((e) => e.id));
    outcomes.push(`${ms} ms: ${expected.filter((id) => onServer.has(id)).length}/${expected.length}`);
    await b.sync.now();
    await a.sync.now();
    await b.sync.now();
    await converged("crash-", [a, b], expected);
  }
  t.diagnostic(`events on the server after each restart, by kill delay: ${outcomes.join(", ")}`);
});
