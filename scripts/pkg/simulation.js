// The deterministic sync simulation of `eventfold/testing` (`simulate`, `simulateSeeds`).
//
// N devices (in-memory stores with `store.sync()` and a command bus) and one server (the real
// `createSyncHandler` over an in-memory store) exchange the real protocol through a simulated
// network that drops requests and answers, duplicates and replays requests, reorders and delays
// them, cuts devices off (partitions), restarts the server and replaces it by a restore of its
// log (another store id: every device re-syncs). Devices run random commands offline through the
// user's aggregates, half through `bus.dispatch`, half through `store.aggregate().execute`.
// Every choice comes from one seeded generator, ids too, and the run never waits on a clock, so
// a seed replays exactly. At the end the network heals, every device syncs until nothing moves,
// and the run checks:
//   - convergence: every device's synced log equals the server's (ids, streams, versions,
//     types, data, metadata, in the server's order), and every aggregate's state equals a fold of the
//     server's stream;
//   - no loss: every event the server acknowledged (an `ok` push answer) is in the final log;
//     every command a device accepted is on the server, or was reported rejected by a rebase
//     (`sync.onRejected`), or decided nothing when re-run;
//   - no duplication: ids are unique; versions contiguous; a command's events sit once, in one
//     stream, as many as its last decision made;
//   - nothing left pending, and the server log's positions 1..n with no gap.
// A failure throws `SimulationError` whose message starts with the seed and says how to replay.

const ORIGIN = "http://simulation.invalid";
const TAG = "__simulation"; // the command's key in the harness, stripped before the user's decide

/** Thrown when a simulated run breaks a property; `seed` replays it. */
export class SimulationError extends Error {
  constructor(seed, message, trace) {
    super(`simulation seed ${seed} failed: ${message} (replay: simulate({ ...options, seed: ${seed} }))`);
    this.name = "SimulationError";
    this.seed = seed;
    this.trace = trace;
  }
}

/** A seeded generator (mulberry32): `next()` in [0, 1), `int(n)`, `pick(list)`, `chance(p)`. */
export function seededRandom(seed) {
  let a = (Number(seed) >>> 0) ^ 0x6d2b79f5;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n) => Math.floor(next() * n),
    pick: (list) => list[Math.floor(next() * list.length)],
    chance: (p) => next() < p,
  };
}

const DEFAULT_FAULTS = {
  drop: 0.08, dropAnswer: 0.08, duplicate: 0.08, replay: 0.05, delay: 0.15,
  partition: 0.03, restart: 0.01, replace: 0.006,
};

// A macrotask: every microtask (the engine's futures, the in-memory stores) has run before it.
const tick = typeof setImmediate === "function"
  ? () => new Promise((r) => setImmediate(r))
  : () => new Promise((r) => { const c = new MessageChannel(); c.port1.onmessage = () => { c.port1.close(); r(); }; c.port2.postMessage(0); });
const settle = tick;

function equal(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

const show = (e) => String(e?.code ?? e?.name ?? "Error") + ": " + String(e?.message ?? e);

/** The decider wrapped so the harness sees every decision of every command (first run and reruns). */
function wrap(definition, decisions) {
  return {
    ...definition,
    decide(command, state) {
      const { [TAG]: tag, ...bare } = command ?? {};
      let events;
      try {
        events = definition.decide(tag === undefined ? command : bare, state) ?? [];
      } catch (e) {
        if (tag !== undefined) decisions.set(tag, { rejected: true, count: 0 });
        throw e;
      }
      if (tag === undefined) return events;
      decisions.set(tag, { rejected: false, count: events.length });
      return events.map((e) => ({ ...e, metadata: { ...(e.metadata ?? {}), [TAG]: tag } }));
    },
  };
}

function validate(options) {
  const fail = (m) => {
    const e = new Error(`invalid input: simulate: ${m}`);
    e.name = "EventfoldError";
    e.code = "INVALID_INPUT";
    throw e;
  };
  if (!Number.isSafeInteger(options?.seed)) fail("seed must be an integer");
  if (!Array.isArray(options.aggregates) || options.aggregates.length === 0) fail("aggregates must list at least one { definition, commands, id }");
  for (const a of options.aggregates) {
    if (typeof a?.definition?.name !== "string" || typeof a.definition.decide !== "function") fail("each aggregate needs a definition with a name and decide");
    if (!Array.isArray(a.commands) || typeof a.id !== "function") fail(`aggregate ${a.definition.name}: commands (command types) and id (command => id) are required`);
  }
  if (typeof options.command !== "function") fail("command must be a function (random, { device, step }) => command or null");
  const devices = options.devices ?? 3;
  if (!Number.isInteger(devices) || devices < 1 || devices > 16) fail("devices must be 1..16");
  const conflicts = options.conflicts ?? "rebase";
  const strategies = typeof conflicts === "string" ? [conflicts] : Object.values(conflicts);
  if (strategies.some((s) => s !== "rebase" && s !== "append")) fail('conflicts must be "rebase" or "append" (a "manual" hold never converges without the app)');
}

/**
 * Runs one seeded simulation; resolves to its report, or rejects with `SimulationError`.
 * See testing.d.ts for the options.
 */
export async function simulate(options) {
  validate(options);
  const { EventStore, createSyncHandler } = await import("eventfold");
  const seed = options.seed;
  const random = seededRandom(seed);
  const faults = { ...DEFAULT_FAULTS, ...(options.faults ?? {}) };
  const steps = options.steps ?? 80;
  const scope = options.aggregates.map((a) => `${a.definition.name}-`);
  const inScope = (stream) => scope.some((p) => stream.startsWith(p));
  const trace = [];
  const log = (line) => trace.push(line);
  const failure = (message) => new SimulationError(seed, message, trace);
  const tokens = {};
  const decisions = new Map(); // command tag -> its last decision
  const accepted = new Map(); // command tag -> { device, stream }
  const rejectedByTag = new Map(); // command tag -> times reported rejected
  const acked = new Set(); // event ids the server answered ok for
  const counts = { commands: 0, accepted: 0, rejectedLocally: 0, rejectedOnSync: 0, syncs: 0, syncErrors: 0, requests: 0,
    drop: 0, dropAnswer: 0, duplicate: 0, replay: 0, delay: 0, partition: 0, restart: 0, replace: 0 };

  // Ids from the seed, so a replay makes the same ids in the same places.
  const idRandom = seededRandom(seed ^ 0x5eed);
  const hex = (n) => Array.from({ length: n }, () => idRandom.int(16).toString(16)).join("");
  const savedUuid = globalThis.crypto.randomUUID;
  const savedFetch = globalThis.fetch;
  globalThis.crypto.randomUUID = () => `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`;

  // The server, its restarts and replacements.
  const server = { store: await EventStore.inMemory(), handler: null, generation: 0 };
  const deviceCount = options.devices ?? 3;
  for (let d = 0; d < deviceCount; d++) tokens[`sim-device-${d}`] = { read: [""], write: [""] };
  server.handler = createSyncHandler({ store: server.store, tokens });

  // The network: requests wait in `queue` until the run delivers, drops or duplicates them.
  const queue = [];
  const ghosts = []; // copies of delivered requests, replayed to the server later
  let direct = false; // healed: every request goes straight to the server
  const partitioned = new Set();
  const offline = () => new TypeError("fetch failed (simulated network)");

  async function deliver(message) {
    counts.requests++;
    const request = new Request(message.url, { method: message.method, headers: message.headers, body: message.body });
    const response = await server.handler(request);
    const text = await response.text();
    if (message.path === "/v1/push" && response.status === 200) {
      try {
        const sent = JSON.parse(message.body);
        const answer = JSON.parse(text);
        for (const r of answer.results ?? []) {
          if (!r.ok) continue;
          const s = sent.streams.find((x) => x.stream === r.stream);
          for (const e of s?.events ?? []) acked.add(String(e.id).toLowerCase());
        }
      } catch {
        // Not a push this harness can read: nothing to record.
      }
    }
    return { status: response.status, text };
  }

  globalThis.fetch = async (input, init = {}) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    if (!url.startsWith(ORIGIN)) return savedFetch(input, init);
    const headers = Object.fromEntries(new Headers(init.headers ?? {}).entries());
    const device = Number(/sim-device-(\d+)/.exec(headers.authorization ?? "")?.[1] ?? -1);
    const body = typeof init.body === "string" ? init.body : init.body ? new TextDecoder().decode(init.body) : undefined;
    const path = new URL(url).pathname;
    const message = { device, url, path, method: init.method ?? "GET", headers, body, step: currentStep };
    if (partitioned.has(device)) throw offline();
    if (direct) {
      const { status, text } = await deliver(message);
      return new Response(text, { status });
    }
    return new Promise((resolve, reject) => {
      message.resolve = resolve;
      message.reject = reject;
      queue.push(message);
    });
  };

  // The devices.
  const devices = [];
  let currentStep = 0;
  try {
    for (let d = 0; d < deviceCount; d++) {
      const store = await EventStore.inMemory();
      const sync = store.sync({ url: ORIGIN, token: `sim-device-${d}`, scope, conflicts: options.conflicts ?? "rebase", pullLimit: [2, 7, 1000][d % 3] });
      sync.onRejected((r) => {
        const tag = r.command?.[TAG];
        if (tag !== undefined) rejectedByTag.set(tag, (rejectedByTag.get(tag) ?? 0) + 1);
        counts.rejectedOnSync++;
        log(`device ${d} rejected ${tag ?? "events"} on sync: ${show(r.error)}`);
      });
      const bus = store.bus();
      const aggregates = new Map();
      for (const a of options.aggregates) {
        const definition = wrap(a.definition, decisions);
        bus.registerAggregate(definition, { commands: a.commands, id: (c) => a.id(c) });
        aggregates.set(a.definition.name, { spec: a, handle: store.aggregate(definition) });
      }
      devices.push({ index: d, store, sync, bus, aggregates, syncing: null, next: 0 });
    }
    await settle();

    const startSync = (device) => {
      if (device.syncing) return;
      counts.syncs++;
      device.syncing = device.sync.now().then(
        (r) => log(`device ${device.index} synced: pushed ${r.pushed}, pulled ${r.pulled}${r.resynced ? ", resynced" : ""}`),
        (e) => {
          counts.syncErrors++;
          log(`device ${device.index} sync failed: ${show(e)}`);
        },
      ).finally(() => {
        device.syncing = null;
      });
    };

    const runCommand = async (device) => {
      const command = options.command(random, { device: device.index, step: currentStep });
      if (command === null || command === undefined) return;
      counts.commands++;
      const a = options.aggregates.find((x) => x.commands.includes(command.type));
      if (!a) throw failure(`command type ${command.type} is in no aggregate's commands`);
      const tag = `d${device.index}c${device.next++}`;
      const tagged = { ...command, [TAG]: tag };
      const viaBus = random.chance(0.5);
      try {
        const result = viaBus
          ? await device.bus.dispatch(tagged)
          : await device.aggregates.get(a.definition.name).handle.execute(a.id(command), tagged);
        if ((result?.events?.length ?? 0) > 0) {
          counts.accepted++;
          accepted.set(tag, { device: device.index, stream: `${a.definition.name}-${a.id(command)}` });
        }
        log(`device ${device.index} ${viaBus ? "dispatched" : "executed"} ${tag} ${command.type}: ${result?.events?.length ?? 0} events`);
      } catch (e) {
        if (e?.code !== "DECIDER_REJECTED") throw failure(`device ${device.index} ${command.type}: ${show(e)}`);
        counts.rejectedLocally++;
        log(`device ${device.index} ${tag} ${command.type} rejected locally`);
      }
    };

    const restartServer = async (replace) => {
      // Requests in flight die with the old process.
      for (const m of queue.splice(0)) m.reject(offline());
      ghosts.length = 0;
      if (replace) {
        const fresh = await EventStore.inMemory();
        for (const e of await server.store.readAll()) {
          await fresh.append(e.stream, [{ id: e.id, type: e.type, data: e.data, metadata: e.metadata }], { expectedVersion: e.version - 1 });
        }
        server.store = fresh;
      }
      server.generation++;
      server.handler = createSyncHandler({ store: server.store, tokens });
      log(`server ${replace ? "replaced by a restore of its log" : "restarted"}`);
    };

    const networkStep = async () => {
      const ready = queue.filter((m) => (m.until ?? 0) <= currentStep);
      if (ready.length === 0) return;
      const message = random.pick(ready); // any waiting request: reordering
      queue.splice(queue.indexOf(message), 1);
      const where = `device ${message.device} ${message.path}`;
      if (partitioned.has(message.device) || random.chance(faults.drop)) {
        counts.drop++;
        log(`${where}: request dropped`);
        message.reject(offline());
        return;
      }
      if (random.chance(faults.delay)) {
        counts.delay++;
        message.until = currentStep + 1 + random.int(5);
        queue.push(message);
        log(`${where}: delayed to step ${message.until}`);
        return;
      }
      const answer = await deliver(message);
      if (random.chance(faults.duplicate)) {
        counts.duplicate++;
        await deliver(message);
        log(`${where}: delivered twice`);
      }
      if (random.chance(faults.replay)) ghosts.push(message);
      if (random.chance(faults.dropAnswer)) {
        counts.dropAnswer++;
        log(`${where}: answer ${answer.status} lost`);
        message.reject(offline());
        return;
      }
      log(`${where}: ${answer.status}`);
      message.resolve(new Response(answer.text, { status: answer.status }));
    };

    for (currentStep = 0; currentStep < steps; currentStep++) {
      const roll = random.next();
      const device = random.pick(devices);
      if (roll < 0.35) await runCommand(device);
      else if (roll < 0.55) startSync(device);
      else if (roll < 0.95 || ghosts.length === 0) await networkStep();
      else {
        counts.replay++;
        const ghost = ghosts.splice(random.int(ghosts.length), 1)[0];
        const answer = await deliver(ghost);
        log(`device ${ghost.device} ${ghost.path}: replayed late, ${answer.status}`);
      }
      // The step's faults, each with its own probability.
      if (random.chance(faults.partition)) {
        const cut = random.pick(devices).index;
        if (partitioned.has(cut)) {
          partitioned.delete(cut);
          log(`device ${cut} back online`);
        } else {
          counts.partition++;
          partitioned.add(cut);
          log(`device ${cut} partitioned`);
        }
      }
      if (random.chance(faults.restart)) {
        counts.restart++;
        await restartServer(false);
      } else if (random.chance(faults.replace)) {
        counts.replace++;
        await restartServer(true);
      }
      await settle();
    }

    // Heal: requests still waiting are answered, then every device syncs until nothing moves.
    partitioned.clear();
    ghosts.length = 0;
    direct = true;
    log("network healed");
    for (const m of queue.splice(0)) {
      const answer = await deliver(m);
      m.resolve(new Response(answer.text, { status: answer.status }));
    }
    for (const d of devices) await d.syncing;
    let quiet = false;
    for (let round = 0; round < 8 && !quiet; round++) {
      quiet = true;
      for (const d of devices) {
        let report;
        try {
          report = await d.sync.now();
        } catch (e) {
          throw failure(`device ${d.index} cannot sync on a healed network: ${show(e)}`);
        }
        if (report.pushed > 0 || report.pulled > 0 || report.resynced) quiet = false;
      }
    }
    await settle();
    if (!quiet) throw failure("devices still exchange events after 8 rounds on a healed network");

    // The checks.
    const serverLog = (await server.store.readAll()).filter((e) => inScope(e.stream));
    // Positions are each store's own (a device's log holds local streams too, and a re-sync
    // stores the pulled events again at new positions): the order is compared, not the numbers.
    const shape = (e) => [e.id, e.stream, e.version, e.type, e.data, e.metadata];
    const ids = new Set();
    const versions = new Map();
    serverLog.forEach((e, i) => {
      if (ids.has(e.id)) throw failure(`event ${e.id} is twice in the server's log`);
      ids.add(e.id);
      if (e.position !== i + 1) throw failure(`server position ${e.position} at index ${i}: a gap`);
      const v = (versions.get(e.stream) ?? 0) + 1;
      if (e.version !== v) throw failure(`${e.stream} version ${e.version} where ${v} was due`);
      versions.set(e.stream, v);
    });
    for (const id of acked) {
      if (!ids.has(id)) throw failure(`event ${id} was acknowledged by the server and is not in its log`);
    }
    for (const d of devices) {
      const status = d.sync.status;
      if (status.pending !== 0) throw failure(`device ${d.index} still has ${status.pending} pending events`);
      const mine = (await d.store.readAll()).filter((e) => inScope(e.stream));
      if (mine.length !== serverLog.length) throw failure(`device ${d.index} holds ${mine.length} synced events, the server ${serverLog.length}`);
      for (let i = 0; i < mine.length; i++) {
        if (!equal(shape(mine[i]), shape(serverLog[i]))) {
          throw failure(`device ${d.index} differs from the server at position ${i + 1}: ${JSON.stringify(shape(mine[i]))} vs ${JSON.stringify(shape(serverLog[i]))}`);
        }
      }
      for (const [stream] of versions) {
        const a = options.aggregates.find((x) => stream.startsWith(`${x.definition.name}-`));
        const id = stream.slice(a.definition.name.length + 1);
        const events = serverLog.filter((e) => e.stream === stream);
        const folded = events.reduce((s, e) => a.definition.evolve(s, e), a.definition.initialState());
        const loaded = await d.aggregates.get(a.definition.name).handle.load(id);
        if (!equal(loaded.state, folded)) throw failure(`device ${d.index} ${stream}: state ${JSON.stringify(loaded.state)}, a fold of the server's events gives ${JSON.stringify(folded)}`);
      }
    }
    const byTag = new Map();
    for (const e of serverLog) {
      const tag = e.metadata?.[TAG];
      if (tag === undefined) continue;
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push(e);
    }
    for (const [tag, where] of accepted) {
      const events = byTag.get(tag) ?? [];
      const rejected = rejectedByTag.get(tag) ?? 0;
      const last = decisions.get(tag);
      if (rejected > 1) throw failure(`command ${tag} was reported rejected ${rejected} times`);
      if (rejected === 1 && events.length > 0) throw failure(`command ${tag} was reported rejected and its events are on the server`);
      // A re-run that decided no events ends the command quietly; a rejection must be reported.
      const quiet = last !== undefined && !last.rejected && last.count === 0;
      if (rejected === 0 && events.length === 0 && !quiet) throw failure(`command ${tag} (${where.stream}, device ${where.device}) was accepted and is lost: not on the server, never reported rejected`);
      if (events.length > 0) {
        if (events.some((e) => e.stream !== events[0].stream)) throw failure(`command ${tag}'s events are in several streams`);
        if (events.some((e, i) => e.version !== events[0].version + i)) throw failure(`command ${tag}'s events are not one contiguous batch: versions ${events.map((e) => e.version)}`);
        if (last && !last.rejected && events.length !== last.count) throw failure(`command ${tag} decided ${last.count} events and ${events.length} are on the server`);
      }
    }
    if (options.check) {
      try {
        await options.check({ seed, server: server.store, devices: devices.map((d) => d.store) });
      } catch (e) {
        throw failure(`check: ${show(e)}`);
      }
    }
    return { seed, steps, devices: deviceCount, events: serverLog.length, counts, trace: options.trace ? trace : undefined, digest: digest(trace) };
  } catch (e) {
    if (e instanceof SimulationError) throw e;
    throw failure(show(e) + (e?.stack ? `\n${e.stack}` : ""));
  } finally {
    direct = true;
    for (const m of queue.splice(0)) m.reject(offline());
    for (const d of devices) {
      d.sync.stop();
      await d.syncing;
      d.store.close?.();
    }
    server.store.close?.();
    globalThis.fetch = savedFetch;
    globalThis.crypto.randomUUID = savedUuid;
  }
}

/** FNV-1a of the trace: equal for two runs of one seed. */
function digest(lines) {
  let h = 0x811c9dc5;
  for (const line of lines) {
    for (let i = 0; i < line.length; i++) h = Math.imul(h ^ line.charCodeAt(i), 0x01000193) >>> 0;
    h = Math.imul(h ^ 10, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, "0");
}

/**
 * Runs `simulate` for `count` seeds from `from` (1 by default), one after another; resolves to
 * `{ seeds, events, counts }` summed, or rejects with the first failing seed's `SimulationError`.
 */
export async function simulateSeeds(options) {
  const from = options.from ?? 1;
  const count = options.count ?? 100;
  const total = { seeds: 0, events: 0, counts: {} };
  for (let seed = from; seed < from + count; seed++) {
    const report = await simulate({ ...options, seed });
    total.seeds++;
    total.events += report.events;
    for (const [k, v] of Object.entries(report.counts)) total.counts[k] = (total.counts[k] ?? 0) + v;
  }
  return total;
}
