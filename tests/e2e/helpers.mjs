// End-to-end harness: builds the demo app (www/, Vite) against the built package, starts the real
// eventfold-server on a temp SQLite file and a free loopback port (or, with `{ server: "workerd" }`,
// Cloudflare's workerd running the Worker of docs/edge.md: tenant "demo"'s Durable Object on a
// temp SQLite storage, as `npm run demo -- --edge` does), serves the app in front of it
// (www/serve.mjs, as `npm run demo` does), and drives Debian Chromium with one on-disk profile
// per "device" (tests/browser/harness.mjs).
import { mkdtempSync, rmSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "vite";
import { buildServer, startServer } from "../../scripts/eventfold-server.mjs";
import { serveApp } from "../../www/serve.mjs";
import { launch, profile } from "../browser/harness.mjs";
import { prepareWorker, startWorkerd } from "../edge/workerd.mjs";

export const root = fileURLToPath(new URL("../..", import.meta.url));
export const shots = join(root, ".tmp", "e2e");

/**
 * The sync servers the stack can run, each `(dir) => ({ start(port?) -> { url, stop() } })`:
 * `start()` with no port picks a free one; with a port, it starts again on the same data.
 */
const SERVERS = {
  "eventfold-server": async (dir) => {
    const bin = buildServer({ quiet: true });
    const db = join(dir, "data.sqlite");
    return {
      async start(port) {
        const server = await startServer({ bin, db, listen: `127.0.0.1:${port ?? 0}` });
        return { url: server.url, stop: server.stop };
      },
    };
  },
  workerd: async (dir) => {
    const worker = await prepareWorker(dir, { packageDir: join(root, "pkg") });
    return {
      async start(port) {
        const server = await startWorkerd(worker, { port });
        return { url: `${server.url}/t/demo`, stop: server.stop };
      },
    };
  },
};

/**
 * Builds the app and the sync server (`server`: "eventfold-server" or "workerd"), starts both;
 * `stop()` ends them and removes the server's data.
 */
export async function startStack({ server: kind = "eventfold-server" } = {}) {
  await build({ configFile: join(root, "www", "vite.config.js"), logLevel: "warn" });
  const dir = mkdtempSync(join(tmpdir(), "eventfold-e2e-"));
  const servers = await SERVERS[kind](dir);
  // Some loopback ports answer "403 resolve_deny" on this sandboxed machine (something outside
  // the project intercepts them): check the server answers as itself, through the app's
  // origin too, and take other ports when it does not.
  let server;
  let app;
  for (let attempt = 1; ; attempt++) {
    server = await servers.start();
    app = await serveApp({ api: server.url });
    if ((await isEventfold(server.url)) && (await isEventfold(app.url))) break;
    await app.close();
    await server.stop();
    if (attempt === 5) throw new Error(`${kind} is not reachable on loopback`);
  }
  const api = server.url;
  mkdirSync(shots, { recursive: true });
  return {
    url: app.url,
    api,
    /** Takes the sync server down (the app keeps being served). */
    stopServer: () => server.stop(),
    /** Starts it again on the same data and port. */
    async restartServer() {
      server = await servers.start(Number(new URL(api).port));
    },
    async stop() {
      await app.close();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Whether `base` answers GET /v1/health as an eventfold sync server does. */
async function isEventfold(base) {
  try {
    const r = await fetch(`${base}/v1/health`);
    return r.ok && typeof (await r.json()).store === "string";
  } catch {
    return false;
  }
}

/** A browser "device": its own on-disk profile (its own IndexedDB and service worker). */
export async function device(url) {
  const p = profile();
  const context = await launch(p.dir);
  const page = context.pages()[0] ?? (await context.newPage());
  const errors = [];
  page.on("pageerror", (e) => errors.push(e));
  // Failed sync requests, printed to help read a failing run.
  page.on("response", async (r) => {
    if (r.status() >= 400 && r.url().includes("/v1/")) {
      console.log(`# ${r.request().method()} ${r.url()} -> ${r.status()} ${(await r.text().catch(() => "")).slice(0, 200)}`);
    }
  });
  await page.setViewportSize({ width: 1280, height: 820 });
  await page.goto(`${url}/#/orders`);
  await ready(page);
  return {
    context, page, errors,
    async close() { await context.close(); p.remove(); },
  };
}

/** Waits until the app has opened its store and rendered. */
export async function ready(page) {
  await page.waitForSelector("body[data-ready=true]", { timeout: 15000 });
}

/** Waits until the service worker controls the page (so a reload works offline). */
export async function controlled(page) {
  await page.waitForFunction(async () => {
    await navigator.serviceWorker.ready;
    return navigator.serviceWorker.controller !== null;
  }, null, { timeout: 15000 });
}

/** Creates an order for `customer` through the UI; resolves to its stream ("order-…"). */
export async function createOrder(page, customer) {
  const before = await page.evaluate(() => location.hash);
  await page.fill("[data-testid=customer]", customer);
  await page.click("[data-testid=create]");
  await page.waitForFunction((before) => location.hash !== before && /#\/orders\/order-/.test(location.hash), before);
  await page.waitForFunction((c) => document.querySelector("[data-testid=detail-customer]")?.textContent === c, customer.trim());
  return page.evaluate(() => location.hash.split("/")[2]);
}

/** Adds an item to the open order through the UI and waits for it to show. */
export async function addItem(page, sku, qty, price) {
  await page.fill("[data-testid=sku]", sku);
  await page.fill("[data-testid=qty]", String(qty));
  await page.fill("[data-testid=price]", String(price));
  await page.click("[data-testid=add]");
  await page.waitForSelector(`[data-testid=line][data-sku="${sku}"]`);
}

/** The server's events of one stream, through its HTTP API. */
export async function serverStream(api, stream) {
  const r = await fetch(`${api}/v1/streams/${encodeURIComponent(stream)}`);
  if (r.status === 404) return [];
  if (!r.ok) throw new Error(`GET /v1/streams/${stream}: ${r.status} ${await r.text()}`);
  const body = await r.json();
  return body.events ?? [];
}

/** Whether the app runs with a sync client (the package has `store.sync`). */
export async function hasSync(page) {
  return (await page.getAttribute("[data-testid=sync-status]", "data-state")) !== "unavailable";
}

/** Waits until the app says it is online with nothing pending (no-op when local only). */
export async function synced(page, timeout = 15000) {
  try {
    await page.waitForFunction(() => {
      const s = document.querySelector("[data-testid=sync-status]");
      return s.dataset.state === "unavailable" || (s.dataset.state === "online" && s.dataset.pending === "0");
    }, null, { timeout });
  } catch (e) {
    const status = await page.evaluate(() => JSON.stringify(window.eventfoldDemo?.sync.client?.status));
    throw new Error(`not synced after ${timeout} ms: ${status}`, { cause: e });
  }
}

/** Clicks "Sync now" and waits until nothing is pending. */
export async function syncNow(page) {
  await page.click("[data-testid=sync-now]");
  await synced(page);
}
