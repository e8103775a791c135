// (e) Package size per entry: the wasm module and its JS glue, gzip -9, from pkg/sizes.json
// (written by scripts/build-pkg.mjs for every build of scripts/builds.mjs) against the entry's
// budget, plus the package's other JS files that a browser loads with it (the entry file,
// errors.js, entry.js, handler.js, wasm-bindgen snippets), measured here the same way.
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { gzipSync } from "node:zlib";
import { BUILDS } from "../scripts/builds.mjs";

function jsFiles(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = join(dir, d.name);
    if (d.isDirectory()) return jsFiles(p);
    return d.name.endsWith(".js") ? [p] : [];
  });
}

const measure = (pkg, f) => ({ file: relative(pkg, f), raw: statSync(f).size, gzip: gzipSync(readFileSync(f), { level: 9 }).length });

/**
 * Per build: `{ id, entry, budget, wasm, glue, total, met, others, loaded }`: `total` is wasm + glue
 * gzip (what the budget is for), `others` the other JS files a browser loads with that entry and
 * `loaded` the gzip bytes of all of them.
 */
export function packageSizes(pkg) {
  if (!existsSync(join(pkg, "sizes.json"))) throw new Error(`${pkg}/sizes.json is missing: run npm run build first`);
  const built = JSON.parse(readFileSync(join(pkg, "sizes.json"), "utf8")).builds ?? {};
  return BUILDS.filter((b) => built[b.id]).map((b) => {
    const { wasm, glue } = built[b.id];
    const others = [join(pkg, b.browser), join(pkg, "errors.js"), join(pkg, "entry.js"), join(pkg, "handler.js"),
      ...jsFiles(join(pkg, b.dir, "snippets"))]
      .filter(existsSync).map((f) => measure(pkg, f));
    const total = wasm.gzip + glue.gzip;
    return {
      id: b.id, entry: b.entry, dir: b.dir, budget: b.budget, wasm, glue, total, met: total <= b.budget,
      others, loaded: total + others.reduce((n, o) => n + o.gzip, 0),
    };
  });
}
