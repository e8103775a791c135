// Vite builds the app into www/dist. The service worker (src/sw.js) is emitted as /sw.js with
// the list of every built file (hashed names: the app shell, the JS, the CSS and the wasm) so it
// can precache them on install; the build's hash names the cache, so a new build replaces it.
import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { defineConfig } from "vite";

function serviceWorker() {
  return {
    name: "eventfold-demo-service-worker",
    apply: "build",
    generateBundle(_options, bundle) {
      const files = Object.keys(bundle).sort();
      const version = createHash("sha256").update(files.join("\n")).digest("hex").slice(0, 12);
      const source = readFileSync(new URL("./src/sw.js", import.meta.url), "utf8")
        .replace("self.__PRECACHE__", JSON.stringify(["/", ...files.map((f) => `/${f}`)]))
        .replace("self.__VERSION__", JSON.stringify(version));
      this.emitFile({ type: "asset", fileName: "sw.js", source });
    },
  };
}

export default defineConfig({
  root: import.meta.dirname,
  // The package loads its wasm with new URL(..., import.meta.url): keep it out of dev pre-bundling.
  optimizeDeps: { exclude: ["eventfold"] },
  build: { outDir: "dist", emptyOutDir: true, assetsInlineLimit: 0 },
  plugins: [serviceWorker()],
});
