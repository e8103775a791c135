// Emmett (npm @event-driven-io/emmett) on an eventfold store: `getEventfoldEventStore(store)`
// returns Emmett's `EventStore` (appendToStream, readStream, aggregateStream, streamExists), so
// Emmett's CommandHandler, DeciderCommandHandler and the rest of its runtime run unchanged on
// IndexedDB in the browser, on memory anywhere, and through `store.sync()` offline.
//
//   import { EventStore } from "eventfold";
//   import { getEventfoldEventStore } from "eventfold/emmett";
//   const eventStore = getEventfoldEventStore(await EventStore.open({ name: "shop" }));
//
// The entry holds no wasm and loads none: it only calls the store it is given. Emmett is a peer
// dependency, imported here and never bundled into the package. docs/emmett.md lists every
// place where the two models differ and what this file does there.
import {
  ExpectedVersionConflictError,
  NO_CONCURRENCY_CHECK,
  STREAM_DOES_NOT_EXIST,
  STREAM_EXISTS,
  ValidationError,
  assertExpectedVersionMatchesCurrent,
  downcastRecordedMessages,
  upcastRecordedMessages,
} from "@event-driven-io/emmett";
import { isEventfoldError } from "./errors.js";

export { isEventfoldError };

/** Metadata keys the store assigns on read; an appended event's own values for them are dropped. */
const READ_METADATA = ["messageId", "streamName", "streamPosition", "globalPosition"];

/**
 * Bad input to the adapter: Emmett's `ValidationError` (errorCode 400, so Emmett's HTTP helpers
 * answer 400) that is also an eventfold error (`name` "EventfoldError", `code` "INVALID_INPUT").
 */
function invalid(message) {
  const error = new ValidationError(message);
  error.name = "EventfoldError";
  error.code = "INVALID_INPUT";
  return error;
}

function describe(value) {
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "string") return JSON.stringify(value);
  return typeof value === "number" ? String(value) : typeof value;
}

/**
 * An Emmett stream position (a bigint, or a number for JavaScript callers) as the exact number
 * eventfold takes; throws INVALID_INPUT for anything negative, fractional or beyond
 * Number.MAX_SAFE_INTEGER rather than rounding it.
 */
function toNumber(value, what) {
  if (typeof value === "bigint" && value >= 0n && value <= BigInt(Number.MAX_SAFE_INTEGER)) {
    return Number(value);
  }
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return value;
  throw invalid(`${what} must be a non-negative bigint up to 2^53 - 1, got ${describe(value)}`);
}

/** Emmett's expected stream version as eventfold's `expectedVersion`. */
function toExpectedVersion(expected) {
  if (expected == null || expected === NO_CONCURRENCY_CHECK) return "any";
  if (expected === STREAM_DOES_NOT_EXIST) return "no_stream";
  if (expected === STREAM_EXISTS) return "exists";
  return toNumber(expected, "expectedStreamVersion");
}

/** The same condition in Emmett's own terms (numbers become bigints), for checks on reads. */
function emmettExpected(expected) {
  const v = toExpectedVersion(expected);
  return typeof v === "number" ? BigInt(v) : expected ?? NO_CONCURRENCY_CHECK;
}

/** An Emmett event as an eventfold event input: `metadata.messageId` becomes the event id. */
function toInput(event, index) {
  if (event === null || typeof event !== "object") {
    throw invalid(`events[${index}] must be an event object, got ${describe(event)}`);
  }
  const metadata = { ...(event.metadata ?? {}) };
  const id = metadata.messageId;
  for (const key of READ_METADATA) delete metadata[key];
  const input = { type: event.type, data: event.data, metadata };
  if (id !== undefined) input.id = id;
  return input;
}

/** An eventfold recorded event as Emmett's read event. */
function toReadEvent(e) {
  return {
    type: e.type,
    data: e.data,
    kind: "Event",
    metadata: {
      ...e.metadata,
      messageId: e.id,
      streamName: e.stream,
      streamPosition: BigInt(e.version),
      globalPosition: BigInt(e.position),
    },
  };
}

/** Emmett's `{ from?, to?, maxCount? }` as the first version and the number of events wanted. */
function range(options) {
  const from = options?.from == null ? 1 : Math.max(1, toNumber(options.from, "from"));
  const to = options?.to == null ? Infinity : toNumber(options.to, "to");
  const maxCount = options?.maxCount == null ? Infinity : toNumber(options.maxCount, "maxCount");
  return { from, count: Math.max(0, Math.min(maxCount, to - from + 1)) };
}

/**
 * Emmett's `EventStore` over an eventfold store (any `EventStore` of the `eventfold` package:
 * `EventStore.inMemory()`, `EventStore.open({ name })`, synced or not).
 *
 * ```js
 * const eventStore = getEventfoldEventStore(await EventStore.open({ name: "shop" }));
 * await handle(eventStore, cartId, { type: "AddProductItem", data: { productItem } });
 * ```
 */
export function getEventfoldEventStore(store) {
  if (store === null || typeof store !== "object" || typeof store.append !== "function" ||
    typeof store.readStream !== "function" || typeof store.streamVersion !== "function") {
    throw invalid("getEventfoldEventStore needs an eventfold EventStore (EventStore.inMemory() or EventStore.open())");
  }

  /**
   * The events of `[from, from + count)` and the stream's version, from one read of the stream
   * from `from` to its end (so the version belongs to the same read as the events).
   */
  async function read(streamName, options) {
    const { from, count } = range(options);
    const expected = emmettExpected(options?.expectedStreamVersion);
    for (;;) {
      const events = await store.readStream(streamName, { from });
      let version = events.length > 0 ? events[events.length - 1].version : 0;
      if (events.length === 0 && from > 1) {
        // Nothing at or after `from`: the stream's version comes from its last event.
        const [last] = await store.readStream(streamName, { direction: "backward", limit: 1 });
        version = last?.version ?? 0;
        if (version >= from) continue; // appended in between: read again
      }
      assertExpectedVersionMatchesCurrent(BigInt(version), expected, 0n);
      const slice = events.slice(0, count).map(toReadEvent);
      return { version, events: upcastRecordedMessages(slice, options?.schema?.versioning) };
    }
  }

  return {
    async aggregateStream(streamName, options) {
      const { evolve, initialState, read: readOptions } = options ?? {};
      if (typeof evolve !== "function" || typeof initialState !== "function") {
        throw invalid("aggregateStream needs { evolve, initialState } functions");
      }
      const { version, events } = await read(streamName, readOptions);
      let state = initialState();
      for (const event of events) state = evolve(state, event);
      return {
        currentStreamVersion: events.length > 0 ? events[events.length - 1].metadata.streamPosition : 0n,
        state,
        streamExists: version > 0,
      };
    },

    async readStream(streamName, options) {
      const { version, events } = await read(streamName, options);
      return { currentStreamVersion: BigInt(version), events, streamExists: version > 0 };
    },

    async appendToStream(streamName, events, options) {
      const expected = options?.expectedStreamVersion;
      const expectedVersion = toExpectedVersion(expected);
      if (!Array.isArray(events)) throw invalid(`events must be an array, got ${describe(events)}`);
      const inputs = downcastRecordedMessages(events, options?.schema?.versioning).map(toInput);
      let result;
      try {
        result = await store.append(streamName, inputs, { expectedVersion });
      } catch (error) {
        if (isEventfoldError(error) && error.code === "WRONG_EXPECTED_VERSION") {
          const conflict = new ExpectedVersionConflictError(BigInt(error.actual), emmettExpected(expected));
          conflict.cause = error;
          throw conflict;
        }
        throw error;
      }
      return {
        nextExpectedStreamVersion: BigInt(result.version),
        createdNewStream: result.version === inputs.length,
        lastEventGlobalPosition: BigInt(result.position),
      };
    },

    async streamExists(streamName) {
      return (await store.streamVersion(streamName)) > 0;
    },
  };
}
