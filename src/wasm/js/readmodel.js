// Runs read model handlers over a parsed batch of events. Each handler gets the event and a
// small write API; writes are buffered (and visible to later gets in the batch) until the
// engine commits them together with the checkpoint. A throwing handler's writes are undone.
import { encodeJson } from "./encode.js";

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
