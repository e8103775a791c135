// `npm run soak`: eventfold-server on PostgreSQL under steady load for SOAK_SECONDS (default
// 600): 50 clients pushing and pulling, 100 idle live (SSE) connections, one PostgreSQL restart
// (`pg_ctl restart -m fast`) at half time. Runs under scripts/with-postgres (which provides
// EVENTFOLD_TEST_PG and EVENTFOLD_TEST_PG_CTL); traffic goes to 127.0.0.1 only and every loop
// stops at the deadline.
//
// At the end: errors outside the outage window (must be 0), acknowledged events missing or
// present twice in the server's log (must be 0), positions contiguous, and the server's
// resident memory sampled every 10 s (flat: the last third's mean within 25 % of the middle
// third's). Prints a summary and exits non-zero if a check fails.
import { spawn, execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const SECONDS = Number(process.env.SOAK_SECONDS ?? 600);
const CLIENTS = Number(process.env.SOAK_CLIENTS ?? 50);
const LIVE = Number(process.env.SOAK_LIVE ?? 100);
const pg = process.env.EVENTFOLD_TEST_PG;
const pgctl = process.env.EVENTFOLD_TEST_PG_CTL;
if (!pg || !pgctl) {
  console.error("run through scripts/with-postgres (npm run soak does)");
  process.exit(2);
}

const target = process.env.CARGO_TARGET_DIR ?? join(root, "target");
execFileSync("cargo", ["build", "-q", "-p", "eventfold-server"], { cwd: root, stdio: "inherit" });
const bin = join(target, "debug", "eventfold-server");

const server = spawn(bin, ["--db", pg, "--listen", "127.0.0.1:0", "--log-level", "warn"], {
  stdio: ["ignore", "ignore", "pipe"],
});
let serverLog = "";
const url = await new Promise((resolve, reject) => {
  server.stderr.on("data", (d) => {
    serverLog += d;
    const m = /listening on (http:\/\/[\d.]+:\d+)/.exec(serverLog);
    if (m) resolve(m[1]);
  });
  server.on("exit", (code) => reject(new Error(`server exited (${code}): ${serverLog}`)));
});
const { hostname, port } = new URL(url);
const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS + 10 });

function request(method, path, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { hostname, port, method, path, agent, headers: body ? { "content-type": "application/json" } : {}, timeout: 30_000 },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString();
          resolve({ status: res.statusCode, json: text ? JSON.parse(text) : null });
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    if (body) req.write(JSON.stringify(body));
    req.end();
  });
}

const started = Date.now();
const deadline = started + SECONDS * 1000;
const now = () => (Date.now() - started) / 1000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The outage window: from the restart command until health answers 200 again, plus 2 s for
// requests already in flight.
const outage = { from: Infinity, to: -Infinity };
const errors = [];
function fail(what, detail) {
  errors.push({ t: now(), what, detail: String(detail).slice(0, 200) });
}

// --- live connections -------------------------------------------------------------------
let liveEvents = 0;
let liveReconnects = 0;
const liveSockets = new Set();
function openLive() {
  if (Date.now() > deadline) return;
  const req = http.get({ hostname, port, path: "/v1/live" }, (res) => {
    res.on("data", (d) => {
      liveEvents += String(d).split("event: head").length - 1;
    });
    res.on("end", () => {
      liveSockets.delete(req);
      liveReconnects++;
      setTimeout(openLive, 500);
    });
  });
  req.on("error", () => {
    liveSockets.delete(req);
    liveReconnects++;
    setTimeout(openLive, 500);
  });
  liveSockets.add(req);
}
for (let i = 0; i < LIVE; i++) openLive();

// --- clients ----------------------------------------------------------------------------
const acknowledged = new Set();
let pushes = 0;
let pulls = 0;
let pulledEvents = 0;
async function client(i) {
  let version = 0;
  let checkpoint = null;
  let n = 0;
  while (Date.now() < deadline) {
    const stream = `c${i}-${n % 4}`;
    const events = Array.from({ length: 1 + (n % 3) }, (_, k) => ({
      id: randomUUID(), type: "Tick", data: { client: i, n, k, pad: "x".repeat(64) }, metadata: {},
    }));
    n++;
    // Push until acknowledged: retries reuse the ids (idempotent), so nothing doubles.
    for (;;) {
      if (Date.now() > deadline + 60_000) return;
      try {
        const r = await request("POST", "/v1/push", { v: 1, streams: [{ stream, expectedVersion: "any", events }] });
        if (r.status === 200 && r.json.results[0].ok) {
          for (const e of events) acknowledged.add(e.id);
          pushes++;
          break;
        }
        fail("push", `${r.status} ${JSON.stringify(r.json)}`);
      } catch (e) {
        fail("push", e.message);
      }
      await sleep(250);
    }
    try {
      const r = await request("POST", "/v1/pull", { v: 1, after: checkpoint, limit: 1000 });
      if (r.status === 200) {
        checkpoint = r.json.checkpoint;
        pulledEvents += r.json.events.length;
        pulls++;
      } else if (r.json?.code === "CHECKPOINT_MISMATCH") {
        checkpoint = null;
      } else {
        fail("pull", `${r.status} ${JSON.stringify(r.json)}`);
      }
    } catch (e) {
      fail("pull", e.message);
    }
    version++;
    await sleep(20 + Math.random() * 80);
  }
}

// --- memory and the restart --------------------------------------------------------------
const rss = [];
function sampleRss() {
  try {
    const status = readFileSync(`/proc/${server.pid}/status`, "utf8");
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    rss.push({ t: Math.round(now()), mb: Math.round(kb / 102.4) / 10 });
  } catch {}
}
sampleRss();
const sampler = setInterval(sampleRss, 10_000);

const restart = (async () => {
  await sleep((SECONDS / 2) * 1000);
  outage.from = now();
  execFileSync(pgctl, ["restart"], { stdio: "inherit" });
  for (;;) {
    try {
      if ((await request("GET", "/v1/health")).status === 200) break;
    } catch {}
    await sleep(100);
  }
  outage.to = now() + 2;
  console.log(`[soak] PostgreSQL restarted at ${outage.from.toFixed(1)} s; healthy again after ${(outage.to - 2 - outage.from).toFixed(2)} s`);
})();

const progress = setInterval(() => {
  console.log(`[soak] ${Math.round(now())} s: ${pushes} pushes, ${pulls} pulls, ${acknowledged.size} events acknowledged, ${errors.length} errors, rss ${rss.at(-1)?.mb} MB`);
}, 60_000);

await Promise.all([...Array.from({ length: CLIENTS }, (_, i) => client(i)), restart]);
clearInterval(progress);
clearInterval(sampler);
sampleRss();
for (const req of liveSockets) req.destroy();

// --- verification -------------------------------------------------------------------------
const seen = new Map();
let after = null;
let expected = 1;
let gaps = 0;
for (;;) {
  const r = await request("POST", "/v1/pull", { v: 1, after, limit: 5000 });
  for (const e of r.json.events) {
    seen.set(e.id, (seen.get(e.id) ?? 0) + 1);
    if (e.position !== expected) gaps++;
    expected = e.position + 1;
  }
  after = r.json.checkpoint;
  if (!r.json.more) break;
}
const lost = [...acknowledged].filter((id) => !seen.has(id)).length;
const duplicated = [...seen.values()].filter((c) => c > 1).length;
const outside = errors.filter((e) => e.t < outage.from || e.t > outage.to);
const third = Math.max(1, Math.floor(rss.length / 3));
const mean = (xs) => xs.reduce((a, b) => a + b.mb, 0) / Math.max(1, xs.length);
const middle = mean(rss.slice(third, 2 * third));
const last = mean(rss.slice(2 * third));
const flat = last <= middle * 1.25;

server.kill("SIGTERM");
await new Promise((r) => server.once("exit", r));

const summary = {
  seconds: SECONDS, clients: CLIENTS, live: LIVE,
  pushes, pulls, pulledEvents, acknowledged: acknowledged.size, inLog: seen.size,
  lost, duplicated, gaps,
  errors: errors.length, errorsOutsideOutage: outside.length,
  outage: { from: Number(outage.from.toFixed(1)), to: Number(outage.to.toFixed(1)) },
  liveEvents, liveReconnects,
  rssMb: { first: rss[0]?.mb, middleMean: Number(middle.toFixed(1)), lastMean: Number(last.toFixed(1)), max: Math.max(...rss.map((r) => r.mb)) },
  rssSamples: rss.map((r) => `${r.t}:${r.mb}`).join(" "),
};
console.log(JSON.stringify(summary, null, 2));
if (outside.length) console.log("errors outside the outage window:", outside.slice(0, 10));
const ok = outside.length === 0 && lost === 0 && duplicated === 0 && gaps === 0 && flat;
console.log(ok ? "soak: ok" : "soak: FAILED");

// The section of docs/BENCHMARKS.md (replaced on every full-length run; bench/report.mjs
// carries it over when the benchmarks rewrite the file).
if (SECONDS >= 600 && CLIENTS >= 50 && LIVE >= 100) {
  const postgres = execFileSync("bash", ["-c", 'for d in /usr/lib/postgresql/*/bin; do "$d/postgres" --version; done | tail -1'], { encoding: "utf8" }).trim();
  const section = [
    "## (k) Soak: eventfold-server on PostgreSQL under load, with a database restart",
    "",
    `\`npm run soak\` (bench/soak.mjs, debug build of the server, ${postgres} with \`fsync=off\` from scripts/with-postgres), ${new Date().toISOString().slice(0, 10)}:`,
    `${SECONDS} s of ${CLIENTS} clients each pushing 1 to 3 events then pulling from its checkpoint, 20 to 100 ms apart,`,
    `beside ${LIVE} idle live (SSE) connections; \`pg_ctl restart -m fast\` at ${summary.outage.from} s. A 2-core machine shared with other builds:`,
    "the request rate says more about that than about the server.",
    "",
    "| Measure | Value |",
    "|---|---:|",
    `| pushes acknowledged / events | ${pushes} / ${acknowledged.size} |`,
    `| pulls (events delivered) | ${pulls} (${pulledEvents}) |`,
    `| events in the server's log at the end | ${seen.size} |`,
    `| lost / duplicated acknowledged events, position gaps | ${lost} / ${duplicated} / ${gaps} |`,
    `| errors (all inside the outage window: ${summary.outage.from} to ${summary.outage.to} s) | ${errors.length} (outside: ${outside.length}) |`,
    `| health back after the restart | ${(outage.to - 2 - outage.from).toFixed(2)} s |`,
    `| live head events received / live reconnects | ${liveEvents} / ${liveReconnects} |`,
    `| server RSS first / mean of middle third / mean of last third / max (MB) | ${summary.rssMb.first} / ${summary.rssMb.middleMean} / ${summary.rssMb.lastMean} / ${summary.rssMb.max} |`,
    "",
    `RSS every 10 s (s:MB): ${summary.rssSamples}.`,
    `Result: **${ok ? "passed" : "failed"}**.`,
    "",
  ].join("\n");
  const file = join(root, "docs", "BENCHMARKS.md");
  const old = existsSync(file) ? readFileSync(file, "utf8") : "# Benchmarks\n";
  const re = /\n## \(k\) Soak[\s\S]*?(?=\n## |$)/;
  writeFileSync(file, re.test(old) ? old.replace(re, `\n${section}`) : `${old.trimEnd()}\n\n${section}`);
  console.log("docs/BENCHMARKS.md: section (k) written");
}
process.exit(ok ? 0 : 1);
