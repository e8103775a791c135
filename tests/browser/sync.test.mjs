// store.sync() in Chromium against a real eventfold-server (SQLite in a temp folder, loopback,
// free port), reached through the test page's own origin (harness.mjs passes /v1/… through).
// Two devices = two persistent profiles in two browser processes: offline edits on both, the
// browser restarted while the server is still unreachable (pending events survive in
// IndexedDB), back online, a rebase rejection reported to onRejected, and both stores converge
// to the server's log read over HTTP. Then two tabs of one profile: one leader (Web Locks),
// the other's pending event pushed by the leader, and the other taking over when it closes.
// Last, an Emmett command handler (eventfold/emmett) on a synced store, offline and back.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { bundleEmmett, launch, openPage, profile, serve } from "./harness.mjs";

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

/** The server's log of `scope`, pulled over HTTP straight from the server. */
async function serverLog(scope) {
  const events = [];
  let after = null;
  for (;;) {
    const res = await fetch(`${api.url}/v1/pull`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ v: 1, after, limit: 5000, scope }),
    });
    assert.equal(res.status, 200);
    const page = await res.json();
    events.push(...page.events);
    after = page.checkpoint;
    if (!page.more) return events;
  }
}

/**
 * Opens store `name` in `page` with a cart aggregate (at most 3 items) and its sync; keeps
 * `{ store, carts, sync, rejected }` as `window.t`.
 */
async function setup(page, name, scope, extra = {}) {
  await page.evaluate(async ({ name, scope, extra }) => {
    const { EventStore } = window.eventfold;
    const store = await EventStore.open({ name });
    const carts = store.aggregate({
      name: "cart",
      initialState: () => ({ items: [] }),
      evolve: (s, e) => (e.type === "ItemAdded" ? { items: [...s.items, e.data.sku] } : s),
      decide: (c, s) => {
        if (s.items.length >= 3) throw new Error(`cart is full (${s.items.length} items)`);
        return [{ type: "ItemAdded", data: { sku: c.sku } }];
      },
    });
    const sync = store.sync({ url: location.origin, scope, ...extra });
    const rejected = [];
    sync.onRejected((r) => rejected.push({
      stream: r.stream, command: r.command, code: r.error.code, message: r.error.message,
    }));
    window.t = { store, carts, sync, rejected };
  }, { name, scope, extra });
}

const run = (page, fn, arg) => page.evaluate(fn, arg);
const add = (page, id, sku) => run(page, ({ id, sku }) => window.t.carts.execute(id, { sku }).then(() => null), { id, sku });
const syncNow = (page) => run(page, () => window.t.sync.now().then(
  (r) => ({ pushed: r.pushed, pulled: r.pulled, requests: r.requests }),
  (e) => ({ code: e.code, message: e.message })));
const confirmed = (page) => run(page, async () =>
  (await window.t.store.readAll()).map((e) => [e.id, e.stream, e.version, e.type]));
const shape = (e) => [e.id, e.stream, e.version, e.type];

test("two devices edit offline, restart, come back online and converge to the server's log", async () => {
  const profiles = [profile(), profile()];
  let contexts = await Promise.all(profiles.map((p) => launch(p.dir)));
  try {
    let [a, b] = await Promise.all(contexts.map((c) => openPage(c, web.url)));
    await setup(a, "shop", ["cart-"]);
    await setup(b, "shop", ["cart-"]);
    await add(a, "1", "a1");
    assert.equal((await syncNow(a)).pushed, 1);
    assert.equal((await syncNow(b)).pulled, 1);

    // Offline: both edit cart-1 (only two more items fit) and a cart of their own.
    await Promise.all(contexts.map((c) => c.setOffline(true)));
    await add(a, "1", "a2");
    await add(a, "1", "a3");
    await add(a, "a", "x");
    await add(b, "1", "b2");
    await add(b, "b", "y");
    assert.equal((await syncNow(a)).code, "NETWORK");
    assert.equal((await syncNow(b)).code, "NETWORK");
    assert.deepEqual(await run(a, () => window.t.carts.load("1").then((r) => r.state.items)), ["a1", "a2", "a3"]);

    // "Reload": each browser process ends and starts again on its profile, while the server
    // stays unreachable (its requests fail); the pending events come back from IndexedDB.
    await Promise.all(contexts.map((c) => c.close()));
    contexts = await Promise.all(profiles.map((p) => launch(p.dir)));
    await Promise.all(contexts.map((c) => c.route("**/v1/**", (route) => route.abort("internetdisconnected"))));
    [a, b] = await Promise.all(contexts.map((c) => openPage(c, web.url)));
    await setup(a, "shop", ["cart-"]);
    await setup(b, "shop", ["cart-"]);
    const pendingOf = (page) => run(page, async () => (await window.t.sync.pending()).map((e) => [e.stream, e.version, e.position, e.data.sku]));
    assert.deepEqual(await pendingOf(a), [["cart-1", 2, 0, "a2"], ["cart-1", 3, 0, "a3"], ["cart-a", 1, 0, "x"]]);
    assert.deepEqual(await pendingOf(b), [["cart-1", 2, 0, "b2"], ["cart-b", 1, 0, "y"]]);
    assert.equal((await syncNow(a)).code, "NETWORK");

    // Back online: B first, then A, whose a3 no longer fits after the rebase.
    await Promise.all(contexts.map((c) => c.unroute("**/v1/**")));
    assert.equal((await syncNow(b)).pushed, 2);
    const ra = await syncNow(a);
    assert.equal(ra.code, undefined, ra.message);
    assert.equal(ra.pushed, 2, "a2 rebased onto b2, and cart-a");
    await syncNow(b);
    const rejected = await run(a, () => window.t.rejected);
    assert.deepEqual(rejected.map((r) => [r.stream, r.command.sku, r.code]), [["cart-1", "a3", "DECIDER_REJECTED"]]);
    assert.match(rejected[0].message, /cart is full/);
    assert.deepEqual(await run(b, () => window.t.rejected), []);

    const log = (await serverLog(["cart-"])).map(shape);
    assert.equal(log.length, 5, "a1, b2, y, a2, x");
    assert.deepEqual(await confirmed(a), log);
    assert.deepEqual(await confirmed(b), log);
    for (const page of [a, b]) {
      assert.deepEqual(await run(page, () => window.t.carts.load("1").then((r) => r.state.items)), ["a1", "b2", "a2"]);
      assert.equal(await run(page, () => window.t.sync.status.pending), 0);
      assert.deepEqual(page.errors, []);
    }
  } finally {
    await Promise.all(contexts.map((c) => c.close().catch(() => {})));
    for (const p of profiles) p.remove();
  }
});

test("two tabs of one profile: one leader; its pushes carry the other's pending events; the other takes over", async () => {
  const p = profile();
  const context = await launch(p.dir);
  try {
    const tabs = [await openPage(context, web.url), await openPage(context, web.url)];
    for (const tab of tabs) {
      await setup(tab, "tabs", ["tab-"], { pollIntervalMs: 60_000 });
      await run(tab, () => window.t.sync.start());
    }
    const leaders = async () => Promise.all(tabs.map((t) => (t.isClosed() ? false : run(t, () => window.t.sync.status.leader))));
    const until = async (what, fn) => {
      const end = Date.now() + 15_000;
      for (;;) {
        const v = await fn();
        if (v) return v;
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await until("a leader", async () => (await leaders()).some(Boolean));
    await new Promise((r) => setTimeout(r, 300));
    const now = await leaders();
    assert.equal(now.filter(Boolean).length, 1, `exactly one leader: ${now}`);
    const leader = tabs[now.indexOf(true)];
    const other = tabs[now.indexOf(false)];

    // A pending event appended in the other tab is pushed by the leader.
    const id = await run(other, async () => {
      const id = crypto.randomUUID();
      await window.t.store.append("tab-1", [{ id, type: "Noted", data: { by: "other" } }]);
      return id;
    });
    await until("the leader to push it", async () => (await serverLog(["tab-"])).some((e) => e.id === id));
    await until("the other tab to see it confirmed", () => run(other, async () =>
      (await window.t.store.readStream("tab-1")).every((e) => e.position > 0) && (await window.t.sync.pending()).length === 0));
    assert.equal(await run(other, () => window.t.sync.status.leader), false);

    // Closing the leader hands the lock to the other tab, which then pushes its own appends.
    await leader.close();
    await until("the other tab to lead", () => run(other, () => window.t.sync.status.leader));
    const id2 = await run(other, async () => {
      const id = crypto.randomUUID();
      await window.t.store.append("tab-1", [{ id, type: "Noted", data: { by: "other, now leader" } }]);
      return id;
    });
    await until("the new leader to push", async () => (await serverLog(["tab-"])).some((e) => e.id === id2));
    const log = (await serverLog(["tab-"])).map(shape);
    await until("the new leader to confirm it", () => run(other, async () => (await window.t.sync.pending()).length === 0));
    assert.deepEqual(await confirmed(other), log);
    assert.deepEqual(other.errors, []);
  } finally {
    await context.close();
    p.remove();
  }
});

/** Opens the synced store and an Emmett cart handler in `page` as `window.t`. */
const setupEmmett = (page) => page.evaluate(async () => {
  const { DeciderCommandHandler } = window.emmett;
  const store = await window.eventfold.EventStore.open({ name: "emmett-sync" });
  const sync = store.sync({ url: location.origin, scope: ["shopping_cart-"] });
  const eventStore = window.adapter.getEventfoldEventStore(store);
  const handle = DeciderCommandHandler({
    initialState: () => ({ items: [] }),
    evolve: (s, e) => ({ items: [...s.items, e.data.sku] }),
    decide: (c) => ({ type: "ProductItemAdded", data: { sku: c.data.sku } }),
    mapToStreamId: (id) => `shopping_cart-${id}`,
  });
  window.t = {
    store, sync, eventStore,
    add: (sku) => handle(eventStore, "1", { type: "AddProductItem", data: { sku } }).then((r) => String(r.nextExpectedStreamVersion)),
    now: () => sync.now().then((r) => ({ pushed: r.pushed, pulled: r.pulled }), (e) => ({ code: e.code })),
    read: async () => (await eventStore.readStream("shopping_cart-1")).events.map((e) =>
      [e.data.sku, String(e.metadata.streamPosition), e.metadata.globalPosition > 0n ? "confirmed" : "pending", e.metadata.messageId]),
    state: async () => (await eventStore.aggregateStream("shopping_cart-1", {
      evolve: (s, e) => [...s, e.data.sku], initialState: () => [] })).state,
  };
});

// eventfold/emmett: an Emmett DeciderCommandHandler on a synced IndexedDB store works offline,
// its events are pending (globalPosition 0n through Emmett) and pushed by store.sync like any
// other; when two devices changed one cart offline, the default strategy (rebase) re-places the
// Emmett events, which carry no command, after the server's, and both devices end with one cart.
test("an Emmett command handler on a synced IndexedDB store works offline; store.sync pushes its events", async () => {
  await bundleEmmett();
  const profiles = [profile(), profile()];
  const contexts = await Promise.all(profiles.map((p) => launch(p.dir)));
  try {
    const [a, b] = await Promise.all(contexts.map((c) => openPage(c, web.url, "emmett.html")));
    await setupEmmett(a);
    await setupEmmett(b);
    const run = (page, fn, arg) => page.evaluate(fn, arg);

    assert.equal(await run(a, () => window.t.add("a1")), "1");
    assert.deepEqual(await run(a, () => window.t.now()), { pushed: 1, pulled: 1 });
    assert.equal((await run(b, () => window.t.now())).pulled, 1);

    // Offline: both devices decide on the cart through Emmett.
    await Promise.all(contexts.map((c) => c.setOffline(true)));
    assert.equal(await run(a, () => window.t.add("a2")), "2");
    assert.equal(await run(b, () => window.t.add("b2")), "2");
    const offline = await run(a, () => window.t.read());
    assert.deepEqual(offline.map((e) => e.slice(0, 3)), [["a1", "1", "confirmed"], ["a2", "2", "pending"]]);
    assert.equal((await run(a, () => window.t.now())).code, "NETWORK");
    assert.equal(await run(a, async () => (await window.t.sync.pending()).length), 1);

    // Back online: B pushes first; A's event is re-placed after it (same id) and pushed.
    await Promise.all(contexts.map((c) => c.setOffline(false)));
    assert.equal((await run(b, () => window.t.now())).pushed, 1);
    assert.equal((await run(a, () => window.t.now())).pushed, 1);
    await run(b, () => window.t.now());

    const server = (await serverLog(["shopping_cart-"])).map((e) => [e.data.sku, e.version, e.id]);
    assert.deepEqual(server.map(([sku, v]) => [sku, v]), [["a1", 1], ["b2", 2], ["a2", 3]]);
    assert.equal(server[2][2], offline[1][3], "the event pushed is the one Emmett appended offline (its messageId)");
    for (const page of [a, b]) {
      assert.deepEqual(await run(page, () => window.t.read()),
        server.map(([sku, v, id]) => [sku, String(v), "confirmed", id]), "the device's stream, read through Emmett");
      assert.deepEqual(await run(page, () => window.t.state()), ["a1", "b2", "a2"]);
      assert.equal(await run(page, async () => (await window.t.sync.pending()).length), 0);
      assert.deepEqual(page.errors, []);
    }
    // Emmett's next command on A decides on the merged cart and is pushed like the others.
    assert.equal(await run(a, () => window.t.add("a3")), "4");
    assert.equal((await run(a, () => window.t.now())).pushed, 1);
    assert.equal((await serverLog(["shopping_cart-"])).length, 4);
  } finally {
    await Promise.all(contexts.map((c) => c.close().catch(() => {})));
    for (const p of profiles) p.remove();
  }
});
