// Entry for Deno: the wasm is imported as an ES module (Deno's Wasm ESM integration resolves
// its imports to web/eventfold_bg.js), so no --allow-read and no init call are needed.
import { claim } from "./entry.js";

claim("full", "eventfold");

export * from "./web/eventfold_esm.js";
export { isEventfoldError } from "./errors.js";
export { createSyncHandler } from "./handler.js";
