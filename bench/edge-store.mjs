// The SQL store (EventStore.sqlite over node:sqlite) against raw node:sqlite writing and reading
// the same rows in the same run (part of `npm run bench:edge`, bench/edge.mjs; Node >= 22.5). 100,000 events in appends of 100 (one transaction each) into a fresh file
// database (WAL) per contender; then a full read of the log in pages of 1,000 as JavaScript
// objects. Ratios are the store's events/s over raw's, per repetition and of the medians.
// PRAGMA synchronous is set for both: FULL (SQLite's default: an fsync per commit) or NORMAL
// (the CPU cost without the disk's).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { EventStore } from "../pkg/node.js";

const N = Number(process.env.BENCH_EVENTS ?? 100_000);
const BATCH = 100;

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

function database(synchronous) {
  const dir = mkdtempSync(join(tmpdir(), "eventfold-bench-"));
  const db = new DatabaseSync(join(dir, "db.sqlite"));
  db.exec("PRAGMA journal_mode = WAL");
  db.exec(`PRAGMA synchronous = ${synchronous}`);
  return { db, dir };
}

async function raw(synchronous) {
  const { db, dir } = database(synchronous);
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

async function store(synchronous) {
  const { db, dir } = database(synchronous);
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

/**
 * `reps` repetitions, raw and store alternating first; returns
 * `{ raw: [{ append, read }], store: [...] }` in milliseconds, and the event count.
 */
export async function storeBench({ reps, synchronous = "FULL" }) {
  const runs = { raw: [], store: [] };
  for (let r = 0; r < reps; r++) {
    const order = r % 2 === 0 ? ["raw", "store"] : ["store", "raw"];
    for (const name of order) runs[name].push(await (name === "raw" ? raw(synchronous) : store(synchronous)));
  }
  return { runs, events: N };
}
