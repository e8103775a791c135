// eventfold/emmett on IndexedDB in Chromium (pages/emmett.html: the package from /pkg/, Emmett
// pre-bundled and mapped by an import map, as an app's bundler resolves them): Emmett's shared
// event-store features (the same module the Node tests run), the guide's app as printed and
// after a reload, and DeciderCommandHandlers in two tabs racing on one cart.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { bundleEmmett, launch, openPage, profile, serve } from "./harness.mjs";

let server;
before(async () => {
  await bundleEmmett();
  server = await serve();
});
after(() => server.close());

const open = (context) => openPage(context, server.url, "emmett.html");

test("Emmett's shared event-store features pass on IndexedDB", async (t) => {
  const p = profile();
  const context = await launch(p.dir);
  try {
    const page = await open(context);
    const results = await page.evaluate(async () => {
      const { features } = await import("/tests/js/emmett-features.mjs");
      const out = [];
      for (const feature of features) {
        const stores = [];
        const newStore = async () => {
          const store = await window.eventfold.EventStore.open({ name: `emmett-${crypto.randomUUID()}` });
          stores.push(store);
          return store;
        };
        try {
          await feature.run(newStore);
          out.push({ name: feature.name });
        } catch (e) {
          out.push({ name: feature.name, error: `${e?.name}: ${e?.message}\n${e?.stack}` });
        } finally {
          for (const s of stores) s.close();
        }
      }
      return out;
    });
    assert.ok(results.length >= 20, `${results.length} features ran`);
    for (const r of results) {
      await t.test(r.name, () => assert.equal(r.error, undefined, r.error));
    }
    assert.deepEqual(page.errors, []);
  } finally {
    await context.close();
    p.remove();
  }
});

/** docs/emmett.md's app: its domain, the "+" lines of its diff (without the optional sync line), and its use. */
function guideModule() {
  const doc = readFileSync(new URL("../../docs/emmett.md", import.meta.url), "utf8");
  const section = doc.slice(doc.indexOf("## An Emmett app"), doc.indexOf("## Sync"));
  const blocks = [...section.matchAll(/```(js|diff)\n([\s\S]*?)```/g)].map((m) => [m[1], m[2]]);
  assert.deepEqual(blocks.map(([kind]) => kind), ["js", "diff", "js"], "the guide's section holds: the app, the change, its use");
  const [[, domain], [, diff], [, use]] = blocks;
  const changed = diff.split("\n").filter((l) => /^[-+]/.test(l));
  assert.ok(changed.length <= 10, `the change is ${changed.length} lines`);
  const added = changed.filter((l) => l.startsWith("+")).map((l) => l.slice(1))
    .filter((l) => !l.includes("store.sync(") && !l.trim().startsWith("// Optional"));
  return `${domain}\n${added.join("\n")}\n${use}\nwindow.guide = { eventStore, evolve, initialState, handle };\n`;
}

test("the app of docs/emmett.md runs as printed on IndexedDB, and its carts survive a reload", async () => {
  const p = profile();
  const context = await launch(p.dir);
  try {
    const page = await open(context);
    const logs = [];
    page.on("console", (m) => { if (m.type() === "log") logs.push(m.text()); });
    await page.evaluate(async (code) => {
      const url = URL.createObjectURL(new Blob([code], { type: "text/javascript" }));
      await import(url);
    }, guideModule());
    assert.deepEqual(logs, ["Confirmed 30", "Open"], "what the guide's comments say it prints");

    await page.reload();
    await page.waitForFunction(() => window.adapter !== undefined);
    const after = await page.evaluate(async () => {
      const { EventStore } = window.eventfold;
      const eventStore = window.adapter.getEventfoldEventStore(await EventStore.open({ name: "shop" }));
      const { events, currentStreamVersion } = await eventStore.readStream("shopping_cart-42");
      const rejected = await window.emmett.DeciderCommandHandler({
        initialState: () => ({ status: "Empty" }),
        evolve: (s, e) => (e.type === "ShoppingCartConfirmed" ? { status: "Confirmed" } : { status: "Open" }),
        decide: (c, s) => { if (s.status === "Confirmed") throw new window.emmett.IllegalStateError("already confirmed"); return []; },
      })(eventStore, "shopping_cart-42", { type: "AddProductItem", data: {} }).then(() => "accepted", (e) => e.message);
      return { types: events.map((e) => e.type), version: String(currentStreamVersion), rejected };
    });
    assert.deepEqual(after, { types: ["ProductItemAdded", "ShoppingCartConfirmed"], version: "2", rejected: "already confirmed" });
    assert.deepEqual(page.errors, []);
  } finally {
    await context.close();
    p.remove();
  }
});

// In each tab: a DeciderCommandHandler for a counter cart, with Emmett's retry on conflicts.
const DEFINE = () => {
  const { DeciderCommandHandler } = window.emmett;
  window.gate = null;
  window.decided = 0;
  window.cart = (async () => {
    const store = await window.eventfold.EventStore.open({ name: "race" });
    const eventStore = window.adapter.getEventfoldEventStore(store);
    const handle = DeciderCommandHandler({
      initialState: () => ({ items: [] }),
      evolve: (s, e) => ({ items: [...s.items, e.data.item] }),
      // Held (when a test sets `window.gate`) after the state was loaded, before deciding.
      decide: async (c, s) => {
        window.decided++;
        if (window.gate) await window.gate;
        return { type: "ItemAdded", data: { item: c.data.item, after: s.items.length } };
      },
    });
    const add = (item) => handle(eventStore, "cart-1", { type: "AddItem", data: { item } },
      { retry: { onVersionConflict: { retries: 30, minTimeout: 2, factor: 1.2 } } });
    return { store, eventStore, add };
  })();
};

test("DeciderCommandHandlers in two tabs: a conflict across tabs is retried on the new state; a race loses nothing", async (t) => {
  const p = profile();
  const context = await launch(p.dir);
  try {
    const [a, b] = [await open(context), await open(context)];
    for (const tab of [a, b]) await tab.evaluate(DEFINE);

    // Tab A loads the cart and is held before deciding; tab B's command lands meanwhile.
    await a.evaluate(() => { window.gate = new Promise((r) => { window.release = r; }); });
    const held = a.evaluate(async () => {
      const r = await (await window.cart).add("a1");
      return { version: String(r.nextExpectedStreamVersion), items: r.newState.items, decided: window.decided };
    });
    await a.waitForFunction(() => window.decided === 1);
    const fromB = await b.evaluate(async () => String((await (await window.cart).add("b1")).nextExpectedStreamVersion));
    assert.equal(fromB, "1");
    await a.evaluate(() => { window.gate = null; window.release(); });
    assert.deepEqual(await held, { version: "2", items: ["b1", "a1"], decided: 2 },
      "A's first append conflicted (tab B wrote version 1), Emmett retried, A decided again on B's event");

    // Both tabs add 8 items each at once; every command lands exactly once.
    const race = (tab, prefix) => tab.evaluate(async (prefix) => {
      const cart = await window.cart;
      window.decided = 0;
      for (let i = 1; i <= 8; i++) await cart.add(`${prefix}${i}`);
      return window.decided;
    }, prefix);
    const [decidedA, decidedB] = await Promise.all([race(a, "ra"), race(b, "rb")]);
    const log = await a.evaluate(async () => (await (await window.cart).eventStore.readStream("cart-1")).events
      .map((e) => [Number(e.metadata.streamPosition), e.data.item, e.data.after]));
    assert.deepEqual(log.map(([v]) => v), Array.from({ length: 18 }, (_, i) => i + 1), "versions 1..18, none twice");
    const items = ["b1", "a1", ...[1, 2, 3, 4, 5, 6, 7, 8].flatMap((i) => [`ra${i}`, `rb${i}`])];
    assert.deepEqual(log.map(([, item]) => item).sort(), items.sort(), "every command landed once");
    assert.ok(log.every(([v, , afterCount]) => afterCount === v - 1), "each decision saw every earlier event");
    t.diagnostic(`two tabs x 8 commands: ${decidedA + decidedB - 16} retries after conflicts`);
    assert.deepEqual([a.errors, b.errors], [[], []]);
  } finally {
    await context.close();
    p.remove();
  }
});
