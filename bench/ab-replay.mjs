#!/usr/bin/env node
// Two builds of the package in one Chromium page, interleaved: bench (f)'s projection replay
// (100,000 events of the "bulk" dataset folded by a JavaScript `evolve`, from position 0) with
// build A and with build B, for a same-run comparison of two commits (issue 12 asks that (f) not
// get slower). Each build is a pkg/ directory made by `node scripts/build-pkg.mjs` (copy it aside
// between builds):
//
//   node bench/ab-replay.mjs /tmp/pkg-before /tmp/pkg-after
//
// Each build writes the same events into its own database (two builds may have different
// IndexedDB schema versions), untimed. Then 8 rounds, the order alternating; per round and build
// one replay by a new projection (a new name, so it starts from position 0). Prints the median ms
// of each build, B/A and in how many rounds B was slower. Hold `flock /tmp/browser.lock` on
// shared machines.
import { cpSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { freshProfile, inBrowser } from "./browser.mjs";
import { startServer } from "./server.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const [a, b] = process.argv.slice(2);
if (!a || !b) throw new Error("usage: node bench/ab-replay.mjs <pkg dir A> <pkg dir B>");
const ROUNDS = 8;
const dirs = { A: join(root, "pkg", ".ab-A"), B: join(root, "pkg", ".ab-B") };
cpSync(a, dirs.A, { recursive: true });
cpSync(b, dirs.B, { recursive: true });
const server = await startServer(root);
const profile = freshProfile();
try {
  const t = await inBrowser(profile.dir, `${server.url}/bench/pages/load.html`, (page) => page.evaluate(async (rounds) => {
    const { DATASETS } = await import("/bench/data.js");
    const [batches] = DATASETS.bulk().groups;
    const builds = {};
    for (const v of ["A", "B"]) {
      const { EventStore } = await import(`/pkg/.ab-${v}/index.js`);
      const store = await EventStore.open({ name: `ab-${v}`, compaction: "manual" });
      for (const { stream, events } of batches) await store.append(stream, events, { expectedVersion: "any" });
      builds[v] = { store, ms: [] };
    }
    const evolve = (s, e) => ({ count: s.count + 1, total: s.total + e.data.qty * e.data.price });
    for (let round = 0; round < rounds; round++) {
      for (const v of round % 2 ? ["B", "A"] : ["A", "B"]) {
        const x = builds[v];
        const s = performance.now();
        const view = x.store.projection({ name: `replay-${round}`, version: 1, init: () => ({ count: 0, total: 0 }), evolve });
        await view.ready();
        x.ms.push(performance.now() - s);
        const { count } = view.state;
        view.close();
        if (count !== 100_000) throw new Error(`build ${v} folded ${count} events`);
      }
    }
    return { A: builds.A.ms, B: builds.B.ms };
  }, ROUNDS), { timeoutMs: 600_000, label: "ab-replay" });
  const median = (xs) => { const s = [...xs].sort((x, y) => x - y); return (s[(s.length - 1) >> 1] + s[s.length >> 1]) / 2; };
  const [ma, mb] = [median(t.A), median(t.B)];
  const slower = t.A.filter((x, i) => t.B[i] > x).length;
  console.log(`replay of 100,000 events: A ${ma.toFixed(1)} ms, B ${mb.toFixed(1)} ms, B/A ${(mb / ma).toFixed(3)}; B slower in ${slower}/${ROUNDS} rounds`);
  console.log(`  A per round: ${t.A.map((x) => x.toFixed(0)).join(" ")}`);
  console.log(`  B per round: ${t.B.map((x) => x.toFixed(0)).join(" ")}`);
} finally {
  profile.remove();
  await server.close();
  rmSync(dirs.A, { recursive: true, force: true });
  rmSync(dirs.B, { recursive: true, force: true });
}
