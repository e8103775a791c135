// readAll on IndexedDB parses each stored record's event text in JavaScript (the fast read
// path). It must return exactly what the reference in-memory store returns for the same
// appends, for every filter, `after` and `limit`, and name a damaged record.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launch, openPage, profile, serve } from "./harness.mjs";

let server;
before(async () => { server = await serve(); });
after(() => server.close());

test("readAll on IndexedDB equals the in-memory store's answer for every filter, after and limit", async () => {
  const p = profile();
  const context = await launch(p.dir);
  try {
    const page = await openPage(context, server.url);
    const mismatches = await page.evaluate(async () => {
      const { EventStore } = window.eventfold;
      const [db, mem] = [await EventStore.open({ name: "readjs" }), await EventStore.inMemory()];
      for (let i = 0; i < 120; i++) {
        const stream = i % 3 === 0 ? `cart-${i % 4}` : `order-${i % 7}`;
        const size = 1 + (i % 9) * 40; // up to 321 events: some appends span several records
        const events = Array.from({ length: size }, (_, k) => ({
          id: crypto.randomUUID(), type: ["Created", "Added", "Removed"][(i + k) % 3],
          data: { i, k, text: "é✓".repeat(k % 50) }, metadata: { n: k },
        }));
        await db.append(stream, events);
        await mem.append(stream, events);
      }
      const strip = (events) => events.map(({ timestamp, ...rest }) => rest);
      const queries = [];
      for (const after of [0, 1, 57, 5000, 17000]) {
        for (const limit of [undefined, 0, 1, 10, 999, 30000]) {
          for (const filter of [undefined, { streamPrefix: "order-" }, { streamPrefix: ["cart-1", "order-3"], types: ["Added"] }, { types: ["Removed", "Created"] }]) {
            queries.push({ after, limit, filter });
          }
        }
      }
      const bad = [];
      for (const q of queries) {
        const [a, b] = [await db.readAll(q), await mem.readAll(q)];
        if (JSON.stringify(strip(a)) !== JSON.stringify(strip(b))) bad.push({ q, got: a.length, want: b.length });
      }
      db.close();
      return { bad, total: (await mem.headPosition()), queries: queries.length };
    });
    assert.ok(mismatches.total > 15000, `a log of ${mismatches.total} events`);
    assert.deepEqual(mismatches.bad, [], `of ${mismatches.queries} queries`);
  } finally {
    await context.close();
    p.remove();
  }
});

test("a damaged record is CORRUPT_DATA naming it, never a wrong answer", async () => {
  const p = profile();
  const context = await launch(p.dir);
  try {
    const page = await openPage(context, server.url);
    const result = await page.evaluate(async () => {
      const store = await window.eventfold.EventStore.open({ name: "damaged" });
      await store.append("a", [{ type: "A", data: 1 }, { type: "B", data: 2 }]);
      await store.append("b", [{ type: "C", data: 3 }]);
      store.close();
      await new Promise((resolve, reject) => {
        const open = indexedDB.open("damaged");
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const tx = open.result.transaction("chunks", "readwrite");
          const chunks = tx.objectStore("chunks");
          const get = chunks.get(2);
          get.onsuccess = () => chunks.put({ ...get.result, e: get.result.e.slice(0, 20) });
          tx.oncomplete = () => { open.result.close(); resolve(); };
          tx.onerror = () => reject(tx.error);
        };
      });
      const again = await window.eventfold.EventStore.open({ name: "damaged" });
      const outcome = await again.readAll().then((e) => ({ ok: e.length }), (e) => ({ code: e.code, record: e.record, name: e.name }));
      again.close();
      return outcome;
    });
    assert.deepEqual(result, { code: "CORRUPT_DATA", record: "chunks/2", name: "EventfoldError" });
  } finally {
    await context.close();
    p.remove();
  }
});
