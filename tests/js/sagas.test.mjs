// Sagas: the order flow (create order -> add item -> reserve inventory -> charge payment ->
// confirm) with compensations in reverse order, retried-then-parked compensations, durable
// deadlines, starting on an event, and resuming a saga without running a step twice.
import { test } from "node:test";
import assert from "node:assert/strict";
import { newStore, ev, waitFor } from "./helpers.mjs";
import { checkout, input, registerShop } from "./shop.mjs";

async function shop(options = {}) {
  const store = options.store ?? await newStore();
  const bus = store.bus();
  registerShop(bus);
  return { store, bus };
}

const settled = (bus, id, name = "checkout") =>
  waitFor(async () => {
    const s = await bus.sagaState(name, id);
    return s && ["completed", "compensated", "parked"].includes(s.status) && s;
  }, 5000, `saga ${id} to settle`);

/** Event types of the log outside the saga streams, in order. */
async function domainTypes(store) {
  return (await store.readAll()).filter((e) => !e.stream.startsWith("$")).map((e) => e.type);
}

test("the order flow runs every step once, in order, under one correlation id", async () => {
  const { store, bus } = await shop();
  bus.saga(checkout);
  assert.throws(() => bus.saga(checkout), { code: "INVALID_INPUT" }, "one saga per name");
  bus.start();
  assert.equal(await bus.startSaga("checkout", "o1", input("o1"), { correlationId: "web-req-1" }), true);
  assert.equal(await bus.startSaga("checkout", "o1", input("o1")), false, "a saga id starts once");
  const s = await settled(bus, "o1");
  bus.stop();
  assert.equal(s.status, "completed");
  assert.equal(s.results.charge.state.charged.o1, 2000);
  assert.deepEqual(await domainTypes(store), ["OrderCreated", "ItemAdded", "StockReserved", "PaymentCharged", "OrderConfirmed"]);
  for (const e of (await store.readAll()).filter((e) => !e.stream.startsWith("$"))) {
    assert.equal(e.metadata.correlationId, "web-req-1", `${e.type} carries the saga's correlation id`);
    assert.ok(e.metadata.commandId && e.metadata.causationId);
  }
  assert.deepEqual(await bus.activeSagas("checkout"), []);
  await assert.rejects(bus.startSaga("nope", "x", {}), { code: "HANDLER_NOT_FOUND" });
  assert.equal(await bus.sagaState("checkout", "never"), undefined);
});

test("a stopped bus leaves no timer behind, so a script ends when its work is done", async () => {
  // Each handler call and saga step races a 30 s time limit, and a waiting saga sleeps until its
  // next event. Those timers must be cleared once the race is decided: a pending setTimeout keeps
  // Node, Deno and Bun running (the order flow of docs/buses-and-sagas.md used to hang 30 s).
  const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
  const before = timers();
  const { bus } = await shop();
  bus.saga(checkout);
  bus.on({ name: "emails", handlers: { OrderConfirmed: async () => {} } });
  bus.start();
  await bus.startSaga("checkout", "o1", input("o1"));
  assert.equal((await settled(bus, "o1")).status, "completed");
  bus.stop();
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(timers(), before, "timers left running after stop()");
});

test("a step rejected by a decider compensates the completed steps in reverse order", async () => {
  const { store, bus } = await shop();
  bus.saga(checkout);
  bus.start();
  await bus.startSaga("checkout", "o2", input("o2", { unitPrice: 4000 })); // 8000 > the card limit
  const s = await settled(bus, "o2");
  bus.stop();
  assert.equal(s.status, "compensated");
  assert.equal(s.failure.code, "DECIDER_REJECTED");
  assert.match(s.failure.message, /card declined/);
  assert.deepEqual(s.compensated, ["reserve", "create"], "reverse order; charge never completed, add has no compensation");
  assert.deepEqual(await domainTypes(store),
    ["OrderCreated", "ItemAdded", "StockReserved", "StockReleased", "OrderCancelled"]);
  const [cancelled] = (await store.readStream("order-o2")).filter((e) => e.type === "OrderCancelled");
  assert.match(cancelled.data.reason, /card declined/);
});

test("a failing compensation is retried, then parked visibly until the app retries or skips it", async () => {
  for (const resolve of ["retry", "skip"]) {
    const store = await newStore();
    const bus = store.bus();
    registerShop(bus);
    let refusals = 0;
    bus.use(async (c, ctx, next) => {
      if (c.type === "Release" && refusals < 4) { refusals++; throw new Error("warehouse offline"); }
      return next();
    });
    bus.saga(checkout);
    bus.start();
    await bus.startSaga("checkout", "o3", input("o3", { unitPrice: 4000 }));
    const parked = await settled(bus, "o3");
    assert.equal(parked.status, "parked");
    assert.equal(parked.parkedStep, "reserve");
    assert.equal(parked.compensationError.code, "HANDLER_FAILED");
    assert.match(parked.compensationError.message, /warehouse offline/);
    assert.equal(refusals, 3, "compensationAttempts: 3");
    assert.deepEqual(await domainTypes(store), ["OrderCreated", "ItemAdded", "StockReserved"], "create waits for reserve");
    assert.deepEqual(await bus.activeSagas("checkout"), ["o3"]);

    if (resolve === "retry") {
      await bus.retrySaga("checkout", "o3"); // fails once more, then succeeds
      const done = await waitFor(async () => (await bus.sagaState("checkout", "o3")).status === "compensated");
      assert.ok(done);
      assert.deepEqual(await domainTypes(store), ["OrderCreated", "ItemAdded", "StockReserved", "StockReleased", "OrderCancelled"]);
    } else {
      await bus.skipCompensation("checkout", "o3");
      await waitFor(async () => (await bus.sagaState("checkout", "o3")).status === "compensated");
      assert.deepEqual(await domainTypes(store), ["OrderCreated", "ItemAdded", "StockReserved", "OrderCancelled"]);
    }
    await assert.rejects(bus.retrySaga("checkout", "o3"), { code: "INVALID_INPUT" });
    bus.stop();
  }
});

const awaitingPayment = {
  name: "pay-or-cancel",
  steps: [
    checkout.steps[0],
    checkout.steps[1],
    checkout.steps[2],
    {
      name: "payment",
      awaitEvent: { type: "PaymentReceived", match: (e, saga) => e.data.orderId === saga.id },
      timeoutMs: 80,
    },
    checkout.steps[4],
  ],
};

test("a wait step completes on its event, or its durable deadline fails it and compensates", async () => {
  const { store, bus } = await shop();
  bus.saga(awaitingPayment);
  bus.start();
  await bus.startSaga("pay-or-cancel", "o4", input("o4"));
  await bus.startSaga("pay-or-cancel", "o5", input("o5"));
  await waitFor(async () => (await bus.sagaState("pay-or-cancel", "o4")).results.reserve);
  await store.append("bank-1", [ev("PaymentReceived", { orderId: "o4" })]);
  const paid = await settled(bus, "o4", "pay-or-cancel");
  const unpaid = await settled(bus, "o5", "pay-or-cancel");
  bus.stop();
  assert.equal(paid.status, "completed");
  assert.equal(paid.results.payment.data.orderId, "o4", "the awaited event is the step's result");
  assert.equal(unpaid.status, "compensated");
  assert.equal(unpaid.failure.code, "HANDLER_TIMEOUT");
  const o5 = (await store.readStream("order-o5")).map((e) => e.type);
  assert.deepEqual(o5, ["OrderCreated", "ItemAdded", "OrderCancelled"]);
  // The deadline is stored in the saga's log.
  const started = (await store.readStream("$saga-pay-or-cancel-o5")).find((e) => e.type === "StepStarted" && e.data.step === 3);
  assert.equal(typeof started.data.due, "number");
});

test("a deadline that passed while no tab ran the saga fires when a tab starts again", async () => {
  const store = await newStore();
  const first = store.bus();
  registerShop(first);
  first.saga(awaitingPayment);
  first.start();
  await first.startSaga("pay-or-cancel", "o6", input("o6"));
  await waitFor(async () => (await first.sagaState("pay-or-cancel", "o6")).results.reserve);
  first.stop(); // the tab closes while waiting for the payment
  await new Promise((r) => setTimeout(r, 120));
  const second = store.bus();
  registerShop(second);
  second.saga(awaitingPayment);
  second.start(); // a new tab, after the deadline
  const s = await settled(second, "o6", "pay-or-cancel");
  second.stop();
  assert.equal(s.status, "compensated");
  assert.equal(s.failure.code, "HANDLER_TIMEOUT");
});

test("startOn starts one saga per event, idempotently", async () => {
  const { store, bus } = await shop();
  bus.saga({ ...checkout, name: "auto", startOn: { type: "CheckoutRequested", id: (e) => e.data.orderId, input: (e) => e.data } });
  bus.start();
  await store.append("cart-1", [ev("CheckoutRequested", input("o7"))]);
  await store.append("cart-1", [ev("CheckoutRequested", input("o7"))]); // a double click
  const s = await settled(bus, "o7", "auto");
  assert.equal(s.status, "completed");
  assert.equal(s.correlationId, (await store.readStream("cart-1"))[0].id, "correlated with the starting event");
  await waitFor(async () => (await bus.handlerProgress("saga:auto:start")).checkpoint >= 2);
  bus.stop();
  assert.equal((await domainTypes(store)).filter((t) => t === "PaymentCharged").length, 1);
});

test("a saga whose tab stopped after a step committed resumes without running that step again", async () => {
  const store = await newStore();
  const first = store.bus();
  registerShop(first);
  // The "tab" dies right after the charge commits, before the saga records it.
  first.use(async (c, ctx, next) => {
    const r = await next();
    if (c.type === "Charge") await new Promise(() => {});
    return r;
  });
  first.saga({ ...checkout, stepTimeoutMs: 300 });
  first.start();
  await first.startSaga("checkout", "o8", input("o8"));
  await waitFor(async () => (await domainTypes(store)).includes("PaymentCharged"));
  first.stop();

  const second = store.bus();
  registerShop(second);
  second.saga({ ...checkout, stepTimeoutMs: 300 });
  second.start();
  const s = await settled(second, "o8");
  assert.equal(s.status, "completed");
  assert.deepEqual(s.results.charge, { recovered: true }, "found in the log by its command id");
  // The first tab's runner wakes from its time-out later: its stale state cannot be recorded.
  await new Promise((r) => setTimeout(r, 400));
  second.stop();
  assert.equal((await second.sagaState("checkout", "o8")).status, "completed");
  assert.deepEqual(await domainTypes(store), ["OrderCreated", "ItemAdded", "StockReserved", "PaymentCharged", "OrderConfirmed"]);
});

test("a step whose command cannot be built, or has no handler, fails and compensates", async () => {
  const { store, bus } = await shop();
  bus.saga({
    name: "broken",
    steps: [
      checkout.steps[0],
      { name: "oops", command: () => { throw new Error("no sku"); } },
    ],
  });
  bus.saga({ name: "unknown", steps: [checkout.steps[0], { name: "ship", command: () => ({ type: "Ship" }) }] });
  assert.throws(() => bus.saga({ name: "x", steps: [] }), { code: "INVALID_INPUT" });
  assert.throws(() => bus.saga({ name: "y", steps: [{ name: "a" }] }), { code: "INVALID_INPUT" });
  bus.start();
  await bus.startSaga("broken", "o9", input("o9"));
  await bus.startSaga("unknown", "o10", input("o10"));
  const a = await settled(bus, "o9", "broken");
  const b = await settled(bus, "o10", "unknown");
  bus.stop();
  assert.equal(a.status, "compensated");
  assert.equal(a.failure.code, "HANDLER_FAILED");
  assert.equal(b.failure.code, "HANDLER_NOT_FOUND");
  assert.deepEqual((await store.readStream("order-o10")).map((e) => e.type), ["OrderCreated", "OrderCancelled"]);
});
