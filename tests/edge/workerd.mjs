// Starts Cloudflare's workerd (npm `workerd`, from tests/runtimes) on worker.js: the Worker of
// docs/edge.md, bundled from this consumer project as wrangler would (esbuild with the
// workerd/worker/browser conditions, so `import "eventfold"` resolves to the package's workerd
// entry, and the wasm kept as a module that workerd compiles), one Durable Object per tenant
// with SQLite storage on local disk (`enableSql`, `durableObjectStorage = (localDisk = ...)`).
// Used by the conformance suite (from the consumer project of scripts/test-package, on the
// packed tarball), the browser and end-to-end tests, the demo's --edge mode and the edge
// benchmark (from the repository, on pkg/).
import { spawn } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

// The repository (tests/runtimes holds workerd, node_modules esbuild): EVENTFOLD_ROOT where this
// file is copied into a consumer project, else two folders up.
const root = process.env.EVENTFOLD_ROOT ?? fileURLToPath(new URL("../..", import.meta.url));
const here = fileURLToPath(new URL(".", import.meta.url));

async function freePort() {
  const server = createServer();
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

/**
 * Bundles worker.js into `dir` and writes its workerd config there; the Durable Objects' SQLite
 * files go to `dir`/storage, so a worker prepared again in the same `dir` finds them.
 * `packageDir`: the eventfold package to bundle (default: the one installed beside this file,
 * as in the consumer project; the repository passes its pkg/).
 */
export async function prepareWorker(dir, { tokens, limits, packageDir = join(here, "node_modules", "eventfold") } = {}) {
  const { build } = await import(pathToFileURL(join(root, "node_modules", "esbuild", "lib", "main.js")));
  mkdirSync(join(dir, "web"), { recursive: true });
  mkdirSync(join(dir, "storage"), { recursive: true });
  // `import "eventfold"` resolves to packageDir as an installed package (its exports map and
  // conditions), whatever node_modules lie around worker.js.
  mkdirSync(join(dir, "modules"), { recursive: true });
  rmSync(join(dir, "modules", "eventfold"), { force: true });
  symlinkSync(packageDir, join(dir, "modules", "eventfold"), "dir");
  await build({
    entryPoints: [join(here, "worker.js")],
    outfile: join(dir, "worker.js"),
    bundle: true,
    format: "esm",
    platform: "neutral",
    conditions: ["workerd", "worker", "browser"],
    nodePaths: [join(dir, "modules")],
    external: ["cloudflare:*", "*.wasm"],
    logLevel: "error",
  });
  const bundle = readFileSync(join(dir, "worker.js"), "utf8");
  const wasmImport = /from\s*"([^"]*eventfold_bg\.wasm)"/.exec(bundle)?.[1];
  if (!wasmImport) throw new Error("the bundle imports no eventfold_bg.wasm: the workerd condition was not used");
  cpSync(join(packageDir, "web", "eventfold_bg.wasm"), join(dir, "web", "eventfold_bg.wasm"));
  return { dir, wasmImport: wasmImport.replace(/^\.\//, ""), tokens, limits };
}

/**
 * Starts workerd on a prepared worker, on `port` (default: a free one); resolves to
 * `{ url, stop(), exited, log() }` once it answers (`exited`: a promise of its exit code or signal).
 */
export async function startWorkerd({ dir, wasmImport, tokens, limits }, { port } = {}) {
  port ??= await freePort();
  const json = (name, value) => (value ? `(name = "${name}", json = ${JSON.stringify(JSON.stringify(value))}),` : "");
  const tokenBinding = json("TOKENS", tokens) + json("LIMITS", limits);
  writeFileSync(join(dir, "config.capnp"), `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    (name = "storage", disk = (path = ${JSON.stringify(join(dir, "storage"))}, writable = true)),
  ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);

const worker :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "worker.js"),
    (name = ${JSON.stringify(wasmImport)}, wasm = embed "web/eventfold_bg.wasm"),
  ],
  compatibilityDate = "2025-09-01",
  durableObjectNamespaces = [ (className = "Tenant", uniqueKey = "eventfold-tenants", enableSql = true) ],
  durableObjectStorage = (localDisk = "storage"),
  bindings = [ ${tokenBinding} (name = "TENANTS", durableObjectNamespace = "Tenant") ],
);
`);
  const bin = join(root, "tests", "runtimes", "node_modules", ".bin", "workerd");
  // Its own process group: a terminal's Ctrl-C reaches only the parent, which stops it in order.
  const child = spawn(bin, ["serve", join(dir, "config.capnp")], { stdio: ["ignore", "pipe", "pipe"], detached: true });
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal)));
  let log = "";
  child.stdout.on("data", (c) => (log += c));
  child.stderr.on("data", (c) => (log += c));
  // Whatever ends this process (a failed test, process.exit) ends workerd too.
  const orphanGuard = () => child.kill("SIGKILL");
  process.once("exit", orphanGuard);
  child.once("exit", () => process.off("exit", orphanGuard));
  const stop = () => new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", resolve);
    child.kill("SIGTERM");
    setTimeout(() => child.kill("SIGKILL"), 3000).unref();
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`workerd exited (${child.exitCode}):\n${log}`);
    try {
      const res = await fetch(`${url}/t/probe/v1/health`);
      if (res.status !== 404 || (await res.text()) !== "not found") return { url, stop, exited, log: () => log };
    } catch {}
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`workerd did not answer within 30 s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
