// One conformance suite of HTTP exchanges (exchanges.mjs: the auth matrix, pushes, pulls in
// rows and columns, conflicts, stream reads, limits, gzip, the protocol fixtures, live) run
// against the native eventfold-server and against createSyncHandler in Node 22 (node:sqlite),
// Deno (node:sqlite, Deno.serve), Bun (bun:sqlite, Bun.serve) and workerd (a Durable Object per
// tenant on SQLite, tests/edge/worker.js), each started here from the packed package installed in
// this consumer project. Every handler's transcript must equal the native server's. Then a Node
// client syncs through the workerd Durable Object, and its events survive a restart of workerd.
// Run by scripts/test-package.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EventStore } from "eventfold";
import { MAX_BODY_BYTES, TOKENS, transcript } from "./exchanges.mjs";
import { prepareWorker, startWorkerd } from "./workerd.mjs";

const root = process.env.EVENTFOLD_ROOT;
const bin = (name) => join(root, "tests", "runtimes", "node_modules", ".bin", name);
const stops = [];
after(() => Promise.all(stops.map((s) => s())));

function start(cmd, args) {
  const child = spawn(cmd, args, { cwd: new URL(".", import.meta.url), stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" } });
  const stop = () => new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", resolve);
    child.kill("SIGINT");
    setTimeout(() => child.kill("SIGKILL"), 3000).unref();
  });
  stops.push(stop);
  return new Promise((resolve, reject) => {
    let text = "";
    const seen = (chunk) => {
      text += chunk;
      const m = /listening on (http:\/\/\S+)/.exec(text);
      if (m) resolve({ url: m[1].replace(/\/$/, ""), stop });
    };
    child.stdout.on("data", seen);
    child.stderr.on("data", seen);
    child.once("exit", (code) => reject(new Error(`${cmd} exited (${code}) before listening:\n${text}`)));
    setTimeout(() => reject(new Error(`${cmd} did not listen within 60 s:\n${text}`)), 60000).unref();
  });
}

const config = JSON.stringify({ tokens: TOKENS, limits: { maxBodyBytes: MAX_BODY_BYTES } });
let native;

test("the native eventfold-server answers the suite as the protocol says", async () => {
  const dir = mkdtempSync(join(tmpdir(), "eventfold-conformance-"));
  writeFileSync(join(dir, "tokens.json"), JSON.stringify({ tokens: TOKENS }));
  const server = await start(process.env.EVENTFOLD_SERVER_BIN, [
    "--db", join(dir, "db.sqlite"), "--listen", "127.0.0.1:0", "--tokens", join(dir, "tokens.json"),
    "--max-body-bytes", String(MAX_BODY_BYTES),
  ]);
  native = await transcript(server.url);
  await server.stop();
  const step = (name) => native.find((e) => e.step === name);
  assert.equal(step("health").status, 200);
  for (const name of ["pull auth none", "push auth basic", "stream auth unknown"]) assert.equal(step(name).status, 401, name);
  assert.equal(step("push order-1").body.results[0].ok?.version ?? step("push order-1").body.results[0].version, 2);
  assert.deepEqual(step("push retried").body, step("push order-1").body, "a retried push changes nothing");
  assert.equal(step("push cart by t-order").status, 403);
  assert.equal(step("pull cart by t-order").status, 403);
  assert.equal(step("pull other store").body.code, "CHECKPOINT_MISMATCH");
  assert.equal(step("not found").status, 404);
  assert.equal(step("wrong method").status, 405);
  assert.equal(step("not json").status, 415);
  assert.equal(step("too large").status, 413);
  assert.ok(step("pull gzip").gzip, "gzip when accepted");
  const fixtures = native.filter((e) => e.step.startsWith("fixture "));
  assert.ok(fixtures.length >= 25, `${fixtures.length} fixtures`);
  // Well-formed messages carrying a value the store contract refuses are INVALID_INPUT
  // (tests/protocol_fixtures.rs lists the same fixtures); the rest are malformed.
  const valueRules = new Set(["bad-expected-version", "raw-newline-in-string", "bad-event-id", "empty-event-type", "empty-stream-name"]
    .map((c) => `fixture push-request.${c}.json`));
  for (const f of fixtures) assert.deepEqual([f.status, f.body.code], [400, valueRules.has(f.step) ? "INVALID_INPUT" : "PROTOCOL_ERROR"], f.step);
  assert.deepEqual([step("live").status, step("live").event, step("live").type], [200, "head", "text/event-stream"]);
  // The live head of a narrow token is its scope's: 0 at first, then the position of its own
  // event, never a later one of another stream; a token reading everything hears the head.
  const inScope = step("push inside reader scope").body.results[0].ok.position;
  const head = step("push outside again").body.results[0].ok.position;
  assert.equal(step("live").body.head, 0, "a narrow token does not hear the global head");
  assert.ok(step("live all").body.head > 0, "a token reading everything hears the head");
  assert.equal(step("live scope moved").body.head, inScope);
  assert.equal(step("live all moved").body.head, head);
});

const runtimes = [
  ["Node 22 (node:sqlite, node:http)", bin("node"), ["--no-warnings", "serve.mjs", config]],
  ["Deno (node:sqlite, Deno.serve)", bin("deno"), ["run", "--no-prompt", "--allow-net=127.0.0.1", "serve.mjs", config]],
  ["Bun (bun:sqlite, Bun.serve)", bin("bun"), ["serve.mjs", config]],
];

for (const [name, cmd, args] of runtimes) {
  test(`createSyncHandler in ${name} answers every exchange as eventfold-server does`, async () => {
    assert.ok(native, "the native transcript ran first");
    const server = await start(cmd, args);
    const got = await transcript(server.url);
    await server.stop();
    assert.equal(got.length, native.length);
    for (let i = 0; i < native.length; i++) assert.deepEqual(got[i], native[i], `exchange ${native[i].step}`);
  });
}

test("createSyncHandler in workerd (a Durable Object per tenant on SQLite) answers every exchange as eventfold-server does", async () => {
  assert.ok(native, "the native transcript ran first");
  const worker = await prepareWorker(mkdtempSync(join(tmpdir(), "eventfold-workerd-")), { tokens: TOKENS, limits: { maxBodyBytes: MAX_BODY_BYTES } });
  const server = await startWorkerd(worker);
  try {
    const got = await transcript(`${server.url}/t/conformance`);
    assert.equal(got.length, native.length);
    for (let i = 0; i < native.length; i++) assert.deepEqual(got[i], native[i], `exchange ${native[i].step}`);
  } finally {
    await server.stop();
  }
});

test("a Node client syncs through a workerd Durable Object, and its events survive a restart of workerd", async () => {
  const worker = await prepareWorker(mkdtempSync(join(tmpdir(), "eventfold-workerd-")), { tokens: TOKENS });
  let server = await startWorkerd(worker);
  const a = await EventStore.inMemory();
  const syncA = a.sync({ url: `${server.url}/t/acme`, token: "t-order", scope: ["order-"] });
  await a.append("order-1", [{ type: "OrderCreated", data: { customerId: "c1" } }, { type: "ItemAdded", data: { qty: 2 } }], { expectedVersion: "no_stream" });
  await syncA.now();
  const before = await (await fetch(`${server.url}/t/acme/v1/health`)).json();
  assert.equal(before.head, 2);
  // Another tenant is another database.
  assert.equal((await (await fetch(`${server.url}/t/other/v1/health`)).json()).head, 0);
  syncA.stop();
  await server.stop();

  server = await startWorkerd(worker);
  try {
    const after = await (await fetch(`${server.url}/t/acme/v1/health`)).json();
    assert.deepEqual(after, before, "same store id and head after the restart");
    const b = await EventStore.inMemory();
    const syncB = b.sync({ url: `${server.url}/t/acme`, token: "t-reader", scope: ["order-"] });
    await syncB.now();
    const got = await b.readStream("order-1");
    assert.deepEqual(got.map((e) => [e.type, e.version, e.position]), [["OrderCreated", 1, 1], ["ItemAdded", 2, 2]]);
    assert.deepEqual(got.map((e) => e.id), (await a.readStream("order-1")).map((e) => e.id));
    syncB.stop();
  } finally {
    await server.stop();
  }
});
