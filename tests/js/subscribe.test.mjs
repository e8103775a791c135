import { test } from "node:test";
import assert from "node:assert/strict";
import { ev, newStore, waitFor } from "./helpers.mjs";

const tick = () => new Promise((r) => setTimeout(r, 5));

test("a subscription catches up, then delivers live appends in order, filtered", async () => {
  const s = await newStore();
  await s.append("order-1", [ev("A"), ev("B")]);
  await s.append("cart-1", [ev("C")]);
  const seen = [];
  const unsubscribe = s.subscribe({ after: 1, streamPrefix: "order-" }, (events) => {
    seen.push(...events.map((e) => e.position));
  });
  assert.equal(typeof unsubscribe, "function", "subscribe returns the function that stops it");
  await tick();
  assert.deepEqual(seen, [2], "catch-up starts after the checkpoint");
  await s.append("cart-1", [ev("D")]);
  await s.append("order-2", [ev("E"), ev("F")]);
  await tick();
  assert.deepEqual(seen, [2, 5, 6]);
  assert.equal(unsubscribe.checkpoint, 6);
  assert.equal(unsubscribe.closed, false);
  unsubscribe();
  await s.append("order-3", [ev("G")]);
  await tick();
  assert.deepEqual(seen, [2, 5, 6], "nothing after unsubscribe");
  assert.equal(unsubscribe.closed, true);
  unsubscribe();
});

test("type filters and batch size are honoured", async () => {
  const s = await newStore();
  for (let i = 0; i < 25; i++) await s.append("s", [ev(i % 5 ? "Keep" : "Skip", i)]);
  const batches = [];
  const off = s.subscribe({ types: ["Keep"], batchSize: 7 }, (events) => batches.push(events.map((e) => e.data)));
  await tick();
  assert.ok(batches.every((b) => b.length <= 7));
  assert.deepEqual(batches.flat(), Array.from({ length: 25 }, (_, i) => i).filter((i) => i % 5));
  off();
});

test("an async callback is awaited before the next batch", async () => {
  const s = await newStore();
  const log = [];
  const off = s.subscribe({ batchSize: 1 }, async (events) => {
    log.push(`start ${events[0].position}`);
    await tick();
    log.push(`end ${events[0].position}`);
  });
  await s.append("s", [ev("A"), ev("B")]);
  await waitFor(() => log.length >= 4, 5000, "both batches");
  assert.deepEqual(log, ["start 1", "end 1", "start 2", "end 2"]);
  off();
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
  subs.forEach((off) => off());
});

test("deprecated for one release: the 0.1 object form's close() still stops it", async () => {
  const s = await newStore();
  const seen = [];
  const sub = s.subscribe({}, (events) => seen.push(...events.map((e) => e.position)));
  await s.append("s", [ev("A")]);
  await tick();
  sub.close();
  await s.append("s", [ev("B")]);
  await tick();
  assert.deepEqual(seen, [1]);
  assert.equal(sub.closed, true);
});

test("without a callback: an async iterator of batches, catch-up then live; break ends it", async () => {
  const s = await newStore();
  await s.append("order-1", [ev("A"), ev("B")]);
  await s.append("cart-1", [ev("C")]);
  const batches = s.subscribe({ after: 0, streamPrefix: "order-", batchSize: 1 });
  assert.equal(typeof batches[Symbol.asyncIterator], "function");
  const seen = [];
  setTimeout(() => s.append("order-2", [ev("D")]), 20);
  for await (const events of batches) {
    seen.push(...events.map((e) => `${e.position}:${e.type}`));
    if (seen.length === 3) break;
  }
  assert.deepEqual(seen, ["1:A", "2:B", "4:D"]);
  assert.equal(batches.closed, true, "break closed the subscription");
  assert.equal(batches.checkpoint, 4);
  await s.append("order-3", [ev("E")]);
  assert.deepEqual(await batches.next(), { value: undefined, done: true }, "nothing after break");
  // The store is unchanged by the subscription: every append is there.
  assert.equal(await s.headPosition(), 5);
});

test("the iterator reads at most one batch ahead of a slow loop", async () => {
  const s = await newStore();
  for (let i = 0; i < 10; i++) await s.append("s", [ev("E", i)]);
  const batches = s.subscribe({ batchSize: 2 });
  const first = await batches.next();
  assert.deepEqual(first.value.map((e) => e.data), [0, 1]);
  await tick();
  assert.ok(batches.checkpoint <= 4, `the engine waits for the loop (checkpoint ${batches.checkpoint})`);
  const second = await batches.next();
  assert.deepEqual(second.value.map((e) => e.data), [2, 3]);
  await batches.return();
  assert.equal(batches.closed, true);
});

test("an error that stops the iterator is thrown by the loop, after the batches before it", async () => {
  const s = await newStore();
  await s.append("s", [ev("A")]);
  await s.append("s", [ev("T")]);
  s.upcast("T", 1, () => { throw new Error("no price"); });
  const seen = [];
  await assert.rejects(async () => {
    for await (const events of s.subscribe({ batchSize: 1 })) seen.push(...events.map((e) => e.type));
  }, (e) => e.name === "EventfoldError" && /upcaster of T v1 failed: no price/.test(e.message));
  assert.deepEqual(seen, ["A"]);
  assert.equal(await s.headPosition(), 2, "the store is unchanged");
});

test("an AbortSignal stops a callback subscription and an iterator; a bad signal is INVALID_INPUT", async () => {
  const s = await newStore();
  const controller = new AbortController();
  const seen = [];
  const off = s.subscribe({ signal: controller.signal }, (events) => seen.push(...events.map((e) => e.position)));
  await s.append("s", [ev("A")]);
  await tick();
  controller.abort();
  await s.append("s", [ev("B")]);
  await tick();
  assert.deepEqual(seen, [1]);
  assert.equal(off.closed, true);

  const later = new AbortController();
  const batches = s.subscribe({ signal: later.signal });
  assert.equal((await batches.next()).value.length, 2);
  setTimeout(() => later.abort(), 10);
  assert.deepEqual(await batches.next(), { value: undefined, done: true });

  const none = [];
  s.subscribe({ signal: AbortSignal.abort() }, (events) => none.push(events));
  await tick();
  assert.deepEqual(none, [], "an aborted signal delivers nothing");
  assert.throws(() => s.subscribe({ signal: "soon" }, () => {}), (e) => e.name === "EventfoldError" && e.code === "INVALID_INPUT");
  assert.equal(await s.headPosition(), 2, "the store is unchanged");
});
