// Bundles the peers that cannot be imported as they are published (RxDB: a CommonJS/ESM tree
// of packages) into .tmp/bench/, which bench/server.mjs serves. esbuild, minified, production.
import { build } from "esbuild";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Bundles every peer page; resolves when .tmp/bench/*.js are written. */
export async function bundlePeers() {
  await build({
    entryPoints: { rxdb: join(root, "bench/peers/rxdb.js") },
    outdir: join(root, ".tmp/bench"),
    bundle: true,
    format: "esm",
    minify: true,
    platform: "browser",
    target: "es2022",
    define: { "process.env.NODE_ENV": '"production"' },
    logLevel: "warning",
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await bundlePeers();
