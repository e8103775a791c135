// The package's entries, one wasm each (scripts/builds.mjs): "eventfold/core" (store, aggregates,
// projections, read models), "eventfold/sync" (+ store.sync(), createSyncHandler) and "eventfold"
// (+ store.bus()).
// Each has only its layers, in its JavaScript classes and in its wasm; an app loads one; a
// second build imported in the same app throws a clear error. The store contract and the README
// quick start run against every entry separately (scripts/test-package).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const dir = require.resolve("eventfold/package.json").replace(/package\.json$/, "");
const here = new URL(".", import.meta.url);

const ENTRIES = [
  { entry: "eventfold/core", dir: "core", sync: false, bus: false },
  { entry: "eventfold/sync", dir: "sync", sync: true, bus: false },
  { entry: "eventfold", dir: "web", sync: true, bus: true },
];

/** Runs `code` as an ES module of this consumer project in `runtime`; returns its stdout. */
function run(code, runtime = "node") {
  const file = new URL(`./entries-probe-${runtime}.mjs`, here);
  writeFileSync(file, code);
  const bin = runtime === "node" ? process.execPath : `${process.env.EVENTFOLD_ROOT}/tests/runtimes/node_modules/.bin/${runtime}`;
  const args = runtime === "deno" ? ["run", "--no-prompt", file.pathname] : [file.pathname];
  return execFileSync(bin, args, { cwd: here, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
}

const probe = (entry) => `
import * as m from "${entry}";
const store = await m.EventStore.inMemory();
await store.append("order-1", [{ type: "OrderCreated", data: { n: 1 } }], { expectedVersion: "no_stream" });
let code;
try { await store.append("order-1", [{ type: "X", data: {} }], { expectedVersion: "no_stream" }); } catch (e) { code = m.isEventfoldError(e) && e.code; }
const counter = store.aggregate({ name: "counter", initialState: () => 0, evolve: (s) => s + 1,
  decide: () => [{ type: "Inc", data: {} }] });
await counter.execute("1", { type: "Inc" });
console.log(JSON.stringify({
  read: (await store.readStream("order-1")).map((e) => e.type), code,
  state: (await counter.load("1")).state,
  sync: typeof store.sync, bus: typeof store.bus, handler: typeof m.createSyncHandler,
}));
`;

for (const e of ENTRIES) {
  for (const runtime of ["node", "deno", "bun"]) {
    test(`${e.entry} in ${runtime}: the store, errors and aggregates; sync ${e.sync ? "in" : "out"}, bus ${e.bus ? "in" : "out"}`, () => {
      const out = JSON.parse(run(probe(e.entry), runtime));
      assert.deepEqual(out, {
        read: ["OrderCreated"], code: "WRONG_EXPECTED_VERSION", state: 1,
        sync: e.sync ? "function" : "undefined", bus: e.bus ? "function" : "undefined",
        handler: e.sync ? "function" : "undefined",
      });
    });
  }
}

test("each entry's wasm exports only its layers, and its declarations only what it has", () => {
  const exported = (d) => WebAssembly.Module.exports(new WebAssembly.Module(readFileSync(`${dir}${d}/eventfold_bg.wasm`))).map((x) => x.name);
  const has = (names, re) => names.some((n) => re.test(n));
  for (const e of ENTRIES) {
    const names = exported(e.dir);
    const dts = readFileSync(`${dir}${e.dir}/eventfold.d.ts`, "utf8");
    assert.ok(has(names, /^eventstore_append$/), `${e.entry}: the store is in`);
    assert.ok(has(names, /^readmodel_/) && has(names, /^projection_/), `${e.entry}: read models and projections are in`);
    assert.equal(has(names, /^eventstore_sync$/) || has(names, /^sync_/), e.sync, `${e.entry}: sync ${e.sync ? "in" : "out"}`);
    assert.equal(has(names, /^eventstore_syncHandler$/) || has(names, /^syncserver_/), e.sync, `${e.entry}: sync server ${e.sync ? "in" : "out"}`);
    assert.equal(has(names, /^eventstore_bus$/) || has(names, /^bus_/), e.bus, `${e.entry}: bus ${e.bus ? "in" : "out"}`);
    assert.equal(/^\s+sync\(options: SyncOptions\)/m.test(dts), e.sync, `${e.entry}: .d.ts declares sync()`);
    assert.equal(/^export class Bus</m.test(dts), e.bus, `${e.entry}: .d.ts declares Bus`);
    const index = readFileSync(`${dir}${e.dir === "web" ? "" : `${e.dir}/`}index.d.ts`, "utf8");
    assert.match(index, /isEventfoldError/);
    assert.equal(/createSyncHandler/.test(index), e.sync, `${e.entry}: index.d.ts declares createSyncHandler`);
  }
  const sizes = ENTRIES.map((e) => readFileSync(`${dir}${e.dir}/eventfold_bg.wasm`).length);
  assert.ok(sizes[0] < sizes[1] && sizes[1] < sizes[2], `core < sync < full: ${sizes}`);
});

/**
 * The JavaScript files an app importing `e.entry` can load: the entry files of every runtime
 * (index.js, node.js, deno.js, workerd.js) and every file they import, transitively (static
 * imports, re-exports and dynamic `import()` of relative paths).
 */
function loadedJs(e) {
  const base = `${dir}${e.dir === "web" ? "" : `${e.dir}/`}`;
  const seen = new Set();
  const visit = (file) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)["'](\.{1,2}\/[^"']+\.js)["']/g)) {
      visit(new URL(m[1], `file://${file}`).pathname);
    }
  };
  for (const f of ["index.js", "node.js", "deno.js", "workerd.js"]) visit(`${base}${f}`);
  return [...seen];
}

// Names and strings only the sync layer's JavaScript has (src/wasm/js/bindings.js "sync" and
// "serve" sections, scripts/pkg/handler.js, wasm-bindgen's classes of the sync client and server),
// and only the buses' ("buses" section, the Bus class). Exported names survive minification.
const SYNC_JS = /\b(?:fetchHandler|syncRequest|openLive|watchOnline|startTimer|monotonicNow|createSyncHandler|__wbg_sync_free|__wbg_syncserver_free)\b|EventSource|text\/event-stream/;
const BUS_JS = /\b(?:bindDispatch|__wbg_bus_free)\b|\.locks\b/;
// What the wasm of the sync layer imports from JavaScript, and text only its code holds (the
// sync client's transport error, the sync server's checkpoint check); the same for buses and
// sagas (the saga name check, the handlers' dead-letter streams).
const SYNC_IMPORTS = /syncRequest|openLive|fetchHandler|watchOnline|startTimer|monotonicNow/;
const BUS_IMPORTS = /bindDispatch|invoke|attempt|sleep/;
const SYNC_TEXT = ["answered HTTP", "beyond this store's head"];
const BUS_TEXT = ["a saga needs a non-empty name", "$deadletter-"];

test("each entry ships only its layers' JavaScript and wasm: core has no sync, bus or saga code; sync none of the buses'", () => {
  for (const e of ENTRIES) {
    const files = loadedJs(e);
    assert.ok(files.some((f) => f.includes("/snippets/")), `${e.entry}: the walk reaches wasm-bindgen's snippet`);
    const js = files.map((f) => readFileSync(f, "utf8")).join("\n");
    const jsSync = js.match(SYNC_JS);
    assert.equal(jsSync !== null, e.sync, `${e.entry}: sync JavaScript ${e.sync ? "in" : `out, found ${jsSync}`}`);
    // The sync build takes the leader lock (navigator.locks) too; only buses bind dispatch.
    const jsBus = js.match(e.sync ? /\b(?:bindDispatch|__wbg_bus_free)\b/ : BUS_JS);
    assert.equal(jsBus !== null, e.bus, `${e.entry}: bus JavaScript ${e.bus ? "in" : `out, found ${jsBus}`}`);

    const wasm = readFileSync(`${dir}${e.dir}/eventfold_bg.wasm`);
    const imports = WebAssembly.Module.imports(new WebAssembly.Module(wasm)).map((i) => i.name);
    assert.equal(imports.some((n) => SYNC_IMPORTS.test(n)), e.sync, `${e.entry}: wasm imports of sync`);
    assert.equal(imports.some((n) => BUS_IMPORTS.test(n)), e.bus, `${e.entry}: wasm imports of buses`);
    const text = wasm.toString("latin1");
    for (const t of SYNC_TEXT) assert.equal(text.includes(t), e.sync, `${e.entry}: "${t}" (sync code) in its wasm`);
    for (const t of BUS_TEXT) assert.equal(text.includes(t), e.bus, `${e.entry}: "${t}" (bus or saga code) in its wasm`);
  }
});

test("two builds in one app: the second import throws UNSUPPORTED naming both entries and the fix", () => {
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", `
    await import("eventfold/core");
    try { await import("eventfold"); console.log("loaded"); }
    catch (e) { console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message })); }
    const again = await import("eventfold/core");
    const store = await again.EventStore.inMemory();
    console.log((await store.append("a", [{ type: "A", data: {} }])).version);
  `], { cwd: here, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const [line, version] = r.stdout.trim().split("\n");
  const err = JSON.parse(line);
  assert.equal(err.name, "EventfoldError");
  assert.equal(err.code, "UNSUPPORTED");
  assert.match(err.message, /"eventfold\/core" and "eventfold"/);
  assert.match(err.message, /Import one entry everywhere/);
  assert.equal(version, "1", "the first entry keeps working");
});

test("one build through two specifiers is one app: eventfold and eventfold/web share the wasm", () => {
  const out = run(`
    const a = await import("eventfold");
    const web = await import("eventfold/web");
    console.log(a.EventStore === web.EventStore);
  `);
  assert.equal(out.trim(), "true");
});
