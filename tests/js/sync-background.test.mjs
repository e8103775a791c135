// Background syncing (`sync.start()`) and `now()` against a real eventfold-server with a token
// file, through the counting proxy (proxy.mjs): a refused token stops the loop and keeps the
// pending events, a server that is down is retried with backoff (not at the poll rate) and
// gets the pending events once it is back, concurrent now() calls share one exchange, and a
// started sync keeps running when the app keeps no reference to it (sync-gc-probe.mjs).
// The scheduling rules themselves are tested natively with a fake clock
// (src/sync/scheduler/tests.rs); these prove the browser driver performs them.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { EventStore } from "eventfold";
import { startServer } from "./server.mjs";
import { startProxy } from "./proxy.mjs";
import { cart, eventually } from "./sync-fixtures.mjs";

let server;
let proxy;
before(async () => {
  server = await startServer({
    tokens: {
      app: { read: [""], write: [""] },
      "other-app": { read: ["other-"], write: ["other-"] },
    },
  });
  proxy = await startProxy(server.url);
});
after(async () => {
  await proxy?.close();
  await server?.stop();
});

/** A store syncing carts through the proxy with `token`, polling every 20 ms when running. */
async function device(token, options = {}) {
  const store = await EventStore.inMemory();
  const carts = store.aggregate(cart);
  const sync = store.sync({ url: proxy.url, token, scope: ["cart-"], pollIntervalMs: 20, ...options });
  return { store, carts, sync };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const requestsSince = (n) => proxy.requests.length - n;

const until = (sync, predicate, what) =>
  eventually(() => predicate(sync.status), what);

for (const [token, code] of [["wrong", "UNAUTHORIZED"], ["other-app", "FORBIDDEN"]]) {
  test(`a refused token (${code}) stops background syncing and keeps the pending events`, async () => {
    const { store, carts, sync } = await device(token);
    await carts.execute("1", { sku: "kept" });
    const before = await store.readStream("cart-1");
    sync.start();
    await until(sync, (s) => s.lastError?.code === code && !s.leader && !s.syncing, `${code} to stop the loop`);
    assert.equal(sync.status.lastError.name, "EventfoldError");
    assert.equal(sync.status.pending, 1, "nothing pending dropped");
    assert.deepEqual(await store.readStream("cart-1"), before, "the store is unchanged");
    // Stopped for good: at a 20 ms poll a running loop would send a dozen requests here.
    const seen = proxy.requests.length;
    await carts.execute("1", { sku: "later" });
    await sleep(300);
    assert.equal(requestsSince(seen), 0, "no request after the fatal error");
    assert.equal(sync.status.leader, false);
    // now() still tries (and reports the same refusal).
    await assert.rejects(sync.now(), (e) => e.code === code);
  });
}

test("a server that is down is retried with backoff, and gets the pending events once back", async () => {
  const { store, carts, sync } = await device("app");
  await server.pause();
  try {
    await carts.execute("2", { sku: "offline" });
    const seen = proxy.requests.length;
    sync.start();
    await until(sync, (s) => s.leader && s.lastError?.code === "NETWORK", "the first failure");
    assert.equal(sync.status.online, false);
    await sleep(1500);
    // Backoff: retries after [0.25, 0.5], then [0.5, 1] s..., so at most 4 requests in 1.5 s
    // (one exchange = one pull while the server is down); the 20 ms poll would be ~75.
    const sent = requestsSince(seen);
    assert.ok(sent >= 1 && sent <= 4, `${sent} requests while the server was down`);
    assert.equal(sync.status.pending, 1);
  } finally {
    await server.resume();
  }
  await eventually(async () => (await store.readStream("cart-2"))[0]?.position > 0, "the push after the server is back");
  await until(sync, (s) => s.online && s.lastError === null && s.pending === 0, "the status to show it");
  sync.stop();
  await until(sync, (s) => !s.leader, "stop");
});

test("concurrent now() calls share one exchange and its report", async () => {
  const { carts, sync } = await device("app");
  await carts.execute("3", { sku: "a" });
  const seen = proxy.requests.length;
  const calls = [sync.now(), sync.now(), sync.now()];
  const reports = await Promise.all(calls);
  assert.equal(reports[0], reports[1]);
  assert.equal(reports[1], reports[2]);
  assert.equal(reports[0].pushed, 1);
  assert.equal(requestsSince(seen), reports[0].requests, "one exchange's requests");
  assert.equal(sync.status.pending, 0, "the status is up to date when now() resolves");
  // Once it ended, the next call runs a new exchange.
  const next = await sync.now();
  assert.notEqual(next, reports[0]);
  assert.equal(next.requests, 1);
});

test("a started sync keeps running when the app drops its Sync object", async () => {
  const probe = fileURLToPath(new URL("./sync-gc-probe.mjs", import.meta.url));
  const out = await new Promise((resolve) =>
    execFile(process.execPath, ["--expose-gc", probe, proxy.url], { timeout: 30_000 }, (error, stdout, stderr) =>
      resolve({ code: error?.code ?? 0, text: `${stdout}${stderr}`.trim() })));
  assert.deepEqual(out, { code: 0, text: "pushed" });
});

test("pollIntervalMs must be a number of milliseconds", async () => {
  for (const pollIntervalMs of ["fast", -1, NaN, {}]) {
    const store = await EventStore.inMemory();
    const says = typeof pollIntervalMs === "number" ? /^invalid input: pollIntervalMs must be a number of milliseconds$/ : /^invalid input: pollIntervalMs: invalid type/;
    assert.throws(() => store.sync({ url: proxy.url, pollIntervalMs }), (e) => e.code === "INVALID_INPUT" && says.test(e.message));
    assert.equal(store.sync({ url: proxy.url, pollIntervalMs: 1000 }).status.leader, false, "nothing attached by the failed call");
  }
});
