// The sync conformance suite: one script of HTTP exchanges (docs/sync-protocol.md), run against
// any server's base URL. It answers a transcript of what came back, normalized (store ids,
// timestamps and error messages left out), so that the native eventfold-server and every
// createSyncHandler deployment can be compared exchange by exchange: they must not drift.
import { readdirSync, readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

/** The tokens and limits every server under test is started with. */
export const TOKENS = {
  "t-all": { read: [""], write: [""] },
  "t-order": { read: ["order-"], write: ["order-"] },
  "t-reader": { read: ["order-"], write: [] },
};
export const MAX_BODY_BYTES = 131072; // above every fixture (the largest: 100,000 bytes)

// The malformed-message fixtures of the repository (tests/fixtures/protocol).
const FIXTURES = new URL("tests/fixtures/protocol/", pathToFileURL(`${process.env.EVENTFOLD_ROOT}/`));
const id = (n) => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
const ev = (n, type = "Happened", data = { n }) => ({ id: id(n), type, data, metadata: {} });

function normalize(value, store) {
  if (Array.isArray(value)) return value.map((v) => normalize(v, store));
  if (typeof value === "string") return store ? value.replaceAll(store, "<store>") : value;
  if (value === null || typeof value !== "object") return value;
  const out = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === "timestamp" || k === "timestamps") out[k] = "<time>";
    else if (k === "message" && typeof v === "string" && "code" in value) out[k] = "<message>";
    else out[k] = normalize(v, store);
  }
  return out;
}

/**
 * Runs every exchange against `base` (e.g. "http://127.0.0.1:8787") and answers the transcript:
 * `[{ step, status, type, gzip, body }]`.
 */
export async function transcript(base) {
  const out = [];
  let store;
  const call = async (step, method, path, { token, body, headers = {}, raw } = {}) => {
    const h = { ...headers };
    if (token) h.authorization = `Bearer ${token}`;
    if ((body !== undefined || raw !== undefined) && !("content-type" in h)) h["content-type"] = "application/json";
    const init = { method, headers: h, body: raw ?? (body === undefined ? undefined : JSON.stringify(body)) };
    // The native server answers 413 from the declared length and closes the connection while the
    // client is still sending: the client's write fails (EPIPE), or the next request, sent on the
    // pooled socket being torn down, does (EPIPE, ECONNRESET, UND_ERR_SOCKET). Such a request is sent
    // again on a new connection. That is safe for every exchange here: pulls and reads change
    // nothing, and a push carries event ids, so a repeated push changes nothing ("push retried").
    let res;
    for (let attempt = 1; ; attempt++) {
      try {
        res = await fetch(base + path, init);
        break;
      } catch (e) {
        const code = e?.cause?.code;
        if (!(attempt < 5 && ["EPIPE", "ECONNRESET", "UND_ERR_SOCKET"].includes(code))) throw e;
      }
    }
    const type = (res.headers.get("content-type") ?? "").split(";")[0];
    const text = await res.text();
    let parsed = text;
    if (type === "application/json" && text) parsed = JSON.parse(text);
    if (step === "health") store = parsed.store;
    const entry = { step, status: res.status, type, gzip: res.headers.get("content-encoding") === "gzip", body: normalize(parsed, store) };
    out.push(entry);
    return { ...entry, raw: parsed };
  };

  await call("health", "GET", "/v1/health");
  // Auth matrix: missing, malformed and unknown tokens; each token on each endpoint.
  for (const [name, token, authorization] of [["none"], ["basic", undefined, "Basic dDE="], ["unknown", "nope"]]) {
    const headers = authorization ? { authorization } : {};
    await call(`pull auth ${name}`, "POST", "/v1/pull", { token, headers, body: { v: 1 } });
    await call(`push auth ${name}`, "POST", "/v1/push", { token, headers, body: { v: 1, streams: [] } });
    await call(`stream auth ${name}`, "GET", "/v1/streams/order-1", { token, headers });
  }
  await call("push order-1", "POST", "/v1/push", { token: "t-order", body: { v: 1, streams: [{ stream: "order-1", expectedVersion: "no_stream", events: [ev(1), ev(2)] }] } });
  await call("push retried", "POST", "/v1/push", { token: "t-order", body: { v: 1, streams: [{ stream: "order-1", expectedVersion: "no_stream", events: [ev(1), ev(2)] }] } });
  await call("push cart by t-all", "POST", "/v1/push", { token: "t-all", body: { v: 1, streams: [{ stream: "cart-1", expectedVersion: "any", events: [ev(3, "Carted")] }] } });
  for (const token of ["t-order", "t-reader"]) {
    await call(`push cart by ${token}`, "POST", "/v1/push", { token, body: { v: 1, streams: [{ stream: "cart-2", expectedVersion: "any", events: [ev(4)] }] } });
  }
  await call("push conflict and id conflict", "POST", "/v1/push", {
    token: "t-order",
    body: { v: 1, streams: [
      { stream: "order-1", expectedVersion: 1, events: [ev(5)] },
      { stream: "order-2", expectedVersion: "no_stream", events: [ev(1, "Other", { x: 1 })] },
      { stream: "order-3", expectedVersion: "no_stream", events: [ev(6, "Created", { deep: { a: [1, 2.5, "x"], b: null } })] },
    ] },
  });
  for (const token of ["t-all", "t-order", "t-reader"]) {
    await call(`pull all by ${token}`, "POST", "/v1/pull", { token, body: { v: 1 } });
    await call(`pull cart by ${token}`, "POST", "/v1/pull", { token, body: { v: 1, scope: ["cart-"] } });
    await call(`stream cart-1 by ${token}`, "GET", "/v1/streams/cart-1", { token });
  }
  const first = await call("pull page 1", "POST", "/v1/pull", { token: "t-all", body: { v: 1, limit: 2 } });
  await call("pull page 2", "POST", "/v1/pull", { token: "t-all", body: { v: 1, limit: 2, after: first.raw.checkpoint } });
  await call("pull columns", "POST", "/v1/pull", { token: "t-all", body: { v: 1, encoding: "columns" } });
  await call("pull gzip", "POST", "/v1/pull", { token: "t-all", body: { v: 1 }, headers: { "accept-encoding": "gzip" } });
  await call("pull other store", "POST", "/v1/pull", { token: "t-all", body: { v: 1, after: { store: "0123456789abcdef0123456789abcdef", position: 1 } } });
  await call("pull beyond head", "POST", "/v1/pull", { token: "t-all", body: { v: 1, after: { ...first.raw.checkpoint, position: 99 } } });
  await call("stream backward", "GET", "/v1/streams/order-1?from=2&limit=1&direction=backward", { token: "t-order" });
  await call("stream forward", "GET", "/v1/streams/order-1?limit=5", { token: "t-order" });
  await call("stream missing", "GET", "/v1/streams/order-404", { token: "t-order" });
  await call("stream escaped name", "GET", "/v1/streams/order%2D1", { token: "t-order" });
  await call("stream bad query", "GET", "/v1/streams/order-1?bogus=1", { token: "t-order" });
  await call("stream bad direction", "GET", "/v1/streams/order-1?direction=up", { token: "t-order" });
  await call("not found", "GET", "/v2/pull", { token: "t-all" });
  await call("wrong method", "GET", "/v1/pull", { token: "t-all" });
  await call("not json", "POST", "/v1/pull", { token: "t-all", raw: "{\"v\":1}", headers: { "content-type": "text/plain" } });
  await call("too large", "POST", "/v1/push", { token: "t-all", raw: JSON.stringify({ v: 1, pad: "x".repeat(MAX_BODY_BYTES) }) });
  for (const name of readdirSync(FIXTURES).sort()) {
    const kind = name.split(".")[0];
    if (kind !== "pull-request" && kind !== "push-request") continue;
    const raw = readFileSync(new URL(name, FIXTURES));
    await call(`fixture ${name}`, "POST", kind === "pull-request" ? "/v1/pull" : "/v1/push", { token: "t-all", raw });
  }
  // Live: the first event at once. A token reading everything hears the head; a narrower one
  // hears 0 first, then only of its scope's events, with its scope's newest position.
  const reader = await openLive(`${base}/v1/live?token=t-reader`);
  const all = await openLive(`${base}/v1/live?token=t-all`);
  const [r0, a0] = [await reader.next(), await all.next()];
  const pushed = async (step, stream, n) =>
    (await call(step, "POST", "/v1/push", { token: "t-all", body: { v: 1, streams: [{ stream, expectedVersion: "any", events: [ev(n)] }] } })).raw.results[0];
  await pushed("push outside reader scope", "cart-live", 40);
  const inScope = await pushed("push inside reader scope", "order-live", 41);
  const last = await pushed("push outside again", "cart-live", 42);
  const r1 = await reader.next();
  // The head may be announced once per push or once for all three (coalesced).
  let a1 = await all.next();
  while (a1.data && JSON.parse(a1.data).head < last.ok.position) a1 = await all.next();
  for (const [step, l, e] of [["live", reader, r0], ["live all", all, a0], ["live scope moved", reader, r1], ["live all moved", all, a1]]) {
    out.push({ step, status: l.status, type: l.type, event: e.event, body: normalize(e.data && JSON.parse(e.data), store) });
  }
  reader.close();
  all.close();
  await call("live no token", "GET", "/v1/live");
  await call("health after", "GET", "/v1/health");
  return out;
}

/** A `GET /v1/live` stream: `next()` answers the next `{ event, data }` frame. */
async function openLive(url) {
  const res = await fetch(url);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  return {
    status: res.status,
    type: (res.headers.get("content-type") ?? "").split(";")[0],
    async next() {
      for (;;) {
        const end = text.indexOf("\n\n");
        if (end >= 0) {
          const frame = text.slice(0, end);
          text = text.slice(end + 2);
          const event = /^event: (\w+)/m.exec(frame)?.[1];
          if (!event) continue; // a keep-alive comment
          return { event, data: /^data: (.*)$/m.exec(frame)?.[1] };
        }
        const { value, done } = await reader.read();
        if (done) return { event: undefined, data: undefined };
        text += decoder.decode(value, { stream: true });
      }
    },
    close() {
      reader.cancel().catch(() => {});
    },
  };
}
