export * from "./web/eventfold.js";
import type { EventfoldError } from "./web/eventfold.js";
/** Whether `error` was thrown by eventfold (`name === "EventfoldError"`, with a string `code`). */
export declare function isEventfoldError(error: unknown): error is EventfoldError;
