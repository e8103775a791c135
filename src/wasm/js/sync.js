// The browser side of `store.sync()`: HTTP requests for the Rust sync client, and the driver
// that decides when to sync (now(), start(): live notifications, retry with backoff, back
// online), elects one syncing tab per store (Web Locks) and tells the app what happens.

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

// Errors that retrying cannot fix: the token is refused, or the server speaks another protocol
// version (docs/sync-protocol.md §11: stop syncing and report; pending events are kept).
const fatal = (e) =>
  e?.code === "UNAUTHORIZED" || e?.code === "FORBIDDEN" ||
  (e?.code === "PROTOCOL_ERROR" && /unsupported protocol version/.test(e.message));

const call = (fns, value) => {
  for (const f of fns) {
    try {
      f(value);
    } catch (e) {
      queueMicrotask(() => {
        throw e;
      });
    }
  }
};

/** The `Sync` object `store.sync()` returns. */
export function createSync(engine, options) {
  const url = options.url;
  const lockName = `eventfold-sync:${options.storeName ?? url}`;
  const interval = options.pollIntervalMs ?? 30000;
  const onStatus = new Set();
  const onRejected = new Set();
  const onConflict = new Set();
  const status = {
    pending: 0, checkpoint: 0, online: false, syncing: false, leader: false,
    lastSync: null, lastError: null, held: [],
  };
  let running = false;
  let inFlight = null;
  let wake = null;
  let dirty = false; // work arrived while no one was sleeping
  let live = null;
  const snapshot = () => ({ ...status, held: status.held.slice() });
  const emit = () => call(onStatus, snapshot());
  const kick = () => {
    dirty = true;
    const w = wake;
    wake = null;
    w?.();
  };
  const refresh = async () => {
    try {
      Object.assign(status, await engine.status());
      emit();
    } catch {
      // The store closed; nothing to report.
    }
  };
  const channel =
    typeof BroadcastChannel === "function" && options.storeName
      ? new BroadcastChannel(lockName)
      : null;
  if (channel) {
    channel.onmessage = () => {
      engine.pendingChangedElsewhere();
      refresh();
      kick();
    };
  }
  engine.onPendingChange(() => {
    channel?.postMessage("pending");
    refresh();
    kick();
  });
  engine.setOnRejected((rejected) => call(onRejected, rejected));

  async function runOnce() {
    status.syncing = true;
    emit();
    try {
      const report = await engine.syncOnce();
      status.online = true;
      status.lastSync = Date.now();
      status.lastError = null;
      for (const held of report.held) call(onConflict, held);
      return report;
    } catch (e) {
      status.lastError = e;
      if (e?.code === "NETWORK") status.online = false;
      throw e;
    } finally {
      status.syncing = false;
      await refresh();
    }
  }

  const sleep = (ms) =>
    new Promise((resolve) => {
      if (dirty) {
        dirty = false;
        return resolve();
      }
      const t = setTimeout(() => kick(), ms);
      wake = () => {
        clearTimeout(t);
        dirty = false;
        resolve();
      };
    });

  function openLive() {
    if (typeof EventSource !== "function") return;
    const q = options.token ? `?token=${encodeURIComponent(options.token)}` : "";
    live = new EventSource(`${url}/v1/live${q}`);
    live.addEventListener("head", (ev) => {
      try {
        if (JSON.parse(ev.data).head > status.checkpoint) kick();
      } catch {
        // A malformed notification only costs a poll.
      }
    });
  }

  async function loop() {
    let backoff = 0;
    status.leader = true;
    emit();
    openLive();
    const online = () => kick();
    globalThis.addEventListener?.("online", online);
    try {
      while (running) {
        try {
          await sync.now();
          backoff = 0;
        } catch (e) {
          if (fatal(e)) {
            running = false;
            break;
          }
          backoff = Math.min(30000, backoff ? backoff * 2 : 500);
        }
        if (!running) break;
        await sleep(backoff || interval);
      }
    } finally {
      globalThis.removeEventListener?.("online", online);
      live?.close();
      live = null;
      status.leader = false;
      emit();
    }
  }

  const sync = {
    /** Pushes pending events and pulls new ones now; resolves to what it did. */
    now() {
      inFlight ??= runOnce().finally(() => {
        inFlight = null;
      });
      return inFlight;
    },
    /** Keeps syncing in the background, in one tab of this store at a time. */
    start() {
      if (running) return;
      running = true;
      if (globalThis.navigator?.locks) {
        navigator.locks.request(lockName, () => (running ? loop() : undefined));
      } else {
        loop();
      }
    },
    /** Stops background syncing (a sync in flight finishes). */
    stop() {
      running = false;
      kick();
    },
    /** The latest status: `{ pending, checkpoint, online, syncing, leader, lastSync, lastError, held }`. */
    get status() {
      return snapshot();
    },
    /** Calls `callback(status)` on every change; returns a function that unsubscribes. */
    onStatus(callback) {
      onStatus.add(callback);
      return () => onStatus.delete(callback);
    },
    /** Calls `callback({ stream, command, events, error })` for each pending command or
     * event dropped for good (a rebase found the command rejected, a discard, a refusal). */
    onRejected(callback) {
      onRejected.add(callback);
      return () => onRejected.delete(callback);
    },
    /** Calls `callback({ stream, actual })` for streams held by the manual strategy. */
    onConflict(callback) {
      onConflict.add(callback);
      return () => onConflict.delete(callback);
    },
    /** Resolves a held stream: "append" | "rebase" | "discard". */
    async resolve(stream, how) {
      const dropped = await engine.resolve(stream, how);
      await refresh();
      return dropped;
    },
    /** The pending events, in local append order. */
    pending() {
      return engine.pending();
    },
  };
  refresh();
  return sync;
}
