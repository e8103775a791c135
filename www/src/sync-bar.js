// The sync status in the top bar: online/offline, pending count, last sync, a "Sync now" button.
import { h, mount, ago } from "./dom.js";

export function syncBar(el, { onSyncNow }) {
  let last = null;
  // "2 min ago" must age even when nothing happens.
  setInterval(() => last && render(last), 15_000);

  function render(s) {
    last = s;
    const state = !s.available ? "unavailable" : s.online ? "online" : s.lastError ? "offline" : "connecting";
    el.dataset.state = state;
    el.dataset.pending = String(s.pending);
    const label = {
      unavailable: "Local only",
      online: s.lastError ? "Online · sync error" : "Online",
      offline: "Offline · retrying",
      connecting: "Connecting…",
    }[state];
    const title = !s.available
      ? "This build of eventfold has no sync client: everything is saved on this device only."
      : s.lastError ?? "";
    mount(el,
      h("span", { class: "dot", "aria-hidden": "true" }),
      h("span", { class: "label", title }, label),
      s.available && h("span", { class: `pending${s.pending ? " some" : ""}`, "data-testid": "pending" },
        s.pending ? `${s.pending} pending` : "all synced"),
      s.available && h("span", { class: "last" }, `synced ${ago(s.lastSync)}`),
      s.available && h("button", {
        class: "ghost small", type: "button", "data-testid": "sync-now",
        onclick: async (ev) => { const b = ev.currentTarget; b.disabled = true; await onSyncNow(); b.disabled = false; },
      }, "Sync now"),
    );
  }
  return { render };
}
