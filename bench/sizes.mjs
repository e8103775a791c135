// (e) Package size: the wasm module and its JS, raw and gzip -9, from pkg/sizes.json (written
// by scripts/build-pkg.mjs) plus the package's other JS files that a browser loads
// (index.js, errors.js, wasm-bindgen snippets), measured here the same way.
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { gzipSync } from "node:zlib";

function jsFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = join(dir, d.name);
    if (d.isDirectory()) return jsFiles(p);
    return d.name.endsWith(".js") ? [p] : [];
  });
}

/** `[{ file, raw, gzip }]` for pkg/: wasm, glue, the other JS files, then the total. */
export function packageSizes(pkg) {
  if (!existsSync(join(pkg, "sizes.json"))) throw new Error(`${pkg}/sizes.json is missing: run npm run build first`);
  const built = JSON.parse(readFileSync(join(pkg, "sizes.json"), "utf8"));
  const rows = [
    { file: "web/eventfold_bg.wasm", ...built.wasm },
    { file: "web/eventfold.js (wasm-bindgen glue)", ...built.glue },
  ];
  const others = [join(pkg, "index.js"), join(pkg, "errors.js"), ...jsFiles(join(pkg, "web", "snippets"))];
  for (const f of others) {
    rows.push({ file: relative(pkg, f), raw: statSync(f).size, gzip: gzipSync(readFileSync(f), { level: 9 }).length });
  }
  const sum = (k) => rows.reduce((n, r) => n + r[k], 0);
  rows.push({ file: "total", raw: sum("raw"), gzip: sum("gzip") });
  return rows;
}
