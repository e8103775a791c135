// EventStore.sqlite over node:sqlite in Node 22, from the packed package: what only a durable
// SQL store shows (the shared behaviour runs in the whole tests/js suite with
// EVENTFOLD_STORE=sqlite). Run by scripts/test-package with Node 22 from tests/runtimes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { EventStore, isEventfoldError } from "eventfold";
import { order } from "./order.mjs";

const ev = (type, data) => ({ type, data, id: crypto.randomUUID() });
const file = () => join(mkdtempSync(join(tmpdir(), "eventfold-sqlite-")), "events.db");
const tick = () => new Promise((r) => setTimeout(r, 20));

const ordersModel = {
  name: "orders",
  version: 1,
  indexes: ["customerId", "total"],
  handlers: {
    OrderCreated: (e, rm) => rm.put(e.stream, { customerId: e.data.customerId, total: 0 }),
    ItemAdded: (e, rm) => rm.update(e.stream, (o) => ({ ...o, total: o.total + e.data.qty * e.data.unitPrice })),
  },
};

const totals = {
  name: "totals",
  version: 1,
  init: () => ({ sum: 0 }),
  evolve: (s, e) => (e.type === "ItemAdded" ? { sum: s.sum + e.data.qty * e.data.unitPrice } : s),
};

test("events, snapshots, projection checkpoints and read models survive reopening the file", async () => {
  const path = file();
  let store = await EventStore.sqlite(new DatabaseSync(path));
  const orders = store.aggregate({ ...order, snapshotEvery: 2 });
  await orders.execute("1", { type: "Create", customerId: "alice" });
  await orders.execute("1", { type: "AddItem", sku: "a", qty: 2, unitPrice: 150 });
  await orders.execute("2", { type: "Create", customerId: "bob" });
  await orders.execute("2", { type: "AddItem", sku: "b", qty: 1, unitPrice: 99 });
  const view = store.projection(totals);
  await view.ready();
  const list = store.readModel(ordersModel);
  await list.ready();
  const log = await store.readAll();
  view.close();
  list.close();
  store.close();

  const db = new DatabaseSync(path);
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all().map((r) => r.name);
  assert.deepEqual(tables, ["eventfold_entries", "eventfold_events", "eventfold_meta", "eventfold_records", "eventfold_state"]);
  const stateKeys = db.prepare("SELECT key FROM eventfold_state ORDER BY key").all().map((r) => r.key);
  assert.ok(stateKeys.some((k) => k.includes("order-1")), `a snapshot of order-1 in ${stateKeys}`);
  assert.ok(stateKeys.some((k) => k.includes("totals")), `the projection's checkpoint in ${stateKeys}`);

  store = await EventStore.sqlite(db);
  assert.deepEqual(await store.readAll(), log);
  let evolved = 0;
  const again = store.projection({ ...totals, evolve: (s, e) => (evolved++, totals.evolve(s, e)) });
  await again.ready();
  assert.deepEqual(again.state, { sum: 399 });
  assert.equal(evolved, 0, "resumed from the persisted checkpoint, no replay");
  const list2 = store.readModel(ordersModel);
  await list2.ready();
  assert.deepEqual(await list2.query({ index: "customerId", equals: "alice" }), [{ customerId: "alice", total: 300 }]);
  const reopened = store.aggregate({ ...order, snapshotEvery: 2 });
  assert.equal((await reopened.load("1")).state.total, 300);
  assert.equal((await reopened.load("2")).state.total, 99);
  await store.append("order-3", [ev("OrderCreated", { customerId: "carol" })]);
  await tick();
  assert.deepEqual(await list2.get("order-3"), { customerId: "carol", total: 0 });
  again.close();
  list2.close();
});

test("a handle it cannot use is INVALID_INPUT naming what it expects", async () => {
  for (const bad of [undefined, null, "events.db", {}, { exec() {} }]) {
    await assert.rejects(EventStore.sqlite(bad), (e) => {
      assert.ok(isEventfoldError(e));
      assert.equal(e.code, "INVALID_INPUT");
      assert.match(e.message, /node:sqlite DatabaseSync/);
      assert.match(e.message, /ctx\.storage/);
      return true;
    });
  }
});

test("a database written by a newer eventfold is SCHEMA_TOO_NEW and left alone", async () => {
  const path = file();
  (await EventStore.sqlite(new DatabaseSync(path))).close();
  const db = new DatabaseSync(path);
  db.exec("UPDATE eventfold_meta SET value = '9' WHERE key = 'schema_version'");
  await assert.rejects(EventStore.sqlite(db), { name: "EventfoldError", code: "SCHEMA_TOO_NEW" });
  assert.equal(db.prepare("SELECT value FROM eventfold_meta WHERE key = 'schema_version'").get().value, "9");
});

test("a read model page that throws keeps what came before it, in the database too", async () => {
  const db = new DatabaseSync(":memory:");
  const store = await EventStore.sqlite(db);
  await store.append("order-1", [ev("OrderCreated", { customerId: "a" })]);
  await store.append("order-2", [ev("OrderCreated", { customerId: "poison" })]);
  const list = store.readModel({
    ...ordersModel,
    handlers: {
      OrderCreated: (e, rm) => {
        rm.put(e.stream, { customerId: e.data.customerId, total: 0 });
        if (e.data.customerId === "poison") throw new Error("bad customer");
      },
    },
  });
  await assert.rejects(list.ready(), { code: "EVOLVE_FAILED" });
  const keys = db.prepare("SELECT key FROM eventfold_records ORDER BY key").all().map((r) => r.key);
  assert.deepEqual(keys, ["order-1"], "the failing event's write never reached the database");
  const entries = db.prepare("SELECT key FROM eventfold_entries").all().map((r) => r.key);
  assert.deepEqual([...new Set(entries)], ["order-1"]);
  list.close();
});

test("a closed store rejects with STORE_CLOSED and the user's database stays open", async () => {
  const db = new DatabaseSync(":memory:");
  const store = await EventStore.sqlite(db);
  await store.append("s", [ev("A", {})]);
  store.close();
  await assert.rejects(store.append("s", [ev("A", {})]), { code: "STORE_CLOSED" });
  await assert.rejects(store.readAll(), { code: "STORE_CLOSED" });
  assert.equal(db.prepare("SELECT COUNT(*) AS n FROM eventfold_events").get().n, 1);
});

test("the store runs inside the app's own transaction as a savepoint", async () => {
  const db = new DatabaseSync(":memory:");
  const store = await EventStore.sqlite(db);
  db.exec("CREATE TABLE app (x)");
  db.exec("BEGIN");
  db.exec("INSERT INTO app VALUES (1)");
  await store.append("s", [ev("A", {})]);
  db.exec("ROLLBACK");
  assert.equal(db.prepare("SELECT COUNT(*) AS n FROM eventfold_events").get().n, 0, "rolled back with the app's transaction");
});
