// The command bus and the query bus: one handler per type, HANDLER_NOT_FOUND, middleware,
// correlation/causation ids in the appended events' metadata, idempotent command ids.
import { test } from "node:test";
import assert from "node:assert/strict";
import { newStore, rejectsUnchanged, snapshot } from "./helpers.mjs";
import { order } from "./order.mjs";

const orderCommands = { commands: ["Create", "AddItem", "Confirm", "Cancel"], id: (c) => c.orderId };

test("dispatch returns the handler's result; an unknown type is HANDLER_NOT_FOUND", async () => {
  const store = await newStore();
  const bus = store.bus();
  bus.register("Double", (c) => c.n * 2);
  bus.register("Later", async (c) => ({ got: c.n }));
  assert.equal(await bus.dispatch({ type: "Double", n: 21 }), 42);
  assert.deepEqual(await bus.dispatch({ type: "Later", n: 1 }), { got: 1 });
  await rejectsUnchanged(store, bus.dispatch({ type: "Triple", n: 1 }), "HANDLER_NOT_FOUND");
  await rejectsUnchanged(store, bus.dispatch({ n: 1 }), "INVALID_INPUT");
  await rejectsUnchanged(store, bus.dispatch({ type: "Double", n: 1 }, { commandId: "not-a-uuid" }), "INVALID_INPUT");
});

test("a second handler for one type is INVALID_INPUT at registration, and registers nothing", async () => {
  const store = await newStore();
  const bus = store.bus();
  bus.register("Create", () => "first");
  assert.throws(() => bus.register("Create", () => "second"), { name: "EventfoldError", code: "INVALID_INPUT" });
  assert.throws(() => bus.registerAggregate(order, orderCommands), { code: "INVALID_INPUT" });
  assert.equal(await bus.dispatch({ type: "Create" }), "first", "the first handler stays");
  await assert.rejects(bus.dispatch({ type: "AddItem", orderId: "1" }), { code: "HANDLER_NOT_FOUND" },
    "the aggregate registered none of its types");
  assert.throws(() => bus.registerQuery("", () => 1), { code: "INVALID_INPUT" });
});

test("an aggregate behind the bus: correlation, causation, command id and middleware metadata reach the events", async () => {
  const store = await newStore();
  const bus = store.bus();
  bus.registerAggregate(order, orderCommands);
  bus.use(async (command, ctx, next) => {
    ctx.metadata.userId = "u1";
    return next(command, ctx);
  });
  const commandId = crypto.randomUUID();
  const r = await bus.dispatch({ type: "Create", orderId: "42", customerId: "c1" },
    { commandId, correlationId: "req-7", causationId: "click-3", metadata: { app: "shop" } });
  assert.equal(r.version, 1);
  assert.equal(r.state.status, "open");
  const [e] = await store.readStream("order-42");
  assert.deepEqual(e.metadata, { app: "shop", userId: "u1", commandId, correlationId: "req-7", causationId: "click-3" });
  assert.equal(e.id, r.events[0].id);

  // Without ids given, the command is its own correlation.
  const added = await bus.dispatch({ type: "AddItem", orderId: "42", sku: "p1", qty: 1, unitPrice: 5 });
  const m = added.events[0].metadata;
  assert.equal(m.correlationId, m.commandId);
  assert.equal(m.causationId, undefined);
});

test("the same command id twice appends once: the second dispatch is { duplicate: true }", async () => {
  const store = await newStore();
  const bus = store.bus();
  bus.registerAggregate(order, orderCommands);
  await bus.dispatch({ type: "Create", orderId: "1", customerId: "c1" });
  const commandId = crypto.randomUUID();
  const add = { type: "AddItem", orderId: "1", sku: "p1", qty: 2, unitPrice: 100 };
  const first = await bus.dispatch(add, { commandId });
  const before = await snapshot(store);
  assert.deepEqual(await bus.dispatch(add, { commandId }), { duplicate: true });
  assert.deepEqual(await snapshot(store), before, "nothing appended twice");
  assert.equal(first.state.total, 200);
});

test("handler failures: EventfoldErrors pass through, anything else is HANDLER_FAILED with the thrown value as cause", async () => {
  const store = await newStore();
  const bus = store.bus();
  bus.registerAggregate(order, orderCommands);
  await bus.dispatch({ type: "Create", orderId: "1", customerId: "c1" });
  const domain = new Error("smtp down");
  bus.register("Sync", () => { throw domain; });
  bus.register("Async", async () => { throw domain; });
  bus.register("Str", () => Promise.reject("just a string"));
  for (const type of ["Sync", "Async"]) {
    await rejectsUnchanged(store, bus.dispatch({ type }), "HANDLER_FAILED");
    await assert.rejects(bus.dispatch({ type }), (e) => e.cause === domain && /smtp down/.test(e.message));
  }
  await assert.rejects(bus.dispatch({ type: "Str" }), (e) => e.code === "HANDLER_FAILED" && e.cause === "just a string");
  await rejectsUnchanged(store, bus.dispatch({ type: "Confirm", orderId: "1" }), "DECIDER_REJECTED");
  await assert.rejects(bus.dispatch({ type: "Confirm", orderId: "1" }),
    (e) => e.cause instanceof Error && e.cause.message === "an empty order cannot be confirmed");
  // A handler rethrowing an EventfoldError from a nested dispatch keeps its code.
  bus.register("Nested", (c, ctx) => ctx.dispatch({ type: "Confirm", orderId: "1" }));
  await rejectsUnchanged(store, bus.dispatch({ type: "Nested" }), "DECIDER_REJECTED");
  // The id function of an aggregate that throws is INVALID_INPUT, nothing appended.
  const other = store.bus();
  other.registerAggregate(order, { commands: ["Create"], id: () => { throw new Error("no id"); } });
  await rejectsUnchanged(store, other.dispatch({ type: "Create", customerId: "c" }), "INVALID_INPUT");
});

test("middleware runs outermost-first, can change the command, and can stop before the handler", async () => {
  const store = await newStore();
  const bus = store.bus();
  const log = [];
  bus.register("Echo", (c) => { log.push(`handler ${c.n}`); return c.n; });
  bus.use(async (c, ctx, next) => {
    log.push("outer in");
    if (c.n < 0) throw new Error("n must be positive");
    const r = await next({ ...c, n: c.n + 1 }, ctx);
    log.push("outer out");
    return r;
  });
  bus.use((c, ctx, next) => { log.push("inner in"); return next(); });
  assert.equal(await bus.dispatch({ type: "Echo", n: 1 }), 2);
  assert.deepEqual(log, ["outer in", "inner in", "handler 2", "outer out"]);
  log.length = 0;
  await assert.rejects(bus.dispatch({ type: "Echo", n: -1 }), { code: "HANDLER_FAILED", message: /positive/ });
  assert.deepEqual(log, ["outer in"], "the handler never ran");
});

test("commands dispatched from a handler share its correlation and are caused by it", async () => {
  const store = await newStore();
  const bus = store.bus();
  bus.registerAggregate(order, orderCommands);
  bus.register("PlaceOrder", async (c, ctx) => {
    await ctx.dispatch({ type: "Create", orderId: c.orderId, customerId: "c1" });
    await ctx.dispatch({ type: "AddItem", orderId: c.orderId, sku: "p", qty: 1, unitPrice: 3 });
    return ctx.commandId;
  });
  const parent = await bus.dispatch({ type: "PlaceOrder", orderId: "9" }, { correlationId: "session-1" });
  const events = await store.readStream("order-9");
  assert.equal(events.length, 2);
  for (const e of events) {
    assert.equal(e.metadata.correlationId, "session-1");
    assert.equal(e.metadata.causationId, parent);
  }
  assert.notEqual(events[0].metadata.commandId, events[1].metadata.commandId);
});

test("query bus: ask routes by type; unknown is HANDLER_NOT_FOUND; failures are HANDLER_FAILED", async () => {
  const store = await newStore();
  const bus = store.bus();
  bus.registerAggregate(order, orderCommands);
  const view = store.projection({ name: "count", init: () => 0, evolve: (n, e) => (e.type === "OrderCreated" ? n + 1 : n) });
  bus.registerQuery("OrderCount", async () => { await view.ready(); return view.state; });
  bus.registerQuery("Broken", () => { throw new Error("no index"); });
  assert.throws(() => bus.registerQuery("OrderCount", () => 0), { code: "INVALID_INPUT" });
  await bus.dispatch({ type: "Create", orderId: "1", customerId: "c1" });
  await bus.dispatch({ type: "Create", orderId: "2", customerId: "c1" });
  assert.equal(await bus.ask({ type: "OrderCount" }), 2);
  await assert.rejects(bus.ask({ type: "Nope" }), { name: "EventfoldError", code: "HANDLER_NOT_FOUND" });
  await assert.rejects(bus.ask({ type: "Broken" }), (e) => e.code === "HANDLER_FAILED" && e.cause.message === "no index");
  await assert.rejects(bus.ask({}), { code: "INVALID_INPUT" });
  view.close();
});
