// wrangler itself (npm `wrangler`, from tests/runtimes, run by Node 22) bundles the Worker of
// docs/edge.md (its wrangler.toml, read from the doc, and worker.js) from this consumer project,
// where the packed package is installed: `wrangler deploy --dry-run` resolves "eventfold" to the
// package's workerd entry and emits the wasm as a module. Then workerd runs what wrangler wrote
// (not our own esbuild bundle), and a tenant's Durable Object answers a push and a pull.
// Run by scripts/test-package (EVENTFOLD_ROOT: the repository).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startWorkerd } from "./workerd.mjs";

const root = process.env.EVENTFOLD_ROOT;
const here = fileURLToPath(new URL(".", import.meta.url));
const runtimes = join(root, "tests", "runtimes", "node_modules");

test("wrangler bundles the Worker of docs/edge.md from the packed package, and workerd runs its bundle", async () => {
  const toml = /```toml\n([\s\S]*?)```/.exec(readFileSync(join(root, "docs", "edge.md"), "utf8"))?.[1];
  assert.match(toml ?? "", /new_sqlite_classes = \["Tenant"\]/, "docs/edge.md has the wrangler.toml");
  // The project lives inside this consumer, so "eventfold" resolves to its node_modules.
  const project = mkdtempSync(join(here, "wrangler-app-"));
  const config = mkdtempSync(join(tmpdir(), "eventfold-wrangler-config-"));
  let server;
  try {
    mkdirSync(join(project, "src"));
    writeFileSync(join(project, "wrangler.toml"), toml);
    cpSync(join(here, "worker.js"), join(project, "src", "worker.js"));
    execFileSync(join(runtimes, ".bin", "node"), [join(runtimes, "wrangler", "bin", "wrangler.js"), "deploy", "--dry-run", "--outdir", "out"], {
      cwd: project, stdio: ["ignore", "pipe", "inherit"],
      // No account, no metrics, its logs and config in a temporary folder.
      env: { ...process.env, CI: "1", WRANGLER_SEND_METRICS: "false", XDG_CONFIG_HOME: config, WRANGLER_LOG_PATH: config },
    });
    const out = join(project, "out");
    const wasm = readdirSync(out).filter((f) => f.endsWith(".wasm"));
    assert.equal(wasm.length, 1, `one wasm module in wrangler's output: ${readdirSync(out)}`);
    const bundle = readFileSync(join(out, "worker.js"), "utf8");
    const imported = new RegExp(`from\\s*"\\.?/?(${wasm[0].replace(/[.*+?^${}()|[\]\\]/g, "\\$&")})"`).exec(bundle)?.[1];
    assert.equal(imported, wasm[0], "the bundle imports the wasm as a module (the workerd entry)");
    assert.ok(!bundle.includes("eventfold_bg.wasm\", import.meta.url"), "no fetch of the wasm by URL");

    // workerd on wrangler's output: the same config as the other workerd tests.
    const dir = join(project, "workerd");
    mkdirSync(join(dir, "web"), { recursive: true });
    mkdirSync(join(dir, "storage"));
    cpSync(join(out, "worker.js"), join(dir, "worker.js"));
    cpSync(join(out, wasm[0]), join(dir, "web", "eventfold_bg.wasm"));
    server = await startWorkerd({ dir, wasmImport: wasm[0] });
    const post = (path, body) => fetch(`${server.url}/t/acme${path}`, {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body),
    }).then(async (r) => [r.status, await r.json()]);
    const [status, pushed] = await post("/v1/push", { v: 1, streams: [{ stream: "order-1", expectedVersion: 0,
      events: [{ id: "0b0f7a4e-7d3a-4c2e-9e36-7f6c1c0d9a11", type: "OrderCreated", data: { customerId: "c1" }, metadata: {} }] }] });
    assert.equal(status, 200);
    assert.deepEqual(pushed.results, [{ stream: "order-1", ok: { version: 1, position: 1 } }]);
    const [, pulled] = await post("/v1/pull", { v: 1, after: null });
    assert.deepEqual(pulled.events.map((e) => [e.id, e.stream, e.version, e.type]),
      [["0b0f7a4e-7d3a-4c2e-9e36-7f6c1c0d9a11", "order-1", 1, "OrderCreated"]]);
  } finally {
    await server?.stop();
    rmSync(project, { recursive: true, force: true });
    rmSync(config, { recursive: true, force: true });
  }
});
