// Sync between two "devices" (two Chromium profiles, each with its own IndexedDB) through a real
// sync server: offline work reaches the server once back online; device B sees device A's
// order; concurrent offline edits of one order converge, and the command that lost is shown to
// its user with the decider's reason; a server that goes down and comes back loses nothing.
// The server's state is checked through its HTTP API. Run against eventfold-server
// (sync.test.mjs) and against a workerd Durable Object (sync-edge.test.mjs).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import { startStack, device, ready, controlled, createOrder, addItem, serverStream, synced, syncNow, hasSync, shots, root } from "./helpers.mjs";

const text = (page, sel) => page.textContent(sel).then((t) => t.trim());
const state = (page) => page.getAttribute("[data-testid=sync-status]", "data-state");
const types = (events) => events.map((e) => e.type);

/** The sync tests against `server` ("eventfold-server" or "workerd", see startStack). */
export function syncSuite(server) {
  let stack;
  let a;
  let b;

  before(async () => {
    stack = await startStack({ server });
    [a, b] = await Promise.all([device(stack.url), device(stack.url)]);
  });
  after(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await stack?.stop();
  });

  describe(`sync through ${server}`, () => {
    test("the app has a sync client and is online", async () => {
      assert.ok(await hasSync(a.page), "the package has store.sync");
      await synced(a.page);
      await synced(b.page);
    });

    test("an order made offline survives a reload and reaches the server once online", async () => {
      const { page, context } = a;
      await controlled(page);
      await context.setOffline(true);
      const stream = await createOrder(page, "Offline Olga");
      await addItem(page, "umbrella", 2, "15.00");
      await addItem(page, "raincoat", 1, "89.90");
      await page.click("[data-testid=sync-now]");
      await page.waitForFunction(() => {
        const s = document.querySelector("[data-testid=sync-status]");
        return s.dataset.state === "offline" && s.dataset.pending === "3";
      });
      assert.deepEqual(await serverStream(stack.api, stream), []);

      await page.reload();
      await ready(page);
      await page.waitForSelector("[data-testid=line][data-sku=raincoat]");
      assert.equal(await text(page, "[data-testid=total]"), "119.90");
      await page.waitForFunction(() => document.querySelector("[data-testid=sync-status]").dataset.pending === "3");
      const marker = `[data-testid=order-row][data-stream="${stream}"] [data-testid=unsynced]`;
      await page.waitForSelector(marker);

      await context.setOffline(false);
      await syncNow(page);
      assert.deepEqual(types(await serverStream(stack.api, stream)), ["OrderCreated", "ItemAdded", "ItemAdded"]);
      assert.equal(await state(page), "online");
      await page.waitForSelector(marker, { state: "detached" });
      assert.deepEqual(a.errors, []);
    });

    test("device B sees device A's order after sync", async () => {
      const stream = await createOrder(a.page, "Two-Device Tess");
      await addItem(a.page, "cable", 3, "4.99");
      await syncNow(a.page);
      assert.equal((await serverStream(stack.api, stream)).length, 2);

      await b.page.click("[data-testid=sync-now]");
      await b.page.waitForSelector(`[data-testid=order-row][data-stream="${stream}"]`);
      await b.page.click(`[data-testid=order-row][data-stream="${stream}"]`);
      await b.page.waitForSelector("[data-testid=line][data-sku=cable]");
      assert.equal(await text(b.page, "[data-testid=detail-customer]"), "Two-Device Tess");
      assert.equal(await text(b.page, "[data-testid=total]"), "14.97");
    });

    test("concurrent offline edits converge; the rejected command is shown with its reason", async () => {
      const stream = await createOrder(a.page, "Conflict Carla");
      await addItem(a.page, "desk", 1, "250.00");
      await syncNow(a.page);
      await b.page.click("[data-testid=sync-now]");
      await b.page.waitForSelector(`[data-testid=order-row][data-stream="${stream}"]`);
      await b.page.goto(`${stack.url}/#/orders/${stream}`);
      await b.page.waitForSelector("[data-testid=line][data-sku=desk]");

      await Promise.all([a.context.setOffline(true), b.context.setOffline(true)]);
      await a.page.click("[data-testid=confirm]");
      await a.page.waitForFunction(() => document.querySelector("[data-testid=detail-status]")?.textContent === "confirmed");
      await addItem(b.page, "chair", 2, "80.00");
      assert.equal(await text(b.page, "[data-testid=total]"), "410.00");

      // A reaches the server first: its confirmation wins.
      await a.context.setOffline(false);
      await syncNow(a.page);
      // B comes back: its AddItem is decided again on the confirmed order, and rejected.
      await b.context.setOffline(false);
      await b.page.click("[data-testid=sync-now]");
      await b.page.waitForSelector("[data-testid=rejection]");
      const rejection = await text(b.page, "[data-testid=rejection]");
      assert.match(rejection, /AddItem/);
      assert.match(rejection, /the order is already confirmed/);
      await synced(b.page);
      await b.page.waitForFunction(() => document.querySelector("[data-testid=detail-status]")?.textContent === "confirmed");
      await b.page.screenshot({ path: join(shots, "conflict.png") });
      if (process.env.UPDATE_SCREENSHOTS === "1" && server === "eventfold-server") copyFileSync(join(shots, "conflict.png"), join(root, "docs", "img", "conflict.png"));

      // Both devices and the server agree.
      for (const page of [a.page, b.page]) {
        await page.goto(`${stack.url}/#/orders/${stream}`);
        await page.waitForFunction(() => document.querySelector("[data-testid=detail-status]")?.textContent === "confirmed");
        assert.equal(await text(page, "[data-testid=total]"), "250.00");
        assert.deepEqual(await page.$$eval("[data-testid=line]", (l) => l.map((e) => e.dataset.sku)), ["desk"]);
      }
      assert.deepEqual(types(await serverStream(stack.api, stream)), ["OrderCreated", "ItemAdded", "OrderConfirmed"]);
      assert.deepEqual([...a.errors, ...b.errors], []);
    });

    test("a server that is down shows as offline and retrying; nothing is lost", async () => {
      const { page } = a;
      await stack.stopServer();
      const stream = await createOrder(page, "Server-Down Sam");
      await addItem(page, "battery", 4, "2.25");
      await page.waitForFunction(() => {
        const s = document.querySelector("[data-testid=sync-status]");
        return s.dataset.state === "offline" && s.dataset.pending === "2";
      });
      assert.match(await text(page, "[data-testid=sync-status]"), /Offline · retrying/);
      await page.reload();
      await ready(page);
      await page.waitForSelector("[data-testid=line][data-sku=battery]");
      // The inspector lists them as pending, apart from the confirmed log.
      await page.goto(`${stack.url}/#/inspector/${stream}`);
      await page.waitForFunction(() => document.querySelectorAll("[data-testid=tl-pending]").length === 2);
      assert.equal(await page.$$eval("[data-testid=tl-event]", (l) => l.length), 0);
      await page.goto(`${stack.url}/#/orders/${stream}`);

      await stack.restartServer();
      await syncNow(page);
      assert.deepEqual(types(await serverStream(stack.api, stream)), ["OrderCreated", "ItemAdded"]);
      await page.goto(`${stack.url}/#/inspector/${stream}`);
      await page.waitForFunction(() => document.querySelectorAll("[data-testid=tl-event]").length === 2);
      assert.equal(await page.$$eval("[data-testid=tl-pending]", (l) => l.length), 0);
      assert.deepEqual(a.errors, []);
    });
  });
}
