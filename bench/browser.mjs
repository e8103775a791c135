// Browser sessions: Debian's Chromium driven by playwright-core, always on an on-disk
// profile (launchPersistentContext; a newContext() profile keeps IndexedDB in memory and
// writes 1.3-2x faster than a real one), one browser process per session.
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";
const ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];

/** A new, empty profile directory; `remove()` deletes it. */
export function freshProfile() {
  const dir = mkdtempSync(join(tmpdir(), "eventfold-bench-"));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Starts Chromium on profile `dir`, opens `url`, waits for `window.bench`, runs
 * `fn(page)` and closes the browser. Fails with `label` if it all takes over `timeoutMs`.
 */
export async function inBrowser(dir, url, fn, { timeoutMs, label }) {
  let context;
  let timer;
  const session = (async () => {
    context = await chromium.launchPersistentContext(dir, {
      executablePath: CHROMIUM, headless: true, args: ARGS,
    });
    const page = context.pages()[0] ?? await context.newPage();
    page.on("pageerror", (e) => console.error(`  [page error] ${e.message}`));
    page.on("console", (m) => m.type() === "error" && console.error(`  [page console] ${m.text()}`));
    await page.goto(url);
    await page.waitForFunction(() => window.bench !== undefined, null, { timeout: 30_000 })
      .catch(() => { throw new Error(`${url} did not load (no window.bench after 30 s)`); });
    return fn(page);
  })();
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs / 1000} s`)), timeoutMs);
  });
  try {
    return await Promise.race([session, deadline]);
  } catch (e) {
    throw new Error(`${label}: ${e.message}`, { cause: e });
  } finally {
    clearTimeout(timer);
    // After a timeout during launch, close the browser once the launch finishes.
    session.catch(() => {}).finally(() => context?.close().catch(() => {}));
    await context?.close().catch(() => {});
  }
}

/** Which IndexedDB backend Chromium used in profile `dir`, from its file names. */
export function idbBackend(dir) {
  let names;
  try {
    names = readdirSync(join(dir, "Default", "IndexedDB"));
  } catch {
    return "unknown (no Default/IndexedDB directory)";
  }
  if (names.some((n) => n.endsWith(".indexeddb.leveldb"))) return "LevelDB";
  if (names.some((n) => /sqlite|\.db$/i.test(n))) return "SQLite";
  return `unknown (${names.join(", ")})`;
}

const runBench = (page, args) => page.evaluate((a) => window.bench.run(a), args);

/**
 * One repetition of one contender in a scenario of bench/scenarios.mjs: a fresh profile, then
 * one browser process per measure, in order (a write, then reads of what it wrote). `measures`
 * (ids) limits it to some of the scenario's measures (bench/ab-views.mjs: (a) then (f) only).
 * `url` is the bench page (bench/pages/index.html) of the server to use. Returns
 * `{ out: { [measureId]: { ms, events } }, backend }`.
 */
export async function runContender(url, scenario, contender, measures = null) {
  const profile = freshProfile();
  try {
    const out = {};
    for (const m of scenario.measures) {
      if (!(m.contenders ?? scenario.contenders).includes(contender)) continue;
      if (measures && !measures.includes(m.id)) continue;
      out[m.id] = await inBrowser(profile.dir, url,
        (page) => runBench(page, { contender, op: m.op, db: "bench", dataset: scenario.dataset, args: m.args }),
        { timeoutMs: scenario.timeoutS * 1000, label: `(${m.id}) ${contender} ${m.op}` });
    }
    return { out, backend: idbBackend(profile.dir) };
  } finally {
    profile.remove();
  }
}
