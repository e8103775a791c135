// Deterministic benchmark data, generated in the page before any timer starts.
//
// Every contender receives the same events: ~200-byte JSON objects
// `{ id, type, data: { orderId, sku, qty, price, cur } }` with ids drawn from a seeded PRNG
// (no crypto.randomUUID, so every run writes byte-identical data). Events are grouped into
// appends ("batches"); batch b goes to stream `order-<b % streams>` (1,000 streams unless
// stated), except that a dataset may send its first batches to one long stream to read back.

const TYPES = ["OrderPlaced", "OrderItemAdded", "OrderItemRemoved", "OrderShipped"];
const CURRENCIES = ["EUR", "USD", "GBP", "JPY"];

/** The stream that holds the first `hotBatches` batches of a dataset (read back in (d1)). */
export const HOT_STREAM = "order-hot";

/** mulberry32: a tiny seeded PRNG returning uint32 values. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

const hex = (n, width) => n.toString(16).padStart(width, "0");

/** A version-4-shaped UUID from four PRNG draws. */
function uuid(next) {
  const [a, b, c, d] = [next(), next(), next(), next()];
  return `${hex(a, 8)}-${hex(b >>> 16, 4)}-4${hex(b & 0xfff, 3)}-` +
    `${hex(0x8000 | (c >>> 16 & 0x3fff), 4)}-${hex(c & 0xffff, 4)}${hex(d, 8)}`;
}

function event(next, stream) {
  const r = next();
  return {
    id: uuid(next),
    type: TYPES[r & 3],
    data: {
      orderId: stream,
      sku: `SKU-${hex(next() & 0xfffff, 5)}-${[next(), next(), next(), next(), next()].map((n) => hex(n, 8)).join("-")}`,
      qty: 1 + (r >>> 2) % 9,
      price: (r >>> 6) % 100000 / 100,
      cur: CURRENCIES[(r >>> 4) & 3],
    },
  };
}

/**
 * `events` events in batches of `batchSize`: `[{ stream, events: [...] }]`.
 * The first `hotBatches` batches all go to HOT_STREAM (a long stream to read back).
 */
export function makeBatches({ events, batchSize, streams = 1000, hotBatches = 0, seed = 42 }) {
  const next = prng(seed);
  const batches = [];
  for (let b = 0; b * batchSize < events; b++) {
    const stream = b < hotBatches ? HOT_STREAM : `order-${b % streams}`;
    const size = Math.min(batchSize, events - b * batchSize);
    batches.push({ stream, events: Array.from({ length: size }, () => event(next, stream)) });
  }
  return batches;
}

/**
 * The datasets of the scenarios, by name. `groups` splits the batches between concurrent
 * appenders: one array of batches per appender.
 */
export const DATASETS = {
  // (a), read back in (d): 1,000 appends of 100 events; the first 100 appends (10k events)
  // go to HOT_STREAM, the other 900 to 900 streams of 100 events each.
  bulk: () => ({ groups: [makeBatches({ events: 100_000, batchSize: 100, hotBatches: 100 })] }),
  // (b) interactive: 2,000 awaited single-event appends over 1,000 streams.
  single: () => ({ groups: [makeBatches({ events: 2_000, batchSize: 1 })] }),
  // (c) group commit: 2,000 single-event appends from 16 appenders, one stream each.
  concurrent: () => {
    const batches = makeBatches({ events: 2_000, batchSize: 1, streams: 16 });
    const groups = Array.from({ length: 16 }, (_, k) => batches.filter((_, b) => b % 16 === k));
    return { groups };
  },
  // (h) a log as an app writes it: 20,000 single-event appends over 500 streams (40 events
  // each, interleaved), issued by 100 appenders at once (group commit: one transaction per
  // group, still one record per event). Stream k is aggregate "order" with id k.
  app: () => {
    const batches = makeBatches({ events: 20_000, batchSize: 1, streams: 500 });
    return { groups: Array.from({ length: 100 }, (_, k) => batches.filter((_, b) => b % 100 === k)) };
  },
  // (h) the same events written packed: one append of 40 events per stream.
  "app-packed": () => {
    const byStream = new Map();
    for (const b of makeBatches({ events: 20_000, batchSize: 1, streams: 500 })) {
      if (!byStream.has(b.stream)) byStream.set(b.stream, []);
      byStream.get(b.stream).push(...b.events);
    }
    return { groups: [[...byStream].map(([stream, events]) => ({ stream, events }))] };
  },
};

/** (q) The read model both contenders keep: one record per stream of the "app" datasets. */
export const ORDER_TYPES = TYPES;
/** (q) The record of `stream` after `event`, from `current` (undefined: none yet). */
export function orderRecord(current, stream, event) {
  return {
    id: stream,
    n: (current?.n ?? 0) + 1,
    total: (current?.total ?? 0) + event.data.qty * event.data.price,
    bucket: Number(stream.slice("order-".length)) % 10,
  };
}
/** (q) The query repeated: the 50 orders of bucket 3, 200 times. */
export const REPEATED_QUERY = { bucket: 3, limit: 50, times: 200 };

/** The streams of the "app" datasets, as aggregate ids of aggregate "order", loaded in (h). */
export const APP_AGGREGATES = Array.from({ length: 100 }, (_, k) => String(k));
