// The package as installed from its tarball: entry points, explicit init, typings, files.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, existsSync } from "node:fs";
import { createRequire } from "node:module";
import { execFileSync } from "node:child_process";

const require = createRequire(import.meta.url);
const pkgJson = require("eventfold/package.json");
const dir = require.resolve("eventfold/package.json").replace(/package\.json$/, "");
// The folders of the builds other than the full one (pkg/web): their wasm, glue and entry files.
const builds = ["core", "sync"];

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
    "readStream<E extends EventShape = AnyEvent>(stream: string, options?: ReadStreamOptions | null): Promise<Recorded<E>[]>",
    "readAll<E extends EventShape = AnyEvent>(options?: ReadAllOptions | null): Promise<Recorded<E>[]>",
    "aggregate<State, Command, E extends EventShape = AnyEvent>(options: AggregateDefinition<State, Command, E>): Aggregate<State, Command, E>",
    "export class Aggregate<State = unknown, Command = unknown, E extends EventShape = AnyEvent> {",
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

// What `npm pack` puts in the tarball, from the pkg/ the consumer installed: everything a user
// needs and nothing from the development tree.
function packedFiles() {
  const root = process.env.EVENTFOLD_ROOT;
  assert.ok(root, "scripts/test-package sets EVENTFOLD_ROOT");
  const out = execFileSync("npm", ["pack", "--dry-run", "--json", "--silent"], { cwd: `${root}/pkg`, encoding: "utf8" });
  return JSON.parse(out)[0].files.map((f) => f.path).sort();
}

test("npm pack --dry-run: nothing missing, nothing from the development tree", () => {
  const files = packedFiles();
  const required = [
    "package.json", "README.md", "CHANGELOG.md", "LICENSE-MIT", "LICENSE-APACHE",
    "index.js", "index.d.ts", "node.js", "deno.js", "workerd.js", "web.js", "web.d.ts", "handler.js", "errors.js",
    "testing.js", "testing.d.ts", "simulation.js", "emmett.js", "emmett.d.ts",
    "web/eventfold.js", "web/eventfold.js.map", "web/eventfold.d.ts", "web/eventfold_bg.wasm",
    "web/eventfold_esm.js", "web/eventfold_bg.js", "web/eventfold_bg.js.map", "entry.js",
    ...builds.flatMap((b) => ["eventfold.js", "eventfold.js.map", "eventfold.d.ts", "eventfold_bg.wasm", "eventfold_esm.js",
      "eventfold_bg.js", "eventfold_bg.js.map", "index.js", "index.d.ts", "node.js", "deno.js", "workerd.js"].map((f) => `${b}/${f}`)),
    "docs/guide.md", "docs/sync.md", "docs/sync-protocol.md", "docs/buses-and-sagas.md", "docs/storage.md", "docs/emmett.md",
    "docs/edge.md",
  ];
  for (const f of required) assert.ok(files.includes(f), `${f} is packed`);
  // The one JavaScript module the wasm imports (docs/testing.md) sits under a hashed snippets
  // folder, once per build, minified with its source map beside it.
  const snippets = files.filter((f) => /^[a-z]+\/snippets\//.test(f));
  assert.equal(snippets.length, 6, `one snippet module and its source map per build: ${snippets}`);
  for (const b of ["web", ...builds]) {
    for (const ext of ["js", "js.map"]) {
      assert.ok(snippets.some((f) => new RegExp(`^${b}/snippets/eventfold-[0-9a-f]+/src/wasm/js/bindings\\.${ext}$`).test(f)), `${b}: ${snippets}`);
    }
  }
  const allowed = (f) => required.includes(f) || snippets.includes(f) || /^docs\/[A-Za-z-]+\.md$/.test(f);
  assert.deepEqual(files.filter((f) => !allowed(f)), [], "no other file is packed");
  assert.ok(!files.includes("docs/testing.md"), "the repository's testing notes stay out");
  assert.ok(!files.includes("web/eventfold_bg.wasm.d.ts"), "the raw wasm exports' any-typed ABI stays out");
});

test("the packed README is written for npm users and its links resolve", () => {
  const readme = readFileSync(dir + "README.md", "utf8");
  assert.match(readme, /^# eventfold\n/);
  assert.match(readme, /npm install eventfold/);
  assert.match(readme, /optimizeDeps: \{ exclude: \["eventfold"\] \}/, "the Vite note");
  assert.doesNotMatch(readme, /apt-get|Debian|cargo run/, "no development set-up");
  const files = packedFiles();
  const base = `https://unpkg.com/eventfold@${pkgJson.version}/`;
  const links = [...readme.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]);
  assert.ok(links.length >= 8, `links: ${links}`);
  for (const href of links) {
    assert.match(href, /^https:\/\//, `${href} is absolute (npmjs.com renders the README without the files)`);
    if (href.startsWith(base)) {
      const path = href.slice(base.length).replace(/#.*$/, "");
      assert.ok(files.includes(path), `${href} points at a packed file`);
    }
  }
});

test("licenses, changelog, repository fields and the glue's source map", () => {
  assert.equal(pkgJson.license, "MIT OR Apache-2.0");
  assert.match(readFileSync(dir + "LICENSE-MIT", "utf8"), /^MIT License\n/);
  assert.match(readFileSync(dir + "LICENSE-APACHE", "utf8"), /Apache License\s+Version 2\.0, January 2004/);
  assert.match(readFileSync(dir + "CHANGELOG.md", "utf8"), new RegExp(`^## ${pkgJson.version.replace(/\./g, "\\.")}\\b`, "m"));
  for (const field of ["repository", "homepage", "bugs"]) {
    assert.doesNotMatch(JSON.stringify(pkgJson[field] ?? ""), /example\.(invalid|com)/, `${field} is real or absent`);
  }
  for (const name of ["eventfold.js", "eventfold_bg.js"]) {
    const glue = readFileSync(dir + `web/${name}`, "utf8");
    assert.ok(glue.endsWith(`\n//# sourceMappingURL=${name}.map\n`), `${name} names its map`);
    const map = JSON.parse(readFileSync(dir + `web/${name}.map`, "utf8"));
    assert.equal(map.version, 3);
    assert.deepEqual(map.sources, [name]);
    assert.match(map.sourcesContent[0], /export class EventStore/, "the readable glue is in the map");
    assert.ok(map.mappings.length > 1000);
  }
});

test("export conditions: workerd, deno, bun, node, worker, browser, default; every entry has isEventfoldError and createSyncHandler", async () => {
  for (const entry of [".", ...builds.map((b) => `./${b}`)]) {
    assert.deepEqual(Object.keys(pkgJson.exports[entry]), ["types", "workerd", "deno", "bun", "node", "worker", "browser", "default"], entry);
    for (const target of Object.values(pkgJson.exports[entry])) assert.ok(existsSync(dir + target.slice(2)), `${entry}: ${target}`);
  }
  for (const b of builds) {
    assert.equal(pkgJson.exports[`./${b}/eventfold_bg.wasm`], `./${b}/eventfold_bg.wasm`);
    for (const entry of ["index.js", "node.js", "deno.js", "workerd.js"]) {
      const text = readFileSync(`${dir}${b}/${entry}`, "utf8");
      assert.match(text, /export \{ isEventfoldError \} from "\.\.\/errors\.js"/, `${b}/${entry} exports isEventfoldError`);
      assert.equal(/export \{ createSyncHandler \} from "\.\.\/handler\.js"/.test(text), b !== "core",
        `${b}/${entry} exports createSyncHandler (the sync server) unless it is eventfold/core`);
      assert.match(text, new RegExp(`claim\\("${b}", "eventfold/${b}"\\)`), `${b}/${entry} claims its build`);
    }
  }
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
