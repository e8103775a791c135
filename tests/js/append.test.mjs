import { test } from "node:test";
import assert from "node:assert/strict";
import { isEventfoldError } from "eventfold";
import { ev, newStore, rejectsUnchanged } from "./helpers.mjs";

test("append returns the stream version and the global position", async () => {
  const s = await newStore();
  assert.deepEqual(await s.append("a", [ev("A", 1), ev("B", 2)], { expectedVersion: "no_stream" }), { version: 2, position: 2 });
  assert.deepEqual(await s.append("b", [ev("C", 3)]), { version: 1, position: 3 });
  assert.deepEqual(await s.append("a", [ev("D", 4)], { expectedVersion: 2 }), { version: 3, position: 4 });
  assert.equal(await s.streamVersion("a"), 3);
  assert.equal(await s.streamVersion("missing"), 0);
  assert.equal(await s.headPosition(), 4);
});

test("every expectedVersion form is checked and a mismatch writes nothing", async () => {
  const s = await newStore();
  await rejectsUnchanged(s, s.append("a", [ev("A")], { expectedVersion: "exists" }), "WRONG_EXPECTED_VERSION",
    { stream: "a", expected: "exists", actual: 0 });
  await s.append("a", [ev("A")], { expectedVersion: 0 });
  await rejectsUnchanged(s, s.append("a", [ev("A")], { expectedVersion: "no_stream" }), "WRONG_EXPECTED_VERSION",
    { stream: "a", expected: "no_stream", actual: 1 });
  await rejectsUnchanged(s, s.append("a", [ev("A"), ev("B")], { expectedVersion: 5 }), "WRONG_EXPECTED_VERSION",
    { stream: "a", expected: 5, actual: 1 });
  await s.append("a", [ev("B")], { expectedVersion: "exists" });
  await s.append("a", [ev("C")], { expectedVersion: "any" });
  await s.append("a", [ev("D")]);
  assert.equal(await s.streamVersion("a"), 4);
});

test("a retried append with the same ids returns the original result and writes no duplicates", async () => {
  const s = await newStore();
  const batch = [ev("A", { n: 1 }), ev("B", { n: 2 })];
  const first = await s.append("a", batch, { expectedVersion: "no_stream" });
  await s.append("other", [ev("X")]);
  assert.deepEqual(await s.append("a", batch, { expectedVersion: "no_stream" }), first);
  assert.equal((await s.readAll()).length, 3);
});

test("a reused id with other content, or in another stream, is EVENT_ID_CONFLICT", async () => {
  const s = await newStore();
  const e = ev("A", { n: 1 });
  await s.append("a", [e]);
  await rejectsUnchanged(s, s.append("a", [{ ...e, data: { n: 2 } }], { expectedVersion: "no_stream" }), "EVENT_ID_CONFLICT",
    { id: e.id, stream: "a" });
  await rejectsUnchanged(s, s.append("b", [e]), "EVENT_ID_CONFLICT", { id: e.id, stream: "b" });
});

test("errors are typed EventfoldErrors with a stack", async () => {
  const s = await newStore();
  try {
    await s.append("a", [ev("A")], { expectedVersion: "exists" });
    assert.fail("should reject");
  } catch (e) {
    assert.ok(isEventfoldError(e));
    assert.ok(e instanceof Error);
    assert.match(e.stack, /EventfoldError/);
    assert.equal(e.message, "stream a: expected version exists, found 0");
  }
  assert.equal(isEventfoldError(new Error("x")), false);
  assert.equal(isEventfoldError({ name: "EventfoldError", code: "X" }), false, "must be a real Error");
});

test("ids are generated when absent and kept when given", async () => {
  const s = await newStore();
  const id = crypto.randomUUID();
  await s.append("a", [{ type: "A", data: 1, id }, { type: "B" }]);
  const [a, b] = await s.readStream("a");
  assert.equal(a.id, id);
  assert.match(b.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(b.data, null, "absent data is null");
  assert.deepEqual(b.metadata, {}, "absent metadata is {}");
});

test("limits are configurable", async () => {
  const s = await newStore({ maxEventBytes: 100, maxBatchEvents: 3 });
  await s.append("a", [ev("A", "x".repeat(50))]);
  await rejectsUnchanged(s, s.append("a", [ev("A", "x".repeat(200))]), "INVALID_INPUT");
  await rejectsUnchanged(s, s.append("a", [ev("A"), ev("B"), ev("C"), ev("D")]), "INVALID_INPUT");
});
