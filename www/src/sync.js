// The app's sync wiring, in one place: attach `store.sync` (eventfold's sync client) to the
// server that served the app (the demo server proxies /v1/* to eventfold-server, so the app
// and the API share one origin), keep it running, and turn its reports into UI state.
// When the package has no sync client, the app runs local-only and says so.

const SCOPE = ["order-"];

/**
 * @param {import("eventfold").EventStore} store
 * @param {{ url?: string, token?: string, onChange: (view: SyncView) => void }} options
 * The client retries by itself (backoff, live notifications from the server, the browser's
 * "online" event), in one tab at a time.
 * @typedef {{ available: boolean, online: boolean, pending: number, lastSync: number | null,
 *   lastError: string | null, rejected: Array<{ stream: string, command: any, reason: string, at: number }> }} SyncView
 */
export function connectSync(store, { url = location.origin, token, onChange }) {
  const view = { available: false, online: false, pending: 0, lastSync: null, lastError: null, rejected: [] };
  const emit = () => onChange({ ...view, rejected: [...view.rejected] });

  if (typeof store.sync !== "function") {
    emit();
    return { view, now: async () => {}, pending: async () => [], stop() {} };
  }

  const sync = store.sync({ url, token, scope: SCOPE, conflicts: "rebase" });
  view.available = true;
  const apply = (status) => {
    view.online = Boolean(status.online);
    view.pending = status.pending ?? 0;
    view.lastSync = status.lastSync ?? view.lastSync;
    view.lastError = status.lastError ? String(status.lastError.message ?? status.lastError) : null;
    emit();
  };
  sync.onStatus(apply);
  sync.onRejected(({ stream, command, error }) => {
    // The decider's own words: its error is the cause (or the message, after a prefix).
    const reason = error?.cause?.message ?? String(error?.message ?? error).replace(/^command rejected: /, "");
    view.rejected.unshift({ stream, command, reason, at: Date.now() });
    emit();
  });
  apply(sync.status);
  sync.start();

  return {
    view,
    /** Push pending, pull new; a failure (offline, server down) only shows in the status. */
    now: () => sync.now().catch((e) => apply({ ...sync.status, lastError: e })),
    /** The library's Sync object (status, resolve, ...). */
    client: sync,
    /** The events appended here and not yet confirmed by the server. */
    pending: () => sync.pending(),
    stop: () => sync.stop(),
  };
}
