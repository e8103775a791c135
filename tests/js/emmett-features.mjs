// Emmett's shared event-store features, written from Emmett's published descriptions
// (emmett-tests: eventStore/features.ts, shoppingCart.feature, timeTravel.feature, and the
// command handler's retry and versioning specs), run through Emmett's own public runtime
// (CommandHandler, DeciderCommandHandler, DeciderSpecification) on eventfold/emmett.
//
// No Node built-ins: the same module runs in Node on the memory store (emmett.test.mjs) and in
// Chromium on IndexedDB (tests/browser/emmett.test.mjs, through an import map). Each feature is
// `{ name, run(newStore) }`, where `newStore()` gives a fresh eventfold store.
import {
  CommandHandler,
  DeciderCommandHandler,
  DeciderSpecification,
  ExpectedVersionConflictError,
  IllegalStateError,
  NO_CONCURRENCY_CHECK,
  STREAM_DOES_NOT_EXIST,
  STREAM_EXISTS,
  deepEquals,
  isExpectedVersionConflictError,
} from "@event-driven-io/emmett";
import { getEventfoldEventStore } from "eventfold/emmett";

// ---------------------------------------------------------------------------------------------
// Assertions (bigint-aware messages; Emmett's own print through JSON, which rejects bigints)
// ---------------------------------------------------------------------------------------------

const show = (v) => JSON.stringify(v, (_, x) => (typeof x === "bigint" ? `${x}n` : x));

function same(actual, expected, what) {
  if (!deepEquals(actual, expected)) throw new Error(`${what}: expected ${show(expected)}, got ${show(actual)}`);
}

function ok(condition, what) {
  if (!condition) throw new Error(what);
}

async function rejects(promise, check, what) {
  let error;
  try {
    await promise;
  } catch (e) {
    error = e;
  }
  ok(error !== undefined, `${what}: expected a rejection, but it resolved`);
  ok(check(error), `${what}: unexpected error ${error?.name}: ${error?.message}`);
  return error;
}

/** Everything the eventfold store holds of `stream`, to prove a failed call changed nothing. */
const raw = async (store, stream) => ({ events: await store.readStream(stream), head: await store.headPosition() });

// ---------------------------------------------------------------------------------------------
// The shopping cart of Emmett's feature descriptions
// ---------------------------------------------------------------------------------------------

const prices = { "Book-1": 3, "Book-2": 5 };

export const initialState = () => ({ productItems: [], totalAmount: 0 });

/** Emmett's shopping cart evolve, on raw events. */
export function evolve(state, { type, data }) {
  switch (type) {
    case "ProductItemAdded":
      return {
        productItems: [...state.productItems, data.productItem],
        totalAmount: state.totalAmount + data.productItem.price * data.productItem.quantity,
      };
    case "DiscountApplied":
      return { ...state, totalAmount: state.totalAmount * (1 - data.percent / 100) };
    default:
      return state;
  }
}

/** The same fold, reading the read metadata each event carries (Emmett's `evolveWithMetadata`). */
function evolveWithMetadata(state, event) {
  ok(typeof event.metadata.streamPosition === "bigint", "streamPosition is a bigint");
  ok(typeof event.metadata.globalPosition === "bigint", "globalPosition is a bigint");
  ok(typeof event.metadata.messageId === "string", "messageId is a string");
  return evolve(state, event);
}

/** Decides cart commands; rejects a product without a price and a discount on an empty cart. */
export function decide(command, state) {
  switch (command.type) {
    case "AddProductItem": {
      const { productId, quantity } = command.data;
      const price = prices[productId];
      if (price === undefined) throw new IllegalStateError(`unknown product ${productId}`);
      return { type: "ProductItemAdded", data: { productItem: { productId, quantity, price } } };
    }
    case "ApplyDiscount":
      if (state.productItems.length === 0) throw new IllegalStateError("the cart is empty");
      return { type: "DiscountApplied", data: { percent: command.data.percent, couponId: command.data.couponId } };
    default:
      throw new IllegalStateError(`unknown command ${command.type}`);
  }
}

const cart = { decide, evolve, initialState };
const add = (productId, quantity) => ({ type: "AddProductItem", data: { productId, quantity } });
const discount = (percent) => ({ type: "ApplyDiscount", data: { percent, couponId: "c-10" } });
const added = (productId, quantity) => ({
  type: "ProductItemAdded", data: { productItem: { productId, quantity, price: prices[productId] } },
});
const newId = () => `shopping_cart-${crypto.randomUUID()}`;
/** Emmett's retry on version conflicts, without the 100 ms first wait of its default. */
const fastRetries = (retries) => ({ onVersionConflict: { retries, minTimeout: 1, factor: 1 } });

// ---------------------------------------------------------------------------------------------
// The features
// ---------------------------------------------------------------------------------------------

export const features = [
  // shoppingCart.feature
  {
    name: "ShoppingCart: adding a product makes a cart of 1 product",
    async run(newStore) {
      const eventStore = getEventfoldEventStore(await newStore());
      const handle = DeciderCommandHandler(cart);
      const id = newId();
      const result = await handle(eventStore, id, add("Book-1", 1));
      same(result.newState.productItems.length, 1, "products in the handler's new state");
      same(result.createdNewStream, true, "createdNewStream");
      same(result.nextExpectedStreamVersion, 1n, "nextExpectedStreamVersion");
      const { state } = await eventStore.aggregateStream(id, { evolve, initialState });
      same(state.productItems.length, 1, "products in the aggregated state");
    },
  },
  {
    name: "ShoppingCart: adding 10 units of Book-1 at 3 makes a total of 30",
    async run(newStore) {
      const eventStore = getEventfoldEventStore(await newStore());
      const id = newId();
      await DeciderCommandHandler(cart)(eventStore, id, add("Book-1", 10));
      const { state, currentStreamVersion, streamExists } = await eventStore.aggregateStream(id, { evolve, initialState });
      same(state.totalAmount, 30, "total price");
      same(currentStreamVersion, 1n, "stream version");
      same(streamExists, true, "streamExists");
    },
  },
  {
    name: "ShoppingCart: a 10% discount on 10 units of Book-1 makes a total of 27",
    async run(newStore) {
      const eventStore = getEventfoldEventStore(await newStore());
      const handle = DeciderCommandHandler(cart);
      const id = newId();
      await handle(eventStore, id, add("Book-1", 10));
      const result = await handle(eventStore, id, discount(10));
      same(result.newState.totalAmount, 27, "the handler's new total");
      same(result.nextExpectedStreamVersion, 2n, "nextExpectedStreamVersion");
      same(result.createdNewStream, false, "createdNewStream");
      same((await eventStore.aggregateStream(id, { evolve, initialState })).state.totalAmount, 27, "aggregated total");
    },
  },
  {
    name: "ShoppingCart: several commands in one call are decided in order and appended at once",
    async run(newStore) {
      const store = await newStore();
      const eventStore = getEventfoldEventStore(store);
      const id = newId();
      const result = await DeciderCommandHandler(cart)(eventStore, id, [add("Book-1", 10), add("Book-2", 1), discount(10)]);
      same(result.nextExpectedStreamVersion, 3n, "nextExpectedStreamVersion");
      same(result.newState.totalAmount, 31.5, "total");
      const appended = await store.readStream(id);
      same(appended.map((e) => e.type), ["ProductItemAdded", "ProductItemAdded", "DiscountApplied"], "one stream, in order");
      same(new Set(appended.map((e) => e.position - appended[0].position)), new Set([0, 1, 2]), "one atomic append: consecutive positions");
    },
  },
  {
    name: "ShoppingCart: a rejected command appends nothing",
    async run(newStore) {
      const store = await newStore();
      const eventStore = getEventfoldEventStore(store);
      const id = newId();
      await DeciderCommandHandler(cart)(eventStore, id, add("Book-1", 1));
      const before = await raw(store, id);
      await rejects(DeciderCommandHandler(cart)(eventStore, id, add("Unknown", 1)),
        (e) => e instanceof IllegalStateError && /unknown product/.test(e.message), "unknown product");
      await rejects(DeciderCommandHandler(cart)(eventStore, newId(), discount(5)),
        (e) => e instanceof IllegalStateError, "discount on an empty cart");
      same(await raw(store, id), before, "the store after two rejected commands");
    },
  },
  {
    name: "DeciderSpecification: Emmett's given/when/then holds for the cart decider",
    async run() {
      const spec = DeciderSpecification.for(cart);
      spec([]).when(add("Book-1", 10)).then([added("Book-1", 10)]);
      spec([added("Book-1", 10)]).when(discount(10))
        .then([{ type: "DiscountApplied", data: { percent: 10, couponId: "c-10" } }]);
      spec([]).when(discount(10)).thenThrows(IllegalStateError, (e) => e.message === "the cart is empty");
      spec([]).when(add("Unknown", 1)).thenThrows((e) => /unknown product/.test(e.message));
    },
  },

  // features.ts: testAggregateStream, and timeTravel.feature
  ...[["raw events", evolve], ["events with metadata", evolveWithMetadata]].map(([how, fold]) => ({
    name: `Time travel: aggregateStream with 'to' folds the stream as of each version (${how})`,
    async run(newStore) {
      const eventStore = getEventfoldEventStore(await newStore());
      const id = newId();
      const productItem = { productId: "Book-1", quantity: 10, price: 3 };
      await eventStore.appendToStream(id, [{ type: "ProductItemAdded", data: { productItem } }]);
      await eventStore.appendToStream(id, [{ type: "ProductItemAdded", data: { productItem } }]);
      await eventStore.appendToStream(id, [{ type: "DiscountApplied", data: { percent: 10, couponId: "c-1" } }]);
      const at = (to) => eventStore.aggregateStream(id, { evolve: fold, initialState, read: { to } });
      const [first, second, third] = [await at(1n), await at(2n), await at(3n)];
      same(first, { currentStreamVersion: 1n, state: { totalAmount: 30, productItems: [productItem] }, streamExists: true }, "first version");
      same(second, { currentStreamVersion: 2n, state: { totalAmount: 60, productItems: [productItem, productItem] }, streamExists: true }, "second version");
      same(third, { currentStreamVersion: 3n, state: { totalAmount: 54, productItems: [productItem, productItem] }, streamExists: true }, "third version");
      same(await at(99n), third, "beyond the end: the current state");
    },
  })),
  {
    name: "Time travel: readStream returns the range from/to/maxCount asks for, with the stream's version",
    async run(newStore) {
      const eventStore = getEventfoldEventStore(await newStore());
      const id = newId();
      for (let i = 1; i <= 5; i++) await eventStore.appendToStream(id, [added("Book-1", i)]);
      const quantities = async (options) => {
        const r = await eventStore.readStream(id, options);
        same(r.currentStreamVersion, 5n, `currentStreamVersion of ${show(options)}`);
        same(r.streamExists, true, `streamExists of ${show(options)}`);
        same(r.events.map((e) => e.metadata.streamPosition), r.events.map((e) => BigInt(e.data.productItem.quantity)), "positions");
        return r.events.map((e) => e.data.productItem.quantity);
      };
      same(await quantities(undefined), [1, 2, 3, 4, 5], "everything");
      same(await quantities({ from: 2n }), [2, 3, 4, 5], "from 2");
      same(await quantities({ to: 3n }), [1, 2, 3], "to 3");
      same(await quantities({ from: 2n, to: 4n }), [2, 3, 4], "from 2 to 4");
      same(await quantities({ maxCount: 2n }), [1, 2], "maxCount 2");
      same(await quantities({ from: 3n, maxCount: 2n }), [3, 4], "from 3, maxCount 2");
      same(await quantities({ from: 2n, to: 4n, maxCount: 1n }), [2], "the tighter of to and maxCount");
      same(await quantities({ from: 6n }), [], "after the end");
      same(await quantities({ from: 4n, to: 3n }), [], "an empty range");
      const missing = await eventStore.readStream(newId(), { from: 2n });
      same(missing, { currentStreamVersion: 0n, events: [], streamExists: false }, "a stream that does not exist");
    },
  },

  // features.ts: testCommandHandling, and the command handler's retry specs
  {
    name: "Command handling: no retry on a version conflict when retry is disabled",
    async run(newStore) {
      const eventStore = getEventfoldEventStore(await newStore());
      const handle = CommandHandler({ evolve, initialState });
      const id = newId();
      await handle(eventStore, id, () => added("Book-1", 10), { expectedStreamVersion: STREAM_DOES_NOT_EXIST });
      let tried = 0;
      const error = await rejects(handle(eventStore, id, () => {
        tried++;
        throw new ExpectedVersionConflictError(0, 1);
      }), (e) => e instanceof ExpectedVersionConflictError, "the handler's conflict");
      ok(isExpectedVersionConflictError(error), "isExpectedVersionConflictError");
      same(tried, 1, "tries");
    },
  },
  {
    name: "Command handling: a writer that appended in between makes the handler retry on the new state",
    async run(newStore) {
      const store = await newStore();
      const eventStore = getEventfoldEventStore(store);
      const other = getEventfoldEventStore(store);
      const handle = CommandHandler({ evolve, initialState });
      const id = newId();
      await handle(eventStore, id, () => added("Book-1", 1));
      let tried = 0;
      const result = await handle(eventStore, id, async (state) => {
        if (tried++ === 0) await other.appendToStream(id, [added("Book-2", 1)]); // the concurrent writer
        return added("Book-1", state.productItems.length + 1);
      }, { retry: fastRetries(3) });
      same(tried, 2, "decided twice: once on the stale state, once on the new one");
      same(result.nextExpectedStreamVersion, 3n, "nextExpectedStreamVersion");
      same(result.newState.productItems.map((p) => `${p.productId}x${p.quantity}`), ["Book-1x1", "Book-2x1", "Book-1x3"], "new state");
      same((await store.readStream(id)).map((e) => e.data.productItem.productId), ["Book-1", "Book-2", "Book-1"], "the log: nothing lost, nothing twice");
    },
  },
  {
    name: "Command handling: concurrent DeciderCommandHandlers on one stream all land through Emmett's retries",
    async run(newStore) {
      const store = await newStore();
      const eventStore = getEventfoldEventStore(store);
      let decided = 0;
      const handle = DeciderCommandHandler({ ...cart, decide: (c, s) => { decided++; return decide(c, s); } });
      const id = newId();
      await handle(eventStore, id, add("Book-1", 1));
      decided = 0;
      const writers = 4; // Emmett's default onVersionConflict retries (3) let 4 racing writers all land
      const results = await Promise.all(Array.from({ length: writers }, (_, i) =>
        handle(eventStore, id, add("Book-2", i + 1), { retry: { onVersionConflict: true } })));
      ok(decided > writers, `the writers raced: ${decided} decisions for ${writers} commands`);
      same(results.map((r) => r.nextExpectedStreamVersion).sort(), [2n, 3n, 4n, 5n], "each writer got its own version");
      const log = await store.readStream(id);
      same(log.map((e) => e.version), [1, 2, 3, 4, 5], "versions");
      same(log.slice(1).map((e) => e.data.productItem.quantity).sort(), [1, 2, 3, 4], "every command landed once");
    },
  },
  {
    name: "Command handling: without retries, the losing concurrent writer fails with Emmett's conflict and writes nothing",
    async run(newStore) {
      const store = await newStore();
      const eventStore = getEventfoldEventStore(store);
      const handle = DeciderCommandHandler(cart);
      const id = newId();
      await handle(eventStore, id, add("Book-1", 1));
      const outcomes = await Promise.allSettled([handle(eventStore, id, add("Book-2", 1)), handle(eventStore, id, add("Book-2", 2))]);
      const failed = outcomes.filter((o) => o.status === "rejected");
      same(failed.length, 1, "losers");
      ok(isExpectedVersionConflictError(failed[0].reason), `Emmett's conflict: ${failed[0].reason}`);
      same(failed[0].reason.current, "2", "the conflict's current version");
      same(failed[0].reason.expected, "1", "the conflict's expected version");
      same((await store.readStream(id)).length, 2, "only the winner appended");
    },
  },
  {
    name: "Command handling: a wrong explicit version fails when the stream is read, before deciding",
    async run(newStore) {
      const store = await newStore();
      const eventStore = getEventfoldEventStore(store);
      const handle = CommandHandler({ evolve, initialState });
      const id = newId();
      await handle(eventStore, id, () => added("Book-1", 1), { expectedStreamVersion: STREAM_DOES_NOT_EXIST });
      const before = await raw(store, id);
      for (const expectedStreamVersion of [STREAM_DOES_NOT_EXIST, 0n, 2n]) {
        let tried = 0;
        await rejects(handle(eventStore, id, () => { tried++; return added("Book-1", 1); }, { expectedStreamVersion, retry: fastRetries(3) }),
          (e) => e instanceof ExpectedVersionConflictError, `expected ${show(expectedStreamVersion)}`);
        same(tried, 0, `decisions with expected ${show(expectedStreamVersion)}`);
      }
      same(await raw(store, id), before, "the store after the failed commands");
      const result = await handle(eventStore, id, () => added("Book-1", 2), { expectedStreamVersion: 1n });
      same(result.nextExpectedStreamVersion, 2n, "the right explicit version");
    },
  },
  {
    name: "Command handling: no events decided leaves the stream as it was",
    async run(newStore) {
      const eventStore = getEventfoldEventStore(await newStore());
      const id = newId();
      const result = await CommandHandler({ evolve, initialState })(eventStore, id, () => []);
      same(result.newEvents, [], "newEvents");
      same(result.nextExpectedStreamVersion, 0n, "nextExpectedStreamVersion");
      same(result.createdNewStream, false, "createdNewStream");
      same(await eventStore.streamExists(id), false, "streamExists");
    },
  },

  // Optimistic concurrency: appendToStream's expected versions
  {
    name: "Optimistic concurrency: each expected version is checked exactly, and a conflict writes nothing",
    async run(newStore) {
      const store = await newStore();
      const eventStore = getEventfoldEventStore(store);
      const id = newId();
      const conflict = (current, expected) => (e) =>
        e instanceof ExpectedVersionConflictError && isExpectedVersionConflictError(e) &&
        e.errorCode === 412 && e.current === current && e.expected === expected && e.cause?.code === "WRONG_EXPECTED_VERSION";
      const fails = async (expectedStreamVersion, current) => {
        const before = await raw(store, id);
        await rejects(eventStore.appendToStream(id, [added("Book-1", 9)], { expectedStreamVersion }),
          conflict(current, String(expectedStreamVersion)), `append expecting ${show(expectedStreamVersion)}`);
        same(await raw(store, id), before, `the store after expecting ${show(expectedStreamVersion)}`);
      };
      await fails(STREAM_EXISTS, "0");
      await fails(1n, "0");
      let r = await eventStore.appendToStream(id, [added("Book-1", 1)], { expectedStreamVersion: STREAM_DOES_NOT_EXIST });
      same([r.nextExpectedStreamVersion, r.createdNewStream], [1n, true], "first append");
      await fails(STREAM_DOES_NOT_EXIST, "1");
      await fails(0n, "1");
      await fails(2n, "1");
      r = await eventStore.appendToStream(id, [added("Book-1", 2), added("Book-1", 3)], { expectedStreamVersion: 1n });
      same([r.nextExpectedStreamVersion, r.createdNewStream], [3n, false], "exact version");
      r = await eventStore.appendToStream(id, [added("Book-1", 4)], { expectedStreamVersion: STREAM_EXISTS });
      same(r.nextExpectedStreamVersion, 4n, "STREAM_EXISTS");
      r = await eventStore.appendToStream(id, [added("Book-1", 5)], { expectedStreamVersion: NO_CONCURRENCY_CHECK });
      same(r.nextExpectedStreamVersion, 5n, "NO_CONCURRENCY_CHECK");
      r = await eventStore.appendToStream(id, [added("Book-1", 6)]);
      same(r.nextExpectedStreamVersion, 6n, "no expected version");
      const other = newId();
      r = await eventStore.appendToStream(other, [added("Book-1", 1)], { expectedStreamVersion: 0n });
      same([r.nextExpectedStreamVersion, r.createdNewStream], [1n, true], "0n is the version of a stream that does not exist");
    },
  },
  {
    name: "Optimistic concurrency: reads check expectedStreamVersion against the stream's version",
    async run(newStore) {
      const eventStore = getEventfoldEventStore(await newStore());
      const id = newId();
      await eventStore.appendToStream(id, [added("Book-1", 1), added("Book-1", 2)]);
      for (const expectedStreamVersion of [2n, STREAM_EXISTS, NO_CONCURRENCY_CHECK]) {
        same((await eventStore.readStream(id, { expectedStreamVersion, to: 1n })).events.length, 1, `read expecting ${show(expectedStreamVersion)}`);
      }
      for (const expectedStreamVersion of [1n, STREAM_DOES_NOT_EXIST]) {
        await rejects(eventStore.readStream(id, { expectedStreamVersion }), (e) => e instanceof ExpectedVersionConflictError && e.current === "2", `read expecting ${show(expectedStreamVersion)}`);
        await rejects(eventStore.aggregateStream(id, { evolve, initialState, read: { expectedStreamVersion } }),
          (e) => e instanceof ExpectedVersionConflictError, `aggregate expecting ${show(expectedStreamVersion)}`);
      }
      await rejects(eventStore.readStream(newId(), { expectedStreamVersion: STREAM_EXISTS }),
        (e) => e instanceof ExpectedVersionConflictError && e.current === "0", "a missing stream expected to exist");
    },
  },

  // features.ts: testStreamExists
  {
    name: "streamExists: true for the only stream",
    async run(newStore) {
      const eventStore = getEventfoldEventStore(await newStore());
      const id = newId();
      await eventStore.appendToStream(id, [added("Book-1", 10)]);
      same(await eventStore.streamExists(id), true, "streamExists");
    },
  },
  {
    name: "streamExists: false when there are no streams",
    async run(newStore) {
      const eventStore = getEventfoldEventStore(await newStore());
      same(await eventStore.streamExists(newId()), false, "streamExists");
    },
  },
  {
    name: "streamExists: true for each of several streams",
    async run(newStore) {
      const eventStore = getEventfoldEventStore(await newStore());
      const [a, b] = [newId(), newId()];
      await eventStore.appendToStream(a, [added("Book-1", 10)]);
      await eventStore.appendToStream(b, [added("Book-2", 20)]);
      same([await eventStore.streamExists(a), await eventStore.streamExists(b)], [true, true], "streamExists");
    },
  },
  {
    name: "streamExists: false for a missing stream among others",
    async run(newStore) {
      const eventStore = getEventfoldEventStore(await newStore());
      const existing = newId();
      await eventStore.appendToStream(existing, [added("Book-1", 10)]);
      same(await eventStore.streamExists(newId()), false, "missing stream");
      same(await eventStore.streamExists(existing), true, "existing stream");
    },
  },
];
