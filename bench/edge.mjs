#!/usr/bin/env node
// `npm run bench:edge` (Node >= 22.5; scripts use Node 22 from tests/runtimes): the SQL store
// (EventStore.sqlite over node:sqlite) against raw node:sqlite writing and reading the same rows
// in the same run. 100,000 events in appends of 100 (one transaction each) into a fresh file
// database (WAL) per contender; then a full read of the log in pages of 1,000 as JavaScript
// objects. Ratios are the store's events/s over raw's, per repetition and of the medians.
// BENCH_SYNCHRONOUS (default FULL, SQLite's default: an fsync per commit) sets PRAGMA
// synchronous for both; NORMAL shows the CPU cost without the disk's.
// Expects pkg/ to be built (npm run build).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { EventStore } from "../pkg/node.js";

const N = Number(process.env.BENCH_EVENTS ?? 100_000);
const BATCH = 100;
const REPS = Number(process.env.BENCH_REPS ?? 3);
const SYNCHRONOUS = process.env.BENCH_SYNCHRONOUS === "NORMAL" ? "NORMAL" : "FULL";

const batches = [];
for (let i = 0; i < N; i += BATCH) {
  const stream = `order-${(i / BATCH) % 1000}`;
  batches.push({
    stream,
    version: Math.floor(i / BATCH / 1000) * BATCH,
    events: Array.from({ length: BATCH }, (_, k) => ({
      id: crypto.randomUUID(),
      type: ["OrderCreated", "ItemAdded", "ItemRemoved", "OrderConfirmed"][k % 4],
      data: { orderId: stream, sku: `sku-${k}`, qty: k % 7, price: 1999, cur: "EUR" },
      metadata: {},
    })),
  });
}

function database() {
  const dir = mkdtempSync(join(tmpdir(), "eventfold-bench-"));
  const db = new DatabaseSync(join(dir, "db.sqlite"));
  db.exec("PRAGMA journal_mode = WAL");
  db.exec(`PRAGMA synchronous = ${SYNCHRONOUS}`);
  return { db, dir };
}

async function raw() {
  const { db, dir } = database();
  db.exec(`CREATE TABLE events (position INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, stream TEXT NOT NULL,
    version INTEGER NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL, metadata TEXT NOT NULL,
    timestamp INTEGER NOT NULL, UNIQUE (stream, version))`);
  const insert = db.prepare("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  let position = 0;
  let t = performance.now();
  for (const b of batches) {
    db.exec("BEGIN IMMEDIATE");
    const now = Date.now();
    b.events.forEach((e, k) => insert.run(++position, e.id, b.stream, b.version + k + 1, e.type, JSON.stringify(e.data), JSON.stringify(e.metadata), now));
    db.exec("COMMIT");
  }
  const append = performance.now() - t;
  const page = db.prepare("SELECT * FROM events WHERE position > ? ORDER BY position LIMIT 1000");
  t = performance.now();
  let after = 0;
  let count = 0;
  for (;;) {
    const rows = page.all(after).map((r) => ({ ...r, data: JSON.parse(r.data), metadata: JSON.parse(r.metadata) }));
    if (rows.length === 0) break;
    count += rows.length;
    after = rows[rows.length - 1].position;
  }
  const read = performance.now() - t;
  if (count !== N) throw new Error(`raw read ${count} events`);
  db.close();
  rmSync(dir, { recursive: true, force: true });
  return { append, read };
}

async function store() {
  const { db, dir } = database();
  const s = await EventStore.sqlite(db);
  let t = performance.now();
  for (const b of batches) await s.append(b.stream, b.events, { expectedVersion: b.version });
  const append = performance.now() - t;
  t = performance.now();
  let after = 0;
  let count = 0;
  for (;;) {
    const page = await s.readAll({ after, limit: 1000 });
    if (page.length === 0) break;
    count += page.length;
    after = page[page.length - 1].position;
  }
  const read = performance.now() - t;
  if (count !== N) throw new Error(`store read ${count} events`);
  s.close();
  db.close();
  rmSync(dir, { recursive: true, force: true });
  return { append, read };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const runs = { raw: [], store: [] };
for (let r = 0; r < REPS; r++) {
  const order = r % 2 === 0 ? ["raw", "store"] : ["store", "raw"];
  for (const name of order) runs[name].push(await (name === "raw" ? raw() : store()));
}
const rate = (ms) => Math.round(N / (ms / 1000));
for (const m of ["append", "read"]) {
  const rawMs = median(runs.raw.map((x) => x[m]));
  const storeMs = median(runs.store.map((x) => x[m]));
  const per = runs.raw.map((x, i) => (x[m] / runs.store[i][m]).toFixed(2)).join(" / ");
  console.log(`${m}: raw node:sqlite ${rate(rawMs)} events/s, EventStore.sqlite ${rate(storeMs)} events/s, ` +
    `ratio ${(rawMs / storeMs).toFixed(2)}x (per rep ${per}); ${N} events, ${REPS} reps, synchronous=${SYNCHRONOUS}, Node ${process.version}`);
}
