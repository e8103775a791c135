#!/usr/bin/env node
// Builds the npm package into pkg/: per build of scripts/builds.mjs, release wasm (LTO,
// opt-level z) -> wasm-bindgen (web target) -> wasm-opt -Oz (npm binaryen) -> entry points;
// then package.json. Prints sizes.
//
// The cargo builds run one after another (one target dir, shared dependencies; their last
// stage, LTO with one codegen unit, is single-threaded), and each build's wasm-bindgen and
// wasm-opt run while the next cargo build compiles: on 2 cores the three builds take little
// more than three cargo builds.
import { execFileSync, spawn } from "node:child_process";
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { buildSync, transformSync } from "esbuild";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { BUILDS } from "./builds.mjs";
import { stripNames } from "./wasm-names.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const pkg = join(root, "pkg");
const bin = join(root, "node_modules", ".bin");
const env = { ...process.env, PATH: `${bin}:${process.env.HOME}/.cargo/bin:${process.env.PATH}` };
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, env, stdio: "inherit" });
/** `cmd args` as a child process; resolves when it exits with 0, rejects otherwise. */
const runAsync = (cmd, args) => new Promise((resolve, reject) => {
  const child = spawn(cmd, args, { cwd: root, env, stdio: "inherit" });
  child.on("error", reject);
  child.on("exit", (code, signal) => (code === 0 ? resolve()
    : reject(new Error(`${cmd} ${args.join(" ")} failed (${signal ?? `exit ${code}`})`))));
});

const targetDir = process.env.CARGO_TARGET_DIR ?? join(root, "target");
const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
const size = (f) => {
  const b = readFileSync(f);
  return { raw: statSync(f).size, gzip: gzipSync(b, { level: 9 }).length };
};
rmSync(pkg, { recursive: true, force: true });
const namedDir = join(root, ".tmp", "size");
rmSync(namedDir, { recursive: true, force: true });
mkdirSync(namedDir, { recursive: true });

/**
 * Compiles the wasm of `build` (cargo, release, its features) and copies it to
 * `.tmp/size/<id>.cargo.wasm` (the next build overwrites cargo's output). Returns that path.
 */
async function compileWasm(build) {
  await runAsync("cargo", ["build", "--lib", "--release", "--target", "wasm32-unknown-unknown", ...build.cargoArgs]);
  const built = join(namedDir, `${build.id}.cargo.wasm`);
  cpSync(join(targetDir, "wasm32-unknown-unknown", "release", "eventfold.wasm"), built);
  return built;
}

/**
 * Finishes one wasm of the package into `pkg/<build.dir>/` from cargo's output `built`:
 * wasm-bindgen (web and bundler targets), wasm-opt -Oz. wasm-opt runs once with `-g`; that
 * module, names kept, is saved as `.tmp/size/<id>.wasm` for `npm run size`, and ships with its
 * name section removed (the same bytes as optimising without `-g`). Returns its sizes.
 */
async function finishWasm(build, built) {
  const dir = join(pkg, build.dir);
  mkdirSync(dir, { recursive: true });
  await runAsync("wasm-bindgen", ["--target", "web", "--out-dir", dir, "--out-name", "eventfold", built]);
  // The same wasm through wasm-bindgen's bundler target gives the glue as an ES module of import
  // functions (eventfold_bg.js, the module name the wasm imports from) and a 300-byte entry
  // that imports the wasm as a module: Deno's Wasm ESM integration loads that with no
  // --allow-read (the deno entry). The wasm itself is byte-identical, so it ships once.
  const esmDir = join(pkg, `.esm-${build.id}`);
  await runAsync("wasm-bindgen", ["--target", "bundler", "--out-dir", esmDir, "--out-name", "eventfold", built]);
  if (!readFileSync(join(esmDir, "eventfold_bg.wasm")).equals(readFileSync(join(dir, "eventfold_bg.wasm")))) {
    throw new Error("the bundler and web targets produced different wasm; the deno entry cannot share it");
  }
  writeFileSync(join(dir, "eventfold_esm.js"), readFileSync(join(esmDir, "eventfold.js"), "utf8"));
  minifyGlue(join(esmDir, "eventfold_bg.js"), join(dir, "eventfold_bg.js"));
  rmSync(esmDir, { recursive: true, force: true });
  const wasm = join(dir, "eventfold_bg.wasm");
  const named = join(namedDir, `${build.id}.wasm`);
  await runAsync(join(bin, "wasm-opt"), ["-Oz", "-g", "--enable-reference-types", "--enable-bulk-memory",
    "--enable-nontrapping-float-to-int", "--enable-sign-ext", "--enable-mutable-globals",
    "--enable-multivalue", wasm, "-o", named]);
  writeFileSync(wasm, stripNames(readFileSync(named)));
  rmSync(built);
  // The snippet (src/wasm/js/bindings.js) keeps only what this build's wasm and glue import.
  const snippets = treeShakeSnippets(dir, readFileSync(wasm));

  // The declarations: wasm-bindgen's, plus what it cannot state (see declarations() below).
  const dts = join(dir, "eventfold.d.ts");
  writeFileSync(dts, declarations(readFileSync(dts, "utf8")));
  // The raw wasm exports' declarations: an ABI of numbers and `any`s no user calls (bundlers that
  // import the .wasm file itself see a WebAssembly.Module, not this).
  rmSync(join(dir, "eventfold_bg.wasm.d.ts"));

  // Minify the JS glue (esbuild, no bundling: the snippet imports stay as they are). Its JSDoc
  // repeats the docs of the .d.ts, where editors read them; minified it is a quarter the size.
  const glue = join(dir, "eventfold.js");
  minifyGlue(glue, glue);
  const sizes = { wasm: size(wasm), glue: size(glue), snippets: snippets.map(size).reduce((a, b) => ({ raw: a.raw + b.raw, gzip: a.gzip + b.gzip }), { raw: 0, gzip: 0 }) };
  console.log(`\npkg/${build.dir} (${build.id}): wasm ${kb(sizes.wasm.raw)} (gzip ${kb(sizes.wasm.gzip)}), ` +
    `JS glue ${kb(sizes.glue.raw)} (gzip ${kb(sizes.glue.gzip)}), total gzip ${kb(sizes.wasm.gzip + sizes.glue.gzip)}; ` +
    `snippets gzip ${kb(sizes.snippets.gzip)}`);
  return sizes;
}

// Cargo builds in sequence, each build finished while the next compiles.
let compiled = Promise.resolve();
const finishing = BUILDS.map((b) => {
  compiled = compiled.then(() => compileWasm(b));
  return compiled.then((file) => finishWasm(b, file));
});
const built = Object.fromEntries((await Promise.all(finishing)).map((sizes, i) => [BUILDS[i].id, sizes]));

const entries = ["index.js", "node.js", "deno.js", "workerd.js", "web.js", "web.d.ts", "handler.js", "errors.js", "entry.js",
  "index.d.ts", "testing.js", "testing.d.ts", "simulation.js", "emmett.js", "emmett.d.ts"];
for (const f of entries) {
  cpSync(join(root, "scripts", "pkg", f), join(pkg, f));
}
// The entry files of each build other than the full one, in its folder beside its wasm: the
// full build's (scripts/pkg) pointed at that folder, claiming that build (entry.js).
const perRuntime = ["index.js", "node.js", "deno.js", "workerd.js", "index.d.ts"];
const full = BUILDS.find((b) => b.entry === "eventfold");
for (const build of BUILDS.filter((b) => b !== full)) {
  for (const f of perRuntime) {
    let text = readFileSync(join(root, "scripts", "pkg", f), "utf8")
      .replaceAll(`"./${full.dir}/`, `"./`)
      .replace(/"\.\/(errors|handler|entry)\.js"/g, `"../$1.js"`);
    if (!build.sync) {
      // No sync server in this build: no createSyncHandler (handler.js) in its entries.
      const js = /^export \{ createSyncHandler \} from "\.\.\/handler\.js";\n/m;
      const dts = /^import type \{ EventStore, SyncHandlerOptions \}[\s\S]*?createSyncHandler\([^\n]*\n/m;
      if (!(f.endsWith(".js") ? js : dts).test(text)) throw new Error(`scripts/pkg/${f}: no createSyncHandler to leave out`);
      text = text.replace(f.endsWith(".js") ? js : dts, "");
    }
    if (f.endsWith(".js")) {
      const claim = `claim("${full.id}", "${full.entry}");`;
      if (!text.includes(claim)) throw new Error(`scripts/pkg/${f} does not call ${claim}`);
      text = text.replace(claim, `claim("${build.id}", "${build.entry}");`);
    }
    writeFileSync(join(pkg, build.dir, f), text);
  }
}
/** The `exports` conditions of the entry of `build`, in order of precedence (see below). */
function conditions(build) {
  const at = build === full ? "." : `./${build.dir}`;
  return {
    types: `${at}/index.d.ts`,
    workerd: `${at}/workerd.js`,
    deno: `${at}/deno.js`,
    bun: `${at}/node.js`,
    node: `${at}/node.js`,
    worker: `${at}/index.js`,
    browser: `${at}/index.js`,
    default: `${at}/index.js`,
  };
}
const subpath = (build) => `.${build.entry.slice("eventfold".length)}`;
const cargo = readFileSync(join(root, "Cargo.toml"), "utf8");
const version = /^version = "([^"]+)"/m.exec(cargo)[1];
// The README written for npm users (scripts/pkg/README.md). npmjs.com renders it without the
// package's files, so its relative links become absolute links to this version's files on unpkg
// (every one of them ships: tests/js/package.test.mjs checks).
const unpkg = `https://unpkg.com/eventfold@${version}/`;
const readme = readFileSync(join(root, "scripts", "pkg", "README.md"), "utf8")
  .replace(/\]\((?!https?:|#)([^)\s]+)\)/g, (_, href) => `](${unpkg}${href})`);
writeFileSync(join(pkg, "README.md"), readme);
const docs = ["CHANGELOG.md", "LICENSE-MIT", "LICENSE-APACHE"];
for (const f of docs) cpSync(join(root, f), join(pkg, f));
// The user guides (not docs/testing.md, which is about this repository's checks).
mkdirSync(join(pkg, "docs"));
for (const f of readdirSync(join(root, "docs"))) {
  if (f.endsWith(".md") && f !== "testing.md") cpSync(join(root, "docs", f), join(pkg, "docs", f));
}
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
    // (fetched on first use). None needs an init call. One entry per build: "eventfold"
    // (everything), "eventfold/sync" (no buses or sagas), "eventfold/core" (no sync either).
    ...Object.fromEntries([full, ...BUILDS.filter((b) => b !== full)].map((b) => [subpath(b), conditions(b)])),
    "./web": { types: "./web.d.ts", default: "./web.js" },
    "./testing": { types: "./testing.d.ts", default: "./testing.js" },
    "./emmett": { types: "./emmett.d.ts", default: "./emmett.js" },
    "./eventfold_bg.wasm": `./${full.dir}/eventfold_bg.wasm`,
    ...Object.fromEntries(BUILDS.filter((b) => b !== full).map((b) => [`${subpath(b)}/eventfold_bg.wasm`, `./${b.dir}/eventfold_bg.wasm`])),
    "./package.json": "./package.json",
  },
  files: [...entries, ...BUILDS.map((b) => `${b.dir}/`), "docs/", "README.md", ...docs],
  // The entry files (they load the wasm, claim the app for their build) and wasm-bindgen's.
  sideEffects: ["./web.js", ...BUILDS.flatMap((b) => [
    ...perRuntime.filter((f) => f.endsWith(".js")).map((f) => `${b === full ? "." : `./${b.dir}`}/${f}`),
    `./${b.dir}/eventfold_esm.js`, `./${b.dir}/snippets/*`,
  ])],
  // eventfold/emmett imports Emmett; apps that do not use that entry do not need it.
  peerDependencies: { "@event-driven-io/emmett": `^${emmett}` },
  peerDependenciesMeta: { "@event-driven-io/emmett": { optional: true } },
  engines: { node: ">=20" },
  keywords: ["event-sourcing", "cqrs", "indexeddb", "offline-first", "wasm"],
}, null, 2) + "\n");

// Per build: the gzip -9 of its wasm and its JS glue (bench (e) and npm run size read this).
writeFileSync(join(pkg, "sizes.json"), JSON.stringify({ builds: built }, null, 2));

/**
 * Tree-shakes and minifies the wasm-bindgen snippets of the build in `dir` (whose wasm is the
 * bytes `wasm`): each snippet keeps only the exports this build imports, from the glue
 * (`import { a, b } from "./snippets/..."` in eventfold.js and eventfold_bg.js) or from the wasm
 * itself (imports whose module is the snippet, which the glue passes through as a namespace), and
 * what those reach (esbuild bundles an entry re-exporting exactly them). So a build without the
 * `sync` feature ships none of the sync and sync-server functions of src/wasm/js/bindings.js, and
 * one without `bus` none of the buses' (tests/js/entries.test.mjs checks). The snippet stays one
 * file per source module (see docs/testing.md for why there is one), with a source map leading
 * back to the source. Returns the paths of the snippets written.
 */
function treeShakeSnippets(dir, wasm) {
  const imports = WebAssembly.Module.imports(new WebAssembly.Module(wasm));
  const glue = ["eventfold.js", "eventfold_bg.js"].map((f) => readFileSync(join(dir, f), "utf8"));
  const written = [];
  for (const file of jsFiles(join(dir, "snippets"))) {
    const spec = `./${file.slice(dir.length + 1)}`;
    const used = new Set(imports.filter((i) => i.module === spec).map((i) => i.name));
    for (const text of glue) {
      for (const m of text.matchAll(/import\s*\{([^}]*)\}\s*from\s*"([^"]+)"/g)) {
        if (m[2] !== spec) continue;
        for (const item of m[1].split(",")) used.add(item.trim().split(/\s+as\s+/)[0]);
      }
    }
    used.delete("");
    const name = file.slice(file.lastIndexOf("/") + 1);
    const out = buildSync({
      stdin: { contents: `export { ${[...used].sort().join(", ")} } from "./${name}";`, resolveDir: dirname(file), sourcefile: "exports.js" },
      bundle: true, write: false, minify: true, format: "esm", target: "es2020", platform: "neutral",
      sourcemap: "external", outfile: file,
    });
    const map = out.outputFiles.find((f) => f.path.endsWith(".map"));
    const code = out.outputFiles.find((f) => !f.path.endsWith(".map"));
    writeFileSync(file, `${code.text.replace(/\/\/# sourceMappingURL=.*\n?$/, "")}//# sourceMappingURL=${name}.map\n`);
    writeFileSync(`${file}.map`, map.text);
    written.push(file);
  }
  return written;
}

/** The `.js` files under `dir`, at any depth. */
function jsFiles(dir) {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((d) => d.isFile() && d.name.endsWith(".js"))
    .map((d) => join(d.parentPath ?? d.path, d.name));
}

/**
 * Minifies wasm-bindgen's glue from `from` into `to` (esbuild, no bundling: the snippet imports
 * stay), with a source map beside it that leads devtools and stack traces back to the readable
 * glue (`sourcesContent`).
 */
function minifyGlue(from, to) {
  const name = to.slice(to.lastIndexOf("/") + 1);
  const out = transformSync(readFileSync(from, "utf8"), {
    minify: true, format: "esm", target: "es2020", sourcemap: "external", sourcefile: name,
  });
  writeFileSync(to, `${out.code}//# sourceMappingURL=${name}.map\n`);
  writeFileSync(`${to}.map`, out.map);
}

/**
 * Finishes wasm-bindgen's `.d.ts`:
 * - Type parameters, which wasm-bindgen cannot declare. A binding states them in its TypeScript
 *   section as `// @eventfold-generics Class<...>` (a generic class) or
 *   `// @eventfold-generics Class.method<...>` (a generic method); each must match exactly one
 *   declaration, or the build fails (a renamed method cannot silently lose its types).
 * - `InitOutput` (what `init()` resolves to) keeps only `memory`: the rest lists the raw wasm
 *   exports, whose `any`-typed ABI no user calls.
 */
function declarations(text) {
  const directives = [];
  text = text.replace(/^\/\/ @eventfold-generics (\w+)(?:\.(\w+))?(<.+>)\n/gm, (_, cls, method, params) => {
    directives.push({ cls, method, params });
    return "";
  });
  // Methods first: a class directive changes the `export class X {` line they look for.
  directives.sort((a, b) => Number(!a.method) - Number(!b.method));
  for (const { cls, method, params } of directives) {
    const head = `export class ${cls} {`;
    const start = text.indexOf(head);
    if (start < 0 || text.indexOf(head, start + 1) >= 0) throw new Error(`@eventfold-generics: no single ${head}`);
    if (!method) {
      text = text.slice(0, start) + `export class ${cls}${params} {` + text.slice(start + head.length);
      continue;
    }
    const end = text.indexOf("\n}\n", start);
    const body = text.slice(start, end);
    const re = new RegExp(`^(\\s+(?:static )?)${method}\\(`, "gm");
    const hits = body.match(re) ?? [];
    if (hits.length !== 1) throw new Error(`@eventfold-generics: ${cls}.${method} declared ${hits.length} times`);
    text = text.slice(0, start) + body.replace(re, `$1${method}${params}(`) + text.slice(end);
  }
  const init = /export interface InitOutput \{\n[\s\S]*?\n\}\n/;
  if (!init.test(text)) throw new Error("no InitOutput declaration");
  return text.replace(init, "export interface InitOutput {\n    readonly memory: WebAssembly.Memory;\n}\n");
}
