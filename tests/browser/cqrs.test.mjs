// Aggregates, projections and read models on the IndexedDB store, across tabs and reloads:
// snapshots and checkpoints persist beside the log, a projection in one tab follows appends
// made in another, and two tabs catching up one projection never double-apply an event.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launch, openPage, profile, serve } from "./harness.mjs";

let server;
before(async () => { server = await serve(); });
after(() => server.close());

// Installed in each page: a counter aggregate, a totals projection and a read model.
const DEFINE = () => {
  window.defs = {
    counter: {
      name: "counter",
      initialState: () => ({ n: 0 }),
      evolve: (s, e) => ({ n: s.n + e.data.by }),
      decide: (c, s) => {
        if (s.n + c.by > 1000) throw new Error("too much");
        return [{ type: "Added", data: { by: c.by } }];
      },
      snapshotEvery: 4,
    },
    totals: { name: "totals", version: 1, init: () => ({ count: 0, sum: 0 }), evolve: (s, e) => ({ count: s.count + 1, sum: s.sum + e.data.by }) },
    list: {
      name: "counters", version: 1, indexes: ["n"],
      handlers: { Added: (e, rm) => rm.update(e.stream, (c) => ({ id: e.stream, n: (c?.n ?? 0) + e.data.by })) },
    },
  };
};

test("aggregates, projections and read models persist and resume across a reload", async () => {
  const p = profile();
  const context = await launch(p.dir);
  try {
    const page = await openPage(context, server.url);
    await page.evaluate(DEFINE);
    const first = await page.evaluate(async () => {
      const store = await window.eventfold.EventStore.open({ name: "cqrs" });
      const counters = store.aggregate(window.defs.counter);
      for (let i = 1; i <= 25; i++) await counters.execute(`c${i % 3}`, { by: i });
      await assert(counters.execute("c0", { by: 5000 }).then(() => "accepted", (e) => e.code), "DECIDER_REJECTED");
      const view = store.projection(window.defs.totals);
      await view.ready();
      const list = store.readModel(window.defs.list);
      await list.ready();
      const out = { state: view.state, top: await list.query({ index: "n", range: { gte: 0 }, reverse: true, limit: 1 }) };
      store.close();
      return out;
      function assert(p, want) { return p.then((got) => { if (got !== want) throw new Error(`got ${got}`); }); }
    });
    assert.deepEqual(first.state, { count: 25, sum: 325 });
    assert.equal(first.top[0].n, 117, "c1 holds 1+4+...+25");

    await page.reload();
    await page.waitForFunction(() => window.eventfold !== undefined);
    await page.evaluate(DEFINE);
    const second = await page.evaluate(async () => {
      const store = await window.eventfold.EventStore.open({ name: "cqrs" });
      let evolved = 0;
      const counting = { ...window.defs.counter, evolve: (s, e) => { evolved++; return window.defs.counter.evolve(s, e); } };
      const loaded = await store.aggregate(counting).load("c1");
      const replayed = evolved;
      evolved = 0;
      const view = store.projection({ ...window.defs.totals, evolve: (s, e) => { evolved++; return window.defs.totals.evolve(s, e); } });
      await view.ready();
      const list = store.readModel(window.defs.list);
      await list.ready();
      const out = { loaded, replayed, projectionEvolved: evolved, state: view.state, c2: await list.get("counter-c2") };
      store.close();
      return out;
    });
    assert.equal(second.loaded.state.n, 117);
    assert.ok(second.replayed < 4, `the snapshot persisted: ${second.replayed} events replayed`);
    assert.equal(second.projectionEvolved, 0, "the projection resumed from its persisted checkpoint");
    assert.deepEqual(second.state, { count: 25, sum: 325 });
    assert.equal(second.c2.n, 2 + 5 + 8 + 11 + 14 + 17 + 20 + 23);
  } finally {
    await context.close();
    p.remove();
  }
});

test("a projection follows appends made in another tab; two tabs catching up agree", async () => {
  const p = profile();
  const context = await launch(p.dir);
  try {
    const [a, b] = [await openPage(context, server.url), await openPage(context, server.url)];
    for (const tab of [a, b]) await tab.evaluate(DEFINE);
    await a.evaluate(async () => {
      const store = await window.eventfold.EventStore.open({ name: "tabs" });
      for (let i = 0; i < 200; i++) await store.append(`counter-x${i % 5}`, [{ type: "Added", data: { by: 1 } }]);
      window.store = store;
    });
    const open = (tab) => tab.evaluate(async () => {
      const store = window.store ?? (window.store = await window.eventfold.EventStore.open({ name: "tabs" }));
      window.view = store.projection(window.defs.totals);
      await window.view.ready();
      return window.view.state;
    });
    const [sa, sb] = await Promise.all([open(a), open(b)]);
    assert.deepEqual(sa, { count: 200, sum: 200 });
    assert.deepEqual(sb, { count: 200, sum: 200 });
    await b.evaluate(async () => {
      for (let i = 0; i < 10; i++) await window.store.append("counter-y", [{ type: "Added", data: { by: 10 } }]);
    });
    await a.waitForFunction(() => window.view.state.count === 210, null, { timeout: 10_000 });
    assert.deepEqual(await a.evaluate(() => window.view.state), { count: 210, sum: 300 });
    const reopened = await a.evaluate(async () => {
      window.view.close();
      const again = window.store.projection(window.defs.totals);
      await again.ready();
      return again.state;
    });
    assert.deepEqual(reopened, { count: 210, sum: 300 }, "the persisted pair (state, checkpoint) stayed consistent");
  } finally {
    await context.close();
    p.remove();
  }
});

test("on IndexedDB, a throwing evolve stops a projection at the last good event; a fix resumes there", async () => {
  const p = profile();
  const context = await launch(p.dir);
  try {
    const page = await openPage(context, server.url);
    const r = await page.evaluate(async () => {
      const store = await window.eventfold.EventStore.open({ name: "stop" });
      for (const n of [1, 2, -1, 4]) await store.append("acc", [{ type: "Added", data: { n } }]);
      const sum = { name: "sum", init: () => 0, evolve: (s, e) => { if (e.data.n < 0) throw new Error("negative"); return s + e.data.n; } };
      const broken = store.projection(sum);
      const error = await broken.ready().then(() => null, (e) => ({ code: e.code, position: e.position, message: e.message }));
      const stopped = { state: broken.state, checkpoint: broken.checkpoint };
      broken.close();
      let evolved = 0;
      const fixed = store.projection({ ...sum, evolve: (s, e) => { evolved++; return s + Math.abs(e.data.n); } });
      await fixed.ready();
      return { error, stopped, fixed: fixed.state, evolved };
    });
    assert.equal(r.error.code, "EVOLVE_FAILED");
    assert.equal(r.error.position, 3);
    assert.match(r.error.message, /negative/);
    assert.deepEqual(r.stopped, { state: 3, checkpoint: 2 });
    assert.equal(r.fixed, 8);
    assert.equal(r.evolved, 2, "resumed after the last good event");
  } finally {
    await context.close();
    p.remove();
  }
});

test("a read model's subscribers hear of appends made in another tab, once get sees them", async () => {
  const p = profile();
  const context = await launch(p.dir);
  try {
    const [a, b] = [await openPage(context, server.url), await openPage(context, server.url)];
    for (const tab of [a, b]) await tab.evaluate(DEFINE);
    await a.evaluate(async () => {
      const store = await window.eventfold.EventStore.open({ name: "rm-tabs" });
      await store.append("counter-a", [{ type: "Added", data: { by: 1 } }]);
      window.list = store.readModel(window.defs.list);
      await window.list.ready();
      window.changes = [];
      window.list.subscribe((change) => {
        // What get answers inside the callback: the change must already be visible.
        const seen = Promise.all((change.keys ?? []).map((k) => window.list.get(k).then((r) => r?.n)));
        window.changes.push(seen.then((values) => ({ ...change, values })));
      });
    });
    await b.evaluate(async () => {
      const store = await window.eventfold.EventStore.open({ name: "rm-tabs" });
      await store.append("counter-a", [{ type: "Added", data: { by: 10 } }]);
      await store.append("counter-b", [{ type: "Added", data: { by: 5 } }]);
    });
    await a.waitForFunction(() => window.list.checkpoint === 3, null, { timeout: 10_000 });
    const changes = await a.evaluate(() => Promise.all(window.changes));
    assert.ok(changes.length >= 1 && changes.length <= 2, JSON.stringify(changes));
    assert.equal(changes.at(-1).checkpoint, 3);
    const seen = Object.fromEntries(changes.flatMap((c) => c.keys.map((k, i) => [k, c.values[i]])));
    assert.deepEqual(seen, { "counter-a": 11, "counter-b": 5 }, "each callback saw its batch applied");
  } finally {
    await context.close();
    p.remove();
  }
});
