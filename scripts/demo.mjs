#!/usr/bin/env node
// `npm run demo` (after scripts/setup and the package build): builds eventfold-server and the
// app, starts the server on embedded SQLite (.demo-data/, created if missing), serves the app on
// 127.0.0.1 with /v1/* forwarded to the server, and prints the URL. Ctrl-C stops both.
// `npm run demo -- --edge`: the sync server is Cloudflare's workerd (npm `workerd`, from
// tests/runtimes) running the Worker of docs/edge.md (tests/edge/worker.js, bundled from pkg/ as
// wrangler would): the app syncs with tenant "demo"'s Durable Object, a durable SQLite store in
// .demo-data/workerd/.
// Options (environment): DEMO_PORT (app, default 5173), DEMO_API_PORT (server, default 8787).
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "vite";
import { buildServer, startServer } from "./eventfold-server.mjs";
import { prepareWorker, startWorkerd } from "../tests/edge/workerd.mjs";
import { serveApp } from "../www/serve.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const started = Date.now();
const say = (text) => console.log(`\x1b[1m[demo]\x1b[0m ${text}`);
const edge = process.argv.includes("--edge");
const unknown = process.argv.slice(2).filter((a) => a !== "--edge");
if (unknown.length) {
  console.error(`[demo] unknown option ${unknown[0]}; the one option is --edge (sync through workerd)`);
  process.exit(2);
}

const data = join(root, ".demo-data");
mkdirSync(data, { recursive: true });
const apiPort = Number(process.env.DEMO_API_PORT ?? 8787);
const appPort = Number(process.env.DEMO_PORT ?? 5173);
const fail = (message) => {
  console.error(`\n[demo] ${message}\n[demo] Another program uses the port? Choose others: DEMO_PORT=5174 DEMO_API_PORT=8788 npm run demo`);
  process.exit(1);
};

/** Starts the sync server: `{ url, stop(), exited: Promise }`. */
async function startSync() {
  if (edge) {
    say("bundling the Worker + Durable Object of docs/edge.md for workerd");
    const worker = await prepareWorker(join(data, "workerd"), { packageDir: join(root, "pkg") });
    const server = await startWorkerd(worker, { port: apiPort });
    return { url: `${server.url}/t/demo`, stop: server.stop, exited: server.exited, name: "workerd" };
  }
  say("building eventfold-server (dev profile)");
  const bin = buildServer();
  const server = await startServer({
    bin, db: join(data, "events.sqlite"), listen: `127.0.0.1:${apiPort}`,
    log: (line) => console.log(`  ${line}`),
  });
  return { url: server.url, stop: server.stop, exited: new Promise((r) => server.child.once("exit", r)), name: "eventfold-server" };
}

say("building the app (www/, Vite)");
await build({ configFile: join(root, "www", "vite.config.js"), logLevel: "warn" });
const server = await startSync().catch((e) => fail(e.message));
let app;
try {
  app = await serveApp({ api: server.url, port: appPort });
} catch (e) {
  await server.stop();
  fail(`cannot serve the app on 127.0.0.1:${appPort}: ${e.message}`);
}

let stopping = false;
async function stop(signal) {
  if (stopping) return;
  stopping = true;
  say(`${signal}: stopping`);
  await app.close();
  await server.stop();
  say("stopped");
  process.exit(0);
}
process.on("SIGINT", () => stop("SIGINT"));
process.on("SIGTERM", () => stop("SIGTERM"));
process.on("SIGHUP", () => stop("SIGHUP"));
server.exited.then((code) => {
  if (stopping) return;
  console.error(`${server.name} exited unexpectedly (${code})`);
  app.close().then(() => process.exit(1));
});

say(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
console.log(`
  App           ${app.url}
  Sync server   ${server.url}  (${edge ? "workerd, a Durable Object per tenant; " : ""}health: ${server.url}/v1/health; data in .demo-data/)

  Open the app, create orders, then turn the network off in devtools and keep working:
  everything stays in IndexedDB and syncs when you are back. Open it in a second browser
  profile to see two devices. Press Ctrl-C to stop.
`);
