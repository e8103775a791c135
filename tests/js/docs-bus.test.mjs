// docs/buses-and-sagas.md: the order flow example must run as printed, against the installed
// package, and print what its comments say.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";

test("the order flow of docs/buses-and-sagas.md runs in Node", () => {
  const doc = readFileSync(new URL("./buses-and-sagas.md", import.meta.url), "utf8");
  const code = /```js\n([\s\S]*?)```/.exec(doc.slice(doc.indexOf("## The order flow")))?.[1];
  assert.ok(code, "the doc has a ```js block under ## The order flow");
  writeFileSync(new URL("./orderflow.mjs", import.meta.url), code);
  const out = execFileSync(process.execPath, ["orderflow.mjs"], { cwd: new URL(".", import.meta.url), encoding: "utf8" });
  assert.match(out, /o-1: completed/);
  assert.match(out, /o-2: compensated DECIDER_REJECTED \[ 'reserve', 'create' \]/);
  assert.match(out, /true u-7/);
  assert.match(out, /email: order order-o-1 confirmed/);
  assert.doesNotMatch(out, /order-o-2 confirmed/);
});
