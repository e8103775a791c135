// The JavaScript half of the bindings: every function the wasm side imports lives in this one
// module, in sections (encode, read path, folds, read models, sync primitives, buses). One
// module on purpose: a page loading the package without a bundler fetches one file instead of one per
// concern, and headless test runs stay reliable (the test runner's HTTP server, tiny_http 0.12,
// strands a connection when a page opens more than four at once: see docs/testing.md).
// The package ships each build only the exports its wasm and glue import, and what they reach
// (scripts/build-pkg.mjs, treeShakeSnippets): eventfold/core carries no sync, server or bus code.

// ---------------------------------------------------------------------------------------------
// listeners
// ---------------------------------------------------------------------------------------------

/** What a projection or read model subscriber threw: reported, then ignored. */
export function reportListenerError(what, error) {
  console.error(`eventfold: ${what} threw; the others are still called.`, error);
}

/**
 * A LiveQuery whose `subscribe` and `getSnapshot` are bound to it, so they can be passed as they
 * are: `useSyncExternalStore(q.subscribe, q.getSnapshot)` (React calls them without `this`), and
 * they keep their identity across renders.
 */
export function bindLiveQuery(query) {
  for (const name of ["subscribe", "getSnapshot"]) {
    Object.defineProperty(query, name, { value: query[name].bind(query) });
  }
  return query;
}

/**
 * Calls `stop` when `signal` (an AbortSignal, or undefined) aborts; returns a function that stops
 * listening (the engine calls it when the call settles, so a long-lived signal keeps no listener).
 */
export function watchAbort(signal, stop) {
  if (!signal) return () => {};
  if (!(typeof signal.addEventListener === "function" && "aborted" in signal)) {
    throw new TypeError("options.signal must be an AbortSignal");
  }
  if (signal.aborted) {
    stop();
    return () => {};
  }
  signal.addEventListener("abort", stop, { once: true });
  return () => signal.removeEventListener("abort", stop);
}

/** What a call aborted by `signal` rejects with: the signal's reason, as fetch() does. */
export function abortReason(signal) {
  return signal.reason ?? new DOMException("This operation was aborted", "AbortError");
}

// ---------------------------------------------------------------------------------------------
// subscriptions
// ---------------------------------------------------------------------------------------------
// The two forms `store.subscribe` returns around the engine's subscription (src/wasm/subscription.rs
// runs the catch-up and live delivery): a function that stops it, or an async iterator of batches.

/** Closes `sub` when `signal` (an AbortSignal, or undefined) aborts. */
function closeOnAbort(sub, signal) {
  if (!signal) return;
  if (signal.aborted) sub.close();
  else signal.addEventListener("abort", () => sub.close(), { once: true });
}

/**
 * `store.subscribe(options, callback)`: a function that stops the subscription (the convention
 * of projection and read model subscribers, React's useSyncExternalStore and Svelte stores), with
 * `closed`, `checkpoint`, `[Symbol.dispose]` and the deprecated `close()` of the 0.1 object form.
 */
export function unsubscriber(sub, signal) {
  const off = () => sub.close();
  Object.defineProperties(off, {
    close: { value: () => sub.close() },
    closed: { get: () => sub.closed },
    checkpoint: { get: () => sub.checkpoint },
  });
  if (typeof Symbol.dispose === "symbol") Object.defineProperty(off, Symbol.dispose, { value: off });
  closeOnAbort(sub, signal);
  return off;
}

/**
 * `store.subscribe(options)` without a callback: an async iterator of batches. `push` is the
 * subscription's callback: its promise settles when the consumer asks for the next batch, so
 * the engine reads ahead by one batch at most. `end` is called when the subscription stops (with
 * the error that stopped it, if any). `break` out of `for await`, `return()` or the signal end it.
 */
export function batchChannel() {
  const queue = [];
  let release = null;
  let waiter = null;
  let ended = false;
  let failure;
  let sub = null;
  const finish = () => {
    ended = true;
    if (release) release();
    release = null;
    for (const item of queue.splice(0)) item.release();
    sub?.close();
  };
  const wake = () => {
    if (!waiter) return;
    const { resolve, reject } = waiter;
    if (queue.length) {
      waiter = null;
      const item = queue.shift();
      release = item.release;
      resolve({ value: item.batch, done: false });
    } else if (ended) {
      waiter = null;
      if (failure !== undefined) {
        const e = failure;
        failure = undefined;
        reject(e);
      } else resolve({ value: undefined, done: true });
    }
  };
  const iterator = {
    next() {
      if (release) release();
      release = null;
      return new Promise((resolve, reject) => {
        waiter = { resolve, reject };
        wake();
      });
    },
    return() {
      finish();
      wake();
      return Promise.resolve({ value: undefined, done: true });
    },
    close() {
      iterator.return();
    },
    get closed() {
      return ended || !!sub?.closed;
    },
    get checkpoint() {
      return sub ? sub.checkpoint : 0;
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  if (typeof Symbol.asyncDispose === "symbol") {
    Object.defineProperty(iterator, Symbol.asyncDispose, { value: () => iterator.return().then(() => undefined) });
  }
  return {
    push(batch) {
      if (ended) return Promise.resolve();
      return new Promise((resolve) => {
        queue.push({ batch, release: resolve });
        wake();
      });
    },
    end(error) {
      if (ended) return;
      ended = true;
      if (error !== undefined && error !== null) failure = error;
      wake();
    },
    attach(subscription, signal) {
      sub = subscription;
      if (ended) sub.close();
      closeOnAbort(sub, signal);
      return iterator;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// encode
// ---------------------------------------------------------------------------------------------
// Validation and encoding of events on their way into the engine. Runs in JavaScript so that
// payloads cross the wasm boundary as one JSON text each (native JSON.stringify), never
// field by field. Throws TypeError with the path of the first bad value.

function fail(path, what) {
  throw new TypeError(`${path} ${what}`);
}

function isPlainObject(v) {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

// JSON.stringify with a replacer that rejects what JSON cannot represent faithfully:
// functions, symbols, BigInt, NaN/±Infinity, undefined in arrays, and objects that are not
// plain (Date, Map, Set, class instances, typed arrays), which JSON would silently change.
// Cycles are reported by JSON.stringify itself. Undefined object properties are omitted, as
// JSON does.
function toJson(value, path) {
  // Fast path: a value made only of what JSON represents faithfully is stringified without a
  // replacer (a replacer call per key costs ~3 µs per event of the benchmark's data); anything
  // else takes the checking path below, which names the first offending value.
  if (isPlainJson(value, 0)) return JSON.stringify(value);
  const replacer = function (key, v) {
    const original = this[key];
    const where = key === "" ? path : `${path}, at key ${JSON.stringify(key)},`;
    switch (typeof original) {
      case "function":
        return fail(where, "is a function, which is not JSON");
      case "symbol":
        return fail(where, "is a symbol, which is not JSON");
      case "bigint":
        return fail(where, "is a BigInt, which is not JSON (store it as a string)");
      case "number":
        if (!Number.isFinite(original)) fail(where, `is ${original}, which is not JSON`);
        return v;
      case "undefined":
        if (Array.isArray(this)) fail(where, "is undefined inside an array, which is not JSON");
        return v;
      case "object":
        if (original !== null && !Array.isArray(original) && !isPlainObject(original)) {
          const name = original.constructor?.name ?? "object";
          fail(where, `is a ${name}, which is not a plain JSON object`);
        }
        return v;
      default:
        return v;
    }
  };
  try {
    return JSON.stringify(value, replacer);
  } catch (e) {
    if (e instanceof TypeError && /circular/i.test(e.message)) fail(path, "contains a cycle, which is not JSON");
    throw e;
  }
}

// Whether JSON.stringify(v) represents `v` exactly: strings, finite numbers, booleans, null,
// arrays without holes or undefined, and plain objects of these (undefined properties are
// omitted, as JSON does). Conservative: a function anywhere (toJSON too), a non-plain object,
// or nesting deeper than 64 (perhaps a cycle) answers false, and the caller takes the path
// that checks every value and reports the problem.
function isPlainJson(v, depth) {
  switch (typeof v) {
    case "string":
    case "boolean":
      return true;
    case "number":
      return Number.isFinite(v);
    case "object": {
      if (v === null) return true;
      if (depth > 64) return false;
      if (Array.isArray(v)) {
        if (Object.getPrototypeOf(v) !== Array.prototype) return false;
        for (let i = 0; i < v.length; i++) {
          if (!(i in v) || v[i] === undefined || !isPlainJson(v[i], depth + 1)) return false;
        }
        return true;
      }
      if (!isPlainObject(v)) return false;
      for (const k in v) {
        if (!Object.prototype.hasOwnProperty.call(v, k)) return false;
        const x = v[k];
        if (x !== undefined && !isPlainJson(x, depth + 1)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

const utf8 = new TextEncoder();

/**
 * Validates an array of event inputs and returns their strings id0, type0, dataJson0,
 * metadataJson0, id1, … joined by "\0" and encoded as UTF-8 bytes, so that an append crosses
 * into wasm as one byte copy instead of four strings per event (JSON text never holds a raw
 * NUL; the native encoder is much faster than the glue's character loop for a string). When an
 * id or a type holds a NUL, the flat array of the strings instead (the engine then names the
 * bad value). Missing ids are generated; missing metadata is "{}" without a stringify.
 */
export function encodeEvents(events) {
  if (!Array.isArray(events)) fail("events", "must be an array of events");
  const out = new Array(events.length * 4);
  let nul = false;
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    if (e === null || typeof e !== "object" || Array.isArray(e)) fail(`events[${i}]`, "must be an object");
    let id = e.id;
    if (id === undefined) id = crypto.randomUUID();
    else if (typeof id !== "string") fail(`events[${i}].id`, "must be a UUID string");
    if (typeof e.type !== "string") fail(`events[${i}].type`, "must be a non-empty string");
    const metadata = e.metadata;
    if (metadata !== undefined && (metadata === null || typeof metadata !== "object" || Array.isArray(metadata))) {
      fail(`events[${i}].metadata`, "must be a plain object");
    }
    out[i * 4] = id;
    out[i * 4 + 1] = e.type;
    out[i * 4 + 2] = toJson(e.data === undefined ? null : e.data, `events[${i}].data`);
    out[i * 4 + 3] = metadata === undefined ? "{}" : toJson(metadata, `events[${i}].metadata`);
    if (id.includes("\0") || e.type.includes("\0")) nul = true;
  }
  return nul ? out : utf8.encode(out.join("\0"));
}

/** A state (or any value) as JSON text, with the same checks as event data. */
export function encodeJson(value, path) {
  return toJson(value === undefined ? null : value, path);
}

/**
 * A `chunks` record of the IndexedDB store (src/store/indexeddb/codec.rs): one object literal,
 * so every record has the same shape; `ids` arrive comma-joined (UUIDs hold no comma).
 */
export function chunkRecord(p, q, n, s, v, t, ids, e, w) {
  const record = { p, q, n, s, v, t, ids: ids.split(","), e };
  if (w !== undefined) record.w = w;
  return record;
}

// ---------------------------------------------------------------------------------------------
// collect
// ---------------------------------------------------------------------------------------------
// The JavaScript read path of the IndexedDB store: each chunk record keeps its events as one
// JSON text in exactly the shape JavaScript sees, so a read is one native JSON.parse per record
// and a filter loop here, with no decoding in wasm and no conversion back.

/**
 * Appends to `out` the events of `records` after `after` that pass the filter (stream
 * `prefixes`, `types` or null), until `out` holds `limit`. Returns -1, or the index of a
 * record whose text does not fit its header (with the reason in `problem[0]`). Records of a
 * compacted window (`w`) hold positions out of key order: a page with one is sorted by
 * position before it is filtered (the store hands over whole windows).
 */
export function collectEvents(records, after, limit, prefixes, types, out, problem) {
  const sorted = records.some((r) => r.w !== undefined);
  const page = sorted ? [] : out;
  for (let r = 0; r < records.length; r++) {
    const record = records[r];
    if (record.d !== undefined) continue; // hollow: events a reset dropped, or its marker
    let events;
    try {
      events = JSON.parse(record.e);
    } catch (e) {
      problem[0] = `field e is not JSON: ${e.message}`;
      return r;
    }
    if (!Array.isArray(events) || events.length !== record.n || events.at(-1)?.position !== record.p) {
      problem[0] = `field e does not hold the ${record.n} events its header says`;
      return r;
    }
    for (const e of events) {
      if (e.position <= after) continue;
      if (sorted) {
        page.push(e);
        continue;
      }
      if (prefixes.length > 0 && !prefixes.some((p) => e.stream.startsWith(p))) continue;
      if (types !== null && !types.includes(e.type)) continue;
      out.push(e);
      if (out.length >= limit) return -1;
    }
  }
  if (sorted) {
    page.sort((a, b) => a.position - b.position);
    for (const e of page) {
      if (prefixes.length > 0 && !prefixes.some((p) => e.stream.startsWith(p))) continue;
      if (types !== null && !types.includes(e.type)) continue;
      out.push(e);
      if (out.length >= limit) return -1;
    }
  }
  return -1;
}

/**
 * Parses the event texts of a stream's chunk records (version order) into `out`, keeping
 * versions `lo..=hi`, each record checked against its header (count, stream, consecutive
 * versions ending at `v`, ids). Returns -1, or the index of the first bad record with the
 * reason in `problem[0]`.
 */
export function streamEvents(records, stream, lo, hi, out, problem) {
  for (let r = 0; r < records.length; r++) {
    const record = records[r];
    let events;
    try {
      events = JSON.parse(record.e);
    } catch (e) {
      problem[0] = `field e is not JSON: ${e.message}`;
      return r;
    }
    const n = record.n;
    if (!Array.isArray(events) || events.length !== n || record.s !== stream || !Array.isArray(record.ids)) {
      problem[0] = `field e does not hold the ${n} events of ${stream} its header says`;
      return r;
    }
    const first = record.v - n + 1;
    for (let i = 0; i < n; i++) {
      const e = events[i];
      if (e === null || typeof e !== "object" || e.version !== first + i || e.stream !== stream || e.id !== record.ids[i]) {
        problem[0] = `event ${i} does not match the record's stream, versions or ids`;
        return r;
      }
      if (e.version >= lo && e.version <= hi) out.push(e);
    }
  }
  return -1;
}

// ---------------------------------------------------------------------------------------------
// fold
// ---------------------------------------------------------------------------------------------
// Folds run in JavaScript over a batch parsed once, so user `evolve` functions are called
// without a wasm boundary crossing per event.

/**
 * Applies `evolve` to each event in order. Returns [state, applied, error]: on a throwing
 * evolve, the state after the events before it, their count, and what was thrown.
 */
export function foldEvents(evolve, state, events) {
  let i = 0;
  try {
    for (; i < events.length; i++) state = evolve(state, events[i]);
    return [state, i, undefined];
  } catch (e) {
    return [state, i, e];
  }
}

/**
 * One upcasting step on a parsed event (the engine runs the rule: which step, in which order,
 * up to which version; src/core/upcast.rs): calls `step(event)`, which returns the event one
 * version up as `{ type?, data, metadata? }`, and builds that event stamped with schema version
 * `to`. Throws TypeError for a result that is not an event.
 */
export function liftEvent(step, e, to) {
  const up = step(e);
  if (up === null || typeof up !== "object") throw new TypeError("it must return an event object");
  const type = up.type === undefined ? e.type : up.type;
  if (typeof type !== "string" || type === "") throw new TypeError("it returned a bad type");
  const metadata = up.metadata ?? e.metadata;
  if (metadata === null || typeof metadata !== "object" || Array.isArray(metadata)) {
    throw new TypeError("it returned metadata that is not an object");
  }
  return { ...e, type, data: up.data === undefined ? null : up.data, metadata: { ...metadata, schemaVersion: to } };
}

// ---------------------------------------------------------------------------------------------
// readmodel
// ---------------------------------------------------------------------------------------------
// Runs read model handlers over a parsed batch of events. Each handler gets the event and a
// small write API; writes are buffered (and visible to later gets in the batch) until the
// engine commits them together with the checkpoint. A throwing handler's writes are undone.

function indexEntries(indexes, value, key) {
  const out = [];
  for (const name of indexes) {
    const v = value?.[name];
    if (v === undefined || v === null) continue;
    if (typeof v === "string" || (typeof v === "number" && Number.isFinite(v))) out.push([name, v]);
    else throw new TypeError(`record ${key}: index field ${name} must be a string or a finite number`);
  }
  return out;
}

function checkKey(key) {
  if (typeof key === "number" && Number.isFinite(key)) return String(key);
  if (typeof key !== "string" || key === "") throw new TypeError("a record key must be a non-empty string");
  return key;
}

/**
 * Applies `handlers[event.type](event, rm)` to each event in order. `load(key)` resolves to a
 * stored record's JSON text (or undefined). Returns { writes: [[key, json|null, entries]],
 * applied, error }: on a throwing handler, the writes of the events before it.
 */
export async function applyHandlers(handlers, indexes, events, load) {
  const overlay = new Map(); // key -> { json, entries } | null (deleted)
  let undo = null;
  const read = async (key) => {
    key = checkKey(key);
    if (overlay.has(key)) {
      const w = overlay.get(key);
      return w === null ? undefined : JSON.parse(w.json);
    }
    const json = await load(key);
    return json === undefined ? undefined : JSON.parse(json);
  };
  const write = (key, entry) => {
    if (!undo.has(key)) undo.set(key, overlay.has(key) ? overlay.get(key) : undefined);
    overlay.set(key, entry);
  };
  const rm = {
    get: read,
    put(key, value) {
      key = checkKey(key);
      if (value === null || typeof value !== "object" || Array.isArray(value)) {
        throw new TypeError(`record ${key} must be a plain object`);
      }
      write(key, { json: encodeJson(value, `record ${key}`), entries: indexEntries(indexes, value, key) });
    },
    async update(key, fn) {
      const next = await fn(await read(key));
      if (next === undefined) rm.delete(key);
      else rm.put(key, next);
      return next;
    },
    delete(key) {
      write(checkKey(key), null);
    },
  };
  let applied = 0;
  let error;
  for (const event of events) {
    const handler = handlers[event.type];
    undo = new Map();
    try {
      if (typeof handler === "function") {
        const r = handler(event, rm);
        if (r && typeof r.then === "function") await r;
      }
    } catch (e) {
      for (const [key, prev] of undo) {
        if (prev === undefined) overlay.delete(key);
        else overlay.set(key, prev);
      }
      error = e;
      break;
    }
    applied++;
  }
  const writes = [];
  for (const [key, w] of overlay) writes.push([key, w === null ? null : w.json, w === null ? [] : w.entries]);
  return { writes, applied, error };
}

// ---------------------------------------------------------------------------------------------
// sync
// ---------------------------------------------------------------------------------------------
// The platform primitives `store.sync()` uses: HTTP requests, the server's live stream, the
// `online` event, a timer and a monotonic clock. Deciding when to sync is the engine's
// (src/sync/scheduler); src/wasm/sync/ performs what it asks with these. The leader lock is
// `lead` (buses section).

/** One protocol request. Never throws: `{ network }` when the server could not be reached. */
export async function syncRequest(url, token, path, body) {
  const headers = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(url + path, { method: "POST", headers, body });
  } catch (e) {
    return { network: String(e?.message ?? e) };
  }
  try {
    return { status: res.status, text: await res.text() };
  } catch (e) {
    return { network: `connection lost while reading the answer: ${e?.message ?? e}` };
  }
}

/**
 * Opens the server's live stream (`/v1/live`, server-sent events) and calls `onHead(text)`
 * with the JSON text of each `head` notification. Returns a function that closes it, or null
 * where there is no `EventSource` (Node).
 */
export function openLive(url, token, onHead) {
  if (typeof EventSource !== "function") return null;
  const q = token ? `?token=${encodeURIComponent(token)}` : "";
  const live = new EventSource(`${url}/v1/live${q}`);
  live.addEventListener("head", (ev) => onHead(String(ev.data)));
  return () => live.close();
}

/** Calls `callback()` on the platform's `online` event; returns a function that stops it, or null. */
export function watchOnline(callback) {
  const target = globalThis;
  if (typeof target.addEventListener !== "function") return null;
  target.addEventListener("online", callback);
  return () => target.removeEventListener("online", callback);
}

/** Calls `callback()` after `ms` milliseconds; returns a function that cancels it. */
export function startTimer(ms, callback) {
  const t = setTimeout(callback, Math.min(Math.max(ms, 0), 2147483647));
  return () => clearTimeout(t);
}

/** Milliseconds on a monotonic clock (never goes back, unlike `Date.now()`). */
export function monotonicNow() {
  return performance.now();
}

// ---------------------------------------------------------------------------------------------
// buses
// ---------------------------------------------------------------------------------------------
// JavaScript glue of the buses and workers: calling user handlers (a synchronous throw becomes
// a rejection), timers, ids, and the Web Locks leader election that lets exactly one tab run
// the side-effect handlers and sagas of a database.

/** Calls `fn(...args)` and always returns a promise (a synchronous throw rejects it). */
export function invoke(fn, a, b, c) {
  try {
    return Promise.resolve(fn(a, b, c));
  } catch (e) {
    return Promise.reject(e);
  }
}

/** Calls `fn(...args)` synchronously; returns [value] or [undefined, thrown]. */
export function attempt(fn, a, b) {
  try {
    return [fn(a, b)];
  } catch (e) {
    return [undefined, e === undefined ? new Error("undefined was thrown") : e];
  }
}

/**
 * A promise resolved after `ms` milliseconds. `cancelSleep(promise)` clears its timer: a
 * pending timer keeps Node, Deno and Bun running, so a sleep that lost a race (a handler's time
 * limit, a saga's wait) must not outlive it.
 */
export function sleep(ms) {
  let timer;
  const p = new Promise((resolve) => {
    timer = setTimeout(resolve, Math.min(Math.max(ms, 0), 2147483647));
  });
  p.timer = timer;
  return p;
}

/** Clears the timer of a `sleep(ms)` promise (a no-op once it fired). */
export function cancelSleep(p) {
  clearTimeout(p.timer);
}

/** A random UUID. */
export function randomId() {
  return crypto.randomUUID();
}

/**
 * Runs `onAcquire()` once this tab holds the Web Lock `name` (exclusive across the tabs and
 * workers of the origin), and holds it until `release()` is called or the tab closes, when a
 * waiting tab gets it. `onLost()`, if given, is called when the lock is taken away without
 * `release()` (another context stole it) or the request fails. Without Web Locks (Node, Deno,
 * workers without `navigator.locks`), `onAcquire` runs at once. Returns the release function.
 */
export function lead(name, onAcquire, onLost) {
  const locks = globalThis.navigator?.locks;
  if (!locks || typeof locks.request !== "function") {
    onAcquire();
    return () => {};
  }
  const abort = new AbortController();
  let release;
  let released = false;
  const held = new Promise((resolve) => { release = resolve; });
  locks.request(name, { signal: abort.signal }, () => {
    if (released) return undefined; // granted as it was withdrawn: give it back at once
    onAcquire();
    return held;
  }).catch(() => {
    if (!released) onLost?.();
  });
  return () => {
    released = true;
    abort.abort();
    release();
  };
}

/**
 * Gives a handler context its `dispatch(command)`: `send(ctx, command, n, cause)` with `n` the
 * number of this call within the context (1, 2, ...), so the commands a handler sends get the
 * same derived ids each time it runs. One `send` serves every context of a bus.
 */
export function bindDispatch(ctx, send, cause) {
  let n = 0;
  Object.defineProperty(ctx, "dispatch", { value: (command) => send(ctx, command, ++n, cause), enumerable: false });
}

// ---------------------------------------------------------------------------------------------
// sqlite
// ---------------------------------------------------------------------------------------------
// One small synchronous executor over each runtime's SQLite (src/store/sql/executor.rs):
// `query(sql, params)` answers rows as arrays, `run(sql, params)` answers nothing,
// `transaction(body)` runs `body` (which answers whether to commit) in one transaction, and
// `rowsPerInsert` (optional, default 1) says how many events one INSERT should carry. The
// engine calls them through `sqlRun` and `sqlEvents` (several statements, or a page of events
// as objects, per crossing of the wasm boundary). The
// engine sends no transaction-control statement of its own and binds at most 100 values per
// statement (a Durable Object's limits).

function describeHandle(h) {
  if (h === null) return "null";
  if (typeof h !== "object") return typeof h;
  return h.constructor?.name ? `a ${h.constructor.name}` : "an object";
}

/** Wraps a node:sqlite DatabaseSync (Node >= 22.5, Deno). */
function nodeSqlite(db) {
  const cache = new Map();
  const prepare = (sql) => {
    let s = cache.get(sql);
    if (s === undefined) {
      s = db.prepare(sql);
      // Rows as arrays (Node >= 22.16); older versions answer objects in column order.
      s.arrays = typeof s.setReturnArrays === "function" && (s.setReturnArrays(true), true);
      cache.set(sql, s);
    }
    return s;
  };
  return {
    query(sql, params) {
      const s = prepare(sql);
      const rows = s.all(...params);
      return s.arrays ? rows : rows.map((r) => Object.values(r));
    },
    run(sql, params) {
      prepare(sql).run(...params);
    },
    transaction(body) {
      const nested = db.isTransaction === true;
      db.exec(nested ? "SAVEPOINT eventfold" : "BEGIN IMMEDIATE");
      let ok = false;
      try {
        ok = body();
      } finally {
        if (ok) db.exec(nested ? "RELEASE eventfold" : "COMMIT");
        else db.exec(nested ? "ROLLBACK TO eventfold; RELEASE eventfold" : "ROLLBACK");
      }
    },
  };
}

/** Wraps a bun:sqlite Database (its `query` caches prepared statements). */
function bunSqlite(db) {
  return {
    query(sql, params) {
      return db.query(sql).values(...params);
    },
    run(sql, params) {
      db.query(sql).run(...params);
    },
    transaction(body) {
      const nested = db.inTransaction === true;
      db.run(nested ? "SAVEPOINT eventfold" : "BEGIN IMMEDIATE");
      let ok = false;
      try {
        ok = body();
      } finally {
        if (ok) db.run(nested ? "RELEASE eventfold" : "COMMIT");
        else {
          db.run(nested ? "ROLLBACK TO eventfold" : "ROLLBACK");
          if (nested) db.run("RELEASE eventfold");
        }
      }
    },
  };
}

const ROLLBACK = Symbol("eventfold: roll back");

/**
 * The values of `count` parameters from `cells` (two numbers per value: the kind, 0 null, 1
 * integer, 2 real, 3 text, then the number or the text's length) and `text` (every text value
 * in order), starting at `cursor` ({ cell, at }), which moves past them.
 */
function sqlParams(text, cells, count, cursor) {
  const params = new Array(count);
  let { cell, at } = cursor;
  for (let k = 0; k < count; k++, cell += 2) {
    const kind = cells[cell];
    if (kind === 3) {
      const end = at + cells[cell + 1];
      params[k] = text.slice(at, end);
      at = end;
    } else {
      params[k] = kind === 0 ? null : cells[cell + 1];
    }
  }
  cursor.cell = cell;
  cursor.at = at;
  return params;
}

/**
 * Runs statements on an executor in one call from the engine (src/store/sql/js.rs): `sql` holds
 * their distinct texts joined by NUL, `which` the text of each, `counts` how many values each
 * binds (see `sqlParams`). Answers each one's rows when `rows` (packed: see `packRows`), else
 * nothing. Stops at the first that throws.
 */
export function sqlRun(adapter, sql, which, counts, text, cells, rows) {
  const texts = sql.includes("\0") ? sql.split("\0") : [sql];
  const cursor = { cell: 0, at: 0 };
  const out = rows ? new Array(counts.length) : undefined;
  for (let i = 0; i < counts.length; i++) {
    const params = sqlParams(text, cells, counts[i], cursor);
    if (rows) out[i] = adapter.query(texts[which[i]], params);
    else adapter.run(texts[which[i]], params);
  }
  return rows ? packRows(out) : undefined;
}

/**
 * The rows of several statements as they cross into the engine: `[text, cells]`, every text
 * cell in `text` (one string, as UTF-8 bytes: the glue copies a string into wasm one character
 * at a time, TextEncoder does it natively) and the rest in the Float64Array `cells`: per statement its
 * number of rows, per row its number of cells, per cell two numbers (as `sqlParams` reads them:
 * the kind, 0 null, 1 integer, 2 real, 3 text; then the number, or the text's length in UTF-16
 * units). Two values cross instead of one per cell (a page of 5,000 events holds 40,000).
 * Cells of other types (blobs) cross as null, numbers beyond 2^53 as reals.
 */
function packRows(results) {
  const strings = [];
  const cells = [];
  for (const rows of results) {
    cells.push(rows.length);
    for (const row of rows) {
      cells.push(row.length);
      for (const v of row) {
        if (typeof v === "string") {
          strings.push(v);
          cells.push(3, v.length);
        } else if (typeof v === "number") {
          cells.push(Number.isSafeInteger(v) ? 1 : 2, v);
        } else if (typeof v === "bigint") {
          const n = Number(v);
          cells.push(Number.isSafeInteger(n) ? 1 : 2, n);
        } else {
          cells.push(0, 0);
        }
      }
    }
  }
  return [utf8.encode(strings.join("")), new Float64Array(cells)];
}

/**
 * Runs one SELECT of the event columns (position, id, stream, version, type, data, metadata,
 * timestamp) and answers the rows as event objects, the shape the engine's decoding path gives.
 * Throws on a row that is not an event; the engine then reads it through that path, which names it.
 */
export function sqlEvents(adapter, sql, text, cells) {
  const rows = adapter.query(sql, sqlParams(text, cells, cells.length / 2, { cell: 0, at: 0 }));
  const out = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const [position, id, stream, version, type, data, metadata, timestamp] = rows[i];
    if (typeof id !== "string" || typeof stream !== "string" || typeof type !== "string" ||
      !Number.isSafeInteger(position) || !Number.isSafeInteger(version) || !Number.isSafeInteger(timestamp) ||
      position < 1 || version < 1) {
      throw new TypeError(`eventfold_events position ${position} is not an event row`);
    }
    out[i] = { id, stream, type, data: JSON.parse(data), metadata: JSON.parse(metadata), version, position, timestamp };
  }
  return out;
}

/**
 * Wraps a Durable Object's SQL storage. With `storage` (ctx.storage), transactions go through
 * `storage.transactionSync`, which rolls back when its callback throws. With `ctx.storage.sql`
 * alone, the writes of one call still commit together (a Durable Object commits what one
 * synchronous turn wrote atomically) but a failure part-way cannot undo the writes before it.
 */
function durableObjectSql(sql, storage) {
  return {
    // Every sql.exec call builds a cursor object: 12 rows (96 values, under the limit of 100)
    // per INSERT make an append of 100 events 9 calls instead of 100.
    rowsPerInsert: 12,
    query(q, params) {
      return Array.from(sql.exec(q, ...params).raw());
    },
    run(q, params) {
      sql.exec(q, ...params);
    },
    transaction(body) {
      if (!storage) {
        body();
        return;
      }
      try {
        storage.transactionSync(() => {
          if (!body()) throw ROLLBACK;
        });
      } catch (e) {
        if (e !== ROLLBACK) throw e;
      }
    },
  };
}

/**
 * The executor of a SQLite handle: a Durable Object's `ctx.storage` or `ctx.storage.sql`, a
 * node:sqlite `DatabaseSync` or a bun:sqlite `Database`. Throws TypeError naming what was
 * expected for anything else.
 */
export function sqlExecutor(handle) {
  if (handle !== null && typeof handle === "object") {
    if (typeof handle.transactionSync === "function" && typeof handle.sql?.exec === "function") {
      return durableObjectSql(handle.sql, handle);
    }
    if (typeof handle.exec === "function" && "databaseSize" in handle && typeof handle.prepare !== "function") {
      return durableObjectSql(handle, null);
    }
    if (typeof handle.prepare === "function" && typeof handle.query === "function" && typeof handle.transaction === "function") {
      return bunSqlite(handle);
    }
    if (typeof handle.prepare === "function" && typeof handle.exec === "function") {
      return nodeSqlite(handle);
    }
  }
  throw new TypeError(
    "EventStore.sqlite needs a SQLite handle: a Durable Object's ctx.storage (or ctx.storage.sql), " +
      `a node:sqlite DatabaseSync or a bun:sqlite Database; got ${describeHandle(handle)}`,
  );
}

// ---------------------------------------------------------------------------------------------
// serve
// ---------------------------------------------------------------------------------------------
// The Fetch handler of a sync server (`createSyncHandler`): reads the request, hands its parts
// to the engine (`SyncServer.respond`, where the protocol and HTTP rules live), and writes the
// answer as a Response: gzip when the client accepts it and CompressionStream exists (as
// eventfold-server: bodies of 32 bytes and more), server-sent events for /v1/live.

/** The body, read up to `limit + 1` bytes: the engine refuses more than `limit` (after auth). */
async function readCapped(request, limit) {
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
    if (size > limit) {
      reader.cancel().catch(() => {});
      break;
    }
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

function liveResponse(live) {
  const encoder = new TextEncoder();
  let open = true;
  let keepAlive;
  const stream = new ReadableStream({
    async start(controller) {
      // A comment line every 15 s keeps proxies from closing the connection.
      keepAlive = setInterval(() => open && controller.enqueue(encoder.encode(":\n\n")), 15000);
      while (open) {
        const info = await live.next();
        if (!open) break;
        if (info === null) {
          open = false;
          clearInterval(keepAlive);
          controller.close();
          break;
        }
        controller.enqueue(encoder.encode(`event: head\ndata: ${info}\n\n`));
      }
    },
    cancel() {
      open = false;
      clearInterval(keepAlive);
      live.free();
    },
  });
  return new Response(stream, { status: 200, headers: { "content-type": "text/event-stream", "cache-control": "no-cache" } });
}

/** `(request) => Promise<Response>` over a `SyncServer`. */
export function fetchHandler(server, maxBodyBytes) {
  return async (request) => {
    const url = new URL(request.url);
    const h = request.headers;
    const contentLength = h.get("content-length") ?? undefined;
    // A body declared over the limit is not read: the engine refuses it (after auth).
    const skip = request.method === "GET" || request.method === "HEAD" || Number(contentLength) > maxBodyBytes;
    const body = skip ? new Uint8Array(0) : await readCapped(request, maxBodyBytes);
    const headers = { authorization: h.get("authorization") ?? undefined, contentType: h.get("content-type") ?? undefined, contentLength, host: h.get("host") ?? url.host };
    const answer = await server.respond(request.method, url.pathname, url.search.slice(1), headers, body);
    if (answer.live) return liveResponse(answer.live);
    const out = new Headers();
    out.set("content-type", "application/json");
    if (answer.status === 401) out.set("www-authenticate", "Bearer");
    let payload = answer.body;
    const gzip = /\bgzip\b/.test(h.get("accept-encoding") ?? "") && typeof CompressionStream === "function";
    if (payload.byteLength >= 32) out.set("vary", "accept-encoding");
    if (gzip && payload.byteLength >= 32) {
      out.set("content-encoding", "gzip");
      payload = new Response(payload).body.pipeThrough(new CompressionStream("gzip"));
    }
    // encodeBody "manual": Workers otherwise compress a body that declares content-encoding
    // again (other runtimes ignore the option).
    return new Response(request.method === "HEAD" ? null : payload, { status: answer.status, headers: out, encodeBody: "manual" });
  };
}
