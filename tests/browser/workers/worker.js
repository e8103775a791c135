// A module Web Worker importing the package's default entry, with no init call: an in-memory
// store and a durable one (IndexedDB, readable by the page afterwards), and a typed error.
import { EventStore, isEventfoldError } from "eventfold";

async function check() {
  const memory = await EventStore.inMemory();
  await memory.append("cart-1", [{ type: "ItemAdded", data: { by: "worker" } }], { expectedVersion: "no_stream" });
  const durable = await EventStore.open({ name: "from-worker" });
  await durable.append("cart-w", [{ type: "ItemAdded", data: { by: "worker" } }, { type: "ItemAdded", data: { by: "worker" } }],
    { expectedVersion: "no_stream" });
  let error;
  try {
    await durable.append("cart-w", [{ type: "ItemAdded", data: {} }], { expectedVersion: "no_stream" });
  } catch (e) {
    error = isEventfoldError(e) ? e.code : `not an EventfoldError: ${e}`;
  }
  const report = { memory: (await memory.readStream("cart-1")).length, durable: (await durable.readStream("cart-w")).length, error };
  durable.close();
  return report;
}

check().then((r) => postMessage(r), (e) => postMessage({ error: `${e?.name}: ${e?.message}` }));
