// Live queries in real UI frameworks, in Chromium: a React page (useSyncExternalStore) and a
// Svelte 5 page (the live query as a Svelte store, `$open`), each bundled by esbuild the way an
// app's bundler would, with the package from /pkg/ through an import map. In each, the list of
// open orders (readModel.liveQuery) updates after an append in another tab of the same profile
// and after a sync pull of an event another device pushed to a real eventfold-server. The React
// page also proves the snapshot's stable identity: an event that leaves the answer as it is
// renders nothing.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { launch, profile, serve } from "./harness.mjs";

const root = fileURLToPath(new URL("../..", import.meta.url));
process.env.EVENTFOLD_ROOT ??= root;
const { startServer } = await import("../js/server.mjs");

/** Compiles .svelte files with Svelte's own compiler (what a Svelte bundler plugin does). */
const svelte = {
  name: "svelte",
  setup(build) {
    build.onLoad({ filter: /\.svelte$/ }, async ({ path }) => {
      const { compile } = await import("svelte/compiler");
      const { js } = compile(readFileSync(path, "utf8"), { filename: path, generate: "client" });
      return { contents: js.code, loader: "js" };
    });
  },
};

let api;
let web;
before(async () => {
  const { build } = await import("esbuild");
  const dir = join(root, "tests", "browser", "frameworks");
  await build({
    entryPoints: [join(dir, "react-app.jsx"), join(dir, "svelte-app.js")],
    outdir: join(root, ".tmp", "browser"), bundle: true, format: "esm", platform: "browser",
    target: "es2022", jsx: "automatic", external: ["eventfold"], plugins: [svelte],
    define: { "process.env.NODE_ENV": '"production"' }, logLevel: "warning",
  });
  api = await startServer();
  web = await serve({ api: () => api.url });
});
after(async () => {
  await web?.close();
  await api?.stop();
});

/** Pushes one event to the server as another device would (a new stream). */
async function pushFromAnotherDevice(stream, title) {
  const res = await fetch(`${api.url}/v1/push`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ v: 1, streams: [{ stream, expectedVersion: 0, events: [
      { id: crypto.randomUUID(), type: "OrderPlaced", data: { title }, metadata: {} }] }] }),
  });
  assert.equal(res.status, 200, await res.text());
}

const titles = (page) => page.$$eval("#orders li", (lis) => lis.map((li) => li.textContent));
const until = (page, expected) => page.waitForFunction(
  (want) => JSON.stringify([...document.querySelectorAll("#orders li")].map((li) => li.textContent)) === want,
  JSON.stringify(expected), { timeout: 20_000 });
const append = (page, stream, type, title) => page.evaluate(({ stream, type, title }) =>
  window.app.store.append(stream, [{ id: crypto.randomUUID(), type, data: { title } }]).then(() => null),
{ stream, type, title });

async function scenario(framework) {
  const scope = `${framework}-`;
  const dir = profile();
  const context = await launch(dir.dir);
  try {
    const url = `${web.url}/tests/browser/pages/${framework}.html?store=live-${framework}&scope=${scope}`;
    const errors = [];
    const tab = async () => {
      const page = await context.newPage();
      page.on("pageerror", (e) => errors.push(e));
      await page.goto(url);
      await page.waitForSelector("#orders", { state: "attached" });
      return page;
    };
    const a = await tab();
    assert.deepEqual(await titles(a), [], "an empty list once the model has caught up");

    // Another tab of the same app appends: the list in the first tab updates.
    const b = await tab();
    await append(b, `${scope}order-1`, "OrderPlaced", "from tab B");
    await until(a, ["from tab B"]);
    await until(b, ["from tab B"]);

    if (framework === "react") {
      // An event the query's answer does not change keeps the snapshot: no render. The next
      // change renders once.
      const renders = await a.evaluate(() => window.app.renders);
      await append(b, `${scope}order-1`, "OrderNoted", "");
      await append(b, `${scope}order-3`, "OrderPlaced", "second from tab B");
      await until(a, ["from tab B", "second from tab B"]);
      assert.equal(await a.evaluate(() => window.app.renders), renders + 1, "one render for one change");
      await append(b, `${scope}order-3`, "OrderClosed", "");
      await until(a, ["from tab B"]);
    }

    // Another device pushed to the server: a sync pull brings it into the list.
    await pushFromAnotherDevice(`${scope}order-2`, "from another device");
    const result = await a.evaluate(() => window.app.sync.now().then((r) => ({ pulled: r.pulled }), (e) => ({ error: e.message })));
    assert.ok(result.pulled >= 1, JSON.stringify(result));
    await until(a, ["from tab B", "from another device"]);
    await until(b, ["from tab B", "from another device"]);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
    dir.remove();
  }
}

test("React: useSyncExternalStore over readModel.liveQuery updates after another tab's append and a sync pull", () => scenario("react"));
test("Svelte: the live query as a Svelte store ($open) updates after another tab's append and a sync pull", () => scenario("svelte"));
