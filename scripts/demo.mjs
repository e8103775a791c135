#!/usr/bin/env node
// `npm run demo` (after scripts/setup and the package build): builds eventfold-server and the
// app, starts the server on embedded SQLite (.demo-data/, created if missing), serves the app on
// 127.0.0.1 with /v1/* forwarded to the server, and prints the URL. Ctrl-C stops both.
// Options (environment): DEMO_PORT (app, default 5173), DEMO_API_PORT (server, default 8787).
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "vite";
import { buildServer, startServer } from "./eventfold-server.mjs";
import { serveApp } from "../www/serve.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const started = Date.now();
const say = (text) => console.log(`\x1b[1m[demo]\x1b[0m ${text}`);

say("building eventfold-server (dev profile)");
const bin = buildServer();
say("building the app (www/, Vite)");
await build({ configFile: join(root, "www", "vite.config.js"), logLevel: "warn" });

const data = join(root, ".demo-data");
mkdirSync(data, { recursive: true });
const apiPort = Number(process.env.DEMO_API_PORT ?? 8787);
const appPort = Number(process.env.DEMO_PORT ?? 5173);
const fail = (message) => {
  console.error(`\n[demo] ${message}\n[demo] Another program uses the port? Choose others: DEMO_PORT=5174 DEMO_API_PORT=8788 npm run demo`);
  process.exit(1);
};
const server = await startServer({
  bin, db: join(data, "events.sqlite"), listen: `127.0.0.1:${apiPort}`,
  log: (line) => console.log(`  ${line}`),
}).catch((e) => fail(e.message));
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
server.child.once("exit", (code) => {
  if (stopping) return;
  console.error(`eventfold-server exited unexpectedly (${code})`);
  app.close().then(() => process.exit(1));
});

say(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
console.log(`
  App           ${app.url}
  Sync server   ${server.url}  (health: ${server.url}/v1/health; data in .demo-data/)

  Open the app, create orders, then turn the network off in devtools and keep working:
  everything stays in IndexedDB and syncs when you are back. Open it in a second browser
  profile to see two devices. Press Ctrl-C to stop.
`);
