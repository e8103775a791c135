// A module Service Worker importing the package's default entry, with no init call: on a
// message, it writes to an IndexedDB store (readable by the page afterwards) and answers on the
// message's port with what it read back and a typed error's code.
import { EventStore, isEventfoldError } from "eventfold";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

async function check() {
  const store = await EventStore.open({ name: "from-service-worker" });
  await store.append("cart-s", [{ type: "ItemAdded", data: { by: "service worker" } }], { expectedVersion: "no_stream" });
  let error;
  try {
    await store.append("", [{ type: "ItemAdded", data: {} }]);
  } catch (e) {
    error = isEventfoldError(e) ? e.code : `not an EventfoldError: ${e}`;
  }
  const report = { durable: (await store.readStream("cart-s")).length, error };
  store.close();
  return report;
}

self.addEventListener("message", (event) => {
  const [port] = event.ports;
  event.waitUntil(check().then((r) => port.postMessage(r), (e) => port.postMessage({ error: `${e?.name}: ${e?.message}` })));
});
