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
 * Applies registered upcasters to parsed events, in place. `upcasters` maps an event type to a
 * Map from schema version (metadata.schemaVersion, 1 when absent) to a function returning the
 * event one version up ({ type?, data, metadata? }); the engine stamps the new schemaVersion.
 */
export function upcastEvents(upcasters, events) {
  for (let i = 0; i < events.length; i++) {
    let e = events[i];
    for (let steps = 0; ; steps++) {
      const from = Number.isInteger(e.metadata?.schemaVersion) ? e.metadata.schemaVersion : 1;
      const step = upcasters.get(e.type)?.get(from);
      if (!step) break;
      if (steps > 64) throw new TypeError(`upcasters of ${events[i].type} loop`);
      const up = step(e);
      if (up === null || typeof up !== "object") {
        throw new TypeError(`the upcaster of ${e.type} v${from} must return an event object`);
      }
      const type = up.type === undefined ? e.type : up.type;
      if (typeof type !== "string" || type === "") {
        throw new TypeError(`the upcaster of ${e.type} v${from} returned a bad type`);
      }
      const metadata = { ...(up.metadata ?? e.metadata), schemaVersion: from + 1 };
      e = { ...e, type, data: up.data === undefined ? null : up.data, metadata };
    }
    events[i] = e;
  }
  return events;
}
