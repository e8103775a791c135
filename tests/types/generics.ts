// The user's own types, carried end to end (issue 16): an aggregate's state, commands and event
// union; events narrowed by `type`; typed reads; projection and read model definitions;
// `Symbol.dispose`. Each @ts-expect-error line is misuse that must not compile (tsc fails on an
// unused one).
import { EventStore } from "eventfold";
import type {
  Aggregate, AggregateDefinition, Bus, Dispatched, Executed, LiveQuery, Projection, ProjectionDefinition, ReadModel, ReadModelDefinition, Recorded,
} from "eventfold";

type Counter = { n: number };
type CounterCommand = { type: "Add"; by: number } | { type: "Reset" };
type CounterEvent = { type: "Added"; data: { by: number } } | { type: "Reset" };

export const counter: AggregateDefinition<Counter, CounterCommand, CounterEvent> = {
  name: "counter",
  initialState: () => ({ n: 0 }),
  evolve: (state, e) => {
    switch (e.type) {
      case "Added":
        return { n: state.n + e.data.by }; // narrowed by type: data is { by: number }, no cast
      case "Reset": {
        // @ts-expect-error a Reset carries no data: it is recorded as null
        console.log(e.data.by);
        return { n: 0 };
      }
    }
  },
  decide: (command) => {
    if (command.type === "Reset") return [{ type: "Reset" }];
    return [{ type: "Added", data: { by: command.by }, metadata: { reason: "typed" } }];
  },
};

// decide may return only events of the union, with their data's types.
export const badDecides: AggregateDefinition<Counter, CounterCommand, CounterEvent>[] = [
  {
    ...counter,
    // @ts-expect-error `by` is a number in the event union
    decide: () => [{ type: "Added", data: { by: "ten" } }],
  },
  {
    ...counter,
    // @ts-expect-error "Removed" is not an event of this aggregate
    decide: () => [{ type: "Removed", data: { by: 1 } }],
  },
  {
    ...counter,
    // @ts-expect-error evolve returns the state type
    evolve: (state) => state.n,
  },
];

export async function aggregates(store: EventStore): Promise<number> {
  const counters: Aggregate<Counter, CounterCommand, CounterEvent> = store.aggregate(counter);
  const done: Executed<Counter, CounterEvent> = await counters.execute("c1", { type: "Add", by: 2 });
  await counters.execute("c1", { type: "Reset" }, { signal: AbortSignal.timeout(1000) });
  const n: number = done.state.n;
  for (const e of done.events) {
    if (e.type === "Added") console.log(e.data.by + 1, e.version, e.position);
  }
  // @ts-expect-error not a command of this aggregate (issue 16: `execute` took `any`)
  await counters.execute("c1", { type: "NotACommand" });
  // @ts-expect-error the state has no such field (issue 16: `r.state` was `any`)
  const missing: string = done.state.doesNotExist;
  // @ts-expect-error an Add needs `by`
  await counters.execute("c1", { type: "Add" });
  const past = await counters.load("c1", { atVersion: 1 });
  const then: number = past.state.n + past.version;
  await counters.load("c1");
  // @ts-expect-error atVersion is a number
  await counters.load("c1", { atVersion: "1" });
  // @ts-expect-error the loaded state is a Counter
  const wrong: string = past.state;

  // Without annotations, the types come from the definition's own functions.
  const inferred = store.aggregate({
    name: "inferred",
    initialState: () => ({ count: 0 }),
    evolve: (s: { count: number }, _e: Recorded<CounterEvent>) => ({ count: s.count + 1 }),
    decide: (c: CounterCommand): CounterEvent[] => (c.type === "Reset" ? [{ type: "Reset" }] : []),
  });
  const r = await inferred.execute("i", { type: "Reset" });
  const count: number = r.state.count;
  // @ts-expect-error the command type is inferred from decide
  await inferred.execute("i", { type: "Nope" });
  return n + then + count + missing.length + wrong.length;
}

export async function typedReads(store: EventStore): Promise<number> {
  const events = await store.readStream<CounterEvent>("counter-c1");
  let total = 0;
  for (const e of events) {
    if (e.type === "Added") total += e.data.by;
    // @ts-expect-error "Removed" is not a type of the union
    if (e.type === "Removed") total = 0;
  }
  const page = await store.readAll<CounterEvent>({ after: 0, filter: { types: ["Added"] } });
  const first = page[0];
  if (first?.type === "Added") total += first.data.by;
  const sub = store.subscribe<CounterEvent>({ after: 0, streamPrefix: "counter-" }, (batch) => {
    for (const e of batch) if (e.type === "Added") total += e.data.by;
  });
  for await (const batch of store.subscribe<CounterEvent>({ after: 0, signal: AbortSignal.timeout(1000) })) {
    for (const e of batch) if (e.type === "Added") total += e.data.by;
    break;
  }
  // @ts-expect-error the callback is a function
  store.subscribe({}, "nope");
  // @ts-expect-error signal is an AbortSignal
  store.subscribe({ signal: true }, () => undefined);
  // Untyped reads keep JSON data.
  const raw = await store.readStream("counter-c1");
  // @ts-expect-error untyped data is Json: narrow it first
  console.log(raw[0].data.by);
  // Explicit resource management is declared (the classes free themselves like free()).
  sub[Symbol.dispose]();
  sub();
  // @ts-expect-error close() is deprecated, not gone: it still type-checks, so this line must fail for another reason
  sub.close(1);
  console.log(store[Symbol.dispose]);
  return total;
}

type Row = { id: string; n: number; status: "open" | "reset" };

export async function definitions(store: EventStore): Promise<number> {
  const totals: ProjectionDefinition<number, CounterEvent> = {
    name: "totals",
    init: () => 0,
    evolve: (sum, e) => (e.type === "Added" ? sum + e.data.by : 0),
  };
  // Projection<S>: state, subscribe and stateAt carry the state type.
  const view: Projection<number> = store.projection(totals);
  await view.ready();
  const sum: number = view.state ?? 0;
  // @ts-expect-error the state is undefined until the first catch-up has settled
  const early: number = view.state;
  const then: number = await view.stateAt(1);
  if (view.error) console.log(view.error.code, view.error.message);
  const off = view.subscribe((state) => console.log(state.toFixed(0)));
  off();
  // @ts-expect-error the state is a number
  const text: string = view.state;
  // @ts-expect-error subscribers receive the state type
  view.subscribe((state: string) => state);
  const inferred = store.projection({ name: "inferred", init: () => ({ count: 0 }), evolve: (s) => ({ count: s.count + 1 }) });
  const count: number = inferred.state?.count ?? 0;
  // @ts-expect-error the state type is inferred from init
  console.log(inferred.state?.total);
  // @ts-expect-error a projection's state is what init returns
  const bad: ProjectionDefinition<number, CounterEvent> = { name: "bad", init: () => "zero", evolve: (s) => s };
  console.log(bad);

  const rows: ReadModelDefinition<Row, "status" | "n", CounterEvent> = {
    name: "rows",
    indexes: ["status", "n"],
    handlers: {
      Added: (e, rm) => rm.put(e.stream, { id: e.stream, n: e.data.by, status: "open" }),
      Reset: async (e, rm) => {
        await rm.update(e.stream, (row) => (row ? { ...row, status: "reset" } : undefined));
      },
    },
  };
  // ReadModel<Record, IndexName>: records typed, queries only over declared indexes.
  const table: ReadModel<Row, "status" | "n"> = store.readModel(rows);
  const row: Row | undefined = await table.get("counter-c1");
  const open: Row[] = await table.query({ index: "status", equals: "open", limit: 10 });
  await table.query({ index: "n", range: { gte: 1 } });
  // @ts-expect-error "id" is not an index of this read model
  await table.query({ index: "id", equals: "counter-c1" });
  // @ts-expect-error a record is a Row or undefined
  const sure: Row = await table.get("counter-c1");
  // Long calls take an AbortSignal.
  await view.ready({ signal: AbortSignal.timeout(1000) });
  await table.rebuild({ signal: new AbortController().signal });
  // @ts-expect-error a signal is an AbortSignal
  await view.ready({ signal: "soon" });
  // Live queries carry the record and the state: LiveQuery<Row[]>, LiveQuery<Row | null>, LiveQuery<number>.
  const live: LiveQuery<Row[]> = table.liveQuery({ index: "status", equals: "open" });
  const snapshot: Row[] | undefined = live.getSnapshot();
  // @ts-expect-error undefined until the first evaluation settled
  const loaded: Row[] = live.getSnapshot();
  const stop: () => void = live.subscribe((rows) => console.log(rows?.length));
  stop();
  // React's useSyncExternalStore(subscribe: (onStoreChange: () => void) => () => void, getSnapshot)
  const external: [(onStoreChange: () => void) => () => void, () => Row[] | undefined] = [live.subscribe, live.getSnapshot];
  // @ts-expect-error "id" is not an index of this read model
  table.liveQuery({ index: "id", equals: "counter-c1" });
  const one: Row | null | undefined = table.liveGet("counter-c1").getSnapshot();
  // @ts-expect-error a live get is null for a missing record, undefined before it settled
  const present: Row = table.liveGet("counter-c1").getSnapshot();
  const liveSum: number | undefined = view.liveState().getSnapshot();
  // @ts-expect-error the projection's state is a number
  view.liveState().subscribe((state?: string) => state);
  console.log(snapshot, loaded, external, one, present, liveSum);
  // Inferred from the definition: the index names of `indexes` (as const), the record of the handlers' writer.
  const byStatus = store.readModel({
    name: "by-status",
    indexes: ["status"] as const,
    handlers: { Added: (e: Recorded, rm: { put(key: string, value: Row): void }) => rm.put(e.stream, { id: e.stream, n: 1, status: "open" }) },
  });
  await byStatus.query({ index: "status", equals: "open" });
  // Untyped handlers in a literal: any event type, JSON data.
  const loose = store.readModel({ name: "loose", handlers: { Added: (e, rm) => rm.put(e.stream, { type: e.type }) } });
  const anyRecord: unknown = await loose.get("x");
  console.log(anyRecord);
  // @ts-expect-error only "status" was declared
  await byStatus.query({ index: "n", equals: 1 });
  const misspelt: ReadModelDefinition<Row, "status", CounterEvent> = {
    name: "misspelt",
    // @ts-expect-error only declared index names
    indexes: ["statuss"],
    handlers: {
      // @ts-expect-error a record needs every field of Row
      Added: (e, rm) => rm.put(e.stream, { id: e.stream }),
    },
  };
  const unknownEvent: ReadModelDefinition<Row, "status", CounterEvent> = {
    name: "unknown-event",
    handlers: {
      // @ts-expect-error "Removed" is not an event type of the union
      Removed: () => undefined,
    },
  };
  console.log(misspelt, unknownEvent);
  return sum + early + then + count + text.length + (row?.n ?? 0) + open.length + sure.n;
}

// The bus: typed by the map of what it handles (registration is at run time, so the map is
// stated once, as the type arguments of store.bus).
interface CounterCommands {
  Add(command: { type: "Add"; by: number }): Dispatched<Counter, CounterEvent>;
  Notify(command: { type: "Notify"; to: string }): { sent: boolean };
}
interface CounterQueries {
  Count(query: { type: "Count"; id: string }): number;
}

export async function typedBus(store: EventStore): Promise<number> {
  const bus: Bus<CounterCommands, CounterQueries> = store.bus<CounterCommands, CounterQueries>();
  bus.registerAggregate(counter, { commands: ["Add", "Reset"], id: () => "c1" });
  // @ts-expect-error not a command type of the counter aggregate
  bus.registerAggregate(counter, { commands: ["Remove"], id: () => "c1" });
  bus.register("Notify", async (c, ctx) => ({ sent: c.to.length > 0 && ctx.commandId.length > 0 }));
  // @ts-expect-error the handler resolves to what the map says ({ sent: boolean })
  bus.register("Notify", () => ({ sent: "yes" }));
  // @ts-expect-error not a command of this bus
  bus.register("Nope", () => undefined);
  bus.registerQuery("Count", async (q) => (await store.aggregate(counter).load(q.id)).state.n);
  const added = await bus.dispatch({ type: "Add", by: 1 }, { correlationId: "r1" });
  const version: number = "duplicate" in added ? 0 : added.version;
  const { sent }: { sent: boolean } = await bus.dispatch({ type: "Notify", to: "a@b" });
  const n: number = await bus.ask({ type: "Count", id: "c1" });
  // @ts-expect-error not a command of this bus
  await bus.dispatch({ type: "NotACommand" });
  // @ts-expect-error `by` is a number
  await bus.dispatch({ type: "Add", by: "1" });
  // @ts-expect-error a Count query needs an id
  await bus.ask({ type: "Count" });
  // @ts-expect-error a query's result is what the map says
  const wrong: string = await bus.ask({ type: "Count", id: "c1" });
  bus.on({
    name: "notify",
    handlers: {
      Added: async (e, ctx) => {
        await ctx.dispatch({ type: "Notify", to: e.stream });
        // @ts-expect-error ctx.dispatch is typed by the bus too
        await ctx.dispatch({ type: "Notify" });
      },
    },
  });
  bus.use(async (command, ctx, next) => (command.type === "Add" && command.by > 100 ? undefined : next(command, ctx)));

  // Untyped: any message, `unknown` results to narrow.
  const loose = store.bus();
  const result: unknown = await loose.dispatch({ type: "Anything", x: 1 });
  // @ts-expect-error an untyped result is unknown, not any
  const notAny: number = await loose.ask({ type: "Anything" });
  return version + Number(sent) + n + wrong.length + notAny + (result ? 1 : 0);
}
