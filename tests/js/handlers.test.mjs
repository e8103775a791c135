// Event handlers with side effects: at-least-once in position order from a persisted
// checkpoint, retries with backoff, time-outs, dead letters the app can inspect, retry, skip.
import { test } from "node:test";
import assert from "node:assert/strict";
import { newStore, ev, waitFor } from "./helpers.mjs";
import { order } from "./order.mjs";

async function seed(store, types) {
  for (const [i, type] of types.entries()) await store.append(`order-${i}`, [ev(type, { i })]);
}

test("handlers get their types once each, in position order, and a restart resumes from the checkpoint", async () => {
  const store = await newStore();
  await seed(store, ["OrderCreated", "ItemAdded", "OrderConfirmed", "OrderCreated"]);
  const seen = [];
  const def = {
    name: "emails",
    handlers: {
      OrderCreated: async (e, ctx) => { seen.push([e.position, e.type, ctx.eventId === e.id]); },
      OrderConfirmed: (e) => { seen.push([e.position, e.type, true]); },
    },
  };
  const bus = store.bus();
  bus.on(def);
  assert.throws(() => bus.on(def), { code: "INVALID_INPUT" }, "one handler per name");
  assert.throws(() => bus.on({ name: "x", handlers: {} }), { code: "INVALID_INPUT" });
  bus.start();
  assert.equal(bus.isLeader, true, "no Web Locks in Node: this process runs them");
  await waitFor(async () => (await bus.handlerProgress("emails")).checkpoint === 4);
  assert.deepEqual(seen, [[1, "OrderCreated", true], [3, "OrderConfirmed", true], [4, "OrderCreated", true]]);
  bus.stop();
  assert.equal(bus.isLeader, false);

  await store.append("order-9", [ev("OrderConfirmed", {})]);
  const again = store.bus();
  again.on(def);
  again.start();
  await waitFor(async () => (await again.handlerProgress("emails")).checkpoint === 5);
  assert.deepEqual(seen.map((s) => s[0]), [1, 3, 4, 5], "nothing delivered twice after a restart");
  // Live: events appended while running are delivered.
  await store.append("order-10", [ev("OrderCreated", {})]);
  await waitFor(() => seen.length === 5, 5000, "live delivery");
  again.stop();
});

test("a failing event is retried with backoff and holds back the later ones until it succeeds", async () => {
  const store = await newStore();
  await seed(store, ["A", "A", "A"]);
  const calls = [];
  const bus = store.bus();
  let failures = 2;
  bus.on({
    name: "flaky", backoffMs: 20, maxAttempts: 5,
    handlers: {
      A: async (e) => {
        calls.push([e.position, Date.now()]);
        if (e.position === 2 && failures-- > 0) throw new Error("provider down");
      },
    },
  });
  bus.start();
  await waitFor(async () => {
    const p = await bus.handlerProgress("flaky");
    return p.failing?.attempts === 1 && p.failing;
  }, 5000, "the first failure to be saved").then((failing) => {
    assert.equal(failing.position, 2);
    assert.match(failing.error, /provider down/);
  });
  await waitFor(async () => (await bus.handlerProgress("flaky")).checkpoint === 3);
  bus.stop();
  assert.deepEqual(calls.map((c) => c[0]), [1, 2, 2, 2, 3], "3 waited for 2");
  const gaps = [calls[2][1] - calls[1][1], calls[3][1] - calls[2][1]];
  assert.ok(gaps[0] >= 15 && gaps[1] >= 35, `backoff doubles: ${gaps}`);
  assert.deepEqual(await bus.deadLetters("flaky"), []);
});

test("after maxAttempts an event is parked; the app lists, retries and skips dead letters", async () => {
  const store = await newStore();
  await seed(store, ["A", "A", "A"]);
  let healthy = false;
  const handled = [];
  const bus = store.bus();
  bus.on({
    name: "mailer", backoffMs: 1, maxAttempts: 3,
    handlers: {
      A: (e) => {
        if (e.position !== 3 && !healthy && e.position === 2) throw new Error(`bounce ${e.position}`);
        if (e.position === 3 && !healthy) return Promise.reject(new Error("bounce 3"));
        handled.push(e.position);
      },
    },
  });
  bus.start();
  await waitFor(async () => (await bus.handlerProgress("mailer")).checkpoint >= 3);
  const letters = await bus.deadLetters("mailer");
  assert.deepEqual(letters.map((l) => [l.position, l.attempts, l.type, l.stream]), [[2, 3, "A", "order-1"], [3, 3, "A", "order-2"]]);
  assert.match(letters[0].error, /bounce 2/);
  assert.deepEqual(handled, [1]);

  await assert.rejects(bus.retryDeadLetter("mailer", 2), { code: "HANDLER_FAILED" });
  assert.equal((await bus.deadLetters("mailer"))[0].attempts, 4, "still parked, one more attempt");
  healthy = true;
  await bus.retryDeadLetter("mailer", 2);
  assert.deepEqual(handled, [1, 2]);
  await bus.skipDeadLetter("mailer", 3);
  assert.deepEqual(await bus.deadLetters("mailer"), []);
  assert.deepEqual(handled, [1, 2], "skipped, not handled");
  await assert.rejects(bus.skipDeadLetter("mailer", 3), { code: "INVALID_INPUT" });
  await assert.rejects(bus.deadLetters("nobody"), { code: "HANDLER_NOT_FOUND" });
  // Other buses (other tabs) see the same dead letters: they live in the log.
  const other = store.bus();
  other.on({ name: "mailer", handlers: { A: () => {} } });
  assert.deepEqual(await other.deadLetters("mailer"), []);
  bus.stop();
});

test("a handler that never settles times out, is retried, then parked; the next event goes on", async () => {
  const store = await newStore();
  await seed(store, ["A", "A"]);
  let calls = 0;
  const bus = store.bus();
  bus.on({
    name: "hangs", timeoutMs: 30, backoffMs: 1, maxAttempts: 2,
    handlers: { A: (e) => (e.position === 1 ? (calls++, new Promise(() => {})) : undefined) },
  });
  bus.start();
  await waitFor(async () => (await bus.handlerProgress("hangs")).checkpoint >= 2);
  bus.stop();
  assert.equal(calls, 2);
  const [letter] = await bus.deadLetters("hangs");
  assert.equal(letter.position, 1);
  assert.match(letter.error, /did not settle within 30 ms/);
});

test("commands a handler dispatches are not appended twice when its event is delivered again", async () => {
  const store = await newStore();
  await store.append("signup-1", [ev("CustomerSignedUp", { customerId: "c1" })]);
  const bus = store.bus();
  bus.registerAggregate(order, { commands: ["Create", "AddItem"], id: (c) => c.orderId });
  let attempt = 0;
  bus.on({
    name: "welcome", backoffMs: 1,
    handlers: {
      CustomerSignedUp: async (e, ctx) => {
        await ctx.dispatch({ type: "Create", orderId: `welcome-${e.data.customerId}`, customerId: e.data.customerId });
        if (attempt++ === 0) throw new Error("crashed after the command");
      },
    },
  });
  bus.start();
  await waitFor(async () => (await bus.handlerProgress("welcome")).checkpoint >= 2);
  bus.stop();
  assert.equal(attempt, 2, "delivered twice (at-least-once)");
  const events = await store.readStream("order-welcome-c1");
  assert.equal(events.length, 1, "the order was created once");
  assert.equal(events[0].metadata.causationId, (await store.readStream("signup-1"))[0].id);
});
