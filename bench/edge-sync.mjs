// The sync endpoint at the edge against the native server, in one run (part of
// `npm run bench:edge`, bench/edge.mjs): the Worker of docs/edge.md in Cloudflare's workerd (a
// Durable Object on SQLite storage on local disk, tests/edge/workerd.mjs, the wasm of pkg/)
// against eventfold-server on SQLite (a release build: opt-level 3, no LTO, in its own cargo
// target folder; WAL, synchronous = FULL), both on 127.0.0.1, driven by the same Node client.
//
// Per repetition and contender, on a fresh database:
// - push: 100,000 events ("bulk" data of bench/data.js: 1,000 streams x 100) in pushes of 100
//   events (one stream, expectedVersion 0), 4 clients at once, request bodies built before the
//   timer starts; events/s.
// - pull loop: the whole log pulled back as a sync client pulls it (POST /v1/pull, limit 5,000,
//   gzip accepted, each page decoded and parsed), one request after the other; events/s.
// - catch-up: a fresh `EventStore.inMemory()` (pkg/node.js) syncing all 100,000 events with
//   `store.sync({ url }).now()`: the client's whole catch-up, store writes included; events/s.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeBatches } from "./data.js";
import { prepareWorker, startWorkerd } from "../tests/edge/workerd.mjs";

export const SYNC_EVENTS = Number(process.env.BENCH_SYNC_EVENTS ?? 100_000);
const PUSH_BATCH = 100;
const CLIENTS = 4;
const PULL_LIMIT = 5000;

/** The environment of the native server's release build (its own target folder). */
export const SERVER_BUILD = {
  CARGO_PROFILE_RELEASE_OPT_LEVEL: "3", CARGO_PROFILE_RELEASE_LTO: "false",
  CARGO_PROFILE_RELEASE_PANIC: "unwind", CARGO_PROFILE_RELEASE_CODEGEN_UNITS: "16",
};

/** Builds eventfold-server for the benchmark (a no-op when fresh); returns the binary. */
export function buildBenchServer(root) {
  const target = join(process.env.CARGO_TARGET_DIR ?? join(root, "target"), "edge-bench");
  execFileSync("cargo", ["build", "--release", "--quiet", "-p", "eventfold-server"], {
    cwd: root, stdio: "inherit",
    env: { ...process.env, ...SERVER_BUILD, CARGO_TARGET_DIR: target, PATH: `${process.env.HOME}/.cargo/bin:${process.env.PATH}` },
  });
  return join(target, "release", "eventfold-server");
}

/** Starts eventfold-server on a fresh SQLite file in `dir`: `{ url, stop() }`. */
function startNative(bin, dir) {
  const child = spawn(bin, ["--db", join(dir, "db.sqlite"), "--listen", "127.0.0.1:0", "--log-level", "warn"],
    { stdio: ["ignore", "ignore", "pipe"] });
  const guard = () => child.kill("SIGKILL");
  process.once("exit", guard);
  const stop = () => new Promise((resolve) => {
    process.off("exit", guard);
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", resolve);
    child.kill("SIGINT");
    setTimeout(() => child.kill("SIGKILL"), 5000).unref();
  });
  return new Promise((resolve, reject) => {
    let err = "";
    child.stderr.on("data", (d) => {
      err += d;
      const m = /listening on (http:\/\/[\d.]+:\d+)/.exec(err);
      if (m) resolve({ url: m[1], stop });
    });
    child.once("exit", (code) => reject(new Error(`eventfold-server exited (${code}): ${err}`)));
  });
}

/** The contenders: name -> (dir) => `{ url, stop() }` on a fresh database in `dir`. */
function contenders(root, bin) {
  return {
    native: (dir) => startNative(bin, dir),
    workerd: async (dir) => {
      const server = await startWorkerd(await prepareWorker(dir, { packageDir: join(root, "pkg") }));
      return { url: `${server.url}/t/bench`, stop: server.stop };
    },
  };
}

/** Push bodies: 100 events of one stream each, JSON strings built before any timer. */
function pushBodies() {
  return makeBatches({ events: SYNC_EVENTS, batchSize: PUSH_BATCH }).map((b) => JSON.stringify({
    v: 1, streams: [{ stream: b.stream, expectedVersion: 0, events: b.events.map((e) => ({ ...e, metadata: {} })) }],
  }));
}

async function push(url, bodies) {
  let next = 0;
  const client = async () => {
    while (next < bodies.length) {
      const body = bodies[next++];
      const res = await fetch(`${url}/v1/push`, { method: "POST", headers: { "content-type": "application/json" }, body });
      const answer = await res.json();
      if (res.status !== 200 || !answer.results.every((r) => r.ok)) throw new Error(`push: ${res.status} ${JSON.stringify(answer).slice(0, 300)}`);
    }
  };
  const t = performance.now();
  await Promise.all(Array.from({ length: CLIENTS }, client));
  return performance.now() - t;
}

async function pullLoop(url) {
  const t = performance.now();
  let after = null;
  let count = 0;
  for (;;) {
    const res = await fetch(`${url}/v1/pull`, {
      method: "POST", headers: { "content-type": "application/json", "accept-encoding": "gzip" },
      body: JSON.stringify({ v: 1, after, limit: PULL_LIMIT }),
    });
    if (res.status !== 200) throw new Error(`pull: ${res.status} ${await res.text()}`);
    const page = await res.json();
    count += page.events.length;
    after = page.checkpoint;
    if (!page.more) break;
  }
  const ms = performance.now() - t;
  if (count !== SYNC_EVENTS) throw new Error(`pulled ${count} events`);
  return ms;
}

async function catchUp(EventStore, url) {
  const store = await EventStore.inMemory();
  const sync = store.sync({ url, pullLimit: PULL_LIMIT });
  const t = performance.now();
  await sync.now();
  const ms = performance.now() - t;
  sync.stop();
  const head = (await store.readAll({ after: SYNC_EVENTS - 1 })).at(-1)?.position;
  store.close();
  if (head !== SYNC_EVENTS) throw new Error(`caught up to ${head}`);
  return ms;
}

/**
 * Runs `reps` repetitions (the contenders' order alternating) and returns
 * `{ runs: { native: [{ push, pull, catchUp }], workerd: [...] }, events }` in milliseconds.
 */
export async function syncBench(root, { reps, log = () => {} }) {
  const { EventStore } = await import(join(root, "pkg", "node.js"));
  const bin = buildBenchServer(root);
  const servers = contenders(root, bin);
  const bodies = pushBodies();
  const runs = { native: [], workerd: [] };
  for (let r = 0; r < reps; r++) {
    const order = r % 2 === 0 ? ["native", "workerd"] : ["workerd", "native"];
    for (const name of order) {
      const dir = mkdtempSync(join(tmpdir(), `eventfold-bench-${name}-`));
      const server = await servers[name](dir);
      try {
        const out = { push: await push(server.url, bodies) };
        out.pull = await pullLoop(server.url);
        out.catchUp = await catchUp(EventStore, server.url);
        runs[name].push(out);
        log(`rep ${r + 1} ${name}: push ${out.push.toFixed(0)} ms, pull ${out.pull.toFixed(0)} ms, catch-up ${out.catchUp.toFixed(0)} ms`);
      } finally {
        await server.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
  return { runs, events: SYNC_EVENTS };
}
