import type { AggregateDefinition, AnyEvent, EventInput, EventShape } from "./web/eventfold.js";

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
