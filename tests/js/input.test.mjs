// Bad input gets INVALID_INPUT, writes nothing, and leaves the store fully usable (no panic
// reached the wasm instance).
import { test } from "node:test";
import assert from "node:assert/strict";
import { ev, newStore, rejectsUnchanged } from "./helpers.mjs";

const cyclic = {};
cyclic.self = cyclic;
class Money { constructor() { this.amount = 1; } }

const badData = {
  "a function": { f() {} },
  "a symbol": { s: Symbol("x") },
  "a BigInt": { n: 10n },
  "a cyclic object": cyclic,
  "NaN": { n: NaN },
  "Infinity": [1, Infinity],
  "-Infinity": -Infinity,
  "a Date": { at: new Date(0) },
  "a Map": new Map([["a", 1]]),
  "a Set": { s: new Set([1]) },
  "a class instance": { m: new Money() },
  "a typed array": { b: new Uint8Array(2) },
  "undefined in an array": [1, undefined],
  "a deeply nested function": { a: { b: [{ c: () => 1 }] } },
};

for (const [what, data] of Object.entries(badData)) {
  test(`data holding ${what} is INVALID_INPUT and writes nothing`, async () => {
    const s = await newStore();
    await s.append("a", [ev("Ok", { fine: true })]);
    await rejectsUnchanged(s, s.append("a", [ev("Ok", 1), ev("Bad", data), ev("Ok", 2)]), "INVALID_INPUT");
  });
}

test("the error message names the bad event and field", async () => {
  const s = await newStore();
  await assert.rejects(s.append("a", [ev("Ok", 1), ev("Bad", { when: new Date() })]),
    (e) => e.code === "INVALID_INPUT" && /events\[1\]\.data/.test(e.message) && /Date/.test(e.message));
});

const badCalls = {
  "an empty stream id": (s) => s.append("", [ev("A")]),
  "a numeric stream id": (s) => s.append(42, [ev("A")]),
  "a missing stream id": (s) => s.append(undefined, [ev("A")]),
  "an empty type": (s) => s.append("a", [{ type: "" }]),
  "a missing type": (s) => s.append("a", [{ data: 1 }]),
  "a non-string type": (s) => s.append("a", [{ type: 7 }]),
  "events that are not an array": (s) => s.append("a", { type: "A" }),
  "an event that is not an object": (s) => s.append("a", ["A"]),
  "an empty batch": (s) => s.append("a", []),
  "an id that is not a UUID": (s) => s.append("a", [{ type: "A", id: "123" }]),
  "an id that is a number": (s) => s.append("a", [{ type: "A", id: 5 }]),
  "a type holding a NUL": (s) => s.append("a", [ev("A"), { type: "B\0C" }]),
  "an id holding a NUL": (s) => s.append("a", [{ type: "A", id: "\u00000000000-0000-4000-8000-000000000000" }]),
  "an id twice in one batch": (s) => { const id = crypto.randomUUID(); return s.append("a", [{ type: "A", id }, { type: "B", id }]); },
  "metadata that is an array": (s) => s.append("a", [{ type: "A", metadata: [1] }]),
  "metadata that is null": (s) => s.append("a", [{ type: "A", metadata: null }]),
  "a negative expectedVersion": (s) => s.append("a", [ev("A")], { expectedVersion: -1 }),
  "a fractional expectedVersion": (s) => s.append("a", [ev("A")], { expectedVersion: 1.5 }),
  "an unknown expectedVersion string": (s) => s.append("a", [ev("A")], { expectedVersion: "latest" }),
  "a NaN expectedVersion": (s) => s.append("a", [ev("A")], { expectedVersion: NaN }),
  "an object expectedVersion": (s) => s.append("a", [ev("A")], { expectedVersion: {} }),
  "an event over the size limit": (s) => s.append("a", [ev("A", "x".repeat(1024 * 1024 + 1))]),
  "options that are not an object": (s) => s.append("a", [ev("A")], "no_stream"),
  "a negative read limit": (s) => s.readStream("a", { limit: -1 }),
  "an unknown direction": (s) => s.readStream("a", { direction: "sideways" }),
  "a fractional readAll after": (s) => s.readAll({ after: 0.5 }),
  "a non-string stream prefix": (s) => s.readAll({ filter: { streamPrefix: 5 } }),
  "types that are not an array": (s) => s.readAll({ filter: { types: "A" } }),
};

for (const [what, call] of Object.entries(badCalls)) {
  test(`${what} is INVALID_INPUT and changes nothing`, async () => {
    const s = await newStore();
    await s.append("a", [ev("Seed", { n: 1 })]);
    await rejectsUnchanged(s, call(s), "INVALID_INPUT");
    assert.deepEqual(await s.append("a", [ev("After")], { expectedVersion: 1 }), { version: 2, position: 2 },
      "the store still works");
  });
}

test("subscribe without a callback throws INVALID_INPUT synchronously", async () => {
  const s = await newStore();
  assert.throws(() => s.subscribe({}, "nope"), (e) => e.name === "EventfoldError" && e.code === "INVALID_INPUT");
});

test("undefined object properties are omitted, as JSON does", async () => {
  const s = await newStore();
  await s.append("a", [ev("A", { kept: 1, dropped: undefined })]);
  const [e] = await s.readStream("a");
  assert.deepEqual(e.data, { kept: 1 });
});

test("strings with NULs, escapes and non-ASCII text round-trip in data, metadata and types", async () => {
  const s = await newStore();
  const data = { nul: "a\0b", esc: "q\"b\\s\n", text: "ü ✓ 🎉", nested: [{ x: null }, true, -0.5] };
  const metadata = { by: "\0\u001f" };
  await s.append("a", [{ type: "Typé ✓", data, metadata }, { type: "B", data: "\0" }]);
  const [e1, e2] = await s.readStream("a");
  assert.deepEqual([e1.type, e1.data, e1.metadata, e2.data], ["Typé ✓", data, metadata, "\0"]);
});

// The shared rules of src/core (the server applies the same ones): nesting depth, bidi
// controls in names, canonical lower-case ids.
const nest = (depth) => JSON.parse("[".repeat(depth) + "]".repeat(depth));

test("data nested deeper than 64 levels is INVALID_INPUT; 64 is fine", async () => {
  const s = await newStore();
  await s.append("a", [ev("Deep", nest(64))]);
  await rejectsUnchanged(s, s.append("a", [ev("Deep", nest(65))]), "INVALID_INPUT");
  await rejectsUnchanged(s, s.append("a", [ev("Ok", 1, { metadata: { m: nest(70) } })]), "INVALID_INPUT");
});

for (const c of ["\u202E", "\u202A", "\u2066", "\u200F", "\u061C"]) {
  const code = c.codePointAt(0).toString(16).toUpperCase().padStart(4, "0");
  test(`a stream or type name holding U+${code} is INVALID_INPUT`, async () => {
    const s = await newStore();
    await s.append("a", [ev("Ok", 1)]);
    await rejectsUnchanged(s, s.append(`order${c}-1`, [ev("A")]), "INVALID_INPUT");
    await rejectsUnchanged(s, s.append("a", [ev(`Paid${c}`)]), "INVALID_INPUT");
  });
}

test("event ids are canonical lower case: an upper-case retry is the same event", async () => {
  const s = await newStore();
  const id = crypto.randomUUID();
  const first = await s.append("a", [{ id: id.toUpperCase(), type: "A", data: 1 }]);
  const again = await s.append("a", [{ id, type: "A", data: 1 }]);
  assert.deepEqual(again, first);
  const all = await s.readAll();
  assert.equal(all.length, 1);
  assert.equal(all[0].id, id);
});

test("a bad read option is INVALID_INPUT naming its field (sync options: sync.test.mjs)", async () => {
  const s = await newStore();
  const names = (field) => (e) => e.name === "EventfoldError" && e.code === "INVALID_INPUT" && e.message.includes(field);
  await assert.rejects(s.readStream("a", { limit: "ten" }), names("limit"));
  await assert.rejects(s.readStream("a", { direction: "sideways" }), names("direction"));
  await assert.rejects(s.readAll({ after: -1 }), names("after"));
  await assert.rejects(s.readAll({ filter: { types: "A" } }), (e) => names("filter")(e) && /array/.test(e.message));
  // Absent, null and undefined options are defaults.
  assert.deepEqual(await s.readStream("a", { from: null, limit: undefined, direction: undefined }), []);
  assert.deepEqual(await s.readAll({ after: null, filter: null }), []);
});
