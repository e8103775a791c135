#!/usr/bin/env node
// Profiles one benchmark operation of one contender in Chromium through the DevTools protocol
// (Profiler.start/stop) and prints the functions with the most self time; the profile is
// written to bench/results/<contender>-<op>[-<PKG's folder name>].cpuprofile (open it in DevTools).
//
//   node bench/profile.mjs <contender> <op> [pullLimit] [root]
//   e.g. node bench/profile.mjs eventfold catchUp 1000; node bench/profile.mjs eventfold write
//
// `root` (default: this repository) is where pkg/ and bench/ are served from. Wasm function
// names need a build whose wasm-opt step keeps them (`-g`) and, for readable glue, no
// minification. DATASET=single (or concurrent, app) profiles another dataset than "bulk".
// catchUp needs a seeded sync server in bench/results/ (one `npm run bench`
// with BENCH_ONLY=s creates it). PROF=0 times the operation without profiling; TOP=n.
// SETUP=write first runs the dataset's write in its own (unprofiled) browser process on the
// same profile, for the ops that read what (a) wrote: `SETUP=write node bench/profile.mjs
// eventfold replay`. PKG=<dir> serves that package directory as /pkg/ instead of root's pkg/
// (a build of another revision, see bench/ab-views.mjs). THROTTLE=n slows the page's CPU n
// times (DevTools CPU throttling) for the profiled op only.
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { readdirSync, writeFileSync } from "node:fs";
const here = join(dirname(fileURLToPath(import.meta.url)), "..");
const [contender, op = "catchUp", limitArg = "1000", root = here] = process.argv.slice(2);
const seedDir = join(here, "bench/results", readdirSync(join(here, "bench/results")).find((n) => n.startsWith("sync-seed-")) ?? "none");
const { freshProfile, inBrowser } = await import(join(root, "bench/browser.mjs"));
const { startServer } = await import(join(root, "bench/server.mjs"));
const { startSyncServer, pullReplay } = await import(join(root, "bench/sync.mjs"));
const server = await startServer(root, process.env.PKG ? { pkg: process.env.PKG } : {});
let sync = null;
const pullLimit = Number(limitArg);
if (op === "catchUp") {
  sync = await startSyncServer(here, seedDir);
  const replay = pullReplay(sync.url);
  await replay.warm(pullLimit);
  server.setApi(replay);
}
const url = `${server.url}/bench/pages/index.html`;
const profile = freshProfile();
const PROFILE = process.env.PROF !== "0";
const dataset = process.env.DATASET ?? (op === "catchUp" ? "sync" : "bulk");
try {
  if (process.env.SETUP) {
    const setup = await inBrowser(profile.dir, url, (page) => page.evaluate((a) => window.bench.run(a),
      { contender, op: process.env.SETUP, db: "bench", dataset, args: { pullLimit } }), { timeoutMs: 300_000, label: "setup" });
    console.log(`setup ${process.env.SETUP}: ${JSON.stringify(setup)}`);
  }
  const r = await inBrowser(profile.dir, url, async (page) => {
    const cdp = await page.context().newCDPSession(page);
    if (process.env.THROTTLE) await cdp.send("Emulation.setCPUThrottlingRate", { rate: Number(process.env.THROTTLE) });
    if (PROFILE) {
      await cdp.send("Profiler.enable");
      await cdp.send("Profiler.setSamplingInterval", { interval: 200 });
      await cdp.send("Profiler.start");
    }
    const out = await page.evaluate((a) => window.bench.run(a), { contender, op, db: "bench", dataset, args: { pullLimit } });
    if (PROFILE) {
      const { profile: p } = await cdp.send("Profiler.stop");
      writeFileSync(join(here, "bench/results", `${contender}-${op}${process.env.PKG ? `-${basename(process.env.PKG)}` : ""}.cpuprofile`), JSON.stringify(p));
      const byId = new Map(p.nodes.map((n) => [n.id, n]));
      const self = new Map();
      const dt = p.timeDeltas;
      for (let i = 0; i < p.samples.length; i++) {
        const n = byId.get(p.samples[i]);
        const key = `${n.callFrame.functionName || "(anon)"} ${n.callFrame.url.split("/").pop()}:${n.callFrame.lineNumber}:${n.callFrame.columnNumber}`;
        self.set(key, (self.get(key) ?? 0) + (dt[i] ?? 0));
      }
      const total = [...self.values()].reduce((a, b) => a + b, 0);
      const top = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.TOP ?? 40));
      console.log(`total sampled ${(total / 1000).toFixed(0)} ms`);
      for (const [k, v] of top) console.log(`${(v / 1000).toFixed(1).padStart(8)} ms ${(100 * v / total).toFixed(1).padStart(5)}%  ${k}`);
    }
    return out;
  }, { timeoutMs: 300_000, label: "prof" });
  console.log(JSON.stringify(r));
} finally {
  profile.remove();
  await server.close();
  await sync?.close();
}
