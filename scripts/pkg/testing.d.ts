import type { AggregateDefinition, AnyEvent, EventInput, EventShape, EventStore, SyncOptions } from "./web/eventfold.js";

/** Thrown when a decider specification does not hold. */
export declare class SpecificationError extends Error {}

/** A past event for `given`: `{ type, data?, metadata? }`. */
export type GivenEvent = Pick<EventInput, "type" | "data" | "metadata"> & { id?: string; timestamp?: number };

/** What a rejection is expected to look like: a message substring, a RegExp, an Error class, or expected fields. */
export type ExpectedRejection = string | RegExp | (abstract new (...args: never[]) => unknown) | Record<string, unknown>;

export interface Then {
  /** Expect these events (compared on the fields given) or this rejection. */
  then(expected: GivenEvent[] | ExpectedRejection): unknown;
}

export interface When<Command> {
  when(command: Command): Then;
}

export interface Given<Command> {
  given(events?: GivenEvent[]): When<Command>;
}

/** Given / when / then specifications of a decider, without a store. */
export declare const DeciderSpecification: {
  for<State, Command, E extends EventShape = AnyEvent>(definition: Pick<AggregateDefinition<State, Command, E>, "initialState" | "evolve" | "decide"> & { name?: string }): Given<Command>;
};

/** A seeded generator: the same seed gives the same sequence. */
export interface SeededRandom {
  /** A number in [0, 1). */
  next(): number;
  /** An integer in [0, n). */
  int(n: number): number;
  /** One element of `list`. */
  pick<T>(list: readonly T[]): T;
  /** `true` with probability `p`. */
  chance(p: number): boolean;
}

/** A seeded generator (mulberry32), as `simulate` hands it to `command`. */
export declare function seededRandom(seed: number): SeededRandom;

/**
 * An aggregate the simulated devices run commands on, registered on each device's bus as
 * `registerAggregate(definition, { commands, id })` takes it. `definition` is any
 * `AggregateDefinition` whose commands are `Command`s (its state and event types are its own).
 */
export interface SimulatedAggregate<Command extends { type: string } = { type: string }> {
  definition: {
    name: string;
    initialState(): unknown;
    evolve(state: never, event: never): unknown;
    decide(command: Command, state: never): unknown;
  } & Partial<Pick<AggregateDefinition, "snapshotEvery" | "snapshotAfter" | "snapshotVersion" | "maxRetries">>;
  /** The command types this aggregate handles. */
  commands: Command["type"][];
  /** The aggregate id a command is for: the command runs on stream `${definition.name}-${id(command)}`. */
  id(command: Command): string;
}

/** Probabilities of the simulated network's faults (defaults in docs/testing-your-app.md). */
export interface SimulatedFaults {
  /** A request lost before the server sees it. */
  drop?: number;
  /** The server handles the request and its answer is lost. */
  dropAnswer?: number;
  /** The request reaches the server twice. */
  duplicate?: number;
  /** A copy of the request is kept and replayed to the server later (its answer discarded). */
  replay?: number;
  /** The request waits 1 to 5 steps (others overtake it). */
  delay?: number;
  /** Per step: a device is cut off, or (when cut off) back online. */
  partition?: number;
  /** Per step: the server restarts (requests in flight are lost). */
  restart?: number;
  /** Per step: the server is replaced by a restore of its log under another store id (devices re-sync). */
  replace?: number;
}

/** Options of `simulate`. */
export interface SimulationOptions<Command extends { type: string } = { type: string }> {
  /** The seed: the same seed replays the same run exactly. */
  seed: number;
  /** The aggregates, with the command types each handles. */
  aggregates: SimulatedAggregate<Command>[];
  /** A random command for `device` at `step` (or `null` for none), drawn from `random` only. */
  command(random: SeededRandom, at: { device: number; step: number }): Command | null | undefined;
  /** Number of devices (default 3, at most 16). */
  devices?: number;
  /** Number of simulated steps before the network heals (default 80). */
  steps?: number;
  /** How devices reconcile conflicts: `"rebase"` (default) or `"append"`, or one per aggregate name. */
  conflicts?: Extract<SyncOptions["conflicts"], "rebase" | "append"> | Record<string, "rebase" | "append">;
  /** Fault probabilities on top of the defaults. */
  faults?: SimulatedFaults;
  /** Keep the run's trace (one line per step and exchange) in the report. */
  trace?: boolean;
  /** Your own check at the end (throw to fail the seed): the server's store and each device's. */
  check?(world: { seed: number; server: EventStore; devices: EventStore[] }): void | Promise<void>;
}

/** What one simulated run did. */
export interface SimulationReport {
  seed: number;
  steps: number;
  devices: number;
  /** Events in the server's final log. */
  events: number;
  /** Commands, syncs, requests and faults of the run. */
  counts: Record<string, number>;
  /** The trace, when `trace: true`. */
  trace?: string[];
  /** A hash of the trace: two runs of one seed give the same digest. */
  digest: string;
}

/** Thrown when a simulated run breaks a property; the message starts with the seed. */
export declare class SimulationError extends Error {
  readonly seed: number;
  /** What happened up to the failure, one line per step and exchange. */
  readonly trace: string[];
}

/**
 * Runs N devices and a server (`createSyncHandler` over an in-memory store) through a seeded
 * faulty network, then heals it and checks convergence, no loss and no duplication.
 * Rejects with `SimulationError` (carrying the seed) when a property breaks. One run at a time
 * per process: it stands in for `fetch` (requests to `http://simulation.invalid` only) and for
 * `crypto.randomUUID` while it runs.
 */
export declare function simulate<Command extends { type: string }>(options: SimulationOptions<Command>): Promise<SimulationReport>;

/** `simulate` for `count` seeds (default 100) from `from` (default 1); rejects with the first failing seed. */
export declare function simulateSeeds<Command extends { type: string }>(options: Omit<SimulationOptions<Command>, "seed"> & { from?: number; count?: number }): Promise<{ seeds: number; events: number; counts: Record<string, number> }>;
