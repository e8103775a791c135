#!/usr/bin/env node
// Two builds of the package in one Node process, interleaved: how a change to the conversions at
// the wasm boundary moves the calls that cross it with options in and a plain value out (the
// numbers of the serde-wasm-bindgen commits, issue 16). Each build is a pkg/ directory made by
// `node scripts/build-pkg.mjs` (copy it aside between builds):
//
//   node bench/ab-boundary.mjs /tmp/pkg-before /tmp/pkg-after
//
// 5 rounds, A then B, each on a fresh in-memory store: 20,000 single-event appends (an
// `{ version, position }` out), 20,000 `readStream` and `readAll` calls with options (one event
// each), 100,000 reads of `sync.status`. Prints the median ms of each build and B/A.
import { join, resolve } from "node:path";

const [a, b] = process.argv.slice(2);
if (!a || !b) throw new Error("usage: node bench/ab-boundary.mjs <pkg dir A> <pkg dir B>");
const builds = await Promise.all([a, b].map((dir) => import(join(resolve(dir), "node.js"))));
const N = 20_000;

async function round({ EventStore }) {
  const store = await EventStore.inMemory();
  const ms = {};
  const time = async (name, f) => {
    const t0 = performance.now();
    await f();
    ms[name] = performance.now() - t0;
  };
  await time("append", async () => {
    for (let i = 0; i < N; i++) await store.append("s-1", [{ type: "A", data: { i } }]);
  });
  await time("readStream", async () => {
    for (let i = 0; i < N; i++) await store.readStream("s-1", { from: i + 1, limit: 1, direction: "forward" });
  });
  await time("readAll", async () => {
    for (let i = 0; i < N; i++) await store.readAll({ after: i, limit: 1, filter: { streamPrefix: "s-", types: ["A"] } });
  });
  const sync = store.sync({ url: "http://127.0.0.1:1", scope: ["x-"] });
  await time("sync.status", () => {
    let pending = 0;
    for (let i = 0; i < 5 * N; i++) pending += sync.status.pending;
    return pending;
  });
  return ms;
}

const runs = [[], []];
for (let r = 0; r < 5; r++) {
  for (const k of [0, 1]) runs[k].push(await round(builds[k]));
}
const median = (xs) => [...xs].sort((x, y) => x - y)[xs.length >> 1];
for (const name of Object.keys(runs[0][0])) {
  const [ma, mb] = runs.map((rs) => median(rs.map((m) => m[name])));
  console.log(`${name.padEnd(12)} A ${ma.toFixed(0).padStart(6)} ms   B ${mb.toFixed(0).padStart(6)} ms   B/A ${(mb / ma).toFixed(2)}`);
}
