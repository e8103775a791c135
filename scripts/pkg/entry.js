// Which build of eventfold this app loaded. Each entry ("eventfold", "eventfold/sync",
// "eventfold/core") is its own wasm with its own classes: a store of one cannot be passed to
// another, and loading two ships two engines. The first entry imported claims the app; an entry
// of another build imported next throws at once, before its wasm loads, naming the fix.

const KEY = Symbol.for("eventfold.build");

/** Claims the app for `build` (imported as `specifier`); throws if another build has it. */
export function claim(build, specifier) {
  const held = globalThis[KEY];
  if (held === undefined) {
    Object.defineProperty(globalThis, KEY, { value: { build, specifier }, configurable: true });
    return;
  }
  if (held.build === build) return;
  const error = new Error(
    `this app imports two builds of eventfold: "${held.specifier}" and "${specifier}". Each is its own ` +
      `wasm and their stores do not mix. Import one entry everywhere, the one that has everything the ` +
      `app uses: "eventfold" (all), "eventfold/sync" (no buses or sagas) or "eventfold/core" (no sync, ` +
      `buses or sagas)`,
  );
  error.name = "EventfoldError";
  error.code = "UNSUPPORTED";
  throw error;
}
