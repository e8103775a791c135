// Serves the built app (www/dist) on 127.0.0.1 and forwards /v1/* to eventfold-server, so the
// app and the sync API share one origin (no CORS needed, and the service worker can tell them
// apart by path). Used by `npm run demo` (scripts/demo.mjs) and the end-to-end tests.
import { createServer, request } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";

const TYPES = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css",
  ".wasm": "application/wasm", ".json": "application/json", ".svg": "image/svg+xml", ".png": "image/png",
};
export const DIST = fileURLToPath(new URL("./dist", import.meta.url));

/**
 * @param {{ api: string, port?: number, dist?: string }} options  api: the sync server's base
 *   URL; a path in it is kept as a prefix (a workerd tenant: `http://127.0.0.1:PORT/t/demo`)
 * @returns {Promise<{ url: string, close(): Promise<void> }>}
 */
export async function serveApp({ api, port = 0, dist = DIST }) {
  const target = new URL(api);
  const server = createServer(async (req, res) => {
    const path = new URL(req.url, "http://x").pathname;
    if (path.startsWith("/v1/")) return forward(req, res, target);
    const file = join(dist, normalize(decodeURIComponent(path === "/" ? "/index.html" : path)));
    if (!file.startsWith(dist)) return res.writeHead(403).end();
    try {
      if (!(await stat(file)).isFile()) throw new Error("not a file");
      const body = await readFile(file);
      const hashed = path.startsWith("/assets/");
      res.writeHead(200, {
        "content-type": TYPES[extname(file)] ?? "application/octet-stream",
        "cache-control": hashed ? "public, max-age=31536000, immutable" : "no-cache",
      });
      res.end(body);
    } catch {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found");
    }
  });
  await new Promise((resolve, reject) => server.once("error", reject).listen(port, "127.0.0.1", resolve));
  const sockets = new Set();
  server.on("connection", (s) => { sockets.add(s); s.on("close", () => sockets.delete(s)); });
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((resolve) => { for (const s of sockets) s.destroy(); server.close(() => resolve()); }),
  };
}

// Hop-by-hop headers describe one connection, not the message: never relayed (RFC 9110 §7.6.1).
const HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer"]);
const endToEnd = (headers) => Object.fromEntries(Object.entries(headers).filter(([k]) => !HOP.has(k.toLowerCase())));

/** Streams the request to the API server and its answer back (server-sent events included). */
function forward(req, res, target) {
  const upstream = request({
    host: target.hostname, port: target.port, method: req.method, path: target.pathname.replace(/\/$/, "") + req.url,
    headers: { ...endToEnd(req.headers), host: target.host },
  }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, endToEnd(answer.headers));
    answer.pipe(res);
    // An answer cut short must look cut short (a network failure), never complete.
    answer.on("aborted", () => res.destroy());
    answer.on("error", () => res.destroy());
  });
  // The server is down: drop the connection, so the app sees what it would see talking to the
  // server directly (a network error: offline, retrying), not an HTTP error from a proxy.
  upstream.on("error", () => res.destroy());
  req.pipe(upstream);
  res.on("close", () => upstream.destroy());
}
