// Crash-killed browsers: Chromium on a persistent profile is SIGKILLed at a seeded random moment
// of a loop of appends, of a projection catching up with persisted checkpoints, of a read model
// rebuild, or of a sync pull from a real eventfold-server, then started again on the same
// profile. Every append is either whole or absent, every acknowledged append is present,
// positions and versions have no gaps, the projection and the read model equal a fresh fold of
// the log, and a sync resumed after the kill holds the server's log exactly once, in order.
//
// EVENTFOLD_CRASH_ITERS (default 50) sets the number of kills; EVENTFOLD_CRASH_SEED the seed.
// `npm test` runs the default 50 kills (about 2 minutes on a 2-core machine: 116 s under load 5-9);
// `EVENTFOLD_CRASH_ITERS=500 EVENTFOLD_CRASH_SEED=7 npm run test:crash` runs more, or another seed.
// The browser is started here (not by playwright) so the test owns its process group and can
// kill it like a power cut or the OS's out-of-memory killer would.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { CHROMIUM_ARGS, profile, serve } from "../browser/harness.mjs";

const ITERS = Number(process.env.EVENTFOLD_CRASH_ITERS ?? 50);
const SEED = Number(process.env.EVENTFOLD_CRASH_SEED ?? 20261202);
const SEEDED_EVENTS = 3000;

process.env.EVENTFOLD_ROOT ??= fileURLToPath(new URL("../..", import.meta.url));
const { startServer } = await import("../js/server.mjs");

let server;
let api;
const live = new Set();
before(async () => {
  api = await startServer();
  server = await serve({ api: () => api.url });
});
after(async () => {
  for (const kill of live) await kill();
  await server?.close();
  await api?.stop();
});

/** Pushes `n` events to the sync server's `feed-` streams over HTTP. */
async function feed(n, tag) {
  for (let i = 0; i < n; i += 250) {
    const events = Array.from({ length: Math.min(250, n - i) }, (_, k) => ({ id: crypto.randomUUID(), type: "Fed", data: { tag, k: i + k }, metadata: {} }));
    const res = await fetch(`${api.url}/v1/push`, {
      method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ v: 1, streams: [{ stream: `feed-${(i / 250) % 5}`, expectedVersion: "any", events }] }),
    });
    assert.equal(res.status, 200);
  }
}

/** The ids of the server's `feed-` log, in position order. */
async function serverIds() {
  const ids = [];
  let after = null;
  for (;;) {
    const res = await fetch(`${api.url}/v1/pull`, {
      method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ v: 1, after, limit: 5000, scope: ["feed-"] }),
    });
    const page = await res.json();
    ids.push(...page.events.map((e) => e.id));
    after = page.checkpoint;
    if (!page.more) return ids;
  }
}

function rng(seed) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x / 2 ** 32;
  };
}

/** Starts Chromium on `dir` in its own process group; resolves to `{ browser, page, kill }`. */
async function start(dir) {
  const port = join(dir, "DevToolsActivePort");
  try { (await import("node:fs")).rmSync(port, { force: true }); } catch {}
  const child = spawn(process.env.CHROMIUM ?? "/usr/bin/chromium",
    ["--headless", `--user-data-dir=${dir}`, "--remote-debugging-port=0", ...CHROMIUM_ARGS, "about:blank"],
    { detached: true, stdio: "ignore" });
  const exited = new Promise((r) => child.once("exit", r));
  const deadline = Date.now() + 60_000;
  while (!existsSync(port) || !readFileSync(port, "utf8").includes("\n")) {
    if (Date.now() > deadline) throw new Error("Chromium did not start");
    await new Promise((r) => setTimeout(r, 25));
  }
  const cdp = `http://127.0.0.1:${readFileSync(port, "utf8").split("\n")[0]}`;
  const browser = await chromium.connectOverCDP(cdp);
  const kill = async () => {
    try { process.kill(-child.pid, "SIGKILL"); } catch {}
    await exited;
    await browser.close().catch(() => {});
  };
  live.add(kill);
  const context = browser.contexts()[0];
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(e.message));
  page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
  await page.goto(`${server.url}/tests/browser/pages/index.html`);
  await page.waitForFunction(() => window.eventfold !== undefined).catch((e) => {
    throw new Error(`${e.message}: ${problems.join("; ")}`);
  });
  await page.evaluate(DEFINE);
  return { page, kill: async () => { live.delete(kill); await kill(); } };
}

// Installed in every page: the projection and read model folded over the log.
const DEFINE = () => {
  window.defs = {
    totals: { name: "totals", version: 1, init: () => ({ count: 0, sum: 0 }), evolve: (s, e) => ({ count: s.count + 1, sum: s.sum + e.data.k }) },
    list: (version) => ({
      name: "sums", version, indexes: ["sum"],
      handlers: { Tick: (e, rm) => rm.update(e.stream, (c) => ({ id: e.stream, sum: (c?.sum ?? 0) + e.data.k, n: (c?.n ?? 0) + 1 })) },
    }),
  };
};

/** Starts a workload in the page without waiting for it (it runs until the kill). */
function startWork(page, kind, iteration) {
  return page.evaluate(({ kind, iteration }) => {
    window.work = (async () => {
      const store = await window.eventfold.EventStore.open({ name: "crash", durability: "strict" });
      if (kind === "appends") {
        for (let b = 0; ; b++) {
          const batch = `${iteration}-${b}`;
          const events = [0, 1, 2].map((i) => ({ id: crypto.randomUUID(), type: "Tick", data: { batch, k: i + 1 } }));
          await store.append(`s-${b % 7}`, events);
          window.acked.push(batch);
        }
      } else if (kind === "sync") {
        const synced = await window.eventfold.EventStore.open({ name: "crash-sync" });
        await synced.sync({ url: location.origin, scope: ["feed-"], pullLimit: 100 }).now();
      } else if (kind === "projection") {
        const view = store.projection(window.defs.totals);
        await view.ready();
      } else {
        const list = store.readModel(window.defs.list(iteration + 2));
        await list.ready();
      }
      window.done = true;
    })();
    window.acked = [];
    window.done = false;
  }, { kind, iteration });
}

/** Everything checked after a restart; resolves to what the page saw. */
function verify(page, readModelVersion) {
  return page.evaluate(async (readModelVersion) => {
    const store = await window.eventfold.EventStore.open({ name: "crash" });
    const all = await store.readAll();
    const batches = new Map();
    const versions = new Map();
    let gaps = 0;
    all.forEach((e, i) => {
      if (e.position !== i + 1) gaps++;
      const v = (versions.get(e.stream) ?? 0) + 1;
      if (e.version !== v) gaps++;
      versions.set(e.stream, e.version);
      if (e.data.batch) batches.set(e.data.batch, (batches.get(e.data.batch) ?? 0) + 1);
    });
    const torn = [...batches.entries()].filter(([, n]) => n !== 3).map(([b]) => b);
    const fold = all.reduce(window.defs.totals.evolve, window.defs.totals.init());
    const view = store.projection(window.defs.totals);
    await view.ready();
    const expected = new Map();
    for (const e of all) {
      const c = expected.get(e.stream) ?? { id: e.stream, sum: 0, n: 0 };
      expected.set(e.stream, { id: e.stream, sum: c.sum + e.data.k, n: c.n + 1 });
    }
    const list = store.readModel(window.defs.list(readModelVersion));
    await list.ready();
    const rows = [];
    for (const id of expected.keys()) rows.push(await list.get(id));
    const synced = await window.eventfold.EventStore.open({ name: "crash-sync" });
    await synced.sync({ url: location.origin, scope: ["feed-"], pullLimit: 1000 }).now();
    const syncedIds = (await synced.readAll()).map((e) => e.id);
    synced.close();
    const out = {
      syncedIds,
      head: all.length, gaps, torn, batches: [...batches.keys()],
      projection: view.state, fold,
      readModel: rows, expectedReadModel: [...expected.values()],
    };
    store.close();
    return out;
  }, readModelVersion);
}

test(`Chromium SIGKILLed at ${ITERS} seeded moments: appends whole or absent, acknowledged ones kept, projections and read models equal a fresh fold`, { timeout: 60 * 60_000 }, async () => {
  const random = rng(SEED);
  const p = profile();
  const acked = new Set();
  const kinds = ["appends", "projection", "readModel", "sync"];
  const counts = { appends: 0, projection: 0, readModel: 0, sync: 0 };
  let readModelVersion = 1;
  try {
    let b = await start(p.dir);
    // A log long enough for a catch-up or a rebuild to be killed half-way.
    await b.page.evaluate(async (n) => {
      const store = await window.eventfold.EventStore.open({ name: "crash", durability: "strict" });
      for (let i = 0; i < n; i += 100) {
        await store.append(`seed-${(i / 100) % 10}`, Array.from({ length: 100 }, (_, k) => ({ id: crypto.randomUUID(), type: "Tick", data: { k: (i + k) % 13 } })));
      }
      store.close();
    }, SEEDED_EVENTS);
    for (let i = 0; i < ITERS; i++) {
      const kind = kinds[i % kinds.length];
      counts[kind]++;
      if (kind === "readModel") readModelVersion = i + 2;
      if (kind === "sync") await feed(i === 3 ? 3000 : 400, i);
      await startWork(b.page, kind, i);
      const delay = Math.floor(random() * (kind === "appends" ? 400 : 250));
      await new Promise((r) => setTimeout(r, delay));
      const seen = await b.page.evaluate(() => window.acked).catch(() => []);
      for (const batch of seen) acked.add(batch);
      await b.kill();
      b = await start(p.dir);
      const v = await verify(b.page, readModelVersion);
      const context = `iteration ${i} (${kind}, killed after ${delay} ms, seed ${SEED})`;
      assert.equal(v.gaps, 0, `${context}: positions and versions without gaps`);
      assert.deepEqual(v.torn, [], `${context}: appends are whole or absent`);
      const present = new Set(v.batches);
      const lost = [...acked].filter((x) => !present.has(x));
      // The message carries what tells a lost tail from a lost database (a CI run once lost every
      // acknowledged batch at iteration 41 of seed 20261202, not reproduced in 650 kills since).
      assert.deepEqual(lost, [], `${context}: acknowledged appends are present (head ${v.head}, ${v.batches.length} batches read, ${lost.length} of ${acked.size} acknowledged missing)`);
      assert.ok(v.head >= SEEDED_EVENTS, context);
      assert.deepEqual(v.projection, v.fold, `${context}: the projection equals a fresh fold`);
      assert.deepEqual(v.readModel, v.expectedReadModel, `${context}: the read model equals a fresh fold`);
      assert.deepEqual(v.syncedIds, await serverIds(), `${context}: the synced store holds the server's log once, in order`);
    }
    await b.kill();
    console.log(`crash-kill: ${ITERS} kills (seed ${SEED}): ${counts.appends} in appends, ${counts.projection} in projection catch-ups, ${counts.readModel} in read model rebuilds, ${counts.sync} in sync pulls; ${acked.size} acknowledged appends all present`);
  } finally {
    p.remove();
  }
});
