// A browser client syncing through Cloudflare's workerd: the Worker of docs/edge.md
// (tests/edge/worker.js, bundled from pkg/ as wrangler would), one Durable Object per tenant
// holding a durable SQLite store, started here from tests/runtimes. Chromium runs on an on-disk
// profile (its IndexedDB survives the browser's restart) and reaches the tenant through the
// test page's own origin. The events pushed before workerd stops are still there after it
// starts again on the same storage: the same store id, head and events, a push from the
// restarted browser continues the same log, and a second device pulls all of it.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { launch, openPage, profile, serve } from "./harness.mjs";
import { prepareWorker, startWorkerd } from "../edge/workerd.mjs";

const root = fileURLToPath(new URL("../..", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "eventfold-browser-workerd-"));
let worker;
let workerd;
let web;
before(async () => {
  worker = await prepareWorker(dir, { packageDir: join(root, "pkg") });
  workerd = await startWorkerd(worker);
  web = await serve({ api: () => `${workerd.url}/t/acme` });
});
after(async () => {
  await web?.close();
  await workerd?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const tenant = (path, init) => fetch(`${workerd.url}/t/acme${path}`, init).then(async (r) => {
  assert.equal(r.status, 200, `${path}: ${r.status}`);
  return r.json();
});

/** The tenant's whole log, pulled over HTTP straight from workerd. */
async function serverLog() {
  const events = [];
  let after = null;
  for (;;) {
    const page = await tenant("/v1/pull", {
      method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ v: 1, after, limit: 1000, scope: [""] }),
    });
    events.push(...page.events);
    after = page.checkpoint;
    if (!page.more) return events;
  }
}

/** Opens IndexedDB store "edge" in `page` with its sync to the page's origin as `window.t`. */
async function setup(page) {
  await page.evaluate(async () => {
    const store = await window.eventfold.EventStore.open({ name: "edge" });
    window.t = { store, sync: store.sync({ url: location.origin, scope: ["order-"] }) };
  });
}
const run = (page, fn, arg) => page.evaluate(fn, arg);
const syncNow = (page) => run(page, () => window.t.sync.now().then(
  (r) => ({ pushed: r.pushed, pulled: r.pulled }),
  (e) => ({ code: e.code, message: e.message })));
const append = (page, stream, types, expectedVersion) => run(page, ({ stream, types, expectedVersion }) =>
  window.t.store.append(stream, types.map((type, i) => ({ type, data: { n: i } })), { expectedVersion }).then(() => null),
{ stream, types, expectedVersion });
const confirmed = (page) => run(page, async () =>
  (await window.t.store.readAll()).map((e) => [e.id, e.stream, e.version, e.position, e.type]));
const shape = (e) => [e.id, e.stream, e.version, e.position, e.type];

test("a browser syncs through a workerd Durable Object; its events survive a restart of workerd and of the browser", async () => {
  const pa = profile();
  const pb = profile();
  let a = await launch(pa.dir);
  let b;
  try {
    let page = await openPage(a, web.url);
    await setup(page);
    await append(page, "order-1", ["OrderCreated", "ItemAdded", "ItemAdded"], "no_stream");
    assert.equal((await syncNow(page)).pushed, 3);
    const before = await tenant("/v1/health");
    assert.equal(before.head, 3);
    assert.deepEqual((await serverLog()).map(shape), await confirmed(page));

    // workerd stops: the browser works on and keeps what it could not push.
    await workerd.stop();
    await append(page, "order-1", ["OrderConfirmed"], 3);
    assert.equal((await syncNow(page)).code, "NETWORK");
    await a.close();

    // Both start again on their disks: workerd on the same Durable Object storage (another
    // port, behind the same page origin), the browser on the same profile.
    workerd = await startWorkerd(worker);
    assert.deepEqual(await tenant("/v1/health"), before, "the same store id and head after the restart");
    a = await launch(pa.dir);
    page = await openPage(a, web.url);
    await setup(page);
    assert.deepEqual(await run(page, async () => (await window.t.sync.pending()).map((e) => [e.stream, e.version, e.type])),
      [["order-1", 4, "OrderConfirmed"]]);
    // Its checkpoint names the same store: the push continues the log, no CHECKPOINT_MISMATCH.
    assert.equal((await syncNow(page)).pushed, 1);
    const log = (await serverLog()).map(shape);
    assert.deepEqual(log.map(([, s, v, p, t]) => [s, v, p, t]),
      [["order-1", 1, 1, "OrderCreated"], ["order-1", 2, 2, "ItemAdded"], ["order-1", 3, 3, "ItemAdded"], ["order-1", 4, 4, "OrderConfirmed"]]);
    assert.deepEqual(await confirmed(page), log);

    // A second device pulls the whole log from the restarted Durable Object.
    b = await launch(pb.dir);
    const other = await openPage(b, web.url);
    await setup(other);
    assert.deepEqual(await syncNow(other), { pushed: 0, pulled: 4 });
    assert.deepEqual(await confirmed(other), log);
    assert.deepEqual([...page.errors, ...other.errors], []);
  } finally {
    await Promise.all([a, b].map((c) => c?.close().catch(() => {})));
    pa.remove();
    pb.remove();
  }
});
