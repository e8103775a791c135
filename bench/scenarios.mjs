// What the benchmark measures: scenarios, their contenders and baselines, and the targets of
// issues 3 and 4. In every repetition, each contender of a scenario gets a fresh profile; each of
// the scenario's measures then runs in its own browser process on that profile, in order, so
// a read measure times a cold browser process (with a warm OS page cache) reading what the
// write measure before it stored. A measure may list a subset of the scenario's contenders.
//
// Each measure compares every contender with `baseline` (ratio of medians, plus the ratio in
// every repetition). A check is either an absolute rate (`minRate`, events/s) or a ratio to
// another contender (`vs`), possibly of another measure (`vs: { measure, contender }`),
// paired by repetition; checks without `min`/`minRate` are informational. `every: true` checks
// the ratio in every repetition (its value is the minimum over repetitions, not the ratio of
// medians); `listed: true` puts an informational check in the targets table too (a measure an
// issue asks for without a number).

export const CONTENDERS = {
  "raw-event": { label: "raw IndexedDB, one record per event", short: "raw per-event layout" },
  "raw-batch": { label: "raw IndexedDB, one record per append (eventfold's layout)", short: "raw same layout" },
  dexie: { label: "Dexie 4.4.7, bulkAdd per append (one record per event)", short: "Dexie" },
  rxdb: {
    label: "RxDB 17.6.0 + Dexie storage, bulkInsert per append (one document per event; [stream, version] NOT unique: no version check)",
    short: "RxDB",
  },
  eventfold: { label: "eventfold, `EventStore.open` (IndexedDB)", short: "eventfold" },
  "ef-single": { label: "eventfold, log of single-event appends, not compacted", short: "eventfold uncompacted" },
  "ef-compacted": { label: "eventfold, the same log after `store.compact()`", short: "eventfold compacted" },
  "ef-manual": { label: "eventfold, `EventStore.open` with `compaction: \"manual\"` (no idle-time compaction)", short: "eventfold, compaction manual" },
  "ef-bc": { label: "eventfold while `store.compact()` runs on a 20,000-record log", short: "eventfold during compaction" },
  "raw-sync": {
    label: "raw: `fetch` of the same pull pages as rows + IndexedDB, eventfold's layout, one transaction per page",
    short: "raw fetch + IndexedDB",
  },
};

/** What the sync catch-up scenarios (issue 5) report and check besides events/s. */
const SYNC_COLUMNS = [
  { key: "requests", label: "round trips", digits: 0 },
  { key: "bytesPerEvent", label: "wire bytes/event (gzip)", digits: 1 },
  { key: "jsonBytesPerEvent", label: "JSON bytes/event", digits: 1 },
  { key: "upToDateRequests", label: "up-to-date check: requests", digits: 0 },
];
const SYNC_NOTES = (limit) => `The server (a real \`eventfold-server\`, SQLite, seeded once per run with
100,000 events of (a)'s generator: 1,000 streams × 100 events, pushed 10,000 per request) is reached on the
page's own origin. Its pull answers (pages of ${limit.toLocaleString("en-US")}, gzip) are recorded once per run and
replayed byte for byte by the page server, so the timer measures the browser, not the server
(a debug build sharing the 2 cores). eventfold: \`EventStore.open\` + \`store.sync({ url, pullLimit: ${limit} }).now()\`
into a fresh profile; the store and its sync are created before the timer starts. The raw
baseline sends the same pull requests with \`fetch\`, in the row encoding (\`events\`: \`JSON.parse\` gives it the
events as they are stored; eventfold's client asks for columns), and writes each page in eventfold's record
layout (one record per run of a stream) plus the checkpoint in one transaction. Bytes are the
pull answers' \`encodedBodySize\` (Resource Timing: compressed, as received); the up-to-date check
is one more \`sync.now()\` after the catch-up (eventfold only).`;

const syncScenario = (id, limit) => ({
  id,
  dataset: "sync",
  server: "sync",
  contenders: ["raw-sync", "eventfold"],
  timeoutS: 180,
  measures: [{
    id,
    op: "catchUp",
    args: { pullLimit: limit },
    title: `(${id}) Sync catch-up: 100,000 events from eventfold-server into a fresh browser store, pages of ${limit.toLocaleString("en-US")}`,
    baseline: "raw-sync",
    notes: SYNC_NOTES(limit),
    columns: SYNC_COLUMNS,
    checks: [
      { contender: "eventfold", minRate: 50_000 },
      { contender: "eventfold", vs: "raw-sync", min: 0.8 },
      { contender: "eventfold", metric: "bytesPerEvent", max: 60, unit: "bytes/event" },
      { contender: "eventfold", metric: "upToDateRequests", max: 1, unit: "requests" },
      { contender: "eventfold", metric: "requests", unit: "round trips" },
    ],
  }],
});

export const SCENARIOS = [
  {
    // (a) and (d) share their data: the reads run on the profile (a) just wrote.
    id: "ad",
    dataset: "bulk",
    contenders: ["raw-event", "raw-batch", "dexie", "rxdb", "eventfold"],
    timeoutS: 240,
    measures: [
      {
        id: "a",
        op: "write",
        title: "(a) Bulk append: 100,000 events in 1,000 sequential appends of 100 (one transaction each)",
        baseline: "raw-batch",
        checks: [
          { contender: "eventfold", minRate: 60_000 },
          { contender: "eventfold", vs: "raw-batch", min: 0.9 },
          { contender: "eventfold", vs: "raw-event", min: 5 },
          { contender: "eventfold", vs: "dexie" },
          { contender: "eventfold", vs: "rxdb" },
          { contender: "dexie", vs: "raw-event" },
          { contender: "rxdb", vs: "raw-event" },
        ],
      },
      {
        id: "d1",
        op: "readStream",
        title: "(d1) Read one 10,000-event stream (cold browser process on (a)'s profile)",
        contenders: ["raw-event", "raw-batch", "eventfold"],
        baseline: "raw-batch",
        checks: [
          { contender: "eventfold", vs: "raw-batch", min: 0.9 },
          { contender: "eventfold", vs: "raw-event" },
        ],
      },
      {
        id: "d2",
        op: "readAll",
        title: "(d2) readAll of 100,000 events (cold browser process on (a)'s profile)",
        contenders: ["raw-event", "raw-batch", "dexie", "rxdb", "eventfold"],
        baseline: "raw-batch",
        checks: [
          { contender: "eventfold", minRate: 250_000 },
          { contender: "eventfold", vs: "raw-event" },
          { contender: "eventfold", vs: "dexie" },
          { contender: "eventfold", vs: "rxdb" },
        ],
      },
      {
        id: "f",
        op: "replay",
        title: "(f) Replay 100,000 events into a JS fold: eventfold projection vs a plain-JS loop over the same layout",
        contenders: ["raw-batch", "eventfold"],
        baseline: "raw-batch",
        checks: [{ contender: "eventfold", vs: "raw-batch", min: 0.9 }],
      },
      {
        id: "g1",
        op: "aggregateLoad",
        title: "(g1) Cold start of an aggregate with 10,000 events, no snapshot (new browser process): eventfold vs a raw stream read + plain fold",
        contenders: ["raw-batch", "eventfold"],
        baseline: "raw-batch",
        checks: [{ contender: "eventfold", vs: "raw-batch", min: 0.9 }],
      },
      {
        id: "g2",
        op: "snapshot",
        title: "(g2) One command on that aggregate with snapshotEvery: 1 (writes its snapshot)",
        contenders: ["eventfold"],
        baseline: "eventfold",
        checks: [],
      },
      {
        id: "g3",
        op: "aggregateLoad",
        title: "(g3) Cold start of the same aggregate from its snapshot (new browser process)",
        contenders: ["eventfold"],
        baseline: "eventfold",
        checks: [{ contender: "eventfold", vs: { measure: "g1", contender: "eventfold" }, min: 10 }],
      },
    ],
  },
  {
    id: "b",
    dataset: "single",
    contenders: ["raw-event", "dexie", "rxdb", "eventfold"],
    timeoutS: 60,
    measures: [{
      id: "b",
      op: "write",
      title: "(b) Interactive append: 2,000 awaited single-event appends (one transaction each)",
      baseline: "raw-event",
      checks: [
        { contender: "eventfold", vs: "raw-event", min: 0.9 },
        { contender: "eventfold", vs: "dexie" },
        { contender: "eventfold", vs: "rxdb" },
      ],
    }],
  },
  {
    // (b) while a compaction runs (issue 15).
    id: "bc",
    dataset: "single",
    contenders: ["ef-bc"],
    timeoutS: 240,
    measures: [{
      id: "bc",
      op: "writeWhileCompacting",
      title: "(bc) (b) while `store.compact()` merges a 20,000-record log of single appends",
      baseline: "ef-bc",
      columns: [{ key: "merged", label: "events merged", digits: 0 }],
      checks: [{ contender: "ef-bc", vs: { measure: "b", contender: "eventfold" }, min: 0.8 }],
    }],
  },
  {
    // (h) issue 15: a log of single-event appends, cold reads before and after compaction,
    // against the same events written packed (scenario "hp").
    id: "h",
    dataset: "app",
    contenders: ["ef-single", "ef-compacted"],
    timeoutS: 300,
    measures: [
      {
        id: "hw",
        op: "write",
        title: "(h) 20,000 single-event appends over 500 streams, 100 appenders at once (untimed setup, shown for reference)",
        baseline: "ef-single",
        checks: [],
      },
      {
        id: "hc",
        op: "compact",
        title: "(h) `store.compact()` of that log",
        contenders: ["ef-compacted"],
        baseline: "ef-compacted",
        columns: [{ key: "recordsRead", label: "records read", digits: 0 }, { key: "recordsWritten", label: "records written", digits: 0 }],
        checks: [],
      },
      {
        id: "h1",
        op: "appReadAll",
        title: "(h1) Cold readAll of the 20,000 events (new browser process)",
        baseline: "ef-single",
        checks: [
          { contender: "ef-compacted", vs: { measure: "hp1", contender: "eventfold" }, min: 0.8 },
          { contender: "ef-single", vs: { measure: "hp1", contender: "eventfold" } },
        ],
      },
      {
        id: "h2",
        op: "appReplay",
        title: "(h2) Cold projection `ready()` over the 20,000 events (new browser process)",
        baseline: "ef-single",
        checks: [
          { contender: "ef-compacted", vs: { measure: "hp2", contender: "eventfold" }, min: 0.8 },
          { contender: "ef-single", vs: { measure: "hp2", contender: "eventfold" } },
        ],
      },
      {
        id: "h3",
        op: "appLoad",
        title: "(h3) Cold loads of 100 aggregates of 40 events each (new browser process)",
        baseline: "ef-single",
        checks: [
          { contender: "ef-compacted", vs: { measure: "hp3", contender: "eventfold" }, min: 0.8 },
          { contender: "ef-single", vs: { measure: "hp3", contender: "eventfold" } },
        ],
      },
    ],
  },
  {
    // (h) the baseline: the same 20,000 events written packed (one append of 40 per stream).
    id: "hp",
    dataset: "app-packed",
    contenders: ["eventfold"],
    timeoutS: 240,
    measures: [
      { id: "hpw", op: "write", title: "(hp) The same events written packed: one append of 40 events per stream", baseline: "eventfold", checks: [] },
      { id: "hp1", op: "appReadAll", title: "(hp1) Cold readAll of the packed log", baseline: "eventfold", checks: [] },
      { id: "hp2", op: "appReplay", title: "(hp2) Cold projection `ready()` over the packed log", baseline: "eventfold", checks: [] },
      { id: "hp3", op: "appLoad", title: "(hp3) Cold loads of the 100 aggregates from the packed log", baseline: "eventfold", checks: [] },
    ],
  },
  {
    // (q) issue 15 item 6: a repeated read-model query, answered from eventfold's record cache.
    id: "q",
    dataset: "app-packed",
    contenders: ["raw-event", "eventfold"],
    timeoutS: 240,
    measures: [
      { id: "qw", op: "write", title: "(qw) The log the read model folds: 20,000 events over 500 streams, packed (untimed setup, shown for reference)", baseline: "raw-event", checks: [] },
      {
        id: "q",
        op: "repeatQuery",
        title: "(q) Repeated read-model query: the 50 records of one bucket, 200 times (records/s)",
        baseline: "raw-event",
        notes: `Both contenders first fold the log into one record per stream (\`{ id, n, total, bucket }\`) indexed by
\`bucket\`, untimed: eventfold with \`store.readModel(...).ready()\`, the raw baseline with one \`getAll\` and a
plain-JS fold written into its own object store. The timer covers 200 awaited queries of the same 50 records:
eventfold's \`readModel.query({ index: "bucket", equals: 3, limit: 50 })\`, the raw baseline's \`index("bucket").getAll(3, 50)\`
in a new transaction each time. eventfold answers repeats from its record cache (the model did not change).`,
        // Issue 15 item 6 asks for this measure without a target ratio.
        checks: [{ contender: "eventfold", vs: "raw-event", listed: true }],
      },
    ],
  },
  {
    id: "c",
    dataset: "concurrent",
    contenders: ["raw-event", "eventfold"],
    timeoutS: 60,
    measures: [{
      id: "c",
      op: "write",
      title: "(c) Group commit: 16 concurrent appenders, 2,000 single-event appends to 16 streams",
      baseline: "raw-event",
      checks: [
        // Issue 15: ≥ 4× (b) in every repetition (the minimum over repetitions).
        { contender: "eventfold", vs: { measure: "b", contender: "eventfold" }, min: 4, every: true },
        { contender: "eventfold", vs: { measure: "b", contender: "eventfold" }, min: 4 },
        { contender: "eventfold", vs: { measure: "b", contender: "raw-event" }, min: 4 },
      ],
    }],
  },
  // (s) issue 5: the client's default page size, and the server's maximum.
  syncScenario("s", 1000),
  syncScenario("s5", 5000),
  {
    // (p) issue 5: server push throughput, measured natively (no browser) by
    // server/tests/throughput.rs in release mode, on SQLite and, when scripts/with-postgres
    // can start one, PostgreSQL.
    id: "p",
    kind: "server",
    contenders: [],
    measures: [],
  },
];
