// The user's own types, carried end to end (issue 16): an aggregate's state, commands and event
// union; events narrowed by `type`; typed reads; projection and read model definitions;
// `Symbol.dispose`. Each @ts-expect-error line is misuse that must not compile (tsc fails on an
// unused one).
import { EventStore } from "eventfold";
import type { Aggregate, AggregateDefinition, Executed, ProjectionDefinition, ReadModelDefinition, Recorded } from "eventfold";

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
  decide: (command, state) => {
    if (command.type === "Reset") return [{ type: "Reset" }];
    // @ts-expect-error `by` is a number in the event union
    if (command.by > 10) return [{ type: "Added", data: { by: "ten" } }];
    // @ts-expect-error "Removed" is not an event of this aggregate
    if (state.n > 100) return [{ type: "Removed", data: { by: 1 } }];
    return [{ type: "Added", data: { by: command.by }, metadata: { reason: "typed" } }];
  },
};

export async function aggregates(store: EventStore): Promise<number> {
  const counters: Aggregate<Counter, CounterCommand, CounterEvent> = store.aggregate(counter);
  const done: Executed<Counter, CounterEvent> = await counters.execute("c1", { type: "Add", by: 2 });
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

export function definitions(store: EventStore): void {
  const totals: ProjectionDefinition<number, CounterEvent> = {
    name: "totals",
    init: () => 0,
    evolve: (sum, e) => (e.type === "Added" ? sum + e.data.by : 0),
  };
  store.projection(totals);
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
  store.readModel(rows);
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
}
