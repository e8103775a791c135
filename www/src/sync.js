// The app's sync wiring, in one place: attach `store.sync` (eventfold's sync client) to the
// server that served the app (the demo server proxies /v1/* to eventfold-server, so the app
// and the API share one origin), keep it running, and turn its reports into UI state.
// When the package has no sync client, the app runs local-only and says so.

const SCOPE = ["order-"];

/**
 * @param {import("eventfold").EventStore} store
 * @param {{ url?: string, token?: string, onChange: (view: SyncView) => void }} options
 * @typedef {{ available: boolean, online: boolean, pending: number, lastSync: number | null,
 *   lastError: string | null, rejected: Array<{ stream: string, command: any, reason: string, at: number }> }} SyncView
 */
export function connectSync(store, { url = location.origin, token, onChange }) {
  const view = { available: false, online: navigator.onLine, pending: 0, lastSync: null, lastError: null, rejected: [] };
  const emit = () => onChange({ ...view, rejected: [...view.rejected] });

  if (typeof store.sync !== "function") {
    emit();
    return { view, now: async () => {}, stop() {} };
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
    const reason = error?.cause?.message ?? error?.message ?? String(error);
    view.rejected.unshift({ stream, command, reason, at: Date.now() });
    emit();
  });
  apply(sync.status);
  sync.start();

  // Browsers know before we do: nudge the client when the network comes back.
  addEventListener("online", () => sync.now().catch(() => {}));
  return {
    view,
    /** Push pending, pull new; a failure (offline, server down) only shows in the status. */
    now: () => sync.now().catch((e) => apply({ ...sync.status, lastError: e })),
    stop: () => sync.stop(),
  };
}
