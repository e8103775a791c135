// The wasm builds of the npm package: which cargo features each compiles and where it goes in
// pkg/. scripts/build-pkg.mjs builds each; scripts/size.mjs (npm run size) and bench (e)
// report each against its gzip budget (wasm + JS glue, gzip -9).

/**
 * `id`: the build's name in reports; `dir`: its folder in pkg/; `cargoArgs`: the cargo feature
 * flags; `entry`: the import specifier that loads it; `browser`: the file of pkg/ that
 * specifier resolves to in a browser; `budget`: its gzip target in bytes (issue 17).
 */
export const BUILDS = [
  { id: "full", dir: "web", cargoArgs: [], entry: "eventfold", browser: "index.js", budget: 160 * 1024 },
];
