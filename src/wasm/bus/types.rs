//! TypeScript declarations of the `Bus` API: the option, context, definition and report shapes
//! around the class wasm-bindgen generates.

use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// `DispatchOptions` in TypeScript.
    #[wasm_bindgen(typescript_type = "DispatchOptions")]
    pub type DispatchOptionsArg;
    /// `BusOptions` in TypeScript.
    #[wasm_bindgen(typescript_type = "BusOptions")]
    pub type BusOptionsArg;
    /// `StartSagaOptions` in TypeScript.
    #[wasm_bindgen(typescript_type = "StartSagaOptions")]
    pub type StartSagaOptionsArg;
}

#[wasm_bindgen(typescript_custom_section)]
const TS_BUS: &'static str = r#"
/** Options of `store.bus()`. */
export interface BusOptions {
  /** Receives the failures of background workers (store errors; handler failures go to retries and dead letters). */
  onError?: (error: EventfoldError) => void;
}

/** A command or query as an untyped bus carries it: a `type` tag and any fields. */
export interface AnyMessage {
  type: string;
  [field: string]: unknown;
}

/**
 * The commands (or queries) a bus handles, as a map from each `type` to a function type from
 * the message to what handling it resolves to. The bus's `dispatch`/`ask`, `register`/
 * `registerQuery` and `ctx.dispatch` are typed by it: `store.bus<Commands, Queries>()`.
 * Registration happens at run time, so the map is stated once, up front.
 *
 * ```ts
 * interface ShopCommands {
 *   AddItem(command: { type: "AddItem"; orderId: string; sku: string }): Dispatched<Order, OrderEvent>;
 *   Charge(command: { type: "Charge"; amount: number }): { receipt: string };
 * }
 * interface ShopQueries { OrderById(query: { type: "OrderById"; id: string }): Order | undefined }
 * const bus = store.bus<ShopCommands, ShopQueries>();
 * ```
 */
export type MessageMap<M> = { [T in keyof M]: (message: never) => unknown };

/** The messages of an untyped bus: any type, any fields, results `unknown`. */
export interface AnyMessages {
  [type: string]: (message: AnyMessage) => unknown;
}

/** The message of type `T` in the map `M` (with its `type` tag). */
export type MessageOf<M, T extends keyof M> = M[T] extends (message: infer X) => unknown ? X & { type: T } : never;

/** What handling a message of type `T` in the map `M` resolves to. */
export type ResultOf<M, T extends keyof M> = M[T] extends (message: never) => infer R ? Awaited<R> : never;

/** Any message of the map `M`: the union of its messages. */
export type MessageUnion<M> = { [T in keyof M & string]: MessageOf<M, T> }[keyof M & string];

/** What dispatching a command to an aggregate resolves to: its `execute` result, or `{ duplicate: true }` for a `commandId` already handled. */
export type Dispatched<State = unknown, E extends EventShape = AnyEvent> = Executed<State, E> | { duplicate: true };

/** The type tags of a command union (`string` when it is not one). */
export type CommandType<Command> = Command extends { type: infer T extends string } ? T : string;

/** What a command handler or middleware receives beside the command. */
export interface CommandContext<C extends MessageMap<C> = AnyMessages> {
  /** This command's id: events it appends get ids derived from it. Use it as an idempotency key for external calls. */
  commandId: string;
  /** The conversation: shared by every command and event that follows from the first one. */
  correlationId: string;
  /** The command or event that caused this one. */
  causationId?: string;
  /** Extra metadata for the appended events (a middleware may add to it). */
  metadata: Record<string, Json | undefined>;
  /** Dispatches a command caused by this one (same correlation id; derived, deterministic command id). */
  dispatch<T extends keyof C & string>(command: { type: T } & MessageOf<C, T>): Promise<ResultOf<C, T>>;
}

/** The context of an event handler call: the event's correlation, caused by the event. */
export interface EventHandlerContext<C extends MessageMap<C> = AnyMessages> extends CommandContext<C> {
  eventId: string;
}

/** A command handler: returns (or resolves to) the dispatch result; throws (or rejects) to fail it. */
export type CommandHandlerFn<Command = AnyMessage, R = unknown, C extends MessageMap<C> = AnyMessages> = (command: Command, ctx: CommandContext<C>) => R | Promise<R>;

/** A command middleware: call `next` to go on, with a changed command or context if you like. */
export type CommandMiddleware<C extends MessageMap<C> = AnyMessages> = (
  command: MessageUnion<C>,
  ctx: CommandContext<C>,
  next: (command?: MessageUnion<C>, ctx?: CommandContext<C>) => Promise<unknown>,
) => unknown;

/** Options of `bus.startSaga`. */
export interface StartSagaOptions {
  /** The conversation the saga belongs to (default: derived from the saga id). */
  correlationId?: string;
}

/** Options of `bus.dispatch`. */
export interface DispatchOptions {
  /** A UUID; default random. Dispatching the same commandId to an aggregate twice appends once. */
  commandId?: string;
  correlationId?: string;
  causationId?: string;
  metadata?: Record<string, Json | undefined>;
}

/** An event handler with side effects (at-least-once, in position order, in one tab), over the event union `E`. */
export interface EventHandlerDefinition<E extends EventShape = AnyEvent, C extends MessageMap<C> = AnyMessages> {
  /** Key of its checkpoint and dead letters. */
  name: string;
  /** One function per event type. Make them idempotent: `event.id` is the key. */
  handlers: string extends E["type"]
    ? { [type: string]: ((event: Recorded<E>, ctx: EventHandlerContext<C>) => void | Promise<void>) | undefined }
    : { [T in E["type"]]?: (event: Recorded<Extract<E, { type: T }>>, ctx: EventHandlerContext<C>) => void | Promise<void> };
  /** Attempts before the event is parked in the dead letters (default 5). */
  maxAttempts?: number;
  /** First retry delay, doubling (default 1000 ms). */
  backoffMs?: number;
  /** Longest retry delay (default 60000 ms). */
  maxBackoffMs?: number;
  /** A call not settled after this long fails with HANDLER_TIMEOUT (default 30000 ms). */
  timeoutMs?: number;
  /** Events read per page (default 100). */
  pageSize?: number;
}

/** What saga step functions see. */
export interface SagaView<Input = unknown> {
  id: string;
  status: "running" | "compensating" | "parked" | "completed" | "compensated";
  input: Input;
  /** Results of completed steps by step name (a command's result, or the awaited event). A step found committed after a reload has `{ recovered: true }`. */
  results: Record<string, unknown>;
  /** The failure that started the compensation. */
  failure: { code: ErrorCode; message: string } | null;
  /** The last compensation failure. */
  compensationError: { code: ErrorCode; message: string } | null;
  /** Steps compensated (or skipped), in order. */
  compensated: string[];
  /** When parked: the step whose compensation waits for retrySaga / skipCompensation. */
  parkedStep: string | null;
  /** The saga stream's version. */
  version: number;
  correlationId: string;
}

/** A saga step: a command (with an optional compensation), or a wait for an event. */
export type SagaStep<Input = unknown, C extends MessageMap<C> = AnyMessages> =
  | {
      name: string;
      command: (saga: SagaView<Input>) => MessageUnion<C>;
      compensate?: (saga: SagaView<Input>) => MessageUnion<C>;
    }
  | {
      name: string;
      awaitEvent: { type: string; match?: (event: RecordedEvent, saga: SagaView<Input>) => boolean };
      /** Durable deadline from the step's start: when it passes, the step fails and compensation runs. */
      timeoutMs?: number;
    };

/** A saga (process manager). Its state is stored as events in `$saga-<name>-<id>`. */
export interface SagaDefinition<Input = unknown, C extends MessageMap<C> = AnyMessages> {
  name: string;
  steps: SagaStep<Input, C>[];
  /** Start a saga for each event of this type. */
  startOn?: { type: string; id: (event: RecordedEvent) => string; input?: (event: RecordedEvent) => Input };
  /** Attempts of a failing compensation before the saga is parked (default 3). */
  compensationAttempts?: number;
  /** A step command not settled after this long fails with HANDLER_TIMEOUT (default 30000 ms). */
  stepTimeoutMs?: number;
  /** First delay between compensation attempts, doubling (default 1000 ms). */
  backoffMs?: number;
  maxBackoffMs?: number;
}

/** An event an event handler parked. */
export interface DeadLetter {
  position: number;
  eventId: string;
  stream: string;
  type: string;
  attempts: number;
  error: string;
}

/** An event handler's persisted progress. */
export interface HandlerProgress {
  checkpoint: number;
  failing: { position: number; eventId: string; attempts: number; retryAt: number; error: string } | null;
}
"#;
