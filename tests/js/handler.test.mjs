// createSyncHandler called directly with Fetch Requests (no HTTP server): its argument errors and
// what it writes to its store. The protocol itself is tests/conformance's (every exchange
// compared with eventfold-server in Node 22, Deno, Bun and workerd).
import { test } from "node:test";
import assert from "node:assert/strict";
import { EventStore, createSyncHandler, isEventfoldError } from "eventfold";

const json = (path, body, headers = {}) =>
  new Request(`http://127.0.0.1${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });

test("a missing store or bad tokens are INVALID_INPUT", async () => {
  for (const bad of [undefined, {}, { store: 1 }, { store: {} }]) {
    assert.throws(() => createSyncHandler(bad), (e) => isEventfoldError(e) && e.code === "INVALID_INPUT" && /store/.test(e.message));
  }
  const store = await EventStore.inMemory();
  for (const tokens of [{ "": { read: [""] } }, { t: { read: "all" } }, "t"]) {
    assert.throws(() => createSyncHandler({ store, tokens }), { name: "EventfoldError", code: "INVALID_INPUT" });
  }
  assert.throws(() => createSyncHandler({ store, limits: { maxPull: -1 } }), { code: "INVALID_INPUT" });
});

test("a push through the handler lands in the store; a forbidden one writes nothing", async () => {
  const store = await EventStore.inMemory();
  const handle = createSyncHandler({ store, tokens: { w: { read: [""], write: ["order-"] } } });
  const events = [{ id: crypto.randomUUID(), type: "OrderCreated", data: { c: 1 }, metadata: {} }];
  const ok = await handle(json("/v1/push", { v: 1, streams: [{ stream: "order-1", expectedVersion: "no_stream", events }] }, { authorization: "Bearer w" }));
  assert.equal(ok.status, 200);
  assert.deepEqual((await ok.json()).results[0].ok, { version: 1, position: 1 });
  assert.deepEqual((await store.readStream("order-1")).map((e) => e.id), [events[0].id]);
  const denied = await handle(json("/v1/push", { v: 1, streams: [{ stream: "cart-1", expectedVersion: "any", events: [{ ...events[0], id: crypto.randomUUID() }] }] }, { authorization: "Bearer w" }));
  assert.equal(denied.status, 403);
  assert.equal((await denied.json()).code, "FORBIDDEN");
  assert.equal(await store.headPosition(), 1, "nothing written");
});

test("open mode answers only rebind-safe hosts, like eventfold-server", async () => {
  const handle = createSyncHandler({ store: await EventStore.inMemory() });
  assert.equal((await handle(new Request("http://127.0.0.1:8787/v1/health"))).status, 200);
  const evil = await handle(new Request("http://evil.example/v1/health"));
  assert.equal(evil.status, 403);
  assert.equal((await evil.json()).code, "FORBIDDEN");
});

test("the live stream announces the head at once and after each append", async () => {
  const store = await EventStore.inMemory();
  const handle = createSyncHandler({ store });
  const res = await handle(new Request("http://127.0.0.1/v1/live"));
  assert.equal(res.headers.get("content-type"), "text/event-stream");
  const reader = res.body.getReader();
  const next = async () => {
    let text = "";
    while (!text.endsWith("\n\n")) text += new TextDecoder().decode((await reader.read()).value);
    return JSON.parse(/data: (.*)\n/.exec(text)[1]).head;
  };
  assert.equal(await next(), 0);
  await store.append("s", [{ type: "A" }]);
  assert.equal(await next(), 1);
  await reader.cancel();
});

// (In this file, not input.test.mjs, which also runs against eventfold/core: no sync handler there.)
test("a bad store or sync handler option is INVALID_INPUT naming its field; absent ones are defaults", async () => {
  const names = (field) => (e) => e.name === "EventfoldError" && e.code === "INVALID_INPUT" && e.message.includes(field);
  await assert.rejects(EventStore.inMemory({ maxEventBytes: -1 }), names("maxEventBytes"));
  await assert.rejects(EventStore.inMemory({ maxBatchEvents: 2.5 }), names("maxBatchEvents"));
  await assert.rejects(EventStore.inMemory({ maxBatchEvents: "10" }), names("maxBatchEvents"));
  await assert.rejects(EventStore.inMemory([]), names("options"));
  // The limits given are the limits applied; undefined and null mean the default.
  const small = await EventStore.inMemory({ maxBatchEvents: 2, maxEventBytes: undefined });
  await assert.rejects(small.append("a", [{ type: "A", data: {} }, { type: "A", data: {} }, { type: "A", data: {} }]), { code: "INVALID_INPUT" });
  assert.equal((await small.append("a", [{ type: "A", data: {} }, { type: "A", data: {} }])).version, 2);
  assert.ok(await EventStore.inMemory({ maxEventBytes: null }));
  const store = await EventStore.inMemory();
  assert.throws(() => createSyncHandler({ store, limits: { maxPull: "all" } }), (e) => names("limits")(e) && names("maxPull")(e));
  assert.throws(() => createSyncHandler({ store, limits: { maxBodyBytes: -5 } }), names("maxBodyBytes"));
  const handler = createSyncHandler({ store, limits: { maxBodyBytes: 64, defaultPull: undefined } });
  const res = await handler(new Request("http://127.0.0.1/v1/push", {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ v: 1, streams: [] }) + " ".repeat(100),
  }));
  assert.equal(res.status, 413, "maxBodyBytes applied");
});
