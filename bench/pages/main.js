// The page side of the harness: `window.bench.run(...)` executes one timed operation of one
// contender and returns its duration. Data is generated and the database opened before the
// timer starts; the timer (performance.now(), 5 µs resolution when cross-origin isolated)
// covers only the operation; results are verified after the timer stops.
import { APP_AGGREGATES, DATASETS, HOT_STREAM, REPEATED_QUERY, makeBatches } from "/bench/data.js";
import { rawIdb } from "./raw-idb.js";
import { dexie } from "./dexie.js";
import { eventfold, eventfoldUnavailable, eventfoldWith } from "./eventfold.js";
import { eventfoldSync, rawSync } from "./sync.js";

const CONTENDERS = {
  "raw-event": rawIdb("event"),
  "raw-batch": rawIdb("batch"),
  dexie,
  eventfold: { ...eventfold, ...eventfoldSync },
  "raw-sync": rawSync,
  // (h): the same store, never compacted in the background (the log stays as written, or as
  // `compact()` left it).
  "ef-single": eventfoldWith({ compaction: "manual" }),
  "ef-compacted": eventfoldWith({ compaction: "manual" }),
  "ef-bc": eventfoldWith({ compaction: "manual" }),
  // bench/ab-views.mjs: eventfold without idle-time compaction (a build without compaction
  // ignores the option).
  "ef-manual": eventfoldWith({ compaction: "manual" }),
  // RxDB is bundled by bench/peers.mjs and loaded only by the pages that run it.
  rxdb: async () => (await import("/.tmp/bench/rxdb.js")).rxdb,
};

function check(ok, message) {
  if (!ok) throw new Error(`verification failed: ${message}`);
}

/** Each group is one appender awaiting its own appends; all groups run concurrently. */
async function write(c, h, groups) {
  await Promise.all(groups.map(async (batches) => {
    for (const b of batches) await c.append(h, b.stream, b.events);
  }));
}

/** Checks that `events` are `count` events with consecutive `field` values from 1. */
function checkSequence(events, count, field) {
  check(events.length === count, `expected ${count} events, got ${events.length}`);
  for (let i = 0; i < events.length; i++) {
    if (events[i][field] !== i + 1) check(false, `event ${i} has ${field} ${events[i][field]}`);
  }
}

const OPS = {
  /** Appends a dataset; verifies the stored event count. */
  async write(c, h, { dataset }) {
    const { groups } = DATASETS[dataset]();
    const events = groups.flat().reduce((n, b) => n + b.events.length, 0);
    const t0 = performance.now();
    await write(c, h, groups);
    const ms = performance.now() - t0;
    const stored = await c.count(h);
    check(stored === events, `wrote ${events} events, the store holds ${stored}`);
    return { ms, events };
  },

  /** Reads the 10k-event stream of the "bulk" dataset. */
  async readStream(c, h) {
    const t0 = performance.now();
    const events = await c.readStream(h, HOT_STREAM);
    const ms = performance.now() - t0;
    checkSequence(events, 10_000, "version");
    return { ms, events: events.length };
  },

  /** Folds all 100k events of the "bulk" dataset into a total (projection vs plain JS). */
  async replay(c, h) {
    const t0 = performance.now();
    const { count, total } = await c.replay(h, (s, e) => ({ count: s.count + 1, total: s.total + e.data.qty * e.data.price }), { count: 0, total: 0 });
    const ms = performance.now() - t0;
    check(count === 100_000, `folded ${count} events`);
    check(Number.isFinite(total) && total > 0, `total ${total}`);
    return { ms, events: count };
  },

  /** Loads the 10k-event aggregate of HOT_STREAM in this (cold) browser process. */
  async aggregateLoad(c, h) {
    const t0 = performance.now();
    const { version } = await c.loadAggregate(h);
    const ms = performance.now() - t0;
    check(version >= 10_000, `loaded version ${version}`);
    return { ms, events: 10_000 };
  },

  /** Executes one command on HOT_STREAM's aggregate with a snapshot policy of every event. */
  async snapshot(c, h) {
    const t0 = performance.now();
    const { version } = await c.snapshotAggregate(h);
    const ms = performance.now() - t0;
    check(version === 10_001, `version after the command ${version}`);
    return { ms, events: 1 };
  },

  /**
   * Catches up from the sync server's 100k events into this fresh profile. Untimed: opening
   * the store and creating its sync; after the timer, the stored count, the bytes the browser
   * received for the pulls (Resource Timing `encodedBodySize`: compressed, as on the wire) and
   * how many requests one more sync needs once up to date.
   */
  async catchUp(c, h, { args }) {
    const session = await c.prepareSync(h, args);
    performance.setResourceTimingBufferSize(100_000);
    performance.clearResourceTimings();
    const t0 = performance.now();
    const { requests } = await c.catchUp(h, session, args);
    const ms = performance.now() - t0;
    const pulls = performance.getEntriesByType("resource").filter((e) => new URL(e.name).pathname === "/v1/pull");
    const bytes = pulls.reduce((n, e) => n + e.encodedBodySize, 0);
    const decoded = pulls.reduce((n, e) => n + e.decodedBodySize, 0);
    const stored = await c.count(h);
    check(stored === 100_000, `caught up ${stored} events, expected 100,000`);
    check(pulls.length === requests, `${pulls.length} pull requests seen, ${requests} reported`);
    const upToDateRequests = await c.upToDate(h, session);
    check(upToDateRequests === null || upToDateRequests === 1,
      `an up-to-date store needs one request, this one sent ${upToDateRequests}`);
    return {
      ms, events: stored, requests, bytes, bytesPerEvent: bytes / stored,
      jsonBytesPerEvent: decoded / stored, upToDateRequests,
    };
  },

  /** Compacts the whole log now (`store.compact()`); events = the events it merged. */
  async compact(c, h) {
    const t0 = performance.now();
    const { events, recordsRead, recordsWritten } = await c.compact(h);
    const ms = performance.now() - t0;
    return { ms, events: Math.max(events, 1), recordsRead, recordsWritten };
  },

  /** (h) Reads all 20,000 events of the "app" dataset (cold process). */
  async appReadAll(c, h) {
    const t0 = performance.now();
    const events = await c.readAll(h);
    const ms = performance.now() - t0;
    check(events.length === 20_000, `read ${events.length} events`);
    events.forEach((e, i) => e.position === i + 1 || check(false, `event ${i} at ${e.position}`));
    return { ms, events: events.length };
  },

  /** (h) A projection over the 20,000 events of the "app" dataset from an empty checkpoint. */
  async appReplay(c, h) {
    const t0 = performance.now();
    const { count } = await c.replay(h, (s, e) => ({ count: s.count + 1, total: s.total + e.data.qty * e.data.price }), { count: 0, total: 0 });
    const ms = performance.now() - t0;
    check(count === 20_000, `folded ${count} events`);
    return { ms, events: count };
  },

  /** (h) Loads 100 aggregates of 40 events each, one after the other (cold process). */
  async appLoad(c, h) {
    const t0 = performance.now();
    const versions = await c.loadAggregates(h, APP_AGGREGATES);
    const ms = performance.now() - t0;
    check(versions.every((v) => v === 40), `versions ${versions.slice(0, 5)}…`);
    return { ms, events: versions.length * 40 };
  },

  /**
   * (b) while a compaction runs: untimed, the "app" log (20,000 single appends); then
   * `compact()` starts and the timer covers the 2,000 awaited single appends of (b).
   */
  async writeWhileCompacting(c, h) {
    await write(c, h, DATASETS.app().groups);
    // (b)'s shape with another seed: DATASETS.single() draws the same ids as the first 2,000
    // events of "app", which eventfold rightly refuses as duplicates.
    const groups = [makeBatches({ events: 2_000, batchSize: 1, seed: 4242 })];
    const compaction = c.compact(h);
    const t0 = performance.now();
    for (const b of groups[0]) await c.append(h, `during-${b.stream}`, b.events);
    const ms = performance.now() - t0;
    const { events: merged } = await compaction;
    check(merged > 0, "the compaction merged nothing");
    const stored = await c.count(h);
    check(stored === 22_000, `the store holds ${stored}`);
    return { ms, events: 2_000, merged };
  },

  /**
   * (q) The same read-model query, 200 times: the 50 records of one bucket. Untimed: building
   * the read model over the log the write measure stored; events = records returned.
   */
  async repeatQuery(c, h) {
    const model = await c.prepareQuery(h);
    const { bucket, limit, times } = REPEATED_QUERY;
    let records = 0;
    const t0 = performance.now();
    for (let i = 0; i < times; i++) records += (await c.query(model, bucket, limit)).length;
    const ms = performance.now() - t0;
    check(records === times * limit, `${records} records returned, expected ${times * limit}`);
    const sample = await c.query(model, bucket, limit);
    check(sample.every((r) => r.bucket === bucket && r.n === 40), "records of another bucket or count");
    return { ms, events: records };
  },

  /** Reads all 100k events of the "bulk" dataset. */
  async readAll(c, h) {
    const t0 = performance.now();
    const events = await c.readAll(h);
    const ms = performance.now() - t0;
    checkSequence(events, 100_000, "position");
    return { ms, events: events.length };
  },
};

window.bench = {
  async probe() {
    return {
      eventfoldUnavailable: await eventfoldUnavailable(),
      crossOriginIsolated: window.crossOriginIsolated,
      userAgent: navigator.userAgent,
    };
  },

  /** Runs `op` ("write" | "readStream" | "readAll") of `contender` on database `db`. */
  async run({ contender, op, db, dataset, args }) {
    const entry = CONTENDERS[contender];
    const c = typeof entry === "function" ? await entry() : entry;
    const h = await c.open(db);
    try {
      return await OPS[op](c, h, { dataset, args });
    } finally {
      c.close(h);
    }
  },
};
