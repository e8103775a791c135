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

/** What a command handler or middleware receives beside the command. */
export interface CommandContext {
  /** This command's id: events it appends get ids derived from it. Use it as an idempotency key for external calls. */
  commandId: string;
  /** The conversation: shared by every command and event that follows from the first one. */
  correlationId: string;
  /** The command or event that caused this one. */
  causationId?: string;
  /** Extra metadata for the appended events (a middleware may add to it). */
  metadata: Record<string, Json | undefined>;
  /** Dispatches a command caused by this one (same correlation id; derived, deterministic command id). */
  dispatch<R = any>(command: { type: string; [key: string]: any }): Promise<R>;
}

/** The context of an event handler call: the event's correlation, caused by the event. */
export interface EventHandlerContext extends CommandContext {
  eventId: string;
}

/** A command handler: returns (or resolves to) the dispatch result; throws (or rejects) to fail it. */
export type CommandHandlerFn<C = any, R = any> = (command: C, ctx: CommandContext) => R | Promise<R>;

/** A command middleware: call `next` to go on, with a changed command or context if you like. */
export type CommandMiddleware = (
  command: { type: string; [key: string]: any },
  ctx: CommandContext,
  next: (command?: { type: string; [key: string]: any }, ctx?: CommandContext) => Promise<any>,
) => any | Promise<any>;

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

/** An event handler with side effects (at-least-once, in position order, in one tab). */
export interface EventHandlerDefinition {
  /** Key of its checkpoint and dead letters. */
  name: string;
  /** One function per event type. Make them idempotent: `event.id` is the key. */
  handlers: Record<string, (event: RecordedEvent, ctx: EventHandlerContext) => void | Promise<void>>;
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
export interface SagaView<Input = any> {
  id: string;
  status: "running" | "compensating" | "parked" | "completed" | "compensated";
  input: Input;
  /** Results of completed steps by step name (a command's result, or the awaited event). A step found committed after a reload has `{ recovered: true }`. */
  results: Record<string, any>;
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
export type SagaStep<Input = any> =
  | {
      name: string;
      command: (saga: SagaView<Input>) => { type: string; [key: string]: any };
      compensate?: (saga: SagaView<Input>) => { type: string; [key: string]: any };
    }
  | {
      name: string;
      awaitEvent: { type: string; match?: (event: RecordedEvent, saga: SagaView<Input>) => boolean };
      /** Durable deadline from the step's start: when it passes, the step fails and compensation runs. */
      timeoutMs?: number;
    };

/** A saga (process manager). Its state is stored as events in `$saga-<name>-<id>`. */
export interface SagaDefinition<Input = any> {
  name: string;
  steps: SagaStep<Input>[];
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
