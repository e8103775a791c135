// The bus on a synced store, against a real eventfold-server: commands dispatched through the
// bus, a saga's steps and compensations, and commands a side-effect handler sends all go through
// the same store view as `store.aggregate`: they are pending, pushed by the next sync, and a
// second device ends with the same log. The engine's own streams ($saga-…) stay local.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { EventStore } from "eventfold";
import { startServer } from "./server.mjs";
import { eventually } from "./sync-fixtures.mjs";
import { checkout, input, registerShop } from "./shop.mjs";

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

const counter = {
  name: "counter",
  initialState: () => ({ n: 0 }),
  evolve: (s, e) => (e.type === "Incremented" ? { n: s.n + 1 } : s),
  decide: () => [{ type: "Incremented", data: {} }],
};

/** The synced part of a log, as a second device must see it. */
const synced = async (store, prefix) =>
  (await store.readAll({ filter: { streamPrefix: prefix } })).map((e) => [e.id, e.stream, e.version, e.type]);

test("bus.dispatch on a synced store is pending and pushed like store.aggregate (the issue's reproduction)", async () => {
  const s = await EventStore.inMemory();
  const sync = s.sync({ url: server.url, scope: ["counter-"] });
  const bus = s.bus();
  bus.registerAggregate(counter, { commands: ["Inc"], id: (c) => c.id });
  await bus.dispatch({ type: "Inc", id: "1" });
  await s.aggregate(counter).execute("1", { type: "Inc" });
  assert.equal(await s.headPosition(), 0, "nothing reached the confirmed log before a sync");
  await eventually(() => sync.status.pending === 2, "both events pending");
  const report = await sync.now();
  assert.equal(report.pushed, 2);
  assert.equal(sync.status.pending, 0);

  const b = await EventStore.inMemory();
  const syncB = b.sync({ url: server.url, scope: ["counter-"] });
  await syncB.now();
  assert.deepEqual(await synced(b, "counter-"), await synced(s, "counter-"));
  assert.equal((await b.aggregate(counter).load("1")).state.n, 2);
});

test("a saga's steps and compensations are pending, pushed, and identical on a second device", async () => {
  const scope = ["order-", "inventory-", "payment-"];
  const a = await EventStore.inMemory();
  const syncA = a.sync({ url: server.url, scope });
  const bus = a.bus();
  registerShop(bus);
  bus.saga(checkout);
  bus.start();
  await bus.startSaga("checkout", "s1", input("s1", { account: "acct-s1", sku: "sku-s1", unitPrice: 4000 })); // declined: compensates
  const settled = async () => {
    const st = await bus.sagaState("checkout", "s1");
    return st?.status === "compensated" && st;
  };
  await eventually(settled, "the saga to compensate");
  bus.stop();
  const domain = (await a.readStream("order-s1")).concat(await a.readStream("inventory-sku-s1"));
  assert.deepEqual(domain.map((e) => [e.type, e.position]), [
    ["OrderCreated", 0], ["ItemAdded", 0], ["OrderCancelled", 0], ["StockReserved", 0], ["StockReleased", 0],
  ], "every step and compensation is pending (position 0)");
  const local = await a.readAll();
  assert.ok(local.length > 0 && local.every((e) => e.stream.startsWith("$saga-checkout-s1")),
    "only the saga's own progress is in the local confirmed log");
  await eventually(() => syncA.status.pending === 5, "five pending events");
  assert.equal((await syncA.now()).pushed, 5);

  const b = await EventStore.inMemory();
  await b.sync({ url: server.url, scope }).now();
  for (const prefix of scope) assert.deepEqual(await synced(b, prefix), await synced(a, prefix), prefix);
  assert.deepEqual((await synced(b, "order-s1")).map((e) => e[3]), ["OrderCreated", "ItemAdded", "OrderCancelled"]);
  assert.deepEqual(await b.readAll({ filter: { streamPrefix: "$" } }), [], "saga progress was not pushed");
});

test("a command a side-effect handler sends is pending, pushed, and reaches a second device", async () => {
  const scope = ["order-"];
  const a = await EventStore.inMemory();
  const syncA = a.sync({ url: server.url, scope });
  const bus = a.bus();
  registerShop(bus);
  bus.on({
    name: "welcome-order",
    handlers: {
      CustomerSignedUp: (e, ctx) => ctx.dispatch({ type: "Create", orderId: `w-${e.data.customer}`, customerId: e.data.customer }),
    },
  });
  bus.start();
  // A local stream (outside the scope): confirmed at once, so the handler sees it now.
  await a.append("customer-7", [{ type: "CustomerSignedUp", data: { customer: "c7" } }]);
  await eventually(async () => (await a.readStream("order-w-c7")).length === 1, "the handler's command");
  bus.stop();
  const [created] = await a.readStream("order-w-c7");
  assert.equal(created.position, 0, "pending");
  assert.equal(created.metadata.causationId, (await a.readStream("customer-7"))[0].id);
  await eventually(() => syncA.status.pending === 1, "one pending event");
  assert.equal((await syncA.now()).pushed, 1);

  const b = await EventStore.inMemory();
  await b.sync({ url: server.url, scope }).now();
  assert.deepEqual(await synced(b, "order-w-"), await synced(a, "order-w-"));
  assert.equal((await b.readStream("order-w-c7"))[0].id, created.id);
  assert.deepEqual(await b.readStream("customer-7"), [], "the local stream stayed local");
});

test("pending events are read upcast, and pushed as they were stored", async () => {
  const a = await EventStore.inMemory();
  const syncA = a.sync({ url: server.url, scope: ["price-"] });
  a.upcast("Priced", 1, (e) => ({ data: { minor: Math.round(e.data.amount * 100) } }));
  await a.append("price-1", [{ type: "Priced", data: { amount: 1.5 } }]);
  const [pending] = await a.readStream("price-1");
  assert.equal(pending.position, 0);
  assert.deepEqual([pending.data, pending.metadata.schemaVersion], [{ minor: 150 }, 2]);
  assert.deepEqual((await syncA.pending()).map((e) => e.data), [{ minor: 150 }]);
  await syncA.now();
  const b = await EventStore.inMemory();
  await b.sync({ url: server.url, scope: ["price-"] }).now();
  const [stored] = await b.readStream("price-1");
  assert.deepEqual([stored.data, stored.metadata.schemaVersion], [{ amount: 1.5 }, undefined], "a store without the upcaster sees what was stored");
  assert.deepEqual((await a.readStream("price-1"))[0].data, { minor: 150 }, "confirmed, still read upcast");
});
