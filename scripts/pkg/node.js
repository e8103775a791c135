// Entry for Node (and Deno): the wasm module is read from disk and instantiated synchronously
// on import, so no init call is needed.
import { claim } from "./entry.js";
import { readFileSync } from "node:fs";
import { initSync } from "./web/eventfold.js";

claim("full", "eventfold");

initSync({ module: readFileSync(new URL("./web/eventfold_bg.wasm", import.meta.url)) });

export * from "./web/eventfold.js";
export { isEventfoldError } from "./errors.js";
export { createSyncHandler } from "./handler.js";
