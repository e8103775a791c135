// The bus on a synced IndexedDB store in Chromium, against a real eventfold-server: two tabs of
// one profile, the Web Locks leader runs the checkout saga that the other tab starts; its steps
// and compensations are pending in both tabs, pushed by the next sync, and a second device (its
// own profile and browser) pulls the same log. The saga's own stream stays local.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { launch, openPage, profile, serve } from "./harness.mjs";

process.env.EVENTFOLD_ROOT ??= fileURLToPath(new URL("../..", import.meta.url));
const { startServer } = await import("../js/server.mjs");

let api;
let web;
before(async () => {
  api = await startServer();
  web = await serve({ api: () => api.url });
});
after(async () => {
  await web?.close();
  await api?.stop();
});

const SCOPE = ["order-", "inventory-", "payment-"];

/** Opens the store with its sync (not started) and a bus running the checkout saga. */
const SETUP = async ({ scope }) => {
  const shop = await import("/tests/js/shop.mjs");
  const store = await window.eventfold.EventStore.open({ name: "shop" });
  const sync = store.sync({ url: location.origin, scope });
  const bus = store.bus();
  shop.registerShop(bus);
  bus.saga(shop.checkout);
  bus.start();
  Object.assign(window, { shop, store, sync, bus });
};

/** The synced streams' events as a second device must see them. */
const log = (page) => page.evaluate(async (scope) => {
  const out = [];
  for (const streamPrefix of scope) {
    for (const e of await window.store.readAll({ filter: { streamPrefix } })) out.push([e.id, e.stream, e.version, e.type]);
  }
  return out;
}, SCOPE);

async function until(page, fn, arg, ms = 15_000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await page.evaluate(fn, arg);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${fn}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test("a saga run by the leader tab is pending in both tabs, pushed by a sync, and pulled by a second device", async () => {
  const p1 = profile();
  const p2 = profile();
  const device1 = await launch(p1.dir);
  const device2 = await launch(p2.dir);
  try {
    const a = await openPage(device1, web.url);
    await a.evaluate(SETUP, { scope: SCOPE });
    await a.waitForFunction(() => window.bus.isLeader);
    const b = await openPage(device1, web.url);
    await b.evaluate(SETUP, { scope: SCOPE });
    assert.equal(await b.evaluate(() => window.bus.isLeader), false, "A leads; B waits");

    // B starts the saga; A runs it: the charge is declined, so it compensates.
    await b.evaluate(() => window.bus.startSaga("checkout", "t1", window.shop.input("t1", { unitPrice: 4000 })));
    await until(b, async () => (await window.bus.sagaState("checkout", "t1"))?.status === "compensated");
    for (const page of [a, b]) {
      const streams = await page.evaluate(async () => {
        const s = await window.store.readStream("order-t1");
        const i = await window.store.readStream("inventory-p1");
        return [...s, ...i].map((e) => [e.type, e.position]);
      });
      assert.deepEqual(streams, [["OrderCreated", 0], ["ItemAdded", 0], ["OrderCancelled", 0], ["StockReserved", 0], ["StockReleased", 0]],
        "every step and compensation is pending, seen from both tabs");
    }
    assert.equal(await b.evaluate(() => window.store.headPosition().then(async (h) =>
      (await window.store.readAll()).every((e) => e.stream.startsWith("$saga-")) && h > 0)), true,
    "only the saga's progress is confirmed locally");

    const report = await b.evaluate(() => window.sync.now());
    assert.equal(report.pushed, 5);
    const pushed = await log(a);
    assert.equal(pushed.length, 5);

    const c = await openPage(device2, web.url);
    await c.evaluate(SETUP, { scope: SCOPE });
    await c.evaluate(() => window.sync.now());
    assert.deepEqual(await log(c), pushed, "the second device holds the same events, ids and versions");
    assert.deepEqual(await c.evaluate(() => window.store.readAll({ filter: { streamPrefix: "$" } })), [],
      "saga progress stays on the device that ran it");
    for (const page of [a, b, c]) assert.deepEqual(page.errors, []);
  } finally {
    await device1.close();
    await device2.close();
    p1.remove();
    p2.remove();
  }
});
