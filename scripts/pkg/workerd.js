// Entry for Cloudflare workerd and wrangler: they forbid compiling wasm from bytes at run time,
// so the wasm is imported as a precompiled module (wrangler and workerd configs turn a `.wasm`
// import into a WebAssembly.Module) and instantiated synchronously on import.
import { claim } from "./entry.js";
import wasmModule from "./web/eventfold_bg.wasm";
import { initSync } from "./web/eventfold.js";

claim("full", "eventfold");

initSync({ module: wasmModule });

export * from "./web/eventfold.js";
export { isEventfoldError } from "./errors.js";
export { createSyncHandler } from "./handler.js";
