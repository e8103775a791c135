// The quick starts must run as printed, against the installed package: the package's README
// (what npm shows) and the repository's.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { execFileSync } from "node:child_process";

const require = createRequire(import.meta.url);
const packed = require.resolve("eventfold/package.json").replace(/package\.json$/, "README.md");

// EVENTFOLD_ENTRY=eventfold/core (scripts/test-package, per entry): the quick starts import that
// entry instead of "eventfold"; they use only what every entry has.
const entry = process.env.EVENTFOLD_ENTRY ?? "eventfold";

function quickStart(readme, name) {
  const section = readme.slice(readme.indexOf("## Quick start"));
  let code = /```js\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(code, "README has a ```js block under ## Quick start");
  const main = /from "eventfold"(?=;)/g; // (not spelled as an import: scripts/test-package rewrites those)
  assert.match(code, main);
  code = code.replace(main, `from "${entry}"`);
  writeFileSync(new URL(`./${name}`, import.meta.url), code);
  return execFileSync(process.execPath, [name], { cwd: new URL(".", import.meta.url), encoding: "utf8" });
}

test("the package README's quick start runs in Node", () => {
  const out = quickStart(readFileSync(packed, "utf8"), "quickstart-npm.mjs");
  assert.match(out, /WRONG_EXPECTED_VERSION order-1 no_stream 1/, "the quick start shows a rejected append");
  assert.match(out, /\{ items: 2 \} 1/, "the aggregate executed");
  assert.match(out, /OrderCreated/);
});

test("the repository README's quick start runs in Node", () => {
  const out = quickStart(readFileSync(new URL("./README.md", import.meta.url), "utf8"), "quickstart.mjs");
  assert.match(out, /WRONG_EXPECTED_VERSION/, "the quick start shows a rejected append");
  assert.match(out, /OrderCreated/);
});
