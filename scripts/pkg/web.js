// `eventfold/web`: the wasm-bindgen web glue with its explicit init (`await init()` or
// `initSync({ module })`), for plain <script type="module"> pages and hosts that load the wasm
// themselves; plus isEventfoldError, as every entry has.
import { claim } from "./entry.js";

claim("full", "eventfold/web");

export { default } from "./web/eventfold.js";
export * from "./web/eventfold.js";
export { isEventfoldError } from "./errors.js";
export { createSyncHandler } from "./handler.js";
