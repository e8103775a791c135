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

/** A promise resolved after `ms` milliseconds. */
export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, Math.min(ms, 2147483647)));
}

/** A random UUID. */
export function randomId() {
  return crypto.randomUUID();
}

/**
 * Runs `onAcquire()` once this tab holds the Web Lock `name` (exclusive across the tabs and
 * workers of the origin), and holds it until `release()` is called or the tab closes, when a
 * waiting tab gets it. Without Web Locks (Node, Deno, workers without `navigator.locks`),
 * `onAcquire` runs at once. Returns the release function.
 */
export function lead(name, onAcquire) {
  const locks = globalThis.navigator?.locks;
  if (!locks || typeof locks.request !== "function") {
    onAcquire();
    return () => {};
  }
  const abort = new AbortController();
  let release;
  const held = new Promise((resolve) => { release = resolve; });
  locks.request(name, { signal: abort.signal }, () => {
    onAcquire();
    return held;
  }).catch(() => {});
  return () => {
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
