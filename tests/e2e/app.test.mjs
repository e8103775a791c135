// The demo app on one device: the decider's rejections reach the UI, the order list filters by
// status and customer through the read model's indexes, the app reloads offline with its data
// (service worker + IndexedDB), and the inspector travels in time. Saves screenshots of the app
// and the inspector in .tmp/e2e/ (UPDATE_SCREENSHOTS=1 also copies them to docs/img/).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { startStack, device, ready, controlled, createOrder, addItem, synced, shots, root } from "./helpers.mjs";

let stack;
let a;

before(async () => {
  stack = await startStack();
  a = await device(stack.url);
});
after(async () => {
  await a?.close();
  await stack?.stop();
});

const text = (page, sel) => page.textContent(sel).then((t) => t.trim());
/** Waits until the element `testid` shows exactly `message` (errors are set once the command settles). */
const shows = (page, testid, message) =>
  page.waitForFunction(([id, m]) => document.querySelector(`[data-testid=${id}]`)?.textContent === m, [testid, message]);
const rows = (page) => page.$$eval("[data-testid=order-row]", (els) => els.map((e) => `${e.querySelector(".who").firstChild.textContent}:${e.dataset.status}`));

describe("demo app", () => {
  test("invalid input gets the decider's message, and nothing is recorded", async () => {
    const { page } = a;
    await page.click("[data-testid=create]");
    await shows(page, "create-error", "a customer is required");
    await page.fill("[data-testid=customer]", "   ");
    await page.click("[data-testid=create]");
    await shows(page, "create-error", "a customer is required");
    assert.deepEqual(await rows(page), []);

    await createOrder(page, "Ada Lovelace");
    for (const [qty, price, message] of [
      ["-2", "1.00", 'quantity must be a positive whole number, not "-2"'],
      ["1.5", "1.00", 'quantity must be a positive whole number, not "1.5"'],
      ["2", "abc", 'price must be a number such as 12.50, not "abc"'],
      ["2", "-3", 'price must be a number such as 12.50, not "-3"'],
    ]) {
      await page.fill("[data-testid=sku]", "tea");
      await page.fill("[data-testid=qty]", qty);
      await page.fill("[data-testid=price]", price);
      await page.click("[data-testid=add]");
      await shows(page, "item-error", message);
    }
    assert.equal(await page.$$eval("[data-testid=line]", (l) => l.length), 0);
    await page.click("[data-testid=confirm]");
    await shows(page, "action-error", "an empty order cannot be confirmed");
    assert.equal(await text(page, "[data-testid=detail-status]"), "open");
    // A valid item clears the message; totals are exact integer minor units (3 x 0.10 = 0.30).
    await addItem(page, "tea", 3, "0.10");
    assert.equal(await text(page, "[data-testid=item-error]"), "");
    assert.equal(await text(page, "[data-testid=total]"), "0.30");
    assert.deepEqual(a.errors, []);
  });

  test("the list filters by status and customer (read model indexes)", async () => {
    const { page } = a;
    await addItem(page, "notebook", 2, "4.25");
    await page.click("[data-testid=confirm]");
    await page.waitForFunction(() => document.querySelector("[data-testid=detail-status]")?.textContent === "confirmed");
    const grace = await createOrder(page, "Grace Hopper");
    await addItem(page, "compiler", 1, "99.99");
    await addItem(page, "coffee-beans", 2, "12.50");
    await createOrder(page, "Alan Turing");
    await addItem(page, "enigma-rotor", 1, "45");
    await page.click("[data-testid=cancel]");
    await page.waitForFunction(() => document.querySelector("[data-testid=detail-status]")?.textContent === "cancelled");
    await createOrder(page, "Grace Kelly");
    await addItem(page, "gloves", 1, "30");
    await page.goto(`${stack.url}/#/orders/${grace}`);
    await page.waitForSelector("[data-testid=line][data-sku=compiler]");

    const waitRows = (n) => page.waitForFunction((n) => document.querySelectorAll("[data-testid=order-row]").length === n, n);
    await waitRows(4);
    await page.click("[data-testid=filter-status-open]");
    await waitRows(2);
    assert.deepEqual((await rows(page)).sort(), ["Grace Hopper:open", "Grace Kelly:open"]);
    await page.fill("[data-testid=filter-customer]", "grace h");
    await waitRows(1);
    assert.deepEqual(await rows(page), ["Grace Hopper:open"]);
    await page.click("[data-testid=filter-status-confirmed]");
    await waitRows(0);
    await page.fill("[data-testid=filter-customer]", "");
    await waitRows(1);
    assert.deepEqual(await rows(page), ["Ada Lovelace:confirmed"]);
    await page.click("[data-testid=filter-status-all]");
    await waitRows(4);
    await page.screenshot({ path: join(shots, "app.png") });
  });

  test("an order made offline is still there after an offline reload", async () => {
    const { page, context } = a;
    await controlled(page);
    await context.setOffline(true);
    const stream = await createOrder(page, "Offline Olga");
    await addItem(page, "umbrella", 2, "15.00");
    await addItem(page, "raincoat", 1, "89.90");
    await page.reload();
    await ready(page);
    await page.waitForSelector("[data-testid=line][data-sku=raincoat]");
    assert.equal(await text(page, "[data-testid=detail-customer]"), "Offline Olga");
    assert.equal(await text(page, "[data-testid=total]"), "119.90");
    assert.ok((await rows(page)).includes("Offline Olga:open"));
    assert.equal(await page.evaluate(() => location.hash), `#/orders/${stream}`);
    await context.setOffline(false);
    assert.deepEqual(a.errors, []);
  });

  test("the inspector shows the history and travels in time", async () => {
    const { page } = a;
    await page.goto(`${stack.url}/#/orders`);
    await ready(page);
    const stream = await createOrder(page, "Katherine Johnson");
    await addItem(page, "slide-rule", 1, "20.00");
    await addItem(page, "chalk", 10, "0.35");
    await page.click("[data-testid=remove]"); // removes slide-rule (the first line)
    await page.waitForFunction(() => document.querySelectorAll("[data-testid=line]").length === 1);
    await synced(page); // with sync, the global log holds the events once the server has them

    await page.goto(`${stack.url}/#/inspector/${stream}`);
    await page.waitForFunction(() => document.querySelectorAll("[data-testid=tl-event]").length === 4);
    const types = await page.$$eval("[data-testid=tl-event] strong", (els) => els.map((e) => e.textContent));
    assert.deepEqual(types, ["ItemRemoved", "ItemAdded", "ItemAdded", "OrderCreated"]);
    await page.waitForFunction(() => document.querySelector("[data-testid=asof-total]")?.textContent === "3.50");
    const head = Number(await page.getAttribute("[data-testid=slider]", "max"));

    // One event back: the removed line is back, and the total with it.
    await page.click("[data-testid=step-back]");
    await page.waitForFunction(() => document.querySelector("[data-testid=asof-total]")?.textContent === "23.50");
    assert.equal(await text(page, "[data-testid=asof-position]"), String(head - 1));
    assert.equal(await page.$$eval("[data-testid=asof-line]", (l) => l.length), 2);

    // The slider to just after the order's first event: created, empty, in the list as of then.
    const created = Number(await page.getAttribute("[data-testid=tl-event]:last-child", "data-position"));
    await page.$eval("[data-testid=slider]", (el, v) => { el.value = String(v); el.dispatchEvent(new Event("input")); }, created);
    await page.waitForFunction(() => document.querySelector("[data-testid=asof-total]")?.textContent === "0.00");
    assert.equal(await page.$$eval("[data-testid=asof-line]", (l) => l.length), 0);
    const listThen = await page.$$eval("[data-testid=asof-list-row]", (r) => r.map((e) => e.textContent));
    assert.ok(listThen.some((t) => t.includes("Katherine Johnson")));
    // Before it: the order did not exist yet, in the aggregate nor in the list.
    await page.click("[data-testid=step-back]");
    await page.waitForFunction(() => /did not exist yet/.test(document.querySelector("[data-testid=asof-order]").textContent));
    const listBefore = await page.$$eval("[data-testid=asof-list-row]", (r) => r.map((e) => e.textContent));
    assert.equal(listBefore.length, listThen.length - 1);
    assert.ok(!listBefore.some((t) => t.includes("Katherine Johnson")));
    // The global log shows every stream; an event's data is shown when picked.
    await page.selectOption("[data-testid=stream-filter]", "");
    await page.click(`[data-testid=tl-event][data-position="${created}"]`);
    await page.waitForFunction(() => /Katherine Johnson/.test(document.querySelector("[data-testid=event-data]")?.textContent));
    await page.click("[data-testid=now]");
    await page.waitForFunction((h) => document.querySelector("[data-testid=asof-position]")?.textContent === String(h), head);
    await page.selectOption("[data-testid=stream-filter]", stream);
    await page.click(`[data-testid=tl-event][data-position="${head - 1}"]`);
    await page.waitForFunction(() => document.querySelector("[data-testid=asof-total]")?.textContent === "23.50");
    await page.screenshot({ path: join(shots, "inspector.png") });
    assert.deepEqual(a.errors, []);

    if (process.env.UPDATE_SCREENSHOTS === "1") {
      mkdirSync(join(root, "docs", "img"), { recursive: true });
      for (const f of ["app.png", "inspector.png"]) copyFileSync(join(shots, f), join(root, "docs", "img", f));
    }
  });
});
