// The page of tests/browser/workers.test.mjs: starts the Web Worker (worker.js) and registers the
// service worker (sw.js, a module worker), each importing "eventfold" as the README shows, and
// exposes `window.check` for the test to drive them. Bundled by Vite from the packed package.
import { EventStore } from "eventfold";

/** Runs worker.js once and resolves to what it reports. */
function webWorker() {
  const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
  return new Promise((resolve) => {
    worker.onmessage = (e) => { worker.terminate(); resolve(e.data); };
    worker.onerror = (e) => { worker.terminate(); resolve({ error: `worker error: ${e.message}` }); };
  });
}

/** Asks the service worker (registered once) to run its check; resolves to its report. */
async function serviceWorker() {
  await navigator.serviceWorker.register("/sw.js", { type: "module", scope: "/" });
  const registration = await navigator.serviceWorker.ready;
  const channel = new MessageChannel();
  const answer = new Promise((resolve) => (channel.port1.onmessage = (e) => resolve(e.data)));
  registration.active.postMessage("check", [channel.port2]);
  return answer;
}

/** The events the workers wrote, read by the page from the same IndexedDB. */
async function readBack(name) {
  const store = await EventStore.open({ name });
  const events = (await store.readAll()).map((e) => [e.stream, e.version, e.type, e.data.by]);
  store.close();
  return events;
}

window.check = { webWorker, serviceWorker, readBack };
window.ready = true;
