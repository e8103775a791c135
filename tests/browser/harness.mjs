// Test harness for browser tests: a static server over the repository (so pages import the
// built package from /pkg/ exactly as an app would) and Debian Chromium driven by
// playwright-core with an on-disk profile (launchPersistentContext: IndexedDB is durable, as
// for a user; a plain newContext() would keep it in memory).
import { createServer, request } from "node:http";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const root = fileURLToPath(new URL("../..", import.meta.url));
const TYPES = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".mjs": "text/javascript",
  ".wasm": "application/wasm", ".json": "application/json", ".css": "text/css",
};
export const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];

/**
 * Serves the repository root on 127.0.0.1 at a free port. With `{ api: () => url }`, requests
 * to `/v1/…` are passed through (streamed, bytes unchanged) to that sync server, so pages
 * reach it on their own origin; a path in `url` is kept as a prefix (a workerd tenant:
 * `http://127.0.0.1:PORT/t/acme` gets `/t/acme/v1/…`).
 */
export async function serve({ api } = {}) {
  const server = createServer((req, res) => {
    if (api && req.url.startsWith("/v1/")) return pass(api(), req, res);
    const path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname));
    const file = join(root, path.endsWith("/") ? `${path}index.html` : path);
    if (!file.startsWith(root)) return res.writeHead(403).end();
    try {
      if (!statSync(file).isFile()) throw new Error("not a file");
      res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream", "cache-control": "no-store" });
      res.end(readFileSync(file));
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${server.address().port}`;
  return { url, close: () => new Promise((r) => server.close(r)) };
}

/** Streams `req` to the server at `target` and its answer back. */
function pass(target, req, res) {
  const t = new URL(target);
  const out = request({ host: t.hostname, port: t.port, method: req.method, path: t.pathname.replace(/\/$/, "") + req.url,
    headers: { ...req.headers, host: t.host } }, (answer) => {
    res.writeHead(answer.statusCode, answer.headers);
    answer.pipe(res);
  });
  out.on("error", () => res.destroy());
  res.on("close", () => out.destroy());
  req.pipe(out);
}

/** A fresh on-disk Chromium profile directory; `remove()` deletes it. */
export function profile() {
  const dir = mkdtempSync(join(tmpdir(), "eventfold-profile-"));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Launches Chromium on `dir` (persistent context). */
export function launch(dir) {
  return chromium.launchPersistentContext(dir, {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: CHROMIUM_ARGS,
  });
}

/**
 * The entry the store tests import: EVENTFOLD_ENTRY=core or sync (scripts/test runs the store
 * and README tests once per entry) loads that entry's page instead of the full package's.
 */
export const ENTRY = process.env.EVENTFOLD_ENTRY ?? null;

/**
 * Opens a test page of tests/browser/pages (`index.html` by default, or with EVENTFOLD_ENTRY set
 * `entry.html` on that entry) in `context`: it imports the package and exposes it as
 * `window.eventfold`.
 */
export async function openPage(context, url, name = ENTRY ? `entry.html?entry=${ENTRY}` : "index.html") {
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e));
  await page.goto(`${url}/tests/browser/pages/${name}`);
  await page.waitForFunction(() => window.eventfold !== undefined);
  page.errors = errors;
  return page;
}

/**
 * Bundles Emmett (the root devDependency, with its CommonJS dependencies) into one browser ES
 * module at /.tmp/browser/emmett.js, the way Vite pre-bundles an app's dependencies: pages map
 * `@event-driven-io/emmett` to it with an import map (pages/emmett.html).
 */
export async function bundleEmmett() {
  const { build } = await import("esbuild");
  await build({
    stdin: { contents: `export * from "@event-driven-io/emmett";`, resolveDir: root, loader: "js" },
    bundle: true, format: "esm", platform: "browser", target: "es2022", minify: true, logLevel: "warning",
    outfile: join(root, ".tmp", "browser", "emmett.js"),
  });
}
