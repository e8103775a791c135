// The README's quick start and its "In the browser" block run as printed in a Chromium page (an
// on-disk profile, so IndexedDB is real), importing the package as a browser app gets it: the full
// entry, or with EVENTFOLD_ENTRY=core / sync (scripts/test) that entry. Needs pkg/ (npm run build).
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { ENTRY, launch, openPage, profile, serve } from "./harness.mjs";

const root = fileURLToPath(new URL("../..", import.meta.url));
let server;
before(async () => {
  server = await serve();
});
after(() => server.close());

/** The ```js blocks of README.md under `heading`, importing the entry under test from /pkg. */
function block(heading, index = 0) {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const section = readme.slice(readme.indexOf(heading));
  const code = [...section.matchAll(/```js\n([\s\S]*?)```/g)][index]?.[1];
  assert.ok(code, `README has a \`\`\`js block under ${heading}`);
  const main = /from "eventfold"(?=;)/g;
  assert.match(code, main);
  return code.replace(main, `from "/pkg/${ENTRY ? `${ENTRY}/` : ""}index.js"`);
}

/** Runs `code` as a module in a fresh page; resolves to what it logged, one line per call. */
async function run(code, name) {
  const dir = `${root}/.tmp/browser`;
  mkdirSync(dir, { recursive: true });
  const file = `readme-${ENTRY ?? "full"}-${name}.mjs`;
  writeFileSync(`${dir}/${file}`, code);
  const p = profile();
  const context = await launch(p.dir);
  try {
    const page = await openPage(context, server.url);
    const lines = [];
    page.on("console", (m) => lines.push(m.text()));
    await page.evaluate((src) => import(src), `/.tmp/browser/${file}`);
    assert.deepEqual(page.errors, [], "no uncaught error in the page");
    return lines.join("\n");
  } finally {
    await context.close();
    p.remove();
  }
}

test(`the README's quick start runs in Chromium (${ENTRY ? `eventfold/${ENTRY}` : "eventfold"})`, async () => {
  const out = await run(block("## Quick start"), "quickstart");
  assert.match(out, /WRONG_EXPECTED_VERSION order-1 no_stream 1/, "the rejected append");
  assert.match(out, /event 2 order-1 ItemAdded/, "the live subscription saw the new event");
  assert.match(out, /OrderCreated/);
});

test(`the README's IndexedDB block runs in Chromium (${ENTRY ? `eventfold/${ENTRY}` : "eventfold"})`, async () => {
  const out = await run(block("### In the browser: a durable store on IndexedDB"), "indexeddb");
  // compact() ran on the store and reported its step against the one-event log's head: nothing
  // is left to merge (the newest record is left for the appends that follow), so "1 of 1".
  assert.match(out, /^1 of 1$/m);
});
