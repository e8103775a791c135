/**
 * Whether `error` is an error thrown by eventfold: a real `Error` named `EventfoldError` with a
 * string `code`. Usable before the wasm module is loaded.
 */
export function isEventfoldError(error) {
  return error instanceof Error && error.name === "EventfoldError" && typeof error.code === "string";
}
