// The sync catch-up benchmark's server side: a real eventfold-server (the workspace's debug
// build, SQLite in a temporary folder, 127.0.0.1) seeded once per run with the "bulk" events
// (1,000 streams x 100 events, pushed 10,000 events per request through the protocol), and a
// recorder that keeps the server's pull answers byte for byte (gzip, as the server sent them)
// so the page server can replay them: the timed part then measures the browser, not a debug
// server sharing the 2 cores.
import { execFileSync, spawn } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createHash } from "node:crypto";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { brotliCompressSync, constants, gunzipSync, gzipSync } from "node:zlib";
import { makeBatches } from "./data.js";

export const SYNC_EVENTS = 100_000;

/**
 * Starts eventfold-server on a fresh SQLite file (a copy of the files in `from`, when given);
 * resolves to `{ url, dir, close() }`.
 */
export async function startSyncServer(root, from = null) {
  const target = process.env.CARGO_TARGET_DIR ?? join(root, "target");
  const bin = join(target, "debug", "eventfold-server");
  if (!existsSync(bin)) execFileSync("cargo", ["build", "-q", "-p", "eventfold-server"], { cwd: root, stdio: "inherit" });
  const dir = mkdtempSync(join(tmpdir(), "eventfold-bench-server-"));
  if (from) cpSync(from, dir, { recursive: true });
  const child = spawn(bin, ["--db", join(dir, "data.sqlite"), "--listen", "127.0.0.1:0"], { stdio: ["ignore", "ignore", "pipe"] });
  const url = await new Promise((resolve, reject) => {
    let err = "";
    child.stderr.on("data", (d) => {
      err += d;
      const m = /listening on (http:\/\/[\d.]+:\d+)/.exec(err);
      if (m) resolve(m[1]);
    });
    child.on("exit", (code) => reject(new Error(`eventfold-server exited (${code}): ${err}`)));
  });
  return {
    url,
    dir,
    close: ({ keepTo } = {}) => new Promise((resolve) => {
      child.once("exit", () => {
        if (keepTo) {
          rmSync(keepTo, { recursive: true, force: true });
          cpSync(dir, keepTo, { recursive: true });
        }
        rmSync(dir, { recursive: true, force: true });
        resolve();
      });
      child.kill("SIGTERM");
    }),
  };
}

/**
 * A server holding the seeded events. The seeded database is kept in bench/results/ (not
 * committed), named by a hash of the data generator and the server's sources, so later runs
 * copy it instead of pushing 100,000 events through a debug build again.
 */
export async function seededSyncServer(root) {
  const hash = createHash("sha256");
  hash.update(readFileSync(join(root, "bench", "data.js")));
  hash.update(execFileSync("git", ["rev-parse", "HEAD:server", "HEAD:src/sync"], { cwd: root }));
  const cache = join(root, "bench", "results", `sync-seed-${hash.digest("hex").slice(0, 12)}`);
  if (existsSync(cache)) {
    const server = await startSyncServer(root, cache);
    const health = json(await exchange(server.url, { method: "GET", path: "/v1/health" }));
    if (health.head === SYNC_EVENTS) return { server, head: health.head, cached: true };
    await server.close();
  }
  let server = await startSyncServer(root);
  const head = await seed(server.url);
  await server.close({ keepTo: cache });
  server = await startSyncServer(root, cache);
  return { server, head, cached: false };
}

/** One HTTP exchange: resolves to `{ status, headers, body }` (body: the bytes on the wire). */
export function exchange(target, { method = "POST", path, headers = {}, body }) {
  const t = new URL(target);
  return new Promise((resolve, reject) => {
    const req = request({ host: t.hostname, port: t.port, method, path, agent: false,
      headers: { ...headers, host: t.host, connection: "close" } }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

const json = ({ headers, body }) =>
  JSON.parse(headers["content-encoding"] === "gzip" ? gunzipSync(body) : body);

/** Pushes the "bulk" events (1,000 streams x 100) to `url`; resolves to the server's head. */
export async function seed(url) {
  const batches = makeBatches({ events: SYNC_EVENTS, batchSize: 100 });
  for (let i = 0; i < batches.length; i += 100) {
    const streams = batches.slice(i, i + 100).map((b) => ({
      stream: b.stream, expectedVersion: 0, events: b.events.map((e) => ({ ...e, metadata: {} })),
    }));
    const res = await exchange(url, { path: "/v1/push", headers: { "content-type": "application/json" },
      body: JSON.stringify({ v: 1, streams }) });
    if (res.status !== 200) throw new Error(`seeding: push answered ${res.status}: ${res.body}`);
    const failed = json(res).results.filter((r) => !r.ok);
    if (failed.length) throw new Error(`seeding: ${JSON.stringify(failed[0])}`);
  }
  const health = json(await exchange(url, { method: "GET", path: "/v1/health" }));
  if (health.head !== SYNC_EVENTS) throw new Error(`seeding: the server's head is ${health.head}`);
  return health.head;
}

/** The key of a pull request in the recording: what the answer depends on. */
const pullKey = (body) => {
  const r = JSON.parse(body);
  return JSON.stringify([r.after?.store ?? null, r.after?.position ?? 0, r.limit ?? null, r.scope ?? [], r.encoding ?? "rows"]);
};

/**
 * Records the server's pull answers and replays them: `handle(req, body, res)` answers a
 * `/v1/…` request of the page server (a pull from the recording when it has the answer, else
 * passed to the server and recorded); `warm(limit)` records every page of a full catch-up.
 * `stats` counts what was sent to the browser (`passed`: the requests the server answered,
 * not the recording).
 */
export function pullReplay(target) {
  const recorded = new Map();
  const stats = { requests: 0, bytes: 0, passed: 0 };
  const ask = async (path, headers, body) => {
    const answer = await exchange(target, { method: "POST", path, body,
      headers: { "content-type": "application/json", "accept-encoding": headers["accept-encoding"] ?? "" } });
    if (path === "/v1/pull" && answer.status === 200) recorded.set(pullKey(body), answer);
    return answer;
  };
  return {
    stats,
    async handle(req, body, res) {
      const replayed = req.url === "/v1/pull" && recorded.get(pullKey(body));
      const answer = replayed || await ask(req.url, req.headers, body);
      stats.requests += 1;
      if (!replayed) stats.passed += 1;
      stats.bytes += answer.body.length;
      const headers = { ...answer.headers };
      delete headers.connection;
      delete headers["transfer-encoding"];
      headers["content-length"] = answer.body.length;
      res.writeHead(answer.status, headers);
      res.end(answer.body);
    },
    /**
     * Records a whole catch-up with pages of `limit`, in both encodings: rows (what the raw
     * baseline asks for) and columns (what eventfold's client asks for); resolves to
     * `{ pages, bytes, columnBytes, texts }` (`texts`: the row pages' JSON).
     */
    async warm(limit) {
      const record = async (encoding) => {
        let after = null;
        let bytes = 0;
        const texts = [];
        for (;;) {
          const body = { v: 1, after, limit, scope: [] };
          if (encoding) body.encoding = encoding;
          const answer = await ask("/v1/pull", { "accept-encoding": "gzip, deflate, br, zstd" }, JSON.stringify(body));
          const text = answer.headers["content-encoding"] === "gzip" ? gunzipSync(answer.body) : answer.body;
          const page = JSON.parse(text);
          texts.push(text);
          bytes += answer.body.length;
          after = page.checkpoint;
          if (!page.more) return { bytes, texts };
        }
      };
      const rows = await record(null);
      const columns = await record("columns");
      return { pages: rows.texts.length, bytes: rows.bytes, columnBytes: columns.bytes, texts: rows.texts };
    },
  };
}

/**
 * What the same pages would cost with other encodings, and what their content alone costs
 * (bytes per event): how far the wire size is from this data's floor.
 */
export function wireFloors(texts) {
  const pages = texts.map((t) => ({ text: t, events: JSON.parse(t).events }));
  const n = pages.reduce((k, p) => k + p.events.length, 0);
  const per = (f) => +(pages.reduce((k, p) => k + f(p), 0) / n).toFixed(1);
  const brotli = (b) => brotliCompressSync(b, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_LGWIN]: 22 } }).length;
  return {
    events: n,
    json: per((p) => p.text.length),
    gzip6: per((p) => gzipSync(p.text, { level: 6 }).length),
    gzip9: per((p) => gzipSync(p.text, { level: 9 }).length),
    brotli11: per((p) => brotli(p.text)),
    idAndDataGzip6: per((p) => gzipSync(JSON.stringify(p.events.map((e) => [e.id, e.data])), { level: 6 }).length),
    idsGzip6: per((p) => gzipSync(JSON.stringify(p.events.map((e) => e.id)), { level: 6 }).length),
    dataGzip6: per((p) => gzipSync(JSON.stringify(p.events.map((e) => e.data)), { level: 6 }).length),
  };
}
