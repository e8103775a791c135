import { test } from "node:test";
import assert from "node:assert/strict";
import { ev, newStore, waitFor } from "./helpers.mjs";

const tick = () => new Promise((r) => setTimeout(r, 5));

test("a subscription catches up, then delivers live appends in order, filtered", async () => {
  const s = await newStore();
  await s.append("order-1", [ev("A"), ev("B")]);
  await s.append("cart-1", [ev("C")]);
  const seen = [];
  const sub = s.subscribe({ after: 1, streamPrefix: "order-" }, (events) => {
    seen.push(...events.map((e) => e.position));
  });
  await tick();
  assert.deepEqual(seen, [2], "catch-up starts after the checkpoint");
  await s.append("cart-1", [ev("D")]);
  await s.append("order-2", [ev("E"), ev("F")]);
  await tick();
  assert.deepEqual(seen, [2, 5, 6]);
  assert.equal(sub.checkpoint, 6);
  sub.close();
  await s.append("order-3", [ev("G")]);
  await tick();
  assert.deepEqual(seen, [2, 5, 6], "nothing after close");
  assert.equal(sub.closed, true);
});

test("type filters and batch size are honoured", async () => {
  const s = await newStore();
  for (let i = 0; i < 25; i++) await s.append("s", [ev(i % 5 ? "Keep" : "Skip", i)]);
  const batches = [];
  const sub = s.subscribe({ types: ["Keep"], batchSize: 7 }, (events) => batches.push(events.map((e) => e.data)));
  await tick();
  assert.ok(batches.every((b) => b.length <= 7));
  assert.deepEqual(batches.flat(), Array.from({ length: 25 }, (_, i) => i).filter((i) => i % 5));
  sub.close();
});

test("an async callback is awaited before the next batch", async () => {
  const s = await newStore();
  const log = [];
  const sub = s.subscribe({ batchSize: 1 }, async (events) => {
    log.push(`start ${events[0].position}`);
    await tick();
    log.push(`end ${events[0].position}`);
  });
  await s.append("s", [ev("A"), ev("B")]);
  await waitFor(() => log.length >= 4, 5000, "both batches");
  assert.deepEqual(log, ["start 1", "end 1", "start 2", "end 2"]);
  sub.close();
});

test("a throwing callback stops the subscription and reaches onError", async () => {
  const s = await newStore();
  const errors = [];
  let calls = 0;
  const sub = s.subscribe({ onError: (e) => errors.push(e) }, () => {
    calls++;
    throw new Error("boom");
  });
  await s.append("s", [ev("A")]);
  await tick();
  await s.append("s", [ev("B")]);
  await tick();
  assert.equal(calls, 1);
  assert.equal(errors.length, 1);
  assert.equal(errors[0].message, "boom");
  assert.equal(sub.closed, true);
});

test("many subscribers each get every event once", async () => {
  const s = await newStore();
  const seen = [[], [], []];
  const subs = seen.map((arr) => s.subscribe({}, (events) => arr.push(...events.map((e) => e.position))));
  await Promise.all(Array.from({ length: 20 }, (_, i) => s.append(`s-${i % 4}`, [ev("E", i)])));
  await tick();
  for (const arr of seen) assert.deepEqual(arr, Array.from({ length: 20 }, (_, i) => i + 1));
  subs.forEach((x) => x.close());
});
