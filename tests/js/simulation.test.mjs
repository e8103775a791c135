// The deterministic sync simulation of eventfold/testing (scripts/pkg/simulation.js): devices
// running the order aggregate (rebase) and a wallet (rebase: withdrawals a rebase rejects) and a
// journal (append) offline, syncing to createSyncHandler through a network that drops,
// duplicates, replays, reorders and delays requests, cuts devices off, restarts and replaces the
// server. EVENTFOLD_SIM_SEEDS (default 500) seeds from EVENTFOLD_SIM_FROM (default 1); `npm run
// soak:sim` runs more.
import { test } from "node:test";
import assert from "node:assert/strict";
import { simulate, SimulationError, seededRandom } from "eventfold/testing";
import { order } from "./order.mjs";

const SEEDS = Number(process.env.EVENTFOLD_SIM_SEEDS ?? 500);
const FROM = Number(process.env.EVENTFOLD_SIM_FROM ?? 1);

const wallet = {
  name: "wallet",
  initialState: () => ({ balance: 0 }),
  evolve: (s, e) => ({ balance: s.balance + (e.type === "Deposited" ? e.data.amount : -e.data.amount) }),
  decide(c, s) {
    if (c.type === "Deposit") return [{ type: "Deposited", data: { amount: c.amount } }];
    if (c.amount > s.balance) throw new Error(`balance ${s.balance} is below ${c.amount}`);
    return [{ type: "Withdrawn", data: { amount: c.amount } }];
  },
};
const journal = {
  name: "journal",
  initialState: () => ({ lines: 0 }),
  evolve: (s) => ({ lines: s.lines + 1 }),
  decide: (c) => Array.from({ length: c.lines }, (_, i) => ({ type: "Noted", data: { text: c.text, i } })),
};

const world = {
  aggregates: [
    { definition: order, commands: ["Create", "AddItem", "RemoveItem", "Confirm", "Cancel"], id: (c) => c.orderId },
    { definition: wallet, commands: ["Deposit", "Withdraw"], id: (c) => c.walletId },
    { definition: journal, commands: ["Note"], id: (c) => c.journalId },
  ],
  conflicts: { order: "rebase", wallet: "rebase", journal: "append" },
  steps: 40,
  command(random, { device }) {
    const orderId = `o${random.int(3)}`;
    switch (random.int(8)) {
      case 0: return { type: "Create", orderId, customerId: `c${device}` };
      case 1: return { type: "AddItem", orderId, sku: `p${random.int(3)}`, qty: 1 + random.int(3), unitPrice: 100 * random.int(5) };
      case 2: return { type: "RemoveItem", orderId, sku: `p${random.int(3)}` };
      case 3: return { type: random.chance(0.5) ? "Confirm" : "Cancel", orderId };
      case 4: case 5: return { type: "Deposit", walletId: `w${random.int(2)}`, amount: 1 + random.int(20) };
      case 6: return { type: "Withdraw", walletId: `w${random.int(2)}`, amount: 1 + random.int(30) };
      default: return { type: "Note", journalId: `j${random.int(2)}`, text: `d${device}`, lines: 1 + random.int(3) };
    }
  },
};

test(`${SEEDS} seeded simulations converge with nothing lost or duplicated`, { timeout: 30 * 60_000 }, async () => {
  const total = {};
  let events = 0;
  const started = Date.now();
  for (let seed = FROM; seed < FROM + SEEDS; seed++) {
    const report = await simulate({ ...world, seed });
    events += report.events;
    for (const [k, v] of Object.entries(report.counts)) total[k] = (total[k] ?? 0) + v;
  }
  console.log(`simulation: ${SEEDS} seeds (${FROM}..${FROM + SEEDS - 1}) in ${((Date.now() - started) / 1000).toFixed(1)} s: ` +
    `${events} events on the servers; ${total.accepted} commands accepted, ${total.rejectedLocally} rejected offline, ` +
    `${total.rejectedOnSync} rejected by rebases; ${total.requests} requests; faults: ${total.drop} dropped, ` +
    `${total.dropAnswer} answers lost, ${total.duplicate} duplicated, ${total.replay} replayed late, ${total.delay} delayed, ` +
    `${total.partition} partitions, ${total.restart} server restarts, ${total.replace} server replacements`);
  // The faults really happened (a run without them would prove little).
  for (const k of ["drop", "dropAnswer", "duplicate", "replay", "delay", "partition", "restart", "replace", "rejectedOnSync"]) {
    assert.ok(total[k] > 0, `${k} happened in ${SEEDS} seeds`);
  }
});

test("a seed replays exactly: the same trace twice, another seed another trace", async () => {
  const a = await simulate({ ...world, seed: 42, trace: true });
  const b = await simulate({ ...world, seed: 42, trace: true });
  const c = await simulate({ ...world, seed: 43 });
  assert.deepEqual(b.trace, a.trace);
  assert.equal(b.digest, a.digest);
  assert.notEqual(c.digest, a.digest);
  assert.ok(a.trace.length > 20, `a trace of ${a.trace.length} lines`);
  assert.equal(seededRandom(5).next(), seededRandom(5).next());
});

test("a broken server is caught: the failing seed is named and replays", async () => {
  // A user's `check` that fails, and a property the harness checks itself: the server's
  // answers are fine, but the user's own invariant is not.
  await assert.rejects(
    simulate({ ...world, seed: 7, check: () => { throw new Error("my invariant"); } }),
    (e) => e instanceof SimulationError && e.seed === 7 && /^simulation seed 7 failed: .*my invariant.*replay: simulate\(\{ \.\.\.options, seed: 7 \}\)/s.test(e.message),
  );
  // A decider that is not deterministic breaks convergence: devices fold the same events to
  // different states than the server's stream gives.
  let n = 0;
  const flaky = { ...wallet, evolve: (s, e) => ({ balance: wallet.evolve(s, e).balance + (n++ % 97 === 0 ? 1 : 0) }) };
  await assert.rejects(
    simulate({ ...world, aggregates: [{ definition: flaky, commands: ["Deposit", "Withdraw"], id: (c) => c.walletId }], conflicts: "rebase", seed: 3,
      command: (random) => ({ type: "Deposit", walletId: "w1", amount: 1 + random.int(5) }) }),
    (e) => e instanceof SimulationError && e.seed === 3 && /state .* a fold of the server's events gives/.test(e.message),
  );
});

test("bad options are refused with INVALID_INPUT", async () => {
  await assert.rejects(simulate({ ...world }), { name: "EventfoldError", code: "INVALID_INPUT" });
  await assert.rejects(simulate({ ...world, seed: 1, conflicts: "manual" }), { name: "EventfoldError", code: "INVALID_INPUT" });
  await assert.rejects(simulate({ ...world, seed: 1, aggregates: [] }), { name: "EventfoldError", code: "INVALID_INPUT" });
  // The globals it stands in for are back.
  assert.equal(typeof globalThis.fetch, "function");
  assert.match(crypto.randomUUID(), /^[0-9a-f-]{36}$/);
});
