#!/usr/bin/env node
// Builds the npm package into pkg/: release wasm (LTO, opt-level z) -> wasm-bindgen (web
// target) -> wasm-opt -Oz (npm binaryen) -> entry points and package.json. Prints sizes.
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { transformSync } from "esbuild";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const pkg = join(root, "pkg");
const bin = join(root, "node_modules", ".bin");
const env = { ...process.env, PATH: `${bin}:${process.env.HOME}/.cargo/bin:${process.env.PATH}` };
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, env, stdio: "inherit" });

const targetDir = process.env.CARGO_TARGET_DIR ?? join(root, "target");
run("cargo", ["build", "--lib", "--release", "--target", "wasm32-unknown-unknown"]);
rmSync(pkg, { recursive: true, force: true });
mkdirSync(join(pkg, "web"), { recursive: true });
run("wasm-bindgen", [
  "--target", "web", "--out-dir", join(pkg, "web"), "--out-name", "eventfold",
  join(targetDir, "wasm32-unknown-unknown", "release", "eventfold.wasm"),
]);
// The same wasm through wasm-bindgen's bundler target gives the glue as an ES module of import
// functions (web/eventfold_bg.js, the module name the wasm imports from) and a 300-byte entry
// that imports the wasm as a module: Deno's Wasm ESM integration loads that with no
// --allow-read (the deno entry). The wasm itself is byte-identical, so it ships once.
const esmDir = join(pkg, ".esm");
run("wasm-bindgen", [
  "--target", "bundler", "--out-dir", esmDir, "--out-name", "eventfold",
  join(targetDir, "wasm32-unknown-unknown", "release", "eventfold.wasm"),
]);
if (!readFileSync(join(esmDir, "eventfold_bg.wasm")).equals(readFileSync(join(pkg, "web", "eventfold_bg.wasm")))) {
  throw new Error("the bundler and web targets produced different wasm; the deno entry cannot share it");
}
writeFileSync(join(pkg, "web", "eventfold_esm.js"), readFileSync(join(esmDir, "eventfold.js"), "utf8"));
writeFileSync(join(pkg, "web", "eventfold_bg.js"),
  transformSync(readFileSync(join(esmDir, "eventfold_bg.js"), "utf8"), { minify: true, format: "esm", target: "es2020" }).code);
rmSync(esmDir, { recursive: true, force: true });
const wasm = join(pkg, "web", "eventfold_bg.wasm");
run(join(bin, "wasm-opt"), ["-Oz", "--enable-reference-types", "--enable-bulk-memory",
  "--enable-nontrapping-float-to-int", "--enable-sign-ext", "--enable-mutable-globals",
  "--enable-multivalue", wasm, "-o", wasm]);

// wasm-bindgen declares `[Symbol.dispose](): void` on every class, which fails type-checking for
// users whose `lib` predates ESNext.Disposable (and without skipLibCheck). The runtime method
// stays; only the declaration goes. `free()` remains the documented way to release memory.
const dts = join(pkg, "web", "eventfold.d.ts");
writeFileSync(dts, readFileSync(dts, "utf8").replace(/^\s*\[Symbol\.dispose\]\(\): void;\n/gm, ""));

// Minify the JS glue (esbuild, no bundling: the snippet imports stay as they are). Its JSDoc
// repeats the docs of the .d.ts, where editors read them; minified it is a quarter the size.
const glue = join(pkg, "web", "eventfold.js");
const minified = transformSync(readFileSync(glue, "utf8"), { minify: true, format: "esm", target: "es2020" });
writeFileSync(glue, minified.code);

const entries = ["index.js", "node.js", "deno.js", "workerd.js", "web.js", "web.d.ts", "handler.js", "errors.js", "index.d.ts",
  "testing.js", "testing.d.ts", "emmett.js", "emmett.d.ts"];
for (const f of entries) {
  cpSync(join(root, "scripts", "pkg", f), join(pkg, f));
}
cpSync(join(root, "README.md"), join(pkg, "README.md"));
const cargo = readFileSync(join(root, "Cargo.toml"), "utf8");
const version = /^version = "([^"]+)"/m.exec(cargo)[1];
const description = /^description = "([^"]+)"/m.exec(cargo)[1];
// eventfold/emmett supports the Emmett minor its tests run on (the root devDependency).
const emmett = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).devDependencies["@event-driven-io/emmett"];
writeFileSync(join(pkg, "package.json"), JSON.stringify({
  name: "eventfold",
  version,
  description,
  license: "MIT OR Apache-2.0",
  type: "module",
  main: "./node.js",
  module: "./index.js",
  browser: "./index.js",
  types: "./index.d.ts",
  exports: {
    // Conditions in order of precedence: workerd (wrangler, workerd bundles: the wasm imported
    // as a module), deno (the wasm as an ES module, no --allow-read), bun and node (read from
    // disk, instantiated on import), then browsers, Web Workers, Service Workers and bundlers
    // (fetched on first use). None needs an init call.
    ".": {
      types: "./index.d.ts",
      workerd: "./workerd.js",
      deno: "./deno.js",
      bun: "./node.js",
      node: "./node.js",
      worker: "./index.js",
      browser: "./index.js",
      default: "./index.js",
    },
    "./web": { types: "./web.d.ts", default: "./web.js" },
    "./testing": { types: "./testing.d.ts", default: "./testing.js" },
    "./emmett": { types: "./emmett.d.ts", default: "./emmett.js" },
    "./eventfold_bg.wasm": "./web/eventfold_bg.wasm",
    "./package.json": "./package.json",
  },
  files: [...entries, "web/", "README.md"],
  sideEffects: ["./index.js", "./node.js", "./deno.js", "./workerd.js", "./web/eventfold_esm.js", "./web/snippets/*"],
  // eventfold/emmett imports Emmett; apps that do not use that entry do not need it.
  peerDependencies: { "@event-driven-io/emmett": `^${emmett}` },
  peerDependenciesMeta: { "@event-driven-io/emmett": { optional: true } },
  engines: { node: ">=20" },
  keywords: ["event-sourcing", "cqrs", "indexeddb", "offline-first", "wasm"],
}, null, 2) + "\n");

const size = (f) => {
  const b = readFileSync(f);
  return { raw: statSync(f).size, gzip: gzipSync(b, { level: 9 }).length };
};
const w = size(wasm);
const g = size(join(pkg, "web", "eventfold.js"));
const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
console.log(`\npkg/ built: wasm ${kb(w.raw)} (gzip ${kb(w.gzip)}), JS glue ${kb(g.raw)} (gzip ${kb(g.gzip)}), ` +
  `total gzip ${kb(w.gzip + g.gzip)}`);
writeFileSync(join(pkg, "sizes.json"), JSON.stringify({ wasm: w, glue: g }, null, 2));
