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

/**
 * Validates an array of event inputs and returns a flat array of strings:
 * [id0, type0, dataJson0, metadataJson0, id1, ...]. Missing ids are generated.
 */
export function encodeEvents(events) {
  if (!Array.isArray(events)) fail("events", "must be an array of events");
  const out = new Array(events.length * 4);
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    const at = `events[${i}]`;
    if (e === null || typeof e !== "object" || Array.isArray(e)) fail(at, "must be an object");
    let id = e.id;
    if (id === undefined) id = crypto.randomUUID();
    else if (typeof id !== "string") fail(`${at}.id`, "must be a UUID string");
    if (typeof e.type !== "string") fail(`${at}.type`, "must be a non-empty string");
    const metadata = e.metadata === undefined ? {} : e.metadata;
    if (metadata === null || typeof metadata !== "object" || Array.isArray(metadata)) {
      fail(`${at}.metadata`, "must be a plain object");
    }
    out[i * 4] = id;
    out[i * 4 + 1] = e.type;
    out[i * 4 + 2] = toJson(e.data === undefined ? null : e.data, `${at}.data`);
    out[i * 4 + 3] = toJson(metadata, `${at}.metadata`);
  }
  return out;
}

/** A state (or any value) as JSON text, with the same checks as event data. */
export function encodeJson(value, path) {
  return toJson(value === undefined ? null : value, path);
}
