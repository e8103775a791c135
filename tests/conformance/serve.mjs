// A sync server on createSyncHandler over a fresh in-memory SQLite store, in whichever runtime
// runs this file: Node >= 22.5 (node:sqlite + node:http), Deno (node:sqlite + Deno.serve) or Bun
// (bun:sqlite + Bun.serve). Arguments: the tokens and limits as JSON. Prints
// "listening on http://127.0.0.1:PORT" once it serves. Used by tests/conformance.
import { EventStore, createSyncHandler } from "eventfold";

const args = globalThis.Deno ? Deno.args : process.argv.slice(2);
const { tokens, limits } = JSON.parse(args[0] ?? "{}");

async function database() {
  if (globalThis.Bun) {
    const { Database } = await import("bun:sqlite");
    return new Database(":memory:");
  }
  const { DatabaseSync } = await import("node:sqlite");
  return new DatabaseSync(":memory:");
}

const store = await EventStore.sqlite(await database());
const handle = createSyncHandler({ store, tokens, limits });
const listening = (port) => console.log(`listening on http://127.0.0.1:${port}`);

if (globalThis.Bun) {
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: handle, idleTimeout: 0 });
  listening(server.port);
} else if (globalThis.Deno) {
  Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: ({ port }) => listening(port) }, handle);
} else {
  const { createServer } = await import("node:http");
  const { Readable } = await import("node:stream");
  const server = createServer(async (req, res) => {
    const url = `http://${req.headers.host ?? "127.0.0.1"}${req.url}`;
    const hasBody = req.method !== "GET" && req.method !== "HEAD";
    const request = new Request(url, {
      method: req.method,
      headers: Object.entries(req.headers).flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => [k, x]) : [[k, v]])),
      body: hasBody ? Readable.toWeb(req) : undefined,
      duplex: "half",
    });
    const response = await handle(request);
    res.writeHead(response.status, [...response.headers]);
    if (!response.body) return res.end();
    req.on("close", () => response.body.cancel().catch(() => {}));
    for await (const chunk of response.body) res.write(chunk);
    res.end();
  });
  server.listen(0, "127.0.0.1", () => listening(server.address().port));
}
