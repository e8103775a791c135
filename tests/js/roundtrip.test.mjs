import { test } from "node:test";
import assert from "node:assert/strict";
import { ev, newStore } from "./helpers.mjs";

const payloads = {
  "nested objects": { a: { b: { c: { d: [1, { e: null }] } } }, empty: {}, list: [] },
  unicode: { text: "héllo wörld ✓ 日本語 🎉", escapes: "quote\" backslash\\ tab\t nl\n \u0001", "ключ": "значение" },
  "safe integers": { max: Number.MAX_SAFE_INTEGER, min: Number.MIN_SAFE_INTEGER, zero: 0, float: 0.1, tiny: 5e-324, big: 1.7976931348623157e308 },
  null: null,
  "a bare string": "just a string",
  "a bare number": 42.5,
  booleans: [true, false],
  "an array of mixed values": [1, "two", [3], { four: 4 }, null],
  "an object with a null prototype": Object.assign(Object.create(null), { x: 1 }),
  "a large payload": { blob: "x".repeat(200_000), many: Array.from({ length: 1000 }, (_, i) => ({ i })) },
};

for (const [what, data] of Object.entries(payloads)) {
  test(`${what} round-trip exactly`, async () => {
    const s = await newStore();
    const metadata = { correlationId: crypto.randomUUID(), schemaVersion: 2, "ü": "ß" };
    await s.append("data-1", [ev("Data", data, { metadata })]);
    const [viaStream] = await s.readStream("data-1");
    const [viaAll] = await s.readAll();
    assert.deepEqual(viaStream.data, JSON.parse(JSON.stringify(data)));
    assert.deepEqual(viaStream.metadata, metadata);
    assert.deepEqual(viaAll, viaStream);
  });
}

test("unicode stream names and types round-trip", async () => {
  const s = await newStore();
  await s.append("commande-é✓-日本", [ev("Créé ✓", 1)]);
  const [e] = await s.readAll();
  assert.equal(e.stream, "commande-é✓-日本");
  assert.equal(e.type, "Créé ✓");
});
