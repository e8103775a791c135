#!/usr/bin/env node
// `npm run bench:edge` (Node 22 from tests/runtimes; expects pkg/ built; `npm run bench` runs it
// last, and with `BENCH_ONLY` naming x): the edge benchmarks,
// ratios against baselines measured in the same run, written as section "(x)" of
// docs/BENCHMARKS.md (which `npm run bench` carries over) and printed:
// - bench/edge-store.mjs: EventStore.sqlite over node:sqlite against raw node:sqlite writing and
//   reading the same rows, with PRAGMA synchronous FULL and NORMAL;
// - bench/edge-sync.mjs: the sync endpoint in workerd (a Durable Object on SQLite) against the
//   native eventfold-server on SQLite: push throughput, the pull loop and a client's catch-up.
// Environment: BENCH_REPS (default 3), BENCH_EDGE_ONLY ("store" or "sync": one part; the
// section then keeps the other part's table from the file), BENCH_EVENTS / BENCH_SYNC_EVENTS
// (default 100,000; a section is written only for the defaults).
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { machineInfo } from "./machine.mjs";
import { storeBench } from "./edge-store.mjs";
import { syncBench } from "./edge-sync.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const REPS = Number(process.env.BENCH_REPS ?? 3);
const ONLY = process.env.BENCH_EDGE_ONLY;
if (!Number.isInteger(REPS) || REPS < 1) throw new Error(`BENCH_REPS must be a positive integer, got ${process.env.BENCH_REPS}`);
if (ONLY && ONLY !== "store" && ONLY !== "sync") throw new Error(`BENCH_EDGE_ONLY is "store" or "sync", got ${ONLY}`);
// `npm run bench` runs this file after bench/run.mjs: a partial browser run (`BENCH_ONLY` without
// "x") skips it.
const browserOnly = process.env.BENCH_ONLY?.split(",").map((s) => s.trim());
if (browserOnly && !browserOnly.includes("x")) {
  console.log("[bench:edge] skipped: BENCH_ONLY does not name x");
  process.exit(0);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rate = (n, ms) => n / (ms / 1000);
const fmt = (x) => (x >= 1e6 ? `${(x / 1e6).toFixed(2)} M` : x >= 1e3 ? `${(x / 1e3).toFixed(1)} k` : x.toFixed(0));
const log = (line) => console.log(`[bench:edge] ${line}`);

/**
 * Rows comparing `subject` with `baseline` for each measure: events/s of the medians, the ratio
 * of the medians (subject / baseline events/s) and the per-repetition ratios.
 */
function rows(runs, n, measures, baseline, subject, target) {
  return measures.map(([key, label]) => {
    const b = median(runs[baseline].map((x) => x[key]));
    const s = median(runs[subject].map((x) => x[key]));
    const per = runs[baseline].map((x, i) => (x[key] / runs[subject][i][key]).toFixed(2)).join(" / ");
    const ratio = b / s;
    const goal = target[key];
    return { label, baseline: rate(n, b), subject: rate(n, s), ratio, per, goal, met: goal === undefined ? null : ratio >= goal };
  });
}

function table(head, list) {
  const lines = [`| ${head.join(" | ")} |`, `|${head.map((_, i) => (i === 0 ? "---" : "--:")).join("|")}|`];
  for (const r of list) {
    lines.push(`| ${r.label} | ${fmt(r.baseline)} | ${fmt(r.subject)} | **${r.ratio.toFixed(2)}×** | ${r.per} | ${r.goal === undefined ? "" : `≥ ${r.goal}× ${r.met ? "met" : "**not met**"}`} |`);
  }
  return lines.join("\n");
}

// The commit measured is the one checked out when the run starts (a run takes minutes; the
// worktree may move on meanwhile), marked "+changes" when files other than the docs differ from it.
const git = (...args) => execFileSync("git", args, { cwd: root, encoding: "utf8" }).trim();
const changed = git("status", "--porcelain", "--untracked-files=no").split("\n").filter((l) => l && !l.endsWith(".md"));
const commit = `${git("rev-parse", "--short", "HEAD")}${changed.length ? "+changes" : ""}`;
const started = Date.now();
const loadStart = loadavg()[0];
const parts = {};
if (ONLY !== "sync") {
  for (const synchronous of ["FULL", "NORMAL"]) {
    log(`SQL store vs raw node:sqlite, synchronous=${synchronous}`);
    const { runs, events } = await storeBench({ reps: REPS, synchronous });
    parts.storeEvents = events;
    parts[synchronous] = rows(runs, events, [["append", `append, synchronous=${synchronous}`], ["read", `read, synchronous=${synchronous}`]],
      "raw", "store", { append: 0.8, read: 0.8 });
  }
}
if (ONLY !== "store") {
  log("sync: workerd Durable Object vs eventfold-server");
  const { runs, events } = await syncBench(root, { reps: REPS, log });
  parts.syncEvents = events;
  parts.sync = rows(runs, events, [["push", "push (pushes of 100 events, 4 clients)"], ["pull", "pull loop (pages of 5,000, gzip)"],
    ["catchUp", "catch-up into EventStore.inMemory() (sync.now())"]], "native", "workerd", { push: 0.5, catchUp: 0.7 });
}
const loadEnd = loadavg()[0];
const seconds = Math.round((Date.now() - started) / 1000);

const count = (n) => `measure (${n.toLocaleString("en-US")} events)`;
const storeTable = parts.FULL && table([count(parts.storeEvents), "raw node:sqlite events/s", "EventStore.sqlite events/s", "ratio", "per rep", "target"],
  [...parts.FULL, ...parts.NORMAL]);
const syncTable = parts.sync && table([count(parts.syncEvents), "eventfold-server events/s", "workerd events/s", "ratio", "per rep", "target"], parts.sync);
for (const t of [storeTable, syncTable]) if (t) console.log(`\n${t}`);

const defaults = !process.env.BENCH_EVENTS && !process.env.BENCH_SYNC_EVENTS;
if (!defaults) {
  log("non-default event counts: docs/BENCHMARKS.md left as it is");
  process.exit(0);
}
const file = join(root, "docs", "BENCHMARKS.md");
const doc = existsSync(file) ? readFileSync(file, "utf8") : "# Benchmarks\n";
const SECTION = /\n## \(x\) The edge[\s\S]*?(?=\n## |$)/;
const old = SECTION.exec(doc)?.[0] ?? "";
const keep = (name) => new RegExp(`<!-- ${name} -->[\\s\\S]*?<!-- /${name} -->`).exec(old)?.[0] ?? `<!-- ${name} -->\n(not measured yet)\n<!-- /${name} -->`;
const machine = machineInfo();
const run = `One run of \`npm run bench:edge\` started ${new Date(started).toISOString()} at commit ${commit}` +
  ` (${machine.cpus} CPUs, ${machine.cpuModel}; Node ${process.version}; ${REPS} repetitions, contenders alternating first; ` +
  `1-minute load average ${loadStart.toFixed(1)} at the start, ${loadEnd.toFixed(1)} at the end; ${seconds} s).`;
const section = `
## (x) The edge: EventStore.sqlite vs raw node:sqlite, and the workerd sync endpoint vs eventfold-server

Measured by \`npm run bench:edge\` (\`bench/edge.mjs\`), which \`npm run bench\` runs last (a partial
run, \`BENCH_ONLY\`, only when it names x). Ratios: the contender's events/s over the baseline's, of the medians and per
repetition (each against that repetition's baseline). Method: \`bench/edge-store.mjs\`,
\`bench/edge-sync.mjs\`; discussion: [docs/edge.md](edge.md#benchmark).

${storeTable ? `<!-- store -->\n${run}\n\n${storeTable}\n<!-- /store -->` : keep("store")}

${syncTable ? `<!-- sync -->\n${run}\n\n${syncTable}\n<!-- /sync -->` : keep("sync")}
`;
const next = old ? doc.replace(old, section.trimEnd()) : `${doc.trimEnd()}\n${section}`;
writeFileSync(file, next.endsWith("\n") ? next : `${next}\n`);
log(`section (x) of docs/BENCHMARKS.md written`);
