// (e) Load time per entry in Chromium: `import` to the first append on a cold page (wasm fetch,
// compile, instantiate, IndexedDB open, one append), each entry against Dexie's import + open +
// first `add` in the same run. Every contender of every repetition runs in a fresh on-disk
// profile and a new browser process, so nothing is cached; the order alternates per repetition.
import { BUILDS } from "../scripts/builds.mjs";
import { freshProfile, inBrowser } from "./browser.mjs";

/**
 * `{ [contender]: [{ ms, rep }] }` for "dexie" and each built entry (`{ id }` rows of
 * bench/sizes.mjs), over `reps` repetitions, on the bench server at `url`.
 */
export async function loadTimes(url, built, reps) {
  const contenders = [{ id: "dexie" }, ...built.map((s) => ({ id: s.id, file: BUILDS.find((b) => b.id === s.id).browser }))];
  const out = {};
  for (let rep = 1; rep <= reps; rep++) {
    for (const c of rep % 2 === 0 ? [...contenders].reverse() : contenders) {
      const profile = freshProfile();
      try {
        const r = await inBrowser(profile.dir, `${url}/bench/pages/load.html`,
          (page) => page.evaluate((a) => window.bench.load(a), { contender: c.id, file: c.file }),
          { timeoutMs: 120_000, label: `(e) load ${c.id}` });
        (out[c.id] ??= []).push({ ms: r.ms, rep });
        console.log(`(e) load rep ${rep}/${reps} ${c.id.padEnd(9)} ${r.ms.toFixed(1)} ms`);
      } finally {
        profile.remove();
      }
    }
  }
  return out;
}
