// Compaction of the IndexedDB store in real Chromium on an on-disk profile: the browser is
// killed (SIGKILL, no shutdown) while `store.compact()` runs, reopened on the same profile, and
// the log must read back identical (every event, position, version, id), accept appends, and
// compact to the end. Needs pkg/ (npm run build). Run: npm run test:crash (about a minute: not part of npm test)
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { launch, openPage, profile, serve } from "../browser/harness.mjs";

let server;
before(async () => {
  server = await serve();
});
after(() => server.close());

/** Pids of the Chromium processes running on profile `dir` (only ours: the dir is fresh). */
function chromiumOn(dir) {
  const pids = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, "utf8");
      if (cmd.includes(`--user-data-dir=${dir}`)) pids.push(Number(entry));
    } catch {
      // the process ended meanwhile
    }
  }
  return pids;
}

const EVENTS = 12_000;
const STREAMS = 50;

/** Every event as a comparable tuple, plus a few stream reads and versions. */
const READ_BACK = async () => {
  const db = await window.eventfold.EventStore.open({ name: "log", compaction: "manual" });
  const all = (await db.readAll()).map((e) => [e.position, e.stream, e.version, e.id, e.type, e.data.i, e.timestamp]);
  const streams = [];
  for (const s of ["order-0", "order-7", "order-49"]) {
    streams.push((await db.readStream(s)).map((e) => [e.version, e.position, e.id]));
    streams.push(await db.streamVersion(s));
  }
  db.close();
  return { all, streams };
};

test("a browser killed during compaction reopens with the log unchanged, then compacts to the end", async () => {
  const p = profile();
  try {
    let context = await launch(p.dir);
    let page = await openPage(context, server.url);
    // A log of single-event appends (issued 200 at a time: group commit, one record each).
    await page.evaluate(async ({ events, streams }) => {
      const db = await window.eventfold.EventStore.open({ name: "log", compaction: "manual", durability: "strict" });
      for (let i = 0; i < events; i += 200) {
        const group = [];
        for (let k = i; k < i + 200; k++) {
          group.push(db.append(`order-${k % streams}`, [{ type: "Happened", data: { i: k } }]));
        }
        await Promise.all(group);
      }
      db.close();
    }, { events: EVENTS, streams: STREAMS });
    const before = await page.evaluate(READ_BACK);
    assert.equal(before.all.length, EVENTS);

    let kills = 0;
    for (let round = 0; round < 3; round++) {
      // Start compacting; kill the whole browser once a step committed, a little later each round.
      await page.evaluate(() => {
        window.steps = 0;
        window.eventfold.EventStore.open({ name: "log", compaction: "manual" }).then((db) =>
          db.compact({ onProgress: () => { window.steps++; } }));
      });
      const started = await page.waitForFunction(() => window.steps >= 1, null, { timeout: 60_000 }).then(() => true, () => false);
      assert.ok(started, "a compaction step committed");
      await new Promise((r) => setTimeout(r, round * 15));
      for (const pid of chromiumOn(p.dir)) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
      kills++;
      await context.close().catch(() => {});
      context = await launch(p.dir);
      page = await openPage(context, server.url);
      assert.deepEqual(await page.evaluate(READ_BACK), before, `the log after kill ${kills}`);
    }

    // Appends chain after the log, and compaction finishes; every answer is still the same.
    const done = await page.evaluate(async () => {
      const db = await window.eventfold.EventStore.open({ name: "log", compaction: "manual" });
      const appended = await db.append("order-0", [{ type: "Happened", data: { i: -1 } }]);
      const total = await db.compact();
      const again = await db.compact();
      db.close();
      return { appended, total, again };
    });
    assert.equal(done.appended.position, EVENTS + 1);
    assert.ok(done.total.compactedTo > 0, JSON.stringify(done.total));
    assert.equal(done.again.recordsRead, 0, "nothing left to compact");
    const final = await page.evaluate(READ_BACK);
    assert.deepEqual(final.all.slice(0, EVENTS), before.all);
    assert.equal(final.all.length, EVENTS + 1);
    await context.close();
  } finally {
    p.remove();
  }
});
