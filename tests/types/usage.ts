// Type-checked with `tsc --noEmit` against the installed package: the API a TypeScript user
// writes must compile, and misuse must not (see the @ts-expect-error lines).
import { EventStore, isEventfoldError } from "eventfold";
import type { AppendResult, EventInput, RecordedEvent, ErrorCode } from "eventfold";

type OrderCreated = { customerId: string };

export async function usage(): Promise<number> {
  const store: EventStore = await EventStore.inMemory({ maxEventBytes: 65536 });
  const input: EventInput<"OrderCreated", OrderCreated> = {
    type: "OrderCreated",
    data: { customerId: "c1" },
    metadata: { correlationId: "k1" },
    id: crypto.randomUUID(),
  };
  const r: AppendResult = await store.append("order-1", [input], { expectedVersion: "no_stream" });
  await store.append("order-1", [{ type: "ItemAdded", data: { sku: "p1", qty: 2 } }], { expectedVersion: r.version });
  const events: RecordedEvent[] = await store.readStream("order-1", { from: 1, limit: 100, direction: "forward" });
  const page = await store.readAll({ after: 0, limit: 1000, filter: { streamPrefix: "order-", types: ["OrderCreated"] } });
  const unsubscribe: () => void = store.subscribe({ after: 0, streamPrefix: "order-" }, (batch: RecordedEvent[]) => {
    for (const e of batch) console.log(e.position, e.type, e.version, e.timestamp);
  });
  unsubscribe();
  const lost: string | undefined = store.dataLoss;
  if (lost !== undefined) console.warn(lost.toUpperCase());
  // @ts-expect-error `dataLoss` is read-only: the browser's report of this open
  store.dataLoss = "x";
  try {
    await store.append("order-1", [input], { expectedVersion: 99 });
  } catch (e) {
    if (isEventfoldError(e)) {
      const code: ErrorCode = e.code;
      // @ts-expect-error `actual` exists only once `code` says which error this is
      console.log(e.actual);
      if (e.code === "WRONG_EXPECTED_VERSION") {
        const actual: number = e.actual; // narrowed by code: a number, not number | undefined
        const expected: "any" | "no_stream" | "exists" | number = e.expected;
        console.log(code, e.stream, expected, actual);
        // @ts-expect-error WRONG_EXPECTED_VERSION carries no `record`
        console.log(e.record);
      } else if (e.code === "EVOLVE_FAILED") {
        const position: number = e.position;
        console.log(position);
      } else if (e.code === "SCHEMA_TOO_NEW") {
        const versions: [number, number] = [e.found, e.supported];
        console.log(versions);
      } else if (e.code === "SYNC_CONFLICT") {
        const stream: string = e.stream;
        console.log(stream, e.actual);
      } else if (e.code === "HANDLER_NOT_FOUND") {
        const kind: "command" | "query" | "saga" = e.kind;
        console.log(kind, e.type);
      }
      // @ts-expect-error not a code eventfold has
      if (e.code === "WRONG_VERSION") console.log(e);
    }
  }
  // @ts-expect-error expectedVersion must be "any" | "no_stream" | "exists" | number
  await store.append("order-1", [input], { expectedVersion: "latest" });
  // @ts-expect-error direction is "forward" | "backward"
  await store.readStream("order-1", { direction: "sideways" });
  // @ts-expect-error events need a type
  await store.append("order-1", [{ data: 1 }]);
  return events.length + page.length + (await store.headPosition()) + (await store.streamVersion("order-1"));
}

import type { AggregateDefinition, ProjectionDefinition, ReadModelChange, ReadModelDefinition } from "eventfold";
import { DeciderSpecification, simulate, simulateSeeds, type SimulationReport } from "eventfold/testing";

type Counter = { n: number };
type Add = { type: "Add"; by: number };
type Added = { type: "Added"; data: { by: number } };

export async function cqrs(store: EventStore): Promise<number> {
  const counter: AggregateDefinition<Counter, Add, Added> = {
    name: "counter",
    initialState: () => ({ n: 0 }),
    evolve: (s, e) => ({ n: s.n + e.data.by }),
    decide: (c, s) => {
      if (s.n + c.by > 10) throw new Error("too much");
      return [{ type: "Added", data: { by: c.by } }];
    },
    snapshotEvery: 50,
  };
  DeciderSpecification.for(counter).given([{ type: "Added", data: { by: 9 } }]).when({ type: "Add", by: 5 }).then(/too much/);
  const simulated: SimulationReport = await simulate({
    seed: 1,
    aggregates: [{ definition: counter, commands: ["Add"], id: () => "c1" }],
    command: (random) => (random.chance(0.9) ? { type: "Add", by: 1 + random.int(3) } : null),
    conflicts: { counter: "rebase" },
    faults: { drop: 0.2, replace: 0 },
  });
  const soaked: { seeds: number } = await simulateSeeds({ aggregates: [{ definition: counter, commands: ["Add"], id: () => "c1" }], command: () => ({ type: "Add", by: 1 }), count: 2 });
  // @ts-expect-error "manual" never converges without the app
  await simulate({ seed: 1, aggregates: [{ definition: counter, commands: ["Add"], id: () => "c1" }], command: () => null, conflicts: "manual" });
  // @ts-expect-error commands are the aggregate's command types
  await simulate({ seed: 1, aggregates: [{ definition: counter, commands: ["Remove"], id: () => "c1" }], command: () => null });
  console.log(simulated.digest, soaked.seeds);
  const counters = store.aggregate(counter);
  const done = await counters.execute("c1", { type: "Add", by: 2 });
  const past = await counters.load("c1", { atVersion: 1 });
  const taken: { version: number } | null = await counters.snapshot("c1");
  await counters.deleteSnapshots("c1");
  const bursty = store.aggregate({ ...counter, snapshotEvery: undefined, snapshotAfter: { events: 20, ms: 60_000 } });
  const total: ProjectionDefinition<number> = { name: "total", version: 1, init: () => 0, evolve: (s) => s + 1 };
  const view = store.projection(total);
  await view.ready();
  const unsubscribe: () => void = view.subscribe((state) => console.log(state));
  unsubscribe();
  const model: ReadModelDefinition<{ id: string; n: number }> = {
    name: "counters",
    indexes: ["n"],
    handlers: { Added: (e, rm) => rm.update(e.stream, (c) => ({ id: e.stream, n: (c?.n ?? 0) + 1 })).then(() => undefined) },
  };
  const list = store.readModel(model);
  await list.ready();
  const rows = await list.query({ index: "n", range: { gte: 1 }, limit: 10, reverse: true });
  const rebuilt: Promise<void> = list.rebuild();
  await rebuilt;
  store.readModel({ ...model, name: "counted", onProgress: ({ processed, total }) => console.log(processed / total) });
  const stop: () => void = list.subscribe((c: ReadModelChange) => console.log(c.checkpoint, c.keys?.length));
  stop();
  // @ts-expect-error keys may be absent (a rebuild)
  list.subscribe((c) => c.keys.length);
  store.upcast("Added", 1, (e) => ({ data: e.data }));
  // @ts-expect-error a query needs an index
  await list.query({ equals: 1 });
  return done.version + past.version + rows.length + (view.state ?? 0) + (taken?.version ?? 0) + bursty.streamOf("x").length;
}

import type { Sync, SyncReport, SyncStatus, RejectedCommand } from "eventfold";

export function syncUsage(store: EventStore): number {
  const sync: Sync = store.sync({ url: "http://127.0.0.1:8787", token: "t", scope: ["order-"], conflicts: { order: "rebase" } });
  sync.onRejected((r: RejectedCommand) => r.error.code === "DECIDER_REJECTED");
  const off = sync.onStatus((s: SyncStatus) => s.pending + s.checkpoint);
  off();
  // now() takes an AbortSignal and resolves to the report.
  const report: Promise<SyncReport> = sync.now({ signal: AbortSignal.timeout(10_000) });
  void report;
  // @ts-expect-error a signal is an AbortSignal
  void sync.now({ signal: 5 });
  // @ts-expect-error an unknown strategy
  store.sync({ url: "http://127.0.0.1:8787", conflicts: "merge" });
  return sync.status.pending;
}

import type {
  Bus, CommandContext, CommandMiddleware, DeadLetter, Dispatched, EventHandlerDefinition, HandlerProgress, SagaDefinition, SagaView,
} from "eventfold";

type CheckoutInput = { orderId: string; sku: string; amount: number };
// What the bus handles: each command and query type, its message and what it resolves to.
interface ShopCommands {
  Add(command: Add): Dispatched<Counter, Added>;
  Charge(command: { type: "Charge"; amount: number }): { key: string; amount: number };
  Refund(command: { type: "Refund"; orderId: string }): void;
}
interface ShopQueries {
  Total(query: { type: "Total" }): number;
}

export async function buses(store: EventStore, counter: AggregateDefinition<Counter, Add, Added>): Promise<number> {
  const bus: Bus<ShopCommands, ShopQueries> = store.bus<ShopCommands, ShopQueries>({ onError: (e) => console.error(e.code) });
  bus.registerAggregate(counter, { commands: ["Add"], id: (c: Add) => String(c.by) });
  bus.register("Charge", async (c, ctx: CommandContext<ShopCommands>) => ({ key: ctx.commandId, amount: c.amount }));
  bus.register("Refund", () => undefined);
  const audit: CommandMiddleware<ShopCommands> = async (command, ctx, next) => {
    ctx.metadata.userId = "u1";
    return next(command, ctx);
  };
  bus.use(audit);
  const r = await bus.dispatch({ type: "Charge", amount: 5 }, { correlationId: "req-1", metadata: { app: "shop" } });
  bus.registerQuery("Total", () => 1);
  const total: number = await bus.ask({ type: "Total" });
  const emails: EventHandlerDefinition<Added, ShopCommands> = {
    name: "emails",
    handlers: { Added: async (e, ctx) => { await ctx.dispatch({ type: "Charge", amount: e.data.by }); console.log(e.id, ctx.eventId); } },
    maxAttempts: 3,
    timeoutMs: 1000,
  };
  bus.on(emails);
  const saga: SagaDefinition<CheckoutInput, ShopCommands> = {
    name: "checkout",
    steps: [
      { name: "charge", command: (s) => ({ type: "Charge", amount: s.input.amount }), compensate: (s) => ({ type: "Refund", orderId: s.id }) },
      { name: "paid", awaitEvent: { type: "PaymentReceived", match: (e, s) => (e.data as { orderId: string }).orderId === s.id }, timeoutMs: 900_000 },
    ],
    startOn: { type: "CheckoutRequested", id: (e) => e.stream, input: (e) => e.data as CheckoutInput },
    compensationAttempts: 3,
  };
  bus.saga(saga);
  bus.start();
  const started: boolean = await bus.startSaga("checkout", "o1", { orderId: "o1", sku: "p1", amount: 10 });
  const view: SagaView<CheckoutInput> | undefined = await bus.sagaState<CheckoutInput>("checkout", "o1");
  if (view?.status === "parked") await bus.retrySaga("checkout", "o1");
  if (view?.failure) console.log(view.failure.code, view.parkedStep);
  const letters: DeadLetter[] = await bus.deadLetters("emails");
  for (const l of letters) await bus.skipDeadLetter("emails", l.position);
  const progress: HandlerProgress = await bus.handlerProgress("emails");
  const ids: string[] = await bus.activeSagas("checkout");
  const leads: boolean = bus.isLeader;
  bus.stop();
  // @ts-expect-error a saga step needs a command or awaitEvent
  bus.saga({ name: "bad", steps: [{ name: "x" }] });
  // @ts-expect-error an event handler needs handlers
  bus.on({ name: "nothing" });
  return total + progress.checkpoint + ids.length + Number(started) + Number(leads) + r.amount + (view?.input.amount ?? 0);
}

// The edge: a durable store over the runtime's own SQLite (a Durable Object's ctx.storage here;
// node:sqlite DatabaseSync and bun:sqlite Database fit SqliteHandle too).
import type { SqliteHandle, SyncHandlerOptions } from "eventfold";
import { createSyncHandler } from "eventfold";
declare const doStorage: { sql: { exec(query: string, ...bindings: unknown[]): unknown }; transactionSync<T>(fn: () => T): T };
export async function edgeStore(): Promise<number> {
  const handle: SqliteHandle = doStorage;
  const store: EventStore = await EventStore.sqlite(handle, { maxEventBytes: 64 * 1024 });
  // @ts-expect-error a file name is not a handle
  await EventStore.sqlite("events.db");
  const options: SyncHandlerOptions = { tokens: { t: { read: [""], write: ["order-"] } }, limits: { maxBodyBytes: 1 << 20 } };
  const serve: (request: Request) => Promise<Response> = createSyncHandler({ store, ...options });
  // @ts-expect-error createSyncHandler needs a store
  createSyncHandler({ tokens: {} });
  const res: Response = await serve(new Request("http://127.0.0.1/v1/health"));
  return (await store.append("s", [{ type: "A" }])).position + res.status;
}
