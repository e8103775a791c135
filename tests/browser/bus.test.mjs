// Buses and sagas on IndexedDB across tabs: exactly one tab (the Web Locks leader) runs the
// side-effect handlers and sagas, another takes over when it closes, a saga whose tab closed
// mid-way is finished exactly once by a new tab, and dead letters survive a reload.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launch, openPage, profile, serve } from "./harness.mjs";

let server;
before(async () => { server = await serve(); });
after(() => server.close());

/**
 * Installed in each tab: opens the store `db`, builds a bus with the shop aggregates, and
 * exposes helpers. `hang` makes the Charge command hang "before" or "after" it commits (the
 * tab is then closed by the test while the saga waits on it).
 */
const SETUP = async ({ db, tab, hang }) => {
  const shop = await import("/tests/js/shop.mjs");
  const store = await window.eventfold.EventStore.open({ name: db });
  const errors = [];
  const bus = store.bus({ onError: (e) => errors.push(e.message) });
  shop.registerShop(bus);
  if (hang) {
    bus.use(async (c, ctx, next) => {
      if (c.type !== "Charge") return next();
      if (hang === "before") { window.hanging = true; return new Promise(() => {}); }
      const r = await next();
      window.hanging = true;
      return new Promise(() => r);
    });
  }
  bus.saga({ ...shop.checkout, stepTimeoutMs: 60_000 });
  bus.on({
    name: "emails",
    handlers: {
      OrderCreated: async (e) => {
        await store.append("emails-sent", [{ type: "EmailSent", data: { orderId: e.stream, tab }, id: crypto.randomUUID() }]);
      },
    },
  });
  Object.assign(window, { shop, store, bus, errors, tab });
  bus.start();
};

/** Polls `fn` in `page` (which may be async) until it returns a truthy value. */
async function until(page, fn, arg, ms = 15_000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await page.evaluate(fn, arg);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${fn}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Domain event types outside the saga streams, in log order, read in `page`. */
const domainTypes = (page) => page.evaluate(async () =>
  (await window.store.readAll()).filter((e) => !e.stream.startsWith("$") && e.stream !== "emails-sent").map((e) => e.type));

for (const hang of ["after", "before"]) {
  test(`a saga whose tab closes mid-way (charge ${hang === "after" ? "committed" : "not yet run"}) is finished exactly once by the next tab`, async () => {
    const p = profile();
    const context = await launch(p.dir);
    try {
      const a = await openPage(context, server.url);
      await a.evaluate(SETUP, { db: "saga", tab: "A", hang });
      await a.waitForFunction(() => window.bus.isLeader);
      const b = await openPage(context, server.url);
      await b.evaluate(SETUP, { db: "saga", tab: "B" });
      assert.equal(await b.evaluate(() => window.bus.isLeader), false, "A leads; B waits");

      // B starts the saga; the leader A runs it, up to the charge, where A's tab dies.
      assert.equal(await b.evaluate(() => window.bus.startSaga("checkout", "o1", window.shop.input("o1"))), true);
      await a.waitForFunction(() => window.hanging === true, null, { timeout: 10_000 });
      const midway = await domainTypes(b);
      assert.deepEqual(midway, hang === "after"
        ? ["OrderCreated", "ItemAdded", "StockReserved", "PaymentCharged"]
        : ["OrderCreated", "ItemAdded", "StockReserved"]);
      assert.equal((await b.evaluate(() => window.bus.sagaState("checkout", "o1"))).status, "running");
      await a.close();

      // B takes the lead and finishes the saga.
      await b.waitForFunction(() => window.bus.isLeader, null, { timeout: 10_000 });
      await until(b, async () => (await window.bus.sagaState("checkout", "o1")).status === "completed");
      assert.deepEqual(await domainTypes(b), ["OrderCreated", "ItemAdded", "StockReserved", "PaymentCharged", "OrderConfirmed"],
        "every step exactly once");
      const state = await b.evaluate(() => window.bus.sagaState("checkout", "o1"));
      if (hang === "after") assert.deepEqual(state.results.charge, { recovered: true }, "the committed charge was found, not re-run");
      else assert.equal(state.results.charge.state.charged.o1, 2000, "the charge ran once, in B");
      const steps = await b.evaluate(async () =>
        (await window.store.readStream("$saga-checkout-o1")).filter((e) => e.type === "StepStarted").map((e) => e.data.step));
      assert.deepEqual(steps, [0, 1, 2, 3, 4], "no step was started twice");
      assert.deepEqual(await b.evaluate(() => window.errors), []);
    } finally {
      await context.close();
      p.remove();
    }
  });
}

test("two tabs: only the leader runs side-effect handlers; the other takes over when it closes", async () => {
  const p = profile();
  const context = await launch(p.dir);
  try {
    const a = await openPage(context, server.url);
    await a.evaluate(SETUP, { db: "fx", tab: "A" });
    await a.waitForFunction(() => window.bus.isLeader);
    const b = await openPage(context, server.url);
    await b.evaluate(SETUP, { db: "fx", tab: "B" });
    await b.waitForTimeout(200);
    assert.equal(await b.evaluate(() => window.bus.isLeader), false);

    const sent = (page) => page.evaluate(async () => (await window.store.readStream("emails-sent")).map((e) => e.data));
    // Orders placed in B are handled by A.
    await b.evaluate(async () => {
      for (let i = 1; i <= 5; i++) await window.bus.dispatch({ type: "Create", orderId: `o${i}`, customerId: "c1" });
    });
    await until(b, async () => (await window.store.readStream("emails-sent")).length === 5);
    assert.deepEqual((await sent(b)).map((d) => d.tab), ["A", "A", "A", "A", "A"]);

    await a.close();
    await b.waitForFunction(() => window.bus.isLeader, null, { timeout: 10_000 });
    await b.evaluate(async () => {
      for (let i = 6; i <= 8; i++) await window.bus.dispatch({ type: "Create", orderId: `o${i}`, customerId: "c1" });
    });
    await until(b, async () => (await window.store.readStream("emails-sent")).length >= 8);
    await b.waitForTimeout(200);
    const all = await sent(b);
    assert.equal(all.length, 8, "each order handled once");
    assert.deepEqual(all.map((d) => d.orderId).sort(), ["order-o1", "order-o2", "order-o3", "order-o4", "order-o5", "order-o6", "order-o7", "order-o8"]);
    assert.deepEqual(all.slice(5).map((d) => d.tab), ["B", "B", "B"], "B took over");
  } finally {
    await context.close();
    p.remove();
  }
});

test("dead letters and retries on IndexedDB: parked events, a time-out, and both survive a reload", async () => {
  const p = profile();
  const context = await launch(p.dir);
  try {
    const page = await openPage(context, server.url);
    const DEFINE = async () => {
      const store = await window.eventfold.EventStore.open({ name: "dead" });
      const bus = store.bus();
      window.calls = window.calls ?? [];
      bus.on({
        name: "webhook", maxAttempts: 2, backoffMs: 10, timeoutMs: 100,
        handlers: {
          Paid: (e) => {
            window.calls.push(e.data.n);
            if (e.data.n === 2 && !window.fixed) throw new Error("HTTP 500");
            if (e.data.n === 3 && !window.fixed) return new Promise(() => {});
          },
        },
      });
      Object.assign(window, { store, bus });
      bus.start();
    };
    await page.evaluate(DEFINE);
    await page.evaluate(async () => {
      for (let n = 1; n <= 4; n++) await window.store.append(`invoice-${n}`, [{ type: "Paid", data: { n } }]);
    });
    await until(page, async () => window.calls.includes(4));
    const first = await page.evaluate(async () => ({ calls: window.calls, letters: await window.bus.deadLetters("webhook") }));
    assert.deepEqual(first.calls, [1, 2, 2, 3, 3, 4], "two attempts each for 2 and 3, in order");
    assert.deepEqual(first.letters.map((l) => [l.stream, l.attempts]), [["invoice-2", 2], ["invoice-3", 2]]);
    assert.match(first.letters[0].error, /HTTP 500/);
    assert.match(first.letters[1].error, /did not settle within 100 ms/);

    await page.reload();
    await page.waitForFunction(() => window.eventfold !== undefined);
    await page.evaluate(DEFINE);
    await page.waitForTimeout(300);
    const second = await page.evaluate(async () => ({ calls: window.calls, letters: await window.bus.deadLetters("webhook") }));
    assert.deepEqual(second.calls, [], "the checkpoint persisted: nothing delivered again");
    assert.equal(second.letters.length, 2, "the dead letters persisted");
    const third = await page.evaluate(async () => {
      window.fixed = true;
      const [two, three] = await window.bus.deadLetters("webhook");
      await window.bus.retryDeadLetter("webhook", two.position);
      await window.bus.skipDeadLetter("webhook", three.position);
      return { calls: window.calls, letters: await window.bus.deadLetters("webhook") };
    });
    assert.deepEqual(third.calls, [2]);
    assert.deepEqual(third.letters, []);
  } finally {
    await context.close();
    p.remove();
  }
});

test("stop() hands the lead to another tab only after the handler call in flight finished", async () => {
  const p = profile();
  const context = await launch(p.dir);
  const DEFINE = async (tab) => {
    const store = await window.eventfold.EventStore.open({ name: "handover" });
    const bus = store.bus();
    bus.on({
      name: "slow",
      handlers: {
        Tick: async (e) => {
          window.inFlight = true;
          await new Promise((r) => setTimeout(r, 800));
          await store.append("done", [{ type: "Done", data: { tab, n: e.data.n } }]);
          window.inFlight = false;
        },
      },
    });
    Object.assign(window, { store, bus });
    bus.start();
  };
  try {
    const a = await openPage(context, server.url);
    await a.evaluate(DEFINE, "A");
    await a.waitForFunction(() => window.bus.isLeader);
    const b = await openPage(context, server.url);
    await b.evaluate(DEFINE, "B");
    await b.evaluate(() => window.store.append("clock", [{ type: "Tick", data: { n: 1 } }]));
    await a.waitForFunction(() => window.inFlight === true, null, { timeout: 10_000 });
    await a.evaluate(() => window.bus.stop());
    await b.waitForTimeout(300);
    assert.equal(await b.evaluate(() => window.bus.isLeader), false, "A still finishes its call");
    await b.waitForFunction(() => window.bus.isLeader, null, { timeout: 10_000 });
    await b.waitForTimeout(1200);
    const done = await b.evaluate(async () => (await window.store.readStream("done")).map((e) => e.data));
    assert.deepEqual(done, [{ tab: "A", n: 1 }], "handled once, by A; B resumed after A's checkpoint");
  } finally {
    await context.close();
    p.remove();
  }
});
