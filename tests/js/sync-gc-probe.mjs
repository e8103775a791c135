// Run by sync-background.test.mjs as `node --expose-gc sync-gc-probe.mjs <server url>`: starts
// background syncing and drops the `Sync` object, collects it, then appends and waits for the
// push. Prints "pushed" and exits 0, or says what went wrong and exits non-zero. A process of
// its own, because the running sync (rightly) keeps the process alive.
import { EventStore } from "eventfold";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const store = await EventStore.inMemory();
let ref;
(() => {
  const sync = store.sync({ url: process.argv[2], token: "app", scope: ["gc-"], pollIntervalMs: 60_000 });
  sync.start();
  ref = new WeakRef(sync);
})();
// (deref() keeps its target alive until the end of the job that called it: collect in later jobs.)
const collected = async () => {
  for (let i = 0; i < 10; i++) {
    await sleep(10);
    globalThis.gc();
  }
  await sleep(10);
  return ref.deref() === undefined;
};
if (!(await collected())) {
  console.log("the Sync object was not collected");
  process.exit(2);
}
// Let the finalizer free the Rust side, as it would have by now in a long-running app.
await collected();
const id = crypto.randomUUID();
await store.append("gc-1", [{ id, type: "Noted", data: {} }]);
for (let i = 0; i < 200; i++) {
  const [e] = await store.readStream("gc-1");
  if (e.position > 0) {
    console.log("pushed");
    process.exit(0);
  }
  await sleep(25);
}
console.log("not pushed: background syncing ended with the Sync object");
process.exit(1);
