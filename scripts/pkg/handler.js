// createSyncHandler({ store, tokens?, limits? }): the sync server of an eventfold store as a
// Fetch handler, `(request: Request) => Promise<Response>` (Workers, Deno.serve, Bun.serve,
// Node through any Request/Response adapter). The engine answers; see docs/edge.md.

function invalid(message) {
  const e = new Error(`invalid input: ${message}`);
  e.name = "EventfoldError";
  e.code = "INVALID_INPUT";
  return e;
}

/**
 * The sync server (protocol v1, as eventfold-server serves it) over `store`: an
 * `EventStore.sqlite(...)` (durable) or `EventStore.inMemory()` store.
 */
export function createSyncHandler(options) {
  const store = options?.store;
  if (store === null || typeof store !== "object" || typeof store.syncHandler !== "function") {
    throw invalid("createSyncHandler needs { store: EventStore }");
  }
  return store.syncHandler(options);
}
