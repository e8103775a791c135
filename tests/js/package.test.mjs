// The package as installed from its tarball: entry points, explicit init, typings, files.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, existsSync } from "node:fs";
import { createRequire } from "node:module";
import { execFileSync } from "node:child_process";

const require = createRequire(import.meta.url);
const pkgJson = require("eventfold/package.json");
const dir = require.resolve("eventfold/package.json").replace(/package\.json$/, "");

test("the package ships its entries, wasm and typings, and nothing else", () => {
  for (const f of ["index.js", "node.js", "errors.js", "index.d.ts", "web/eventfold.js", "web/eventfold_bg.wasm", "web/eventfold.d.ts"]) {
    assert.ok(existsSync(dir + f), `${f} is in the package`);
  }
  assert.ok(!existsSync(dir + "sizes.json"), "build artefacts stay out");
  assert.equal(pkgJson.name, "eventfold");
  assert.equal(pkgJson.type, "module");
});

test("eventfold/emmett ships as an entry whose Emmett peer is optional", () => {
  for (const f of ["emmett.js", "emmett.d.ts"]) assert.ok(existsSync(dir + f), `${f} is in the package`);
  assert.deepEqual(pkgJson.exports["./emmett"], { types: "./emmett.d.ts", default: "./emmett.js" });
  assert.match(pkgJson.peerDependencies["@event-driven-io/emmett"], /^\^0\.42\./);
  assert.deepEqual(pkgJson.peerDependenciesMeta["@event-driven-io/emmett"], { optional: true },
    "apps that do not use eventfold/emmett install no Emmett");
  assert.equal(pkgJson.dependencies, undefined);
});

test("import works in Node with no init call", () => {
  const out = execFileSync(process.execPath, ["--input-type=module", "-e",
    `import { EventStore } from "eventfold"; const s = await EventStore.inMemory();
     console.log(JSON.stringify(await s.append("a", [{ type: "A" }])));`], { encoding: "utf8" });
  assert.deepEqual(JSON.parse(out), { version: 1, position: 1 });
});

test("eventfold/web offers explicit init from a precompiled module (workerd style)", async () => {
  const web = await import("eventfold/web");
  assert.equal(typeof web.default, "function");
  assert.equal(typeof web.initSync, "function");
  const module = new WebAssembly.Module(readFileSync(dir + "web/eventfold_bg.wasm"));
  web.initSync({ module });
  const s = await web.EventStore.inMemory();
  assert.deepEqual(await s.append("a", [{ type: "A" }]), { version: 1, position: 1 });
});

test("the typings declare the API with real types, not any", () => {
  const dts = readFileSync(dir + "web/eventfold.d.ts", "utf8");
  for (const decl of [
    "static inMemory(options?: StoreOptions | null): Promise<EventStore>",
    "append(stream: string, events: EventInput[], options?: AppendOptions | null): Promise<AppendResult>",
    "readStream(stream: string, options?: ReadStreamOptions | null): Promise<RecordedEvent[]>",
    "readAll(options?: ReadAllOptions | null): Promise<RecordedEvent[]>",
    "export interface EventfoldErrorBase extends Error",
    "export interface WrongExpectedVersionError extends EventfoldErrorBase { code: \"WRONG_EXPECTED_VERSION\";",
    "export type EventfoldError = | WrongExpectedVersionError",
    "export type ErrorCode",
  ]) {
    assert.ok(dts.replace(/\s+/g, " ").includes(decl), `d.ts declares: ${decl}`);
  }
  const index = readFileSync(dir + "index.d.ts", "utf8");
  assert.match(index, /isEventfoldError\(error: unknown\): error is EventfoldError/);
});

test("export conditions: workerd, deno, bun, node, worker, browser, default; every entry has isEventfoldError and createSyncHandler", async () => {
  assert.deepEqual(Object.keys(pkgJson.exports["."]), ["types", "workerd", "deno", "bun", "node", "worker", "browser", "default"]);
  for (const f of ["workerd.js", "deno.js", "web.js", "handler.js", "web/eventfold_esm.js", "web/eventfold_bg.js"]) {
    assert.ok(existsSync(dir + f), `${f} is in the package`);
  }
  for (const entry of ["index.js", "node.js", "deno.js", "workerd.js", "web.js"]) {
    const text = readFileSync(dir + entry, "utf8");
    assert.match(text, /export \{ isEventfoldError \} from "\.\/errors\.js"/, `${entry} exports isEventfoldError`);
    assert.match(text, /export \{ createSyncHandler \} from "\.\/handler\.js"/, `${entry} exports createSyncHandler`);
  }
  const web = await import("eventfold/web");
  assert.equal(typeof web.isEventfoldError, "function");
  assert.equal(web.isEventfoldError(Object.assign(new Error("x"), { name: "EventfoldError", code: "X" })), true);
});

// The README quick start, as printed, in Deno (no permission flag at all: the wasm loads as a
// module) and in Bun, from this consumer project's node_modules.
for (const [name, cmd, args] of [["Deno", "deno", ["run", "--no-prompt", "quickstart.mjs"]], ["Bun", "bun", ["quickstart.mjs"]]]) {
  test(`the README quick start runs in ${name} with no flags and no init call`, () => {
    const readme = readFileSync(new URL("./README.md", import.meta.url), "utf8");
    const code = /```js\n([\s\S]*?)```/.exec(readme.slice(readme.indexOf("## Quick start")))[1];
    const file = new URL("./quickstart.mjs", import.meta.url);
    require("node:fs").writeFileSync(file, code);
    const bin = `${process.env.EVENTFOLD_ROOT}/tests/runtimes/node_modules/.bin/${cmd}`;
    const out = execFileSync(bin, args, { cwd: new URL(".", import.meta.url), encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
    assert.match(out, /WRONG_EXPECTED_VERSION/);
    assert.match(out, /OrderCreated/);
  });
}
