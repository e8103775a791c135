#!/usr/bin/env node
// `npm run bench`: runs every scenario of bench/scenarios.mjs in headless Chromium and writes
// docs/BENCHMARKS.md and bench/results/latest.json. Expects pkg/ to be built (npm run build).
//
// Environment: BENCH_REPS (repetitions, default 3), BENCH_ONLY (comma-separated scenario
// ids of bench/scenarios.mjs: "ad", "b", "c", "s", "s5", "p"; to run a subset while working
// on it: the report then keeps the other sections of docs/BENCHMARKS.md as they were). The
// package sizes ((e), per entry) are measured by every run and always rewritten; the load time
// per entry ((e), in Chromium against Dexie) runs in a full run and with `BENCH_ONLY=e`, which
// measures only (e). `npm run bench` then runs the edge benchmarks (bench/edge.mjs, section
// (x)); a partial run does so only when BENCH_ONLY names "x".
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { freshProfile, inBrowser, runContender } from "./browser.mjs";
import { machineInfo } from "./machine.mjs";
import { summarize, writeReport } from "./report.mjs";
import { SCENARIOS } from "./scenarios.mjs";
import { startServer } from "./server.mjs";
import { loadTimes } from "./load.mjs";
import { packageSizes } from "./sizes.mjs";
import { pullReplay, seededSyncServer, wireFloors } from "./sync.mjs";
import { serverThroughput } from "./throughput.mjs";
import { memoryBench } from "./memory.mjs";
import { bundlePeers } from "./peers.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const REPS = Number(process.env.BENCH_REPS ?? 3);
const ONLY = process.env.BENCH_ONLY?.split(",").map((s) => s.trim());

const version = (p) => JSON.parse(readFileSync(join(root, "node_modules", p, "package.json"), "utf8")).version;
async function main() {
  if (!Number.isInteger(REPS) || REPS < 1) throw new Error(`BENCH_REPS must be a positive integer, got ${process.env.BENCH_REPS}`);
  const unknown = ONLY?.filter((id) => id !== "e" && id !== "m" && id !== "x" && !SCENARIOS.some((s) => s.id === id)) ?? [];
  if (unknown.length) throw new Error(`BENCH_ONLY names unknown scenarios: ${unknown.join(", ")}`);
  const started = Date.now();
  const loadStart = loadavg()[0];
  const sizes = packageSizes(join(root, "pkg"));
  await bundlePeers();
  const server = await startServer(root);
  let syncServer = null;
  const url = `${server.url}/bench/pages/index.html`;
  try {
    const probeProfile = freshProfile();
    const probe = await inBrowser(probeProfile.dir, url, (page) => page.evaluate(() => window.bench.probe()),
      { timeoutMs: 60_000, label: "probe" }).finally(probeProfile.remove);
    if (probe.eventfoldUnavailable) console.log(`eventfold not available: ${probe.eventfoldUnavailable}`);

    const runs = {};
    const backends = new Set();
    const selected = SCENARIOS.filter((s) => !ONLY || ONLY.includes(s.id));
    let sync = null;
    if (selected.some((s) => s.server === "sync")) {
      const t0 = Date.now();
      const seeded = await seededSyncServer(root);
      syncServer = seeded.server;
      const head = seeded.head;
      const replay = pullReplay(syncServer.url);
      const limits = [...new Set(selected.filter((s) => s.server === "sync").flatMap((s) => s.measures.map((m) => m.args.pullLimit)))];
      const recorded = {};
      let floors = null;
      for (const limit of limits) {
        const { texts, ...counts } = await replay.warm(limit);
        recorded[limit] = counts;
        if (limit === Math.max(...limits)) {
          floors = wireFloors(texts);
          floors.rowsServer = +(counts.bytes / floors.events).toFixed(1);
          floors.columnsServer = +(counts.columnBytes / floors.events).toFixed(1);
        }
      }
      server.setApi(replay);
      sync = { head, cached: seeded.cached, setupS: Math.round((Date.now() - t0) / 1000), recorded, floors, replay: replay.stats };
      console.log(`sync server ${seeded.cached ? "copied from its seeded database" : "seeded"} with ${head} events and its pull answers recorded in ${sync.setupS} s: ${JSON.stringify(recorded)}`);
    }
    let throughput = null;
    for (const scenario of selected) {
      if (scenario.kind === "server") {
        throughput = serverThroughput(root);
        console.log(`(p) ${JSON.stringify(throughput)}`);
        continue;
      }
      const contenders = scenario.contenders.filter((c) => c !== "eventfold" || !probe.eventfoldUnavailable);
      for (let rep = 1; rep <= REPS; rep++) {
        for (const contender of rep % 2 === 0 ? [...contenders].reverse() : contenders) {
          const { out, backend } = await runContender(url, scenario, contender);
          backends.add(backend);
          for (const [id, r] of Object.entries(out)) {
            const rate = r.events / (r.ms / 1000);
            const load1 = loadavg()[0];
            ((runs[id] ??= {})[contender] ??= [])[rep - 1] = { ...r, rep, rate, load1 };
            const extra = Object.entries(r).filter(([k]) => !["ms", "events"].includes(k))
              .map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v?.toFixed?.(1) ?? v}`).join(", ");
            console.log(`(${id}) rep ${rep}/${REPS} ${contender.padEnd(9)} ${Math.round(rate).toLocaleString("en-US").padStart(9)} events/s (${r.ms.toFixed(1)} ms)${extra ? `; ${extra}` : ""}`);
          }
        }
      }
    }

    const memory = !ONLY || ONLY.includes("m") ? memoryBench(REPS) : null;
    const loadRuns = !ONLY || ONLY.includes("e") ? await loadTimes(server.url, sizes, REPS) : null;
    const summary = summarize({
      date: new Date().toISOString(),
      machine: machineInfo(),
      versions: { playwright: version("playwright-core"), dexie: version("dexie") },
      commit: execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root }).toString().trim(),
      reps: REPS,
      load: { start: loadStart, end: loadavg()[0] },
      durationS: Math.round((Date.now() - started) / 1000),
      crossOriginIsolated: probe.crossOriginIsolated,
      userAgent: probe.userAgent,
      eventfoldUnavailable: probe.eventfoldUnavailable,
      idbBackends: [...backends],
      sizes,
      runs,
      only: ONLY ?? null,
      sync,
      throughput,
      memory,
      loadRuns,
    });
    writeReport(root, summary);
    console.log(`\nWrote docs/BENCHMARKS.md and bench/results/latest.json; the runs took ${summary.durationS} s.`);
    for (const m of summary.measures) {
      for (const c of m.checks.filter((c) => c.target)) {
        console.log(`(${m.id}) ${c.label}: ${c.value?.toFixed?.(2) ?? ""} ${c.status ?? (c.met ? "met" : "NOT met")}`);
      }
    }
    for (const c of summary.memoryChecks) console.log(`(m) ${c.label}: ${c.value?.toFixed?.(2) ?? ""} ${c.status ?? (c.target ? (c.met ? "met" : "NOT met") : "")}`);
    for (const c of summary.sizeChecks) console.log(`(e) ${c.label}: ${c.value} bytes, ${c.met ? "met" : "NOT met"}`);
    for (const l of summary.loadSummary ?? []) {
      console.log(`(e) load ${l.contender}: ${l.median.toFixed(1)} ms${l.ratio === undefined ? "" : `, ${l.ratio.toFixed(2)}× Dexie's`}`);
    }
  } finally {
    await server.close();
    await syncServer?.close();
  }
}

main().catch((e) => {
  console.error(`\nbench failed: ${e.stack ?? e.message}`);
  process.exit(1);
});
