#!/usr/bin/env node
// Two builds of the package in one run, interleaved, on the benchmark's live-view and sync
// scenarios: (f) (a projection's catch-up over 100,000 events, with (a) as its untimed-here
// setup, measured anyway) and the sync catch-ups (s) and (s5). It answers "is build B slower
// than build A on these?" with numbers from the same run, same machine load, same seeded sync
// server and same baselines (issue 12: the live views and the sync scheduler moved from
// src/wasm into the engine; docs/BENCHMARKS.md, "Notes on issue 12").
//
//   flock /tmp/browser.lock node bench/ab-views.mjs /tmp/pkg-before /tmp/pkg-after
//   (or: flock /tmp/browser.lock npm run bench:ab -- /tmp/pkg-before /tmp/pkg-after)
//
// Each build is a pkg/ directory made by `node scripts/build-pkg.mjs` at a revision. A build of
// an older revision, in its own worktree and target dir (delete both afterwards), e.g. 68d52bd
// (main just before issue 12's first merge):
//
//   git worktree add --detach /work/wt/ab-old 68d52bd
//   ln -s "$PWD/node_modules" /work/wt/ab-old/node_modules
//   (cd /work/wt/ab-old && CARGO_TARGET_DIR=/work/targets/ab-old node scripts/build-pkg.mjs)
//   rm -rf /tmp/pkg-before && cp -a /work/wt/ab-old/pkg /tmp/pkg-before
//   git -C /work/wt/ab-old rev-parse --short HEAD > /tmp/pkg-before/REVISION
//   git worktree remove --force /work/wt/ab-old && rm -rf /work/targets/ab-old
//
// and this checkout's: `node scripts/build-pkg.mjs && rm -rf /tmp/pkg-after && cp -a pkg
// /tmp/pkg-after && git rev-parse --short HEAD > /tmp/pkg-after/REVISION`. (A REVISION file is
// optional; the script prints it with the wasm's hash to tell the builds apart.)
//
// How it runs: the page server of bench/server.mjs twice, one per build (each serves its
// build as /pkg/; the pages, bench/pages/, are this checkout's for both), and the sync server of
// bench/sync.mjs once (seeded, its pull answers recorded and replayed byte for byte to both
// page servers). The scenarios, contenders and pages are those of bench/scenarios.mjs and
// bench/pages (not copies); one contender run is bench/browser.mjs's `runContender`, as in
// `npm run bench`: a fresh profile, one browser process per measure. One round runs, per
// scenario, the baseline (raw IndexedDB loop for (a)/(f), raw fetch + IndexedDB for (s)/(s5)),
// eventfold on build A and eventfold on build B; the order is reversed on odd rounds (baseline,
// A, B / B, A, baseline). Round 0 is a warm-up and is not counted: it also records any pull a
// build asks for that the recording lacks, so no timed pull reaches the (debug) server; the
// script fails if one does.
//
// Environment: AB_ROUNDS (counted rounds, default 5), AB_ONLY (comma-separated: "f", "s", "s5";
// default all three), AB_MANUAL (comma-separated measures that also run each build with
// `EventStore.open({ compaction: "manual" })`, rows "Am" and "Bm"; default "f"; "" for none).
// The idle-time compaction of issue 15 starts one second after `EventStore.open` and, on (a)'s
// log, plans over the whole log while (f)'s projection reads it (docs/BENCHMARKS.md, "Notes on
// issue 12"); a build before it has no compaction and ignores the option. Prints every
// measurement, then per measure and build the events/s of each round, the median, the ratio of
// medians to the baseline, and B/A (ratio of medians, and per round, paired; Bm/Am likewise).
// Writes bench/results/ab-views.json (not committed). Never part of `npm test`.
//
// Shim: none is needed for 68d52bd, whose package runs the same bench pages (`EventStore.open`,
// `store.projection(...).ready()`, `store.sync({ url, pullLimit }).now()` and its report's
// `requests`). A build that cannot would need one in bench/pages, named here.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { freshProfile, inBrowser, runContender } from "./browser.mjs";
import { SCENARIOS } from "./scenarios.mjs";
import { startServer } from "./server.mjs";
import { pullReplay, seededSyncServer } from "./sync.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const ROUNDS = Number(process.env.AB_ROUNDS ?? 5);
const ONLY = (process.env.AB_ONLY ?? "f,s,s5").split(",").map((s) => s.trim());
const MANUAL = (process.env.AB_MANUAL ?? "f").split(",").map((s) => s.trim()).filter(Boolean);

const [dirA, dirB] = process.argv.slice(2).map((d) => d && resolve(d));
if (!dirA || !dirB) throw new Error("usage: node bench/ab-views.mjs <pkg dir A> <pkg dir B>");
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Error(`AB_ROUNDS must be a positive integer, got ${process.env.AB_ROUNDS}`);
const unknown = [...ONLY, ...MANUAL].filter((id) => !["f", "s", "s5"].includes(id));
if (unknown.length) throw new Error(`AB_ONLY or AB_MANUAL names unknown measures: ${unknown.join(", ")} (known: f, s, s5)`);

/** What tells a build apart: its REVISION file (if any), its version and its wasm's hash. */
function describe(dir) {
  const wasm = join(dir, "web", "eventfold_bg.wasm");
  if (!existsSync(join(dir, "index.js")) || !existsSync(wasm)) throw new Error(`${dir} is not a built pkg/ (no index.js or web/eventfold_bg.wasm)`);
  const bytes = readFileSync(wasm);
  const revision = existsSync(join(dir, "REVISION")) ? readFileSync(join(dir, "REVISION"), "utf8").trim() : "?";
  const { version } = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  const sha = createHash("sha256").update(bytes).digest("hex").slice(0, 12);
  return `${dir}: revision ${revision}, version ${version}, wasm ${bytes.length.toLocaleString("en-US")} B sha256 ${sha}`;
}

/**
 * The measures compared: `timed` is the measure reported; `measures` the scenario's measures
 * run for it, in order ((f) replays what (a) wrote in the same profile, as in `npm run bench`).
 */
const byId = (id) => SCENARIOS.find((s) => s.id === id);
const PLAN = [
  ...(ONLY.includes("f") ? [{ scenario: byId("ad"), measures: ["a", "f"] }] : []),
  ...ONLY.filter((id) => id !== "f").map((id) => ({ scenario: byId(id), measures: [id] })),
];

const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (n) => Math.round(n).toLocaleString("en-US");

async function main() {
  const builds = { A: dirA, B: dirB };
  for (const [k, d] of Object.entries(builds)) console.log(`${k} = ${describe(d)}`);
  const load = { start: loadavg() };
  console.log(`load average at the start: ${load.start.map((l) => l.toFixed(2)).join(" ")}`);
  const started = Date.now();
  const servers = {};
  let syncServer = null;
  try {
    for (const [k, d] of Object.entries(builds)) servers[k] = await startServer(root, { pkg: d });
    const url = (k) => `${servers[k].url}/bench/pages/index.html`;
    for (const k of Object.keys(builds)) {
      const profile = freshProfile();
      const probe = await inBrowser(profile.dir, url(k), (page) => page.evaluate(() => window.bench.probe()),
        { timeoutMs: 60_000, label: `probe ${k}` }).finally(profile.remove);
      if (probe.eventfoldUnavailable) throw new Error(`build ${k}: ${probe.eventfoldUnavailable}`);
      if (!probe.crossOriginIsolated) throw new Error(`build ${k}: the page is not cross-origin isolated`);
    }
    let replay = null;
    const syncPlans = PLAN.filter((p) => p.scenario.server === "sync");
    if (syncPlans.length) {
      const t0 = Date.now();
      const seeded = await seededSyncServer(root);
      syncServer = seeded.server;
      replay = pullReplay(syncServer.url);
      for (const p of syncPlans) for (const m of p.scenario.measures) await replay.warm(m.args.pullLimit);
      for (const s of Object.values(servers)) s.setApi(replay);
      console.log(`sync server ${seeded.cached ? "copied from its seeded database" : "seeded"} (${seeded.head} events), pull answers recorded in ${Math.round((Date.now() - t0) / 1000)} s`);
    }

    // runs[measureId][who][round] = { ms, events, rate, load1, ... }; who: "base", "A", "B".
    const runs = {};
    let passedBefore = 0;
    for (let round = 0; round <= ROUNDS; round++) {
      if (round === 1 && replay) passedBefore = replay.stats.passed;
      for (const { scenario, measures } of PLAN) {
        const baseline = scenario.measures.find((m) => m.id === measures.at(-1)).baseline;
        const order = [["base", baseline, "A"], ["A", "eventfold", "A"], ["B", "eventfold", "B"]];
        if (MANUAL.includes(measures.at(-1))) order.push(["Am", "ef-manual", "A"], ["Bm", "ef-manual", "B"]);
        // "ef-manual" runs every measure "eventfold" runs.
        const withManual = { ...scenario, measures: scenario.measures.map((m) => ({ ...m, contenders: [...(m.contenders ?? scenario.contenders), "ef-manual"] })) };
        for (const [who, contender, server] of round % 2 ? order.reverse() : order) {
          const { out } = await runContender(url(server), withManual, contender, measures);
          for (const [id, r] of Object.entries(out)) {
            const rate = r.events / (r.ms / 1000);
            const load1 = loadavg()[0];
            if (round > 0) ((runs[id] ??= {})[who] ??= [])[round - 1] = { ...r, rate, load1 };
            console.log(`(${id}) ${round ? `round ${round}/${ROUNDS}` : "warm-up  "} ${who.padEnd(4)} ${contender.padEnd(9)} ${fmt(rate).padStart(9)} events/s (${r.ms.toFixed(1)} ms), load ${load1.toFixed(2)}`);
          }
        }
      }
    }
    const passed = replay ? replay.stats.passed - passedBefore : 0;
    if (passed) throw new Error(`${passed} requests of the counted rounds reached the sync server (not replayed): the sync numbers are not comparable`);
    load.end = loadavg();

    console.log(`\nrounds: ${ROUNDS} counted (after 1 warm-up); ${Math.round((Date.now() - started) / 1000)} s; load average at the end: ${load.end.map((l) => l.toFixed(2)).join(" ")}`);
    const summary = {};
    for (const [id, who] of Object.entries(runs)) {
      const rates = Object.fromEntries(Object.entries(who).map(([k, rs]) => [k, rs.map((r) => r.rate)]));
      const med = Object.fromEntries(Object.entries(rates).map(([k, xs]) => [k, median(xs)]));
      const paired = rates.B.map((b, i) => b / rates.A[i]);
      const pairedManual = rates.Bm?.map((b, i) => b / rates.Am[i]);
      const vsBaseline = Object.fromEntries(Object.keys(med).filter((k) => k !== "base").map((k) => [k, med[k] / med.base]));
      summary[id] = { rates, median: med, vsBaseline, bOverA: med.B / med.A, bOverAPerRound: paired,
        ...(pairedManual ? { bmOverAm: med.Bm / med.Am, bmOverAmPerRound: pairedManual } : {}) };
      console.log(`\n(${id}) events/s per round, median, × baseline (ratio of medians)`);
      for (const k of ["base", "A", "B", "Am", "Bm"].filter((k) => rates[k])) {
        const ratio = k === "base" ? "" : `  ${(med[k] / med.base).toFixed(2)}×`;
        const spread = `${fmt(Math.min(...rates[k]))}–${fmt(Math.max(...rates[k]))}`;
        console.log(`  ${k.padEnd(4)} ${rates[k].map((x) => fmt(x).padStart(8)).join(" ")}  | median ${fmt(med[k]).padStart(8)}${ratio}  (range ${spread})`);
      }
      const line = (label, xs, ratio) => console.log(`  ${label.padEnd(5)}${xs.map((x) => x.toFixed(2).padStart(8)).join(" ")}  | ratio of medians ${ratio.toFixed(2)} (per round ${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)})`);
      line("B/A", paired, med.B / med.A);
      if (pairedManual) line("Bm/Am", pairedManual, med.Bm / med.Am);
    }
    mkdirSync(join(root, "bench", "results"), { recursive: true });
    writeFileSync(join(root, "bench", "results", "ab-views.json"), JSON.stringify({
      date: new Date().toISOString(), builds: { A: describe(dirA), B: describe(dirB) }, rounds: ROUNDS, load, runs, summary,
    }, null, 2) + "\n");
    console.log("\nWrote bench/results/ab-views.json.");
  } finally {
    for (const s of Object.values(servers)) await s.close();
    await syncServer?.close();
  }
}

main().catch((e) => {
  console.error(`\nab-views failed: ${e.stack ?? e.message}`);
  process.exit(1);
});
