// Entry for browsers and bundlers (Vite, webpack, esbuild): the wasm module loads on first use,
// inside the async factories, so no init call and no top-level await are needed.
import { claim } from "./entry.js";
import init, { EventStore } from "./web/eventfold.js";

claim("full", "eventfold");

let loading;
/** Loads the wasm module once; every factory awaits it. */
function ready() {
  loading ??= init({ module_or_path: new URL("./web/eventfold_bg.wasm", import.meta.url) });
  return loading;
}

for (const name of ["inMemory", "open", "sqlite"]) {
  const factory = EventStore[name];
  if (typeof factory === "function") {
    EventStore[name] = async (...args) => {
      await ready();
      return factory.apply(EventStore, args);
    };
  }
}

export * from "./web/eventfold.js";
export { isEventfoldError } from "./errors.js";
export { createSyncHandler } from "./handler.js";
