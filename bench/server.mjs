// A static file server for the benchmark pages, the built package (pkg/), Dexie and the peers
// bundled into .tmp/bench (bench/peers.mjs), on
// 127.0.0.1 with an ephemeral port. COOP/COEP make the pages cross-origin isolated, which
// gives performance.now() 5 µs resolution instead of 100 µs.
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize } from "node:path";

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".json": "application/json",
  ".wasm": "application/wasm",
};

/** Only these directories of the repository are served. */
const ROOTS = ["bench", "pkg", "node_modules/dexie", ".tmp/bench"];

/**
 * Starts serving `root`; resolves to `{ url, close(), setApi(api) }`. While an `api` is set
 * (`{ handle(req, body, res) }`, see sync.mjs), it answers the page's `/v1/…` requests, so
 * pages reach the sync server on their own origin. `pkg` (default `<root>/pkg`) is the package
 * directory served as `/pkg/`: bench/ab-views.mjs serves two builds from two servers.
 */
export function startServer(root, { pkg = join(root, "pkg") } = {}) {
  let api = null;
  const server = createServer(async (req, res) => {
    if (api && req.url.startsWith("/v1/")) {
      const chunks = [];
      for await (const c of req) chunks.push(c);
      try {
        await api.handle(req, Buffer.concat(chunks), res);
      } catch {
        res.destroy();
      }
      return;
    }
    const path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname)).slice(1);
    if (!ROOTS.some((r) => path.startsWith(`${r}/`))) {
      res.writeHead(404).end();
      return;
    }
    try {
      const body = await readFile(path.startsWith("pkg/") ? join(pkg, path.slice(4)) : join(root, path));
      res.writeHead(200, {
        "content-type": TYPES[extname(path)] ?? "application/octet-stream",
        "cross-origin-opener-policy": "same-origin",
        "cross-origin-embedder-policy": "require-corp",
        "cache-control": "no-store",
      });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      resolve({
        url: `http://127.0.0.1:${server.address().port}`,
        close: () => new Promise((done) => server.close(done)),
        setApi: (a) => {
          api = a;
        },
      });
    });
  });
}
