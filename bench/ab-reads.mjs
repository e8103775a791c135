#!/usr/bin/env node
// Two builds of the package in one Chromium page, interleaved: how a change to the IndexedDB store
// moves a read-model `get`, a read-model `query` and opening an existing database (the numbers of
// bench (e)'s dependency note for `indexed_db_futures`). Each build is a pkg/ directory made by
// `node scripts/build-pkg.mjs` (copy it aside between builds):
//
//   node bench/ab-reads.mjs /tmp/pkg-before /tmp/pkg-after
//
// 16 rounds, the order alternating; per round and build 100 gets, 40 queries (21 records each)
// and 10 opens. Prints per measure the median ms per call of each build, their ratio and in how
// many rounds B was slower. Hold `flock /tmp/browser.lock` on shared machines.
import { cpSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { freshProfile, inBrowser } from "./browser.mjs";
import { startServer } from "./server.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const [a, b] = process.argv.slice(2);
if (!a || !b) throw new Error("usage: node bench/ab-reads.mjs <pkg dir A> <pkg dir B>");
const ROUNDS = 16;
const dirs = { A: join(root, "pkg", ".ab-A"), B: join(root, "pkg", ".ab-B") };
cpSync(a, dirs.A, { recursive: true });
cpSync(b, dirs.B, { recursive: true });
const server = await startServer(root);
const profile = freshProfile();
try {
  const t = await inBrowser(profile.dir, `${server.url}/bench/pages/load.html`, (page) => page.evaluate(async (rounds) => {
    const def = { name: "rm", version: 1, indexes: ["v"], handlers: { Put: (e, rm) => rm.put(e.data.k, e.data) } };
    const builds = {};
    for (const v of ["A", "B"]) {
      const { EventStore } = await import(`/pkg/.ab-${v}/index.js`);
      const store = await EventStore.open({ name: `ab-${v}`, compaction: "manual" });
      const events = Array.from({ length: 100 }, (_, i) => ({ type: "Put", data: { k: `k${i}`, v: i } }));
      await store.append("s", events, { expectedVersion: "no_stream" });
      const rm = store.readModel(def);
      await rm.ready();
      builds[v] = { EventStore, rm, get: [], query: [], open: [] };
    }
    const time = async (n, f) => { const s = performance.now(); for (let i = 0; i < n; i++) await f(i); return (performance.now() - s) / n; };
    for (let round = 0; round < rounds; round++) {
      for (const v of round % 2 ? ["B", "A"] : ["A", "B"]) {
        const x = builds[v];
        x.get.push(await time(100, (i) => x.rm.get(`k${i}`)));
        x.query.push(await time(40, async () => {
          const rows = await x.rm.query({ index: "v", range: { gte: 10, lte: 30 } });
          if (rows.length !== 21) throw new Error(`the query returned ${rows.length} records`);
        }));
        x.open.push(await time(10, async () => (await x.EventStore.open({ name: `ab-${v}`, compaction: "manual" })).close()));
      }
    }
    return { A: builds.A, B: builds.B };
  }, ROUNDS), { timeoutMs: 300_000, label: "ab-reads" });
  const median = (xs) => { const s = [...xs].sort((x, y) => x - y); return (s[(s.length - 1) >> 1] + s[s.length >> 1]) / 2; };
  for (const k of ["get", "query", "open"]) {
    const [ma, mb] = [median(t.A[k]), median(t.B[k])];
    const slower = t.A[k].filter((x, i) => t.B[k][i] > x).length;
    console.log(`${k}: A ${ma.toFixed(3)} ms, B ${mb.toFixed(3)} ms, B/A ${(mb / ma).toFixed(3)}; B slower in ${slower}/${ROUNDS} rounds`);
  }
} finally {
  profile.remove();
  server.close();
  rmSync(dirs.A, { recursive: true, force: true });
  rmSync(dirs.B, { recursive: true, force: true });
}
