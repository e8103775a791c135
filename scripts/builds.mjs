// The wasm builds of the npm package: which cargo features each compiles and where it goes in
// pkg/. scripts/build-pkg.mjs builds each; scripts/size.mjs (npm run size) and bench (e)
// report each against its gzip budget (wasm + JS glue, gzip -9).
//
// One app imports one entry: each build is its own wasm with its own classes, so a store made by
// one cannot be handed to another. The second build an app loads throws at import an
// `EventfoldError` (code `UNSUPPORTED`) naming both entries and the fix (scripts/pkg/entry.js).

/**
 * `id`: the build's name in reports; `dir`: its folder in pkg/; `cargoArgs`: the cargo feature
 * flags; `sync`: whether it has the `sync` feature (then its entries export `createSyncHandler`);
 * `entry`: the import specifier that loads it; `browser`: the file of pkg/ that
 * specifier resolves to in a browser; `budget`: its gzip target in bytes (issue 17). The full
 * build's entry files sit at the root of pkg/ (its wasm in pkg/web/); the others' in their folder.
 */
export const BUILDS = [
  { id: "core", dir: "core", cargoArgs: ["--no-default-features"], sync: false, entry: "eventfold/core", browser: "core/index.js", budget: 100 * 1024 },
  { id: "sync", dir: "sync", cargoArgs: ["--no-default-features", "--features", "sync"], sync: true, entry: "eventfold/sync", browser: "sync/index.js", budget: 130 * 1024 },
  { id: "full", dir: "web", cargoArgs: [], sync: true, entry: "eventfold", browser: "index.js", budget: 160 * 1024 },
];
