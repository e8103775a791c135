// The README's quick start must run as printed, against the installed package.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";

test("the README quick start runs in Node", () => {
  const readme = readFileSync(new URL("./README.md", import.meta.url), "utf8");
  const section = readme.slice(readme.indexOf("## Quick start"));
  const code = /```js\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(code, "README has a ```js block under ## Quick start");
  writeFileSync(new URL("./quickstart.mjs", import.meta.url), code);
  const out = execFileSync(process.execPath, ["quickstart.mjs"], { cwd: new URL(".", import.meta.url), encoding: "utf8" });
  assert.match(out, /WRONG_EXPECTED_VERSION/, "the quick start shows a rejected append");
  assert.match(out, /OrderCreated/);
});
