// Turns the raw timings of a run into statistics (medians, ratios of medians, per-repetition
// ratios, target checks) and writes them as bench/results/latest.json and docs/BENCHMARKS.md.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CONTENDERS, SCENARIOS } from "./scenarios.mjs";

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Events/s of every repetition of `contender` in measure `measure` (undefined: not run). */
const ratesOf = (runs, measure, contender) => runs[measure]?.[contender]?.map((r) => r.rate);

/** Ratio of medians and the ratio within each repetition (paired by repetition index). */
function ratio(mine, theirs) {
  const perRep = mine.map((r, i) => (theirs[i] === undefined ? null : r / theirs[i]));
  return { ratio: median(mine) / median(theirs), perRep };
}

/** Values of `metric` in every repetition of `contender` in measure `measure`. */
const metricOf = (runs, measure, contender, metric) => runs[measure]?.[contender]?.map((r) => r[metric]);

function evaluateCheck(check, measure, runs) {
  if (check.metric !== undefined) {
    const name = CONTENDERS[check.contender].short;
    const values = metricOf(runs, measure.id, check.contender, check.metric);
    const target = check.max !== undefined;
    const label = `${name}: ${check.metric}${target ? ` ≤ ${check.max} ${check.unit}` : ` (${check.unit})`}`;
    if (!values || values.some((v) => typeof v !== "number")) return { label, target, status: "not available" };
    const value = median(values);
    return { label, target, value, unit: check.unit, perRep: values, met: target ? value <= check.max : null };
  }
  const mine = ratesOf(runs, measure.id, check.contender);
  const vs = typeof check.vs === "string" ? { measure: measure.id, contender: check.vs } : check.vs;
  const name = CONTENDERS[check.contender].short;
  if (check.minRate !== undefined) {
    const label = `${name} ≥ ${check.minRate.toLocaleString("en-US")} events/s`;
    if (!mine) return { label, target: true, status: "not available" };
    const value = median(mine);
    return { label, target: true, value, unit: "events/s", perRep: mine, met: value >= check.minRate };
  }
  const other = `${CONTENDERS[vs.contender].short}${vs.measure === measure.id ? "" : ` in (${vs.measure})`}`;
  const every = check.every ? " in every repetition (min over repetitions)" : "";
  const label = `${name} / ${other}${check.min === undefined ? "" : ` ≥ ${check.min}×`}${every}`;
  const target = check.min !== undefined;
  const listed = Boolean(check.listed);
  const theirs = ratesOf(runs, vs.measure, vs.contender);
  if (!mine || !theirs) return { label, target, listed, status: "not available" };
  const r = ratio(mine, theirs);
  // `every`: the worst repetition must meet the target (a repetition without a pair fails).
  const paired = r.perRep.filter((v) => v !== null);
  const value = check.every ? (paired.length === r.perRep.length ? Math.min(...paired) : null) : r.ratio;
  if (value === null) return { label, target, listed, status: "not available" };
  return { label, target, listed, value, unit: "×", perRep: r.perRep, met: target ? value >= check.min : null };
}

/** Statistics of every measure of the run, plus the size check (wasm + glue, the first two rows). */
export function summarize(run) {
  const measures = SCENARIOS.flatMap((s) => s.measures.map((m) => ({ scenario: s, measure: m })))
    .filter(({ measure }) => run.runs[measure.id])
    .sort((p, q) => p.measure.id.localeCompare(q.measure.id))
    .map(({ scenario, measure }) => {
      const base = ratesOf(run.runs, measure.id, measure.baseline);
      const contenders = (measure.contenders ?? scenario.contenders).map((c) => {
        const rates = ratesOf(run.runs, measure.id, c);
        if (!rates) return { contender: c, status: "not available" };
        return {
          contender: c,
          median: median(rates), min: Math.min(...rates), max: Math.max(...rates),
          ...(base ? ratio(rates, base) : {}),
          runs: run.runs[measure.id][c],
        };
      });
      const checks = measure.checks.map((c) => evaluateCheck(c, measure, run.runs));
      const columns = (measure.columns ?? []).map((col) => ({
        ...col,
        medians: Object.fromEntries(contenders.filter((c) => c.runs).map((c) => {
          const values = c.runs.map((r) => r[col.key]).filter((v) => typeof v === "number");
          return [c.contender, values.length ? median(values) : null];
        })),
      }));
      return { id: measure.id, title: measure.title, baseline: measure.baseline, notes: measure.notes, contenders, checks, columns };
    });
  const sizeChecks = run.sizes.map((b) => ({
    label: `\`${b.entry}\`: wasm + JS glue, gzip ≤ ${(b.budget / 1024).toFixed(0)} KiB (${int(b.budget)} bytes)`,
    target: true,
    value: b.total, unit: "bytes", met: b.met,
  }));
  return { ...run, measures, sizeChecks, memoryChecks: memoryChecks(run), loadSummary: loadSummary(run.loadRuns) };
}

/** (e) load times: per contender the median ms and, for entries, the ratio to Dexie's. */
function loadSummary(loadRuns) {
  if (!loadRuns) return null;
  const base = loadRuns.dexie?.map((r) => r.ms);
  return Object.entries(loadRuns).map(([contender, runs]) => {
    const ms = runs.map((r) => r.ms);
    const row = { contender, median: median(ms), min: Math.min(...ms), max: Math.max(...ms), runs: ms };
    if (contender === "dexie" || !base) return row;
    return { ...row, ratio: median(ms) / median(base), perRep: ms.map((m, i) => m / base[i]) };
  });
}

const int = (n) => Math.round(n).toLocaleString("en-US");
const x = (n) => (n === null || n === undefined ? "–" : `${n.toFixed(2)}×`);
const met = (c) => (c.status ? c.status : c.target ? (c.met ? "**yes**" : "**no**") : c.listed ? "(no target)" : "(info)");
const num = (n) => (Number.isInteger(n) || Math.abs(n) >= 100 ? int(n) : n.toFixed(1));
const value = (c) => (c.status ? "–" : c.unit === "×" ? x(c.value) : `${num(c.value)} ${c.unit}`);
const perRep = (c) => (c.perRep ? c.perRep.map((v) => (c.unit === "×" ? x(v) : num(v))).join(", ") : "–");

function measureSection(m) {
  const cols = m.columns ?? [];
  const lines = [
    `## ${m.title}`, "",
    ...(m.notes ? [m.notes, ""] : []),
    `Ratios are to **${CONTENDERS[m.baseline].short}** (median / median; per repetition in order).${cols.length ? " Extra columns are medians." : ""}`, "",
    `| Contender | events/s median | min | max | ratio | per-rep ratios |${cols.map((c) => ` ${c.label} |`).join("")}`,
    `|---|---:|---:|---:|---:|---|${cols.map(() => "---:|").join("")}`,
  ];
  const cell = (col, contender) => {
    const v = col.medians[contender];
    return v === null || v === undefined ? "–" : v.toLocaleString("en-US", { maximumFractionDigits: col.digits, minimumFractionDigits: col.digits });
  };
  for (const c of m.contenders) {
    const label = CONTENDERS[c.contender].label + (c.contender === m.baseline ? " (baseline)" : "");
    const extra = cols.map((col) => ` ${cell(col, c.contender)} |`).join("");
    lines.push(c.status
      ? `| ${label} | ${c.status} | | | | |${cols.map(() => " |").join("")}`
      : `| ${label} | ${int(c.median)} | ${int(c.min)} | ${int(c.max)} | ${x(c.ratio)} | ${(c.perRep ?? []).map(x).join(", ")} |${extra}`);
  }
  if (m.checks.length) lines.push("", "| Check | median | per rep | target met? |", "|---|---:|---|---|");
  for (const c of m.checks) lines.push(`| ${c.label} | ${value(c)} | ${perRep(c)} | ${met(c)} |`);
  return lines.join("\n");
}

function markdown(s) {
  const m = s.machine;
  const targets = [
    ...s.measures.flatMap((ms) => ms.checks.filter((c) => c.target || c.listed).map((c) => ({ ...c, id: ms.id }))),
    ...s.memoryChecks,
    ...s.sizeChecks.map((c) => ({ ...c, id: "e" })),
  ];
  return `# Benchmarks

Generated by \`npm run bench\` (\`bench/run.mjs\`); rewritten by every run, do not edit by hand.
Raw numbers of the last run: \`bench/results/latest.json\` (not committed).

| | |
|---|---|
| Date | ${s.date} |
| Machine | ${m.cpus} CPUs (${m.cpuModel}), ${m.ramGiB} GiB RAM, ${m.os} |
| Browser | ${m.chromium}, headless, driven by playwright-core ${s.versions.playwright} |
| IndexedDB backend | ${s.idbBackends.join(", ")} (from the profile directory) |
| Node | ${m.node} |
| Other load | 1-minute load average ${s.load.start.toFixed(1)} at the start, ${s.load.end.toFixed(1)} at the end (other work on the machine competes for the 2 cores) |
| Repetitions | ${s.reps}, contender order reversed on even repetitions; the runs took ${s.durationS} s (plus setup and package build) |
| Timer | \`performance.now()\`, cross-origin isolated: ${s.crossOriginIsolated ? "yes (5 µs resolution)" : "no (100 µs resolution)"} |
| Durability | \`relaxed\` for every contender |
| eventfold | ${s.eventfoldUnavailable ? `**not available**: ${s.eventfoldUnavailable}` : `pkg/ built from the working tree at commit ${s.commit}`} |

## Targets (issues 3, 4, 5 and 15)

| Scenario | Target | Median | Met? |
|---|---|---:|---|
${targets.map((c) => `| (${c.id}) | ${c.label} | ${value(c)} | ${met(c)} |`).join("\n")}

## Method

Each contender runs in a **fresh on-disk Chromium profile and a new browser process**
(\`launchPersistentContext\`; an in-memory \`newContext()\` profile would flatter writes), once per
repetition; contenders alternate, in reverse order on even repetitions. Events (~200 bytes of
JSON: \`{ id, type, data: { orderId, sku, qty, price, cur } }\`, 4 types) come from a seeded
generator. They are created in the page, and the database opened (including eventfold's wasm
load), **before** the timer starts; \`performance.now()\` brackets only the appends or the read,
and the stored count (for reads: every version or position) is verified after it stops. An
append is done when its transaction has completed. (a) appends 1,000 batches of 100 events in
sequence, the first 100 to one stream and the rest to 900 streams; (d) reads that data back:
(a)'s browser is closed and each read is timed in a new browser process on the same profile
(a cold process with a warm OS page cache). (b) and (c) spread 2,000 single-event appends over
1,000 and 16 streams. Every number is also given as a **ratio to a raw IndexedDB JavaScript
baseline** doing the same writes or reads in the same run: the ratio of the medians, and the
ratio within each repetition. The raw baselines track versions and positions in memory, issue
requests without per-request callbacks and commit explicitly; the "same layout" baseline writes
exactly eventfold's record per append (\`{ p, q, n, s, v, t, ids, e }\`, unique indexes on \`q\`
and \`[s, v]\`, \`e\` = the events as one JSON text, read back with one \`JSON.parse\` per record;
it does not check event ids, which eventfold checks against a map in memory), the per-event
baseline one record per event with unique indexes on \`[stream, version]\` and \`id\`; both read
with one \`getAll\`. Dexie writes the per-event layout (\`bulkAdd\` per append, of one event in (b); \`toArray()\`
in (d2)). RxDB 17 with its free Dexie storage (production setup: no dev-mode, no schema validator;
bundled by esbuild, \`bench/peers/rxdb.js\`) writes one document per event (\`bulkInsert\` per append,
\`insert\` in (b)) with indexes on \`[stream, version]\` and \`position\` and reads with
\`find({ sort: position })\`; **RxDB indexes are never unique**, so it cannot refuse a second event at
a used \`[stream, version]\`: the version check every other contender makes does not happen there. (f) folds (a)'s 100,000 events into a
running total: eventfold through a projection from an empty checkpoint (\`ready()\`, including
persisting its state), the baseline by reading the same-layout records with \`getAll\` and
folding them in a plain loop. (g1) loads the 10,000-event aggregate of the hot stream in a new
browser process with no snapshot, (g2) executes one command with \`snapshotEvery: 1\` (which
writes a snapshot), (g3) loads the aggregate again in a new process, from that snapshot.
(g1) is compared with a raw read of the same stream (\`getAll\` on the \`[s, v]\` index, one
\`JSON.parse\` per record) folded in a plain loop. (h) writes 20,000 single-event appends over 500
streams (100 appenders at once: group commit, still one record per event), then reads them cold in new
browser processes (\`readAll\`, a projection's \`ready()\`, 100 aggregate loads of 40 events):
uncompacted, and after \`store.compact()\` (its time is (hc)); (hp) writes the same events packed, one
append of 40 per stream, and reads them the same way: the (h) targets compare the compacted log with
it. (bc) times (b)'s 2,000 awaited single appends while \`store.compact()\` merges a 20,000-record log in
the same page, against eventfold's (b) of the same repetition. (m) runs in Node, Deno and Bun (no browser).
This is a 2-core machine shared by Node, the browser and its renderer (and any other work, see
"Other load"): compare ratios, not absolute numbers, across machines.

${s.measures.map((m) => measureSection(m) + (m.columns.length && s.sync?.floors ? syncBytesNote(s.sync.floors) : "")).join("\n\n")}
${s.throughput ? `\n${throughputSection(s)}\n` : ""}${s.memory ? `\n${memorySection(s)}\n` : ""}
${sizeSection(s)}`;
}

/** (e) Sizes per entry (always measured) and load times per entry (when this run measured them). */
function sizeSection(s) {
  const lines = [
    "## (e) Package size and load time per entry", "",
    "gzip -9 of the wasm and its JS glue per entry, each a wasm of its own (`npm run size` shows where the bytes",
    "go); \"with its JS\" adds the entry file, `errors.js`, `entry.js`, `handler.js` and wasm-bindgen's snippets a",
    "browser loads with it. The three builds (issue 17): `eventfold/core` without the cargo features `sync` and",
    "`bus`, `eventfold/sync` with `sync`, `eventfold` with both (scripts/builds.mjs).", "",
    "| Entry | wasm (raw) | wasm gzip | glue gzip | wasm + glue gzip | budget | met? | with its JS, gzip |",
    "|---|---:|---:|---:|---:|---:|---|---:|",
    ...s.sizes.map((b) => `| \`${b.entry}\` | ${int(b.wasm.raw)} | ${int(b.wasm.gzip)} | ${int(b.glue.gzip)} | ${int(b.total)} | ${int(b.budget)} | ${b.met ? "**yes**" : "**no**"} | ${int(b.loaded)} |`),
  ];
  if (s.loadSummary) {
    lines.push("",
      "Load time in Chromium (`bench/load.mjs`, `bench/pages/load.js`): from `import` to the end of the first append",
      "(fetch, compile and instantiate the wasm, open the IndexedDB database, append one event) on a page that has",
      "loaded nothing of the library, in a fresh on-disk profile and a new browser process per contender and",
      "repetition, against Dexie's `import`, open and first `add` in the same run (served from 127.0.0.1, no cache).", "",
      "| Contender | median ms | min | max | ratio to Dexie | per-rep ratios |", "|---|---:|---:|---:|---:|---|",
      ...s.loadSummary.map((l) => {
        const name = l.contender === "dexie" ? "Dexie (baseline)" : `\`${s.sizes.find((b) => b.id === l.contender)?.entry ?? l.contender}\``;
        return `| ${name} | ${l.median.toFixed(1)} | ${l.min.toFixed(1)} | ${l.max.toFixed(1)} | ${l.ratio === undefined ? "–" : x(l.ratio)} | ${(l.perRep ?? []).map(x).join(", ")} |`;
      }));
  }
  lines.push("", ...DEPENDENCY_COSTS, "", ...SIZE_LEVERS);
  return lines.join("\n") + "\n";
}

/** What each dependency of the engine cost in size and speed when it came in, kept in (e). */
const DEPENDENCY_COSTS = [
  "Dependency cost, measured when it came in (2026-12-03, base commit d1c31ee): `indexed_db_futures` serving",
  "the IndexedDB open/upgrade and the state and read-model reads (docs/storage.md, \"Which layer serves",
  "what\") adds 12,382 bytes of wasm gzip (405,573 → 417,955, 3.1 %; raw 967,341 → 994,710) and 215 bytes",
  "of glue gzip: the crate (~8 KB of code), tokio's channels behind its request futures (~4.5 KB) and",
  "their error types. Speed (`bench/ab-reads.mjs`: both builds in one Chromium page, 16 interleaved rounds; 4 runs): a read-model",
  "`get` 0.51 → 0.56 ms (1.09–1.13×), a 21-record `query` 0.79 → 0.87 ms (1.07–1.11×), opening an existing",
  "database 1.5–2.0 ms either way (0.90–1.04×). Every aggregate load reads its snapshot key, so a command",
  "pays the ~0.05 ms once.",
  "",
  "Dependency cost, measured when it came in (2026-12-03): `serde-wasm-bindgen` converting the values that",
  "leave the boundary (sync report, status, held streams, read-model changes, progress, storage info,",
  "append results, saga views, dead letters) and the read and sync options (derive-based types; a bad",
  "field named). On the base 4ee197c: 430,296 → 442,225 bytes gzip (+11,929, 2.8 %); step by step on",
  "the base 5d20823: the values out +4,594, the options +9,083 (its Deserializer is instantiated per",
  "options type; the options are one commit that reverts cleanly). Speed (`bench/ab-boundary.mjs`: both",
  "builds in one Node process, 5 interleaved rounds; 3 runs on a loaded 2-core machine): 20,000 appends",
  "0.80–1.07×, 20,000 `readStream` with options 0.87–1.07×, 20,000 `readAll` with a filter 0.77–0.99×",
  "(no measurable change), 100,000 reads of `sync.status` 0.13–0.15× (its keys are interned once).",
];

/** What each size lever gave, the floor of this design and what would reach the budgets (issue 17), kept in (e). */
const SIZE_LEVERS = [
  "What each size lever gives (issue 17; 2026-12-03, `.tmp`-only experiment builds of the same pipeline as",
  "`scripts/build-pkg.mjs`: cargo release wasm32 → wasm-bindgen → wasm-opt → gzip -9 of wasm + minified glue;",
  "bytes saved per entry, negative = grows; bases: core 261,803 at 93e88af, sync 389,867 and full 449,406 at 9fe125e):",
  "",
  "| Lever | core | sync | full | Landed? |",
  "|---|---:|---:|---:|---|",
  "| wasm-bindgen snippet (`src/wasm/js/bindings.js`) tree-shaken to the build's imports and minified (JS loaded beside the glue, not in wasm + glue: 12,195 bytes gzip in every build before) | 8,009 | 6,805 | 6,608 | yes (cd0cd1c); core ships no sync, server or bus JS (tests/js/entries.test.mjs) |",
  "| wasm-opt `-Os` instead of `-Oz` | 733 | 1,168 | 1,457 | no: 0.3 %, and it changes inlining in hot code (needs an (a)/(f) run to land) |",
  "| wasm-opt `-Oz --converge` | 473 | 1,214 | 1,237 | no: 0.2–0.3 % for twice the wasm-opt time |",
  "| wasm-opt `-Oz` twice / `-Oz --gufa -Oz` / `-O2` | 418 / 413 / −594 | – | – | no |",
  "| rustc `opt-level = \"s\"` instead of `\"z\"` | −19,890 | – | – | no |",
  "| panic locations out (`-Zlocation-detail=none`, unstable: needs nightly or RUSTC_BOOTSTRAP) | 4,295 | – | – | no: not on stable |",
  "| and Debug formatting out too (`-Zfmt-debug=none`, unstable; `{:?}` prints nothing) | ~6,700 (wasm gzip 254,581 → 247,887 at 9fe125e) | – | – | no: not on stable |",
  "| no SQL backend in the browser wasm (prototype: `EventStore.sqlite` cut out) | 20,105 | – | – | no: a design change (a per-runtime build), see below |",
  "| no IndexedDB backend (prototype: `EventStore.open` and `src/store/indexeddb` cut out) | 64,914 | – | – | no: measures the IndexedDB async layer |",
  "| neither backend: memory store only (prototype) | 87,429 | – | – | no: the floor of the engine itself |",
  "",
  "Not separable by a flag, read from the name section (`node scripts/size.mjs --no-build --grep RE`; raw code",
  "bytes; this module compresses to ~0.45 of raw): serde_json 20,861 in core (54,484 in sync: the protocol), serde",
  "derives and visitors ~28,700, serde-wasm-bindgen 11,820 (it cost 11,929 gzip in full when it came in, above),",
  "core::fmt with float formatting and Debug/Display impls ~32,500 (float formatting comes from serde's error",
  "messages, so `panic = \"abort\"` alone does not drop it), `indexed_db_futures` ~10,000 (12,382 gzip when it came",
  "in, above), export shims 35,682. Async state machines (`{{closure}}` functions) are 206,385 bytes, 40 % of core's",
  "code (43 % of full's); they are not duplicates of a few generic functions: the most instantiated one,",
  "`wasm::engine::promise`, is 11 copies that each hold one method's own body (the task machinery is already boxed",
  "once, `src/wasm/promise.rs`), so `dyn` on cold paths has little left to share.",
  "",
  "The floor of this design: a core without any durable backend (memory store only) is still 174,374 bytes,",
  "70 % over core's 102,400. In raw code bytes (the groups overlap: async state machines sit inside the modules): engine and CQRS (aggregates, projections, read models with indexes, live queries,",
  "upcasting, snapshots: ~90 KB raw code), the bindings (64 KB raw, plus 33 KB of export shims), 106 KB of async",
  "state machines, 39.5 KB of serde, 28 KB of fmt and 45.5 KB of data (strings). Every backend adds to that",
  "(IndexedDB 64,914, SQL 20,105). Sync adds 126,769 bytes to core (the sync client 97.5 KB raw code, the sync",
  "server for `createSyncHandler` 48.7 KB, serde_json's protocol decoding 33.6 KB), buses and sagas 59,539 more.",
  "No flag, profile or dependency swap closes a gap of 160 KB on core: the levers above add up to under 10 KB. At 056302f",
  "(`node scripts/build-pkg.mjs`): core 267,962, sync 394,188, full 455,185 bytes (+4,837 / +4,294 / +5,752 since 9fe125e).",
  "",
  "What design would reach 100 / 130 / 160 KiB, with the measured share of each step: (1) the IndexedDB layer in",
  "JavaScript (its wasm is 64,914 bytes; the JavaScript that replaces it, a request-level IDB wrapper like the",
  "read path already in `bindings.js`, is of the order of Dexie's 32.8 KB at most); (2) one wasm per runtime:",
  "browsers without the SQL store (20,105), edge runtimes without IndexedDB; (3) a sans-IO, synchronous wasm",
  "engine: JavaScript awaits IndexedDB and calls the wasm for validation, expected-version checks, folds and",
  "index maintenance, which removes most of the 206 KB raw of async state machines; (4) JSON parsed and built in",
  "JavaScript, where payloads already cross as one JSON text (serde and serde_json ~50 KB raw in core); (5) errors",
  "as codes and fields that JavaScript formats (fmt ~28–32 KB raw); (6) cold paths (compaction, schema upgrade,",
  "rebuild, time travel) in a second wasm loaded on first use. (1)+(2) alone measure 261,803 → 174,374 bytes",
  "of wasm + glue (the memory-only prototype), plus the JavaScript that takes over IndexedDB; (3)–(5) are ~40 % of what remains, which puts core near",
  "100 KiB. The same split applies to sync (the server's 48.7 KB raw out of the client entry, as an entry of its",
  "own for edge runtimes) and to buses and sagas, whose JavaScript side already calls the user's handlers.",
];

/** How far the catch-up's wire bytes are from what this data costs at least. */
function syncBytesNote(f) {
  return `

Wire size of these pages (bytes/event, from the recorded pages of the largest size, gzip as the server
sent it): the columns encoding eventfold's client asks for ${f.columnsServer ?? "?"}, the row encoding (\`events\`,
what the raw baseline asks for) ${f.rowsServer ?? "?"}. The row pages recompressed: JSON ${f.json}; gzip level 6
${f.gzip6}, level 9 ${f.gzip9}; brotli quality 11 ${f.brotli11}. The content alone, without the envelope
(\`stream\`, \`type\`, \`version\`, \`position\`, \`timestamp\`, \`metadata\`): ids and data gzip ${f.idAndDataGzip6}
(ids ${f.idsGzip6}, data ${f.dataGzip6}). The benchmark's events carry 45 random hex digits in \`sku\` and a random
UUID each; the columns encoding (docs/sync-protocol.md §4.1) puts ids, each data key's values and the
envelope's numbers in their own columns, which gzip codes better.`;
}


/** (m) per runtime: `{ runtime, version, rates: { contender: [rate per rep] } }`. */
function memoryRuntimes(s) {
  const out = new Map();
  for (const r of s.memory ?? []) {
    const rt = out.get(r.runtime) ?? { runtime: r.runtime, version: r.version, rates: {}, errors: [] };
    if (r.error) rt.errors.push(`${r.contender}: ${r.error}`);
    else (rt.rates[r.contender] ??= [])[r.rep - 1] = r.rate;
    out.set(r.runtime, rt);
  }
  return [...out.values()];
}

/** The runtimes issue 15 sets the (m) target on (the host Node is measured too, for information). */
const MEMORY_TARGET_RUNTIMES = ["node22", "deno", "bun"];

/**
 * (m) rows of the targets table: eventfold / Map store ≥ 1.0× on each target runtime (a
 * runtime that did not run is "not available", never left out), and Emmett / Map store for
 * information. The host Node's row is in the (m) section only.
 */
function memoryChecks(s) {
  if (!s.memory) return [];
  const runtimes = memoryRuntimes(s);
  const ratioOf = (rt, c) => {
    const mine = rt?.rates[c] ?? [];
    const base = rt?.rates.map ?? [];
    if (!mine.length || !base.length || mine.length !== base.length) return null;
    return { value: median(mine) / median(base), perRep: mine.map((r, i) => r / base[i]) };
  };
  const rows = [];
  for (const name of MEMORY_TARGET_RUNTIMES) {
    const rt = runtimes.find((r) => r.runtime === name);
    const label = `${name}${rt ? ` (${rt.version.split(" (")[0]})` : ""}: eventfold memory store / plain-JS Map store ≥ 1.0×`;
    const r = ratioOf(rt, "eventfold");
    rows.push(r ? { id: "m", label, ...r, unit: "×", target: true, met: r.value >= 1.0 } : { id: "m", label, target: true, status: "not available" });
    const peer = `${name}: Emmett (peer) / plain-JS Map store`;
    const e = ratioOf(rt, "emmett");
    rows.push(e ? { id: "m", label: peer, ...e, unit: "×", target: false, listed: true, met: null }
      : { id: "m", label: peer, target: false, listed: true, status: "not available" });
  }
  return rows;
}

/** (m) The memory store in Node, Deno and Bun against a plain-JS Map store and Emmett. */
function memorySection(s) {
  const lines = [
    "## (m) Memory store in JS runtimes: 100,000 events, appends of 100 over 10 streams with exact expected versions", "",
    "`bench/memory.mjs`: each contender in its own process per repetition (after one untimed warm-up pass on a throw-away store).",
    "eventfold is `EventStore.inMemory()` from `pkg/node.js`; the baseline is a plain-JS `Map` store doing the same checks",
    "(UUID ids, no duplicate id in the log or the batch, non-empty type, data serialisable to JSON under 1 MiB, exact expected",
    "version) and keeping each event's data as JSON text; Emmett 0.42 is `getInMemoryEventStore()` with",
    "`expectedStreamVersion`. Node 22, Deno and Bun are the npm packages `scripts/setup` installs into `tests/runtimes`",
    "(`npm run bench` runs `scripts/setup` first).", "",
    "| Runtime | contender | events/s median | per rep | ratio to Map store |", "|---|---|---:|---|---:|",
  ];
  for (const rt of memoryRuntimes(s)) {
    const base = median(rt.rates.map ?? []);
    for (const c of ["map", "eventfold", "emmett"]) {
      const rates = rt.rates[c] ?? [];
      if (!rates.length) continue;
      lines.push(`| ${rt.runtime} (${rt.version}) | ${c} | ${int(median(rates))} | ${rates.map(int).join(", ")} | ${(median(rates) / base).toFixed(2)}× |`);
    }
    for (const e of rt.errors) lines.push(`| ${rt.runtime} | error | ${e.replace(/\|/g, "/").replace(/\n/g, " ")} | | |`);
  }
  return lines.join("\n");
}

/** (p) The server's push throughput, as server/tests/throughput.rs measured it in this run. */
function throughputSection(s) {
  const t = s.throughput;
  const lines = [
    "## (p) Server push throughput (eventfold-server over HTTP, release build, no browser)", "",
    `\`${t.command}\` (server/tests/throughput.rs, ${t.seconds} s including the build): 4 clients × 100 pushes`,
    "of 25 events to 10 streams each, over HTTP on loopback; then every event pulled back in pages of 5,000",
    "(gzip bytes per event: random UUIDs and small payloads, not the benchmark's events).", "",
  ];
  if (t.rows.length) {
    lines.push("| Backend | push events/s | pushes | pull | gzip bytes/event |", "|---|---:|---|---|---:|");
    for (const r of t.rows) {
      lines.push(`| ${r.backend} | ${int(r.pushRate)} | ${r.pushShape} | ${int(r.pullEvents)} events in ${r.pullS} s (2 requests per page) | ${r.gzipBytesPerEvent} |`);
    }
  }
  if (t.postgres) lines.push("", `PostgreSQL: ${t.postgres}, started by scripts/with-postgres (\`fsync=off\`, a test cluster).`);
  if (t.note) lines.push("", `PostgreSQL was skipped: ${t.note}.`);
  if (t.error) lines.push("", `**The measurement failed** (exit ${t.status}): ${t.error}`);
  return lines.join("\n");
}

/**
 * A partial run (BENCH_ONLY) replaces only its own sections and target rows, and those of the
 * package sizes (measured by every run), in the existing `old` report and notes where they come
 * from; everything else stays as the last full run wrote it.
 */
function merge(old, fresh, s) {
  const split = (md) => {
    const parts = md.split(/\n(?=## )/);
    return { head: parts[0], sections: parts.slice(1) };
  };
  // (e), the package sizes, is measured by every run.
  const ids = new Set([...s.measures.map((m) => m.id), ...(s.throughput ? ["p"] : []), ...(s.memory ? ["m"] : []), "e"]);
  const idOf = (section) => /^## \(([a-z0-9]+)\)/.exec(section)?.[1];
  const o = split(old);
  const n = split(fresh);
  // Target rows: drop the old rows of the measures run now, add the new ones before (e).
  const row = (line) => /^\| \(([a-z0-9]+)\) \|/.exec(line)?.[1];
  const newRows = n.sections.find((x) => x.startsWith("## Targets")).split("\n").filter((l) => ids.has(row(l)));
  const sections = o.sections.map((section) => {
    if (!section.startsWith("## Targets")) return section;
    section = section.replace(/^## Targets \(issues [^)]*\)/, "## Targets (issues 3, 4, 5 and 15)");
    const kept = section.split("\n").filter((l) => !ids.has(row(l)));
    // New rows go before (e)'s, or (when (e)'s is replaced too) after the table's last row.
    const at = kept.findIndex((l) => row(l) === "e");
    const end = kept.findLastIndex((l) => l.startsWith("|")) + 1;
    kept.splice(at < 0 ? end : at, 0, ...newRows);
    return kept.join("\n");
  });
  for (const section of n.sections.filter((x) => ids.has(idOf(x)))) {
    const at = sections.findIndex((x) => idOf(x) === idOf(section));
    if (at >= 0) sections[at] = section.replace(/\n*$/, "\n");
    else {
      const e = sections.findIndex((x) => idOf(x) === "e");
      sections.splice(e < 0 ? sections.length : e, 0, section.replace(/\n*$/, "\n"));
    }
  }
  // Measure sections in the order a full run writes them: by id, then (p), then (e).
  const group = (x) => ({ p: 1, m: 2, e: 3 })[idOf(x)] ?? 0;
  const ordered = [
    ...sections.filter((x) => !idOf(x)),
    ...sections.filter((x) => idOf(x)).sort((x, y) => group(x) - group(y) || idOf(x).localeCompare(idOf(y))),
  ];
  sections.splice(0, sections.length, ...ordered);
  const label = [...ids].map((id) => `(${id})`).join(", ");
  const note = `> Partial run (\`BENCH_ONLY=${s.only.join(",")}\`, ${s.reps} repetitions) on ${s.date} at commit ${s.commit}: ${label} and their target rows; 1-minute load average ${s.load.start.toFixed(1)} at the start, ${s.load.end.toFixed(1)} at the end; the runs took ${s.durationS} s${s.sync ? ` (seeding the sync server and recording its answers: ${s.sync.setupS} s)` : ""}. Everything else is from the run described in the table above.`;
  // A note of an earlier partial run whose sections this run replaced entirely goes.
  const covered = (l) => {
    const only = /^> Partial run \(`BENCH_ONLY=([^`]*)`/.exec(l)?.[1];
    return only !== undefined && only.split(",").every((id) => s.only.includes(id));
  };
  const head = o.head.split("\n").filter((l) => !covered(l));
  while (head.at(-1) === "") head.pop();
  return `${[...head, "", note, ""].join("\n")}\n${sections.join("\n")}`;
}

/** Writes `summary` as JSON (bench/results/latest.json) and Markdown (docs/BENCHMARKS.md). */
export function writeReport(root, summary) {
  mkdirSync(join(root, "bench", "results"), { recursive: true });
  writeFileSync(join(root, "bench", "results", "latest.json"), JSON.stringify(summary, null, 2) + "\n");
  mkdirSync(join(root, "docs"), { recursive: true });
  const file = join(root, "docs", "BENCHMARKS.md");
  const old = existsSync(file) ? readFileSync(file, "utf8") : "";
  // The soak's section (npm run soak, bench/soak.mjs) and the edge's (npm run bench:edge,
  // bench/edge.mjs) are measured apart: carried over as they are.
  const apart = (heading) => new RegExp(`\\n## \\(${heading}[\\s\\S]*?(?=\\n## |$)`).exec(old)?.[0] ?? "";
  // Hand-written sections ("## Notes ...": why a target is not met, what would meet it) are
  // carried over as they are, after the targets table.
  const notes = [...old.matchAll(/\n## Notes[^\n]*\n[\s\S]*?(?=\n## |$)/g)].map((m) => m[0]).join("");
  const md = markdown(summary);
  let out = summary.only && old ? merge(old, md, summary) : md;
  if (notes && !out.includes("\n## Notes")) out = out.replace("\n## Method", `${notes.replace(/\n*$/, "\n")}\n## Method`);
  for (const [heading, title] of [["k\\) Soak", "## (k) Soak"], ["x\\) The edge", "## (x) The edge"]]) {
    const section = apart(heading);
    if (section && !out.includes(title)) out = `${out.trimEnd()}\n${section.trimEnd()}\n`;
  }
  writeFileSync(file, out);
}
