// Given / when / then for deciders, in plain JavaScript (no wasm, no store): state the events
// that happened, the command, and the events or the rejection you expect.
//
//   import { DeciderSpecification } from "eventfold/testing";
//   const spec = DeciderSpecification.for(orderDefinition);
//   spec.given([{ type: "OrderCreated", data: { customerId: "c1" } }])
//     .when({ type: "Confirm" })
//     .then(/empty order/);
//
// And the deterministic sync simulation (simulation.js): devices, a server and a faulty network,
// seeded, checking convergence and that nothing is lost or duplicated.
//
//   import { simulate } from "eventfold/testing";
//   await simulate({ seed: 7, aggregates: [{ definition: order, commands: ["Create"], id: (c) => c.orderId }],
//     command: (random) => ({ type: "Create", orderId: `o${random.int(5)}`, customerId: "c1" }) });

export { SimulationError, seededRandom, simulate, simulateSeeds } from "./simulation.js";

function deepEqual(a, b) {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a).filter((k) => a[k] !== undefined);
  const kb = Object.keys(b).filter((k) => b[k] !== undefined);
  return ka.length === kb.length && ka.every((k) => deepEqual(a[k], b[k]));
}

const show = (v) => JSON.stringify(v, null, 2);

/** Thrown when a specification does not hold. */
export class SpecificationError extends Error {
  constructor(message) {
    super(message);
    this.name = "SpecificationError";
  }
}

function recorded(name, events) {
  return events.map((e, i) => ({
    id: e.id ?? `00000000-0000-4000-8000-${String(i + 1).padStart(12, "0")}`,
    stream: `${name}-test`,
    type: e.type,
    data: e.data === undefined ? null : e.data,
    metadata: e.metadata ?? {},
    version: i + 1,
    position: i + 1,
    timestamp: e.timestamp ?? 0,
  }));
}

function matchesRejection(expected, thrown) {
  const message = thrown instanceof Error ? thrown.message : String(thrown);
  if (typeof expected === "string") return message.includes(expected);
  if (expected instanceof RegExp) return expected.test(message);
  if (typeof expected === "function") return thrown instanceof expected;
  if (expected && typeof expected === "object") {
    return Object.entries(expected).every(([k, v]) => (v instanceof RegExp ? v.test(thrown?.[k]) : deepEqual(thrown?.[k], v)));
  }
  return false;
}

/** Specifications of a decider definition (`{ name?, initialState, evolve, decide }`). */
export const DeciderSpecification = {
  for(definition) {
    const { initialState, evolve, decide } = definition;
    if (typeof initialState !== "function" || typeof evolve !== "function" || typeof decide !== "function") {
      throw new TypeError("a decider needs initialState, evolve and decide functions");
    }
    const name = definition.name ?? "aggregate";
    return {
      /** The events that already happened: `{ type, data?, metadata? }` each. */
      given(events = []) {
        const state = recorded(name, events).reduce((s, e) => evolve(s, e), initialState());
        return {
          /** The command under test. */
          when(command) {
            let outcome;
            try {
              outcome = { events: decide(command, state) ?? [] };
            } catch (thrown) {
              outcome = { thrown };
            }
            return {
              /**
               * Expect events (an array of `{ type, data?, metadata? }`, compared on the fields
               * given), or a rejection: a message substring, a RegExp, an Error class, or an object
               * of expected fields.
               */
              then(expected) {
                if (Array.isArray(expected)) {
                  if ("thrown" in outcome) {
                    throw new SpecificationError(`expected events ${show(expected)}, but decide threw: ${outcome.thrown?.message ?? outcome.thrown}`);
                  }
                  const actual = outcome.events.map((e, i) => {
                    const want = expected[i] ?? {};
                    const picked = { type: e.type };
                    if ("data" in want) picked.data = e.data === undefined ? null : e.data;
                    if ("metadata" in want) picked.metadata = e.metadata ?? {};
                    return picked;
                  });
                  if (!deepEqual(actual, expected.map((e) => ({ ...e, ...("data" in e && e.data === undefined ? { data: null } : {}) })))) {
                    throw new SpecificationError(`expected events ${show(expected)}, got ${show(outcome.events)}`);
                  }
                  return outcome.events;
                }
                if (!("thrown" in outcome)) {
                  throw new SpecificationError(`expected a rejection, but decide returned ${show(outcome.events)}`);
                }
                if (!matchesRejection(expected, outcome.thrown)) {
                  throw new SpecificationError(`decide threw ${outcome.thrown?.message ?? outcome.thrown}, which does not match ${expected}`);
                }
                return outcome.thrown;
              },
            };
          },
        };
      },
    };
  },
};
