// The JavaScript read path of the IndexedDB store: each chunk record keeps its events as one
// JSON text in exactly the shape JavaScript sees, so a read is one native JSON.parse per record
// and a filter loop here, with no decoding in wasm and no conversion back.

/**
 * Appends to `out` the events of `records` after `after` that pass the filter (stream
 * `prefixes`, `types` or null), until `out` holds `limit`. Returns -1, or the index of a
 * record whose text does not fit its header (with the reason in `problem[0]`).
 */
export function collectEvents(records, after, limit, prefixes, types, out, problem) {
  for (let r = 0; r < records.length; r++) {
    const record = records[r];
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
      if (prefixes.length > 0 && !prefixes.some((p) => e.stream.startsWith(p))) continue;
      if (types !== null && !types.includes(e.type)) continue;
      out.push(e);
      if (out.length >= limit) return -1;
    }
  }
  return -1;
}
