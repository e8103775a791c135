#!/usr/bin/env node
// LiveStore probe (issue 15 item 5): not part of `npm run bench`, whose (a) budget (240 s per
// contender and repetition) LiveStore cannot meet here (docs/BENCHMARKS.md, "(5) Peers").
// Installs LiveStore (pinned, below) into .tmp/livestore/ on first use, not into the repo's
// node_modules: it is 147 packages (173 MB), and a change to package-lock.json makes
// scripts/setup (run by `npm test`) reinstall node_modules. Bundles bench/peers/livestore.js with its leader worker and shared worker (esbuild) into
// .tmp/bench/, copies wa-sqlite's wasm beside them, then, in headless Chromium on a fresh
// persistent profile: (a)'s first LIVESTORE_APPENDS appends of 100 events (default 100),
// timed as (a) times them, and in a new browser process a cold read of all of them ((d2)'s
// shape). `flock /tmp/browser.lock node bench/livestore.mjs`.
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { freshProfile, inBrowser } from "./browser.mjs";
import { startServer } from "./server.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const APPENDS = Number(process.env.LIVESTORE_APPENDS ?? 100);

const PREFIX = join(root, ".tmp/livestore");
/**
 * LiveStore 0.4.0 and its peers. `@opentelemetry/api` is pinned to the 1.9.0 LiveStore itself
 * depends on: left to npm, the peers resolve 1.10.0, which `@opentelemetry/resources` refuses.
 */
const PACKAGES = { "@livestore/livestore": "0.4.0", "@livestore/adapter-web": "0.4.0", "@opentelemetry/api": "1.9.0" };

/** Installs PACKAGES into .tmp/livestore/ unless they are there. */
export function installLiveStore() {
  if (existsSync(join(PREFIX, "node_modules/@livestore/adapter-web/package.json"))) return;
  mkdirSync(PREFIX, { recursive: true });
  writeFileSync(join(PREFIX, "package.json"), JSON.stringify({ private: true, dependencies: PACKAGES }, null, 2));
  execFileSync("npm", ["install", "--no-audit", "--no-fund"], { cwd: PREFIX, stdio: "inherit" });
}

/** Bundles the LiveStore page module and its two workers; copies wa-sqlite.wasm beside them. */
export async function bundleLiveStore() {
  await build({
    entryPoints: {
      livestore: join(root, "bench/peers/livestore.js"),
      "livestore-worker": join(root, "bench/peers/livestore-worker.js"),
      "livestore-shared-worker": "@livestore/adapter-web/shared-worker",
    },
    outdir: join(root, ".tmp/bench"),
    bundle: true,
    format: "esm",
    minify: true,
    platform: "browser",
    target: "es2022",
    define: { "process.env.NODE_ENV": '"production"' },
    logLevel: "warning",
    nodePaths: [join(PREFIX, "node_modules")],
  });
  // wa-sqlite finds its wasm with `new URL("wa-sqlite.wasm", import.meta.url)`.
  const require = createRequire(join(PREFIX, "package.json"));
  const wasm = join(dirname(require.resolve("@livestore/wa-sqlite/dist/wa-sqlite.mjs")), "wa-sqlite.wasm");
  mkdirSync(join(root, ".tmp/bench"), { recursive: true });
  copyFileSync(wasm, join(root, ".tmp/bench/wa-sqlite.wasm"));
}

async function main() {
  if (!Number.isInteger(APPENDS) || APPENDS < 1 || APPENDS > 1000) throw new Error("LIVESTORE_APPENDS: 1..1000");
  installLiveStore();
  const t0 = Date.now();
  await bundleLiveStore();
  console.log(`bundled in ${Date.now() - t0} ms`);
  const server = await startServer(root);
  const url = `${server.url}/bench/pages/index.html`;
  const profile = freshProfile();
  try {
    const write = await inBrowser(profile.dir, url, (page) => page.evaluate(async (appends) => {
      const { DATASETS } = await import("/bench/data.js");
      const { livestore } = await import("/.tmp/bench/livestore.js");
      const batches = DATASETS.bulk().groups[0].slice(0, appends);
      const o0 = performance.now();
      const h = await livestore.open("bench");
      const openMs = performance.now() - o0;
      const w0 = performance.now();
      for (const b of batches) await livestore.append(h, b.stream, b.events);
      const ms = performance.now() - w0;
      const count = await livestore.count(h);
      await livestore.close(h);
      return { openMs, ms, events: appends * 100, count };
    }, APPENDS), { timeoutMs: 1_200_000, label: "LiveStore write" });
    if (write.count !== write.events) throw new Error(`wrote ${write.events} events, the store holds ${write.count}`);
    console.log(`write: ${write.events} events in ${APPENDS} appends of 100: ${write.ms.toFixed(0)} ms, ${Math.round(write.events / (write.ms / 1000))} events/s (open ${write.openMs.toFixed(0)} ms)`);
    const read = await inBrowser(profile.dir, url, (page) => page.evaluate(async () => {
      const { livestore } = await import("/.tmp/bench/livestore.js");
      const o0 = performance.now();
      const h = await livestore.open("bench");
      const openMs = performance.now() - o0;
      const r0 = performance.now();
      const events = await livestore.readAll(h);
      const ms = performance.now() - r0;
      const ordered = events.every((e, i) => e.position === i + 1);
      await livestore.close(h);
      return { openMs, ms, events: events.length, ordered };
    }), { timeoutMs: 600_000, label: "LiveStore readAll" });
    if (read.events !== write.events || !read.ordered) throw new Error(`read ${read.events} events (ordered: ${read.ordered})`);
    console.log(`cold readAll: ${read.events} events in ${read.ms.toFixed(1)} ms, ${Math.round(read.events / (read.ms / 1000))} events/s; cold open (boot: the state database loaded into the page) ${read.openMs.toFixed(0)} ms`);
  } finally {
    profile.remove();
    await server.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    console.error(`livestore probe failed: ${e.stack ?? e.message}`);
    process.exit(1);
  });
}
