#!/usr/bin/env node
// `npm run size`: builds every wasm of the package (scripts/build-pkg.mjs; `--no-build` reuses the
// last build) and prints, per build, its gzip -9 size (wasm + JS glue) against its budget and the
// top contributors to its code by crate and by module, read from the name section that
// wasm-opt kept (`.tmp/size/<build>.wasm`; the shipped wasm is the same module without names).
//
//   npm run size                         build, then report (top 20)
//   node scripts/size.mjs --no-build     report on the last build
//   node scripts/size.mjs --no-build --top 40 --functions 30 --grep 'serde'
//     --top N: rows per table; --functions N: the N largest functions too;
//     --grep RE: the bytes and count of functions whose name matches RE, per build.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { BUILDS } from "./builds.mjs";
import { contributors, functionSizes, groupOf } from "./wasm-names.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const { values: opts } = parseArgs({
  options: {
    "no-build": { type: "boolean", default: false },
    top: { type: "string", default: "20" },
    functions: { type: "string", default: "0" },
    grep: { type: "string", multiple: true, default: [] },
  },
});
if (!opts["no-build"]) {
  execFileSync(process.execPath, [join(root, "scripts", "build-pkg.mjs")], { cwd: root, stdio: "inherit" });
}
const sizesFile = join(root, "pkg", "sizes.json");
if (!existsSync(sizesFile)) throw new Error("pkg/sizes.json is missing: run npm run build (or npm run size)");
const sizes = JSON.parse(readFileSync(sizesFile, "utf8")).builds;
const top = Number(opts.top);
const int = (n) => n.toLocaleString("en-US");
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
const pct = (n, of) => `${((100 * n) / of).toFixed(1)}%`.padStart(6);

function table(title, rows, code) {
  console.log(`\n  ${title}`);
  console.log(`  ${"bytes".padStart(9)} ${"share".padStart(6)} ${"fns".padStart(5)}  name`);
  for (const r of rows) {
    console.log(`  ${int(r.bytes).padStart(9)} ${pct(r.bytes, code)} ${String(r.functions).padStart(5)}  ${r.key}`);
  }
}

const summary = [];
for (const build of BUILDS) {
  const s = sizes[build.id];
  const named = join(root, ".tmp", "size", `${build.id}.wasm`);
  if (!s || !existsSync(named)) throw new Error(`build ${build.id} is missing: run npm run size without --no-build`);
  const gzip = s.wasm.gzip + s.glue.gzip;
  const { functions, other } = functionSizes(readFileSync(named));
  const code = functions.reduce((n, f) => n + f.bytes, 0);
  console.log(`\n=== ${build.entry} (build "${build.id}", pkg/${build.dir}): ${int(gzip)} bytes gzip = ${kib(gzip)} ` +
    `(wasm ${int(s.wasm.gzip)} + glue ${int(s.glue.gzip)}; snippets ${int(s.snippets?.gzip ?? 0)} more); budget ${kib(build.budget)}: ${gzip <= build.budget ? "met" : "NOT met"}`);
  console.log(`  raw wasm ${int(s.wasm.raw)} bytes: code ${int(code)} in ${int(functions.length)} functions, ` +
    other.filter((o) => o.bytes >= 1024).map((o) => `${o.section} ${int(o.bytes)}`).join(", "));
  table(`top ${top} by crate (raw code bytes)`, contributors(functions, "crate").slice(0, top), code);
  table(`top ${top} by module (raw code bytes)`, contributors(functions, "module").slice(0, top), code);
  if (Number(opts.functions) > 0) {
    console.log(`\n  largest ${opts.functions} functions`);
    for (const f of [...functions].sort((a, b) => b.bytes - a.bytes).slice(0, Number(opts.functions))) {
      console.log(`  ${int(f.bytes).padStart(9)}  ${f.name ?? "(unnamed)"}  [${groupOf(f.name).module}]`);
    }
  }
  for (const re of opts.grep) {
    const hits = functions.filter((f) => f.name !== null && new RegExp(re).test(f.name));
    const bytes = hits.reduce((n, f) => n + f.bytes, 0);
    console.log(`\n  /${re}/: ${int(bytes)} bytes (${pct(bytes, code).trim()} of code) in ${hits.length} functions`);
  }
  summary.push({ build, gzip });
}
console.log("\nentry                         gzip (wasm + glue)   budget      met");
for (const { build, gzip } of summary) {
  console.log(`${build.entry.padEnd(30)}${kib(gzip).padStart(12)}   ${kib(build.budget).padStart(10)}   ${gzip <= build.budget ? "yes" : "NO"}`);
}
