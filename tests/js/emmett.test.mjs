// eventfold/emmett on the memory store in Node: Emmett's shared event-store features
// (emmett-features.mjs) through Emmett's own runtime, then what the adapter maps: read metadata
// and positions, messageId as the event id, schema versioning, bad input, errors passed through,
// interop with eventfold's own aggregates, and that apps which do not import it carry none of it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { join } from "node:path";
import {
  CommandHandler,
  EmmettError,
  ExpectedVersionConflictError,
  ValidationError,
} from "@event-driven-io/emmett";
import { EventStore } from "eventfold";
import { getEventfoldEventStore, isEventfoldError } from "eventfold/emmett";
import { features, evolve, initialState } from "./emmett-features.mjs";
import { snapshot } from "./helpers.mjs";

for (const feature of features) {
  test(`Emmett feature on the memory store: ${feature.name}`, () => feature.run(() => EventStore.inMemory()));
}

const productItem = (productId, quantity) => ({ productItem: { productId, quantity, price: 3 } });

test("read events carry Emmett's read metadata: messageId, streamName, bigint positions, over the event's own", async () => {
  const store = await EventStore.inMemory();
  const eventStore = getEventfoldEventStore(store);
  await store.append("other", [{ type: "Noise" }, { type: "Noise" }]);
  const id = crypto.randomUUID();
  const r = await eventStore.appendToStream("cart-1", [
    { type: "ProductItemAdded", data: productItem("Book-1", 1), metadata: { correlationId: "k1", messageId: id } },
    { type: "ProductItemAdded", data: productItem("Book-2", 2) },
  ]);
  assert.deepEqual(r, { nextExpectedStreamVersion: 2n, createdNewStream: true, lastEventGlobalPosition: 4n });
  const recorded = await store.readStream("cart-1");
  assert.equal(recorded[0].id, id, "metadata.messageId became the eventfold event id");
  assert.deepEqual(recorded[0].metadata, { correlationId: "k1" }, "messageId is not stored twice");
  const { events, currentStreamVersion, streamExists } = await eventStore.readStream("cart-1");
  assert.deepEqual({ currentStreamVersion, streamExists }, { currentStreamVersion: 2n, streamExists: true });
  assert.deepEqual(events, recorded.map((e) => ({
    type: e.type,
    data: e.data,
    kind: "Event",
    metadata: { ...e.metadata, messageId: e.id, streamName: "cart-1", streamPosition: BigInt(e.version), globalPosition: BigInt(e.position) },
  })));
  assert.deepEqual(events.map((e) => [e.metadata.streamPosition, e.metadata.globalPosition]), [[1n, 3n], [2n, 4n]]);
});

test("an append repeated with the same messageIds is idempotent; a messageId reused elsewhere is EVENT_ID_CONFLICT", async () => {
  const store = await EventStore.inMemory();
  const eventStore = getEventfoldEventStore(store);
  const batch = [1, 2].map((q) => ({ type: "ProductItemAdded", data: productItem("Book-1", q), metadata: { messageId: crypto.randomUUID() } }));
  const first = await eventStore.appendToStream("cart-1", batch, { expectedStreamVersion: "STREAM_DOES_NOT_EXIST" });
  const again = await eventStore.appendToStream("cart-1", batch, { expectedStreamVersion: "STREAM_DOES_NOT_EXIST" });
  assert.deepEqual(again, first, "the retry answers the original result");
  assert.equal((await store.readStream("cart-1")).length, 2, "nothing written twice");
  const before = await snapshot(store);
  await assert.rejects(eventStore.appendToStream("cart-2", [batch[0]]), (e) => {
    assert.ok(isEventfoldError(e), "eventfold's own error passes through");
    assert.equal(e.code, "EVENT_ID_CONFLICT");
    return true;
  });
  assert.deepEqual(await snapshot(store), before);
});

test("events copied from a read keep no stale read metadata: the store assigns it again", async () => {
  const store = await EventStore.inMemory();
  const eventStore = getEventfoldEventStore(store);
  await eventStore.appendToStream("a", [{ type: "X", data: { n: 1 }, metadata: { tenant: "t1" } }]);
  const { events } = await eventStore.readStream("a");
  const copy = events.map(({ metadata: { messageId: _, ...metadata }, ...e }) => ({ ...e, metadata }));
  await eventStore.appendToStream("b", copy);
  const [e] = (await eventStore.readStream("b")).events;
  assert.equal(e.metadata.streamName, "b");
  assert.equal(e.metadata.globalPosition, 2n);
  assert.equal(e.metadata.tenant, "t1");
  assert.deepEqual((await store.readStream("b"))[0].metadata, { tenant: "t1" });
});

test("bad input is INVALID_INPUT (an EventfoldError and Emmett's ValidationError) and changes nothing", async () => {
  const store = await EventStore.inMemory();
  const eventStore = getEventfoldEventStore(store);
  await eventStore.appendToStream("s", [{ type: "A", data: {} }]);
  const before = await snapshot(store);
  const invalid = (pattern) => (e) => {
    assert.ok(isEventfoldError(e), `${e.name}: ${e.message}`);
    assert.equal(e.code, "INVALID_INPUT");
    assert.match(e.message, pattern);
    return true;
  };
  const adapterInvalid = (pattern) => (e) => {
    invalid(pattern)(e);
    assert.ok(e instanceof ValidationError && EmmettError.isInstanceOf(e, 400), "Emmett's ValidationError");
    return true;
  };
  for (const [options, pattern] of [
    [{ from: -1n }, /from must be a non-negative bigint/],
    [{ to: 2n ** 60n }, /to must be .* up to 2\^53 - 1, got 1152921504606846976n/],
    [{ maxCount: 1.5 }, /maxCount must be/],
    [{ from: "1" }, /from must be .*got "1"/],
    [{ expectedStreamVersion: "LATEST" }, /expectedStreamVersion must be .*got "LATEST"/],
  ]) {
    await assert.rejects(eventStore.readStream("s", options), adapterInvalid(pattern), JSON.stringify(String(Object.values(options)[0])));
    await assert.rejects(eventStore.aggregateStream("s", { evolve, initialState, read: options }), adapterInvalid(pattern));
  }
  await assert.rejects(eventStore.appendToStream("s", [{ type: "A", data: {} }], { expectedStreamVersion: -2n }), adapterInvalid(/expectedStreamVersion/));
  await assert.rejects(eventStore.appendToStream("s", { type: "A" }), adapterInvalid(/events must be an array/));
  await assert.rejects(eventStore.appendToStream("s", [null]), adapterInvalid(/events\[0\] must be an event object/));
  await assert.rejects(eventStore.aggregateStream("s", { evolve }), adapterInvalid(/evolve, initialState/));
  await assert.rejects(eventStore.appendToStream("s", []), invalid(/at least one event/));
  await assert.rejects(eventStore.appendToStream("s", [{ type: "A", data: {}, metadata: { messageId: "m-1" } }]), invalid(/not a UUID/));
  await assert.rejects(eventStore.appendToStream("s", [{ type: "A", data: { n: 1n } }]), invalid(/data/));
  assert.deepEqual(await snapshot(store), before, "the store after bad input");
  assert.throws(() => getEventfoldEventStore({}), adapterInvalid(/needs an eventfold EventStore/));
});

test("a conflict is Emmett's ExpectedVersionConflictError carrying eventfold's error as its cause", async () => {
  const store = await EventStore.inMemory();
  const eventStore = getEventfoldEventStore(store);
  await eventStore.appendToStream("s", [{ type: "A", data: {} }]);
  await assert.rejects(eventStore.appendToStream("s", [{ type: "A", data: {} }], { expectedStreamVersion: 5 }), (e) => {
    assert.ok(e instanceof ExpectedVersionConflictError);
    assert.equal(e.errorCode, 412);
    assert.equal(e.message, "Expected version 5 does not match current 1");
    assert.deepEqual([e.cause.name, e.cause.code, e.cause.stream, e.cause.expected, e.cause.actual], ["EventfoldError", "WRONG_EXPECTED_VERSION", "s", 5, 1]);
    return true;
  });
});

test("schema versioning: Emmett's downcast on append and upcast on read", async () => {
  const store = await EventStore.inMemory();
  const eventStore = getEventfoldEventStore(store);
  const downcast = (e) => ({ ...e, data: { productItem: { ...e.data.productItem, price: String(e.data.productItem.price) } }, metadata: { schema: 1 } });
  const upcast = (e) => ({ ...e, data: { productItem: { ...e.data.productItem, price: Number(e.data.productItem.price) } } });
  await eventStore.appendToStream("cart-1", [{ type: "ProductItemAdded", data: productItem("Book-1", 2) }], { schema: { versioning: { downcast } } });
  const [stored] = await store.readStream("cart-1");
  assert.deepEqual([stored.data.productItem.price, stored.metadata], ["3", { schema: 1 }], "stored in the old shape");
  const handle = CommandHandler({ evolve, initialState, schema: { versioning: { upcast } } });
  const result = await handle(eventStore, "cart-1", (s) => ({ type: "ProductItemAdded", data: productItem("Book-2", s.productItems.length) }));
  assert.equal(result.newState.totalAmount, 2 * 3 + 1 * 3, "the handler folded the upcast event");
  const { state } = await eventStore.aggregateStream("cart-1", { evolve, initialState, read: { schema: { versioning: { upcast } } } });
  assert.equal(state.totalAmount, 9);
});

test("Emmett and eventfold's own aggregates share streams: aggregate 'cart' id '42' is Emmett stream 'cart-42'", async () => {
  const store = await EventStore.inMemory();
  const eventStore = getEventfoldEventStore(store);
  const carts = store.aggregate({
    name: "cart",
    initialState,
    evolve,
    decide: (c) => [{ type: "ProductItemAdded", data: productItem(c.productId, c.quantity) }],
  });
  await CommandHandler({ evolve, initialState })(eventStore, "cart-42", () => ({ type: "ProductItemAdded", data: productItem("Book-1", 1) }));
  await carts.execute("42", { productId: "Book-2", quantity: 2 });
  const r = await CommandHandler({ evolve, initialState })(eventStore, "cart-42", () => ({ type: "ProductItemAdded", data: productItem("Book-3", 3) }));
  assert.equal(r.nextExpectedStreamVersion, 3n);
  assert.deepEqual((await carts.load("42")).state, r.newState);
});

test("apps that do not import eventfold/emmett bundle none of it; the entry bundles no Emmett", async () => {
  const root = process.env.EVENTFOLD_ROOT ?? join(process.cwd(), "..", "..");
  const { build } = createRequire(join(root, "package.json"))("esbuild");
  const bundle = async (contents, external = []) => {
    const out = await build({
      stdin: { contents, resolveDir: process.cwd(), loader: "js" },
      bundle: true, write: false, format: "esm", platform: "browser", external, minify: false,
      logLevel: "silent",
    });
    return out.outputFiles.map((f) => f.text).join("\n");
  };
  const plain = await bundle(`import { EventStore } from "eventfold"; console.log(await EventStore.inMemory());`);
  assert.ok(plain.includes("inMemory") && plain.includes("eventfold_bg.wasm"), "the default entry was bundled");
  for (const marker of ["getEventfoldEventStore", "ExpectedVersionConflictError", "event-driven-io"]) {
    assert.ok(!plain.includes(marker), `the default entry's bundle holds no ${marker}`);
  }
  const adapter = await bundle(`import { getEventfoldEventStore } from "eventfold/emmett"; console.log(getEventfoldEventStore);`, ["@event-driven-io/emmett"]);
  assert.ok(adapter.includes("getEventfoldEventStore"));
  assert.ok(adapter.includes(`from "@event-driven-io/emmett"`), "Emmett stays an import of the app's own copy");
  assert.ok(!adapter.includes("eventfold_bg.wasm"), "the adapter loads no wasm of its own");
});
