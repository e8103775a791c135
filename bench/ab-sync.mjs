#!/usr/bin/env node
// Two builds of the package in one Chromium page, interleaved: bench (s) and (s5)'s sync
// catch-up (`store.sync({ url, pullLimit }).now()` into a fresh `EventStore.open` store, 100,000
// events, pages of 1,000 and of 5,000) with build A and with build B, for a same-run comparison of
// two commits (issue 12 asks that (s) and (s5) not get slower). Each build is a pkg/ directory
// made by `node scripts/build-pkg.mjs` (copy it aside between builds):
//
//   node bench/ab-sync.mjs /tmp/pkg-before /tmp/pkg-after
//
// The server is bench (s)'s: a seeded eventfold-server whose pull answers the page server
// replays byte for byte (bench/sync.mjs), so the timed part measures the browser. One untimed
// catch-up per build and page size records every request a build makes; then 6 rounds, the order
// alternating; per round, build and page size one catch-up into a new database. Prints the median
// ms per build and page size, B/A and in how many rounds B was slower. Hold
// `flock /tmp/browser.lock` on shared machines.
import { cpSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { freshProfile, inBrowser } from "./browser.mjs";
import { startServer } from "./server.mjs";
import { SYNC_EVENTS, pullReplay, seededSyncServer } from "./sync.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const [a, b] = process.argv.slice(2);
if (!a || !b) throw new Error("usage: node bench/ab-sync.mjs <pkg dir A> <pkg dir B>");
const ROUNDS = 6;
const LIMITS = [1000, 5000];
const dirs = { A: join(root, "pkg", ".ab-A"), B: join(root, "pkg", ".ab-B") };
cpSync(a, dirs.A, { recursive: true });
cpSync(b, dirs.B, { recursive: true });
const { server: syncServer, head } = await seededSyncServer(root);
const server = await startServer(root);
const profile = freshProfile();
try {
  if (head !== SYNC_EVENTS) throw new Error(`the sync server holds ${head} events`);
  const replay = pullReplay(syncServer.url);
  for (const limit of LIMITS) await replay.warm(limit);
  server.setApi(replay);
  const t = await inBrowser(profile.dir, `${server.url}/bench/pages/load.html`, (page) => page.evaluate(async ({ rounds, limits, events }) => {
    const builds = {};
    for (const v of ["A", "B"]) {
      builds[v] = { EventStore: (await import(`/pkg/.ab-${v}/index.js`)).EventStore, ms: Object.fromEntries(limits.map((l) => [l, []])) };
    }
    let n = 0;
    const catchUp = async (v, limit) => {
      const store = await builds[v].EventStore.open({ name: `ab-sync-${v}-${n++}`, durability: "relaxed" });
      const sync = store.sync({ url: location.origin, pullLimit: limit });
      const s = performance.now();
      await sync.now();
      const ms = performance.now() - s;
      const got = await store.headPosition();
      sync.stop();
      store.close();
      if (got !== events) throw new Error(`build ${v} caught up to ${got} of ${events} events`);
      return ms;
    };
    for (const v of ["A", "B"]) for (const limit of limits) await catchUp(v, limit);
    for (let round = 0; round < rounds; round++) {
      for (const v of round % 2 ? ["B", "A"] : ["A", "B"]) {
        for (const limit of limits) builds[v].ms[limit].push(await catchUp(v, limit));
      }
    }
    return { A: builds.A.ms, B: builds.B.ms };
  }, { rounds: ROUNDS, limits: LIMITS, events: SYNC_EVENTS }), { timeoutMs: 900_000, label: "ab-sync" });
  const median = (xs) => { const s = [...xs].sort((x, y) => x - y); return (s[(s.length - 1) >> 1] + s[s.length >> 1]) / 2; };
  for (const limit of LIMITS) {
    const [xa, xb] = [t.A[limit], t.B[limit]];
    const [ma, mb] = [median(xa), median(xb)];
    const slower = xa.filter((x, i) => xb[i] > x).length;
    console.log(`catch-up of ${SYNC_EVENTS} events, pages of ${limit}: A ${ma.toFixed(1)} ms, B ${mb.toFixed(1)} ms, B/A ${(mb / ma).toFixed(3)}; B slower in ${slower}/${ROUNDS} rounds`);
    console.log(`  A per round: ${xa.map((x) => x.toFixed(0)).join(" ")}`);
    console.log(`  B per round: ${xb.map((x) => x.toFixed(0)).join(" ")}`);
  }
} finally {
  profile.remove();
  await server.close();
  await syncServer.close();
  rmSync(dirs.A, { recursive: true, force: true });
  rmSync(dirs.B, { recursive: true, force: true });
}
