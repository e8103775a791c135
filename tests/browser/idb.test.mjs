// The IndexedDB store in real Chromium pages (playwright-core, Debian Chromium, an on-disk
// profile per test): two tabs of one origin, and a browser restart. Needs pkg/ (npm run build).
// Run: node --test tests/browser/
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { launch, openPage, profile, serve } from "./harness.mjs";

let server;
let origin;
before(async () => {
  server = await serve();
  origin = server.url;
});
after(() => server.close());

/** A new tab of `context` with the package loaded as `window.eventfold`. */
async function tab(context) {
  const page = await openPage(context, origin);
  page.on("pageerror", (e) => console.error(`[page error] ${e.message}`));
  return page;
}

const uuid = (n) => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;

test("two tabs racing on one stream take every version exactly once", async () => {
  const p = profile();
  const context = await launch(p.dir);
  try {
    const [a, b] = [await tab(context), await tab(context)];
    const race = (page, who) => page.evaluate(async ({ who, rounds }) => {
      const db = await window.eventfold.EventStore.open({ name: "race" });
      const outcome = [];
      let expected = 0;
      for (let i = 0; outcome.length < rounds; i++) {
        try {
          const r = await db.append("counter-1", [{ type: "Incremented", data: { who, i } }], { expectedVersion: expected });
          outcome.push(["won", r.version]);
          expected = r.version;
        } catch (e) {
          if (e.code !== "WRONG_EXPECTED_VERSION") throw e;
          outcome.push(["lost", e.actual]);
          expected = e.actual;
        }
      }
      db.close();
      return outcome;
    }, { who, rounds: 60 });
    const [ra, rb] = await Promise.all([race(a, "a"), race(b, "b")]);
    const won = [...ra, ...rb].filter(([k]) => k === "won").map(([, v]) => v).sort((x, y) => x - y);
    assert.deepEqual(won, Array.from({ length: won.length }, (_, i) => i + 1), "each version taken once");
    const events = await a.evaluate(async () => {
      const db = await window.eventfold.EventStore.open({ name: "race" });
      const all = await db.readStream("counter-1");
      db.close();
      return all.map((e) => [e.version, e.position, e.data.who]);
    });
    assert.equal(events.length, won.length, "nothing lost or duplicated");
    events.forEach(([version, position], i) => assert.deepEqual([version, position], [i + 1, i + 1]));
  } finally {
    await context.close();
    p.remove();
  }
});

test("a subscriber in one tab receives another tab's appends in position order", async () => {
  const p = profile();
  const context = await launch(p.dir);
  try {
    const [reader, writer] = [await tab(context), await tab(context)];
    await reader.evaluate(async () => {
      const db = await window.eventfold.EventStore.open({ name: "live" });
      window.seen = [];
      db.subscribe({ after: 0, streamPrefix: "order-" }, (events) => {
        for (const e of events) window.seen.push([e.position, e.stream, e.data.n]);
      });
    });
    await writer.evaluate(async () => {
      const db = await window.eventfold.EventStore.open({ name: "live" });
      for (let n = 0; n < 20; n++) {
        await db.append(n % 2 ? "order-1" : "cart-1", [{ type: "E", data: { n } }], { expectedVersion: "any" });
      }
      db.close();
    });
    await reader.waitForFunction(() => window.seen.length >= 10, null, { timeout: 10_000 });
    const seen = await reader.evaluate(() => window.seen);
    assert.deepEqual(seen.map(([, , n]) => n), [1, 3, 5, 7, 9, 11, 13, 15, 17, 19]);
    assert.deepEqual(seen.map(([pos]) => pos), [2, 4, 6, 8, 10, 12, 14, 16, 18, 20]);
  } finally {
    await context.close();
    p.remove();
  }
});

test("data survives a page reload and a browser restart on the same profile", async () => {
  const p = profile();
  try {
    let context = await launch(p.dir);
    let page = await tab(context);
    const written = await page.evaluate(async (ids) => {
      const db = await window.eventfold.EventStore.open({ name: "durable", durability: "strict" });
      await db.append("order-1", ids.map((id, n) => ({ id, type: "ItemAdded", data: { n, s: "ü✓" } })), { expectedVersion: "no_stream" });
      const all = await db.readAll();
      db.close();
      return all;
    }, [uuid(1), uuid(2), uuid(3)]);
    await page.reload();
    await page.waitForFunction(() => window.ready === true);
    const afterReload = await page.evaluate(async () => {
      const db = await window.eventfold.EventStore.open({ name: "durable" });
      const all = await db.readAll();
      db.close();
      return all;
    });
    assert.deepEqual(afterReload, written);
    await context.close();

    context = await launch(p.dir);
    page = await tab(context);
    const afterRestart = await page.evaluate(async (ids) => {
      const db = await window.eventfold.EventStore.open({ name: "durable" });
      const all = await db.readAll();
      // The ids are known after the restart: the retry is idempotent, a changed event conflicts.
      const retry = await db.append("order-1", ids.map((id, n) => ({ id, type: "ItemAdded", data: { n, s: "ü✓" } })), { expectedVersion: "no_stream" });
      let code;
      try {
        await db.append("order-2", [{ id: ids[0], type: "ItemAdded", data: {} }]);
      } catch (e) {
        code = e.code;
      }
      const storage = await db.storage();
      db.close();
      let closed;
      try { await db.readAll(); } catch (e) { closed = e.code; }
      return { all, retry, code, storage, closed, head: all.length };
    }, [uuid(1), uuid(2), uuid(3)]);
    await context.close();
    assert.deepEqual(afterRestart.all, written);
    assert.deepEqual(afterRestart.retry, { version: 3, position: 3 });
    assert.equal(afterRestart.code, "EVENT_ID_CONFLICT");
    assert.ok(afterRestart.storage.quota > 0 && afterRestart.storage.usage > 0, JSON.stringify(afterRestart.storage));
    assert.equal(afterRestart.closed, "STORE_CLOSED");
  } finally {
    p.remove();
  }
});

test("a tab upgrading the schema closes the other tab's store cleanly", async () => {
  const p = profile();
  const context = await launch(p.dir);
  try {
    const [old, upgrader] = [await tab(context), await tab(context)];
    await old.evaluate(async () => {
      window.db = await window.eventfold.EventStore.open({ name: "upgrade" });
      await window.db.append("a", [{ type: "E", data: {} }], { expectedVersion: "no_stream" });
    });
    // A newer app version in the other tab opens the database at a higher version.
    const version = await upgrader.evaluate(() => new Promise((resolve, reject) => {
      const req = indexedDB.open("upgrade", 1000);
      req.onsuccess = () => { const v = req.result.version; req.result.close(); resolve(v); };
      req.onerror = () => reject(req.error);
      req.onblocked = () => reject(new Error("blocked: the old tab did not close its connection"));
    }));
    assert.equal(version, 1000);
    const after = await old.evaluate(async () => {
      try {
        await window.db.append("a", [{ type: "E", data: {} }]);
        return "appended";
      } catch (e) {
        return { code: e.code, message: e.message };
      }
    });
    assert.equal(after.code, "STORE_CLOSED");
    assert.match(after.message, /another tab upgraded/);
    const reopen = await old.evaluate(async () => {
      try {
        await window.eventfold.EventStore.open({ name: "upgrade" });
        return "opened";
      } catch (e) {
        return { code: e.code, found: e.found, supported: e.supported };
      }
    });
    assert.equal(reopen.code, "SCHEMA_TOO_NEW");
  } finally {
    await context.close();
    p.remove();
  }
});

test("a write over the quota is QUOTA_EXCEEDED and leaves nothing behind", async () => {
  const p = profile();
  const context = await launch(p.dir);
  try {
    const page = await tab(context);
    // Chromium applies a quota override to connections opened after it: the origin may use
    // 512 KiB, plenty for a small append, not for a 900 KiB one.
    const cdp = await context.newCDPSession(page);
    await cdp.send("Storage.overrideQuotaForOrigin", { origin, quotaSize: 512 * 1024 });
    await page.evaluate(async () => {
      const db = await window.eventfold.EventStore.open({ name: "quota" });
      await db.append("small-1", [{ type: "E", data: { n: 1 } }], { expectedVersion: "no_stream" });
      window.db = db;
    });
    const result = await page.evaluate(async () => {
      const db = window.db;
      // Random text: Chromium compresses large values, so a repeated character would fit.
      const bytes = crypto.getRandomValues(new Uint8Array(48 * 1024));
      const chunk = btoa(String.fromCharCode(...bytes));
      const big = Array.from({ length: 14 }, () => chunk).join("") + chunk.slice(0, 17);
      const outcome = await Promise.allSettled([
        db.append("big-1", [{ type: "Big", data: { big } }], { expectedVersion: "no_stream" }),
        db.append("small-1", [{ type: "E", data: { n: 2 } }], { expectedVersion: 1 }),
      ]);
      const all = await db.readAll();
      return {
        big: outcome[0].status === "rejected" ? outcome[0].reason.code : "written",
        small: outcome[1].status === "fulfilled" ? outcome[1].value : outcome[1].reason.code,
        streams: all.map((e) => `${e.stream}@${e.version}`),
        bigVersion: await db.streamVersion("big-1"),
      };
    });
    assert.equal(result.big, "QUOTA_EXCEEDED");
    assert.equal(result.bigVersion, 0, "nothing of the failed append was written");
    // The small append grouped with it still gets its own answer.
    assert.deepEqual(result.small, { version: 2, position: 2 });
    assert.deepEqual(result.streams, ["small-1@1", "small-1@2"]);
  } finally {
    await context.close();
    p.remove();
  }
});
