export * from "./web/eventfold.js";
import type { EventfoldError } from "./web/eventfold.js";
/** Whether `error` was thrown by eventfold (`name === "EventfoldError"`, with a string `code`). */
export declare function isEventfoldError(error: unknown): error is EventfoldError;
import type { EventStore, SyncHandlerOptions } from "./web/eventfold.js";
/**
 * The sync server of `options.store` as a Fetch handler (Workers, Deno.serve, Bun.serve, Node
 * through a Request/Response adapter): protocol v1 as eventfold-server serves it. See docs/edge.md.
 */
export declare function createSyncHandler(options: SyncHandlerOptions & { store: EventStore }): (request: Request) => Promise<Response>;
