// The default import in a Web Worker and in a Service Worker, in Chromium: pkg/ is packed with
// `npm pack` and the tarball installed into a fresh app, as a user installs it; the app
// (tests/browser/workers/) is bundled by Vite, as the README's "any bundler" says; its module
// Web Worker and module Service Worker each `import { EventStore, isEventfoldError } from
// "eventfold"` with no init call, write to IndexedDB (read back by the page) and get a typed error.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "vite";
import { serveApp } from "../../www/serve.mjs";
import { launch, profile } from "./harness.mjs";

const root = fileURLToPath(new URL("../..", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "eventfold-workers-"));
const app = join(dir, "app");
let web;

before(async () => {
  const tarball = execFileSync("npm", ["pack", "--silent", "--pack-destination", dir], { cwd: join(root, "pkg"), encoding: "utf8" }).trim();
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "workers-app", private: true, type: "module" }));
  execFileSync("npm", ["install", "--silent", "--no-audit", "--no-fund", "--prefer-offline", join(dir, tarball)], { cwd: dir, stdio: "inherit" });
  assert.ok(lstatSync(join(dir, "node_modules", "eventfold")).isDirectory(), "the tarball is installed (not a link to pkg/)");
  mkdirSync(app);
  cpSync(new URL("./workers", import.meta.url), app, { recursive: true });
  await build({
    root: app,
    configFile: false,
    logLevel: "warn",
    build: {
      outDir: "dist",
      rollupOptions: {
        // The service worker is an entry of its own, served as /sw.js.
        input: { main: join(app, "index.html"), sw: join(app, "sw.js") },
        output: { entryFileNames: (chunk) => (chunk.name === "sw" ? "sw.js" : "assets/[name]-[hash].js") },
      },
    },
  });
  web = await serveApp({ api: "http://127.0.0.1:9", dist: join(app, "dist") });
});
after(async () => {
  await web?.close();
  rmSync(dir, { recursive: true, force: true });
});

test("a module Web Worker and a module Service Worker import the packed package with no init call", async () => {
  const p = profile();
  const context = await launch(p.dir);
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const errors = [];
    page.on("pageerror", (e) => errors.push(e));
    await page.goto(`${web.url}/`);
    await page.waitForFunction(() => window.ready === true);

    assert.deepEqual(await page.evaluate(() => window.check.webWorker()), { memory: 1, durable: 2, error: "WRONG_EXPECTED_VERSION" });
    assert.deepEqual(await page.evaluate(() => window.check.readBack("from-worker")),
      [["cart-w", 1, "ItemAdded", "worker"], ["cart-w", 2, "ItemAdded", "worker"]]);

    assert.deepEqual(await page.evaluate(() => window.check.serviceWorker()), { durable: 1, error: "INVALID_INPUT" });
    assert.deepEqual(await page.evaluate(() => window.check.readBack("from-service-worker")),
      [["cart-s", 1, "ItemAdded", "service worker"]]);
    assert.deepEqual(errors, []);
    // The wasm they loaded is the tarball's, emitted by the bundler as an asset.
    assert.ok(readdirSync(join(app, "dist", "assets")).some((f) => f.endsWith(".wasm")), "Vite emitted the wasm");
  } finally {
    await context.close();
    p.remove();
  }
});
