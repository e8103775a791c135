// A small HTTP proxy (node:http) between sync clients and a real eventfold-server, for fault
// injection: each fault applies once, to the next request whose path starts with its path
// (with `after: n`, to the one after n such requests).
//   drop       forward, let the server answer (and commit), then close the client's socket
//   duplicate  forward the request twice, one after the other; relay the second answer
//   delay      forward, hold the answer `ms` milliseconds (or until the promise `until`
//              settles), then relay it
//   truncate   relay the status, headers and half the body, then close the socket
//   during     forward, and run `fn()` (e.g. kill the server) while the request is in flight
// Every request's body is kept (`proxy.requests`), so a test can replay one later.
import { createServer, request } from "node:http";
import { gunzipSync } from "node:zlib";

const readBody = (stream) =>
  new Promise((resolve, reject) => {
    const chunks = [];
    stream.on("data", (c) => chunks.push(c));
    stream.on("end", () => resolve(Buffer.concat(chunks)));
    stream.on("error", reject);
  });

/** Sends `body` to `target` (a URL) as `req` would have; resolves to `{ status, headers, body }`. */
export function forward(target, { method, url, headers }, body) {
  const t = new URL(target);
  return new Promise((resolve, reject) => {
    const out = request(
      { host: t.hostname, port: t.port, method, path: url, agent: false,
        headers: { ...headers, host: t.host, connection: "close" } },
      async (res) => {
        try {
          resolve({ status: res.statusCode, headers: res.headers, body: await readBody(res) });
        } catch (e) {
          reject(e);
        }
      },
    );
    out.on("error", reject);
    out.end(body);
  });
}

/** The JSON of an answer `forward` returned (gunzipped when the server compressed it). */
export function answerJson({ headers, body }) {
  return JSON.parse(headers["content-encoding"] === "gzip" ? gunzipSync(body) : body);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Starts a proxy to `target`; resolves to `{ url, fault(path, kind, options), requests, close() }`. */
export async function startProxy(target) {
  const faults = [];
  const requests = [];
  const sockets = new Set();
  const server = createServer(async (req, res) => {
    const body = await readBody(req);
    const saved = { method: req.method, url: req.url, headers: { ...req.headers }, body };
    requests.push(saved);
    const i = faults.findIndex((f) => req.url.startsWith(f.path) && !(f.after > 0 && f.after-- > 0));
    const fault = i >= 0 ? faults.splice(i, 1)[0] : null;
    saved.fault = fault?.kind ?? null;
    const send = () => forward(target, saved, body);
    try {
      let answer;
      if (fault?.kind === "duplicate") {
        saved.first = await send();
        answer = await send();
      } else if (fault?.kind === "during") {
        const pending = send();
        pending.catch(() => {});
        await fault.fn();
        answer = await pending;
      } else {
        answer = await send();
      }
      saved.answer = answer;
      if (fault?.kind === "delay") await (fault.until ?? sleep(fault.ms));
      if (fault?.kind === "drop") {
        res.socket.destroy();
        return;
      }
      // Hop-by-hop headers stay on their hop: relaying the upstream's `connection: close`
      // would make this answer's body end at the socket's close, so a cut body would look whole.
      const { connection: _c, "keep-alive": _k, "transfer-encoding": _t, ...headers } = answer.headers;
      res.writeHead(answer.status, headers);
      if (fault?.kind === "truncate") {
        res.write(answer.body.subarray(0, answer.body.length >> 1));
        setTimeout(() => res.socket?.destroy(), 50);
        return;
      }
      res.end(answer.body);
    } catch {
      // The server could not be reached (stopped, killed mid-request): the client sees its
      // connection closed, as it would with no proxy.
      res.socket?.destroy();
    }
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    requests,
    /**
     * Arms a one-shot fault for the next request whose path starts with `path` (`options.after`:
     * let that many such requests pass first).
     */
    fault(path, kind, options = {}) {
      faults.push({ path, kind, ...options });
    },
    /** Faults armed and not used yet. */
    get armed() {
      return faults.length;
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(r));
    },
  };
}
