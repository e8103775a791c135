// What the React and Svelte test apps share: the store named by `?store=`, synced to this
// origin's eventfold-server (harness.mjs passes /v1/… through) for the streams of `?scope=`, a
// read model of orders, and the live query of the open ones. Kept as `window.app` for the test.
import { EventStore } from "eventfold";

export async function openOrders() {
  const params = new URLSearchParams(location.search);
  const store = await EventStore.open({ name: params.get("store") });
  const orders = store.readModel({
    name: "orders", version: 1, indexes: ["status"],
    handlers: {
      OrderPlaced: (e, rm) => rm.put(e.stream, { id: e.stream, title: e.data.title, status: "open" }),
      OrderClosed: (e, rm) => rm.update(e.stream, (o) => ({ ...o, status: "closed" })),
      // Handled, writes nothing: the open orders stay as they are.
      OrderNoted: () => {},
    },
  });
  const sync = store.sync({ url: location.origin, scope: [params.get("scope")], pollIntervalMs: 600_000 });
  const open = orders.liveQuery({ index: "status", equals: "open" });
  window.app = { store, orders, sync, open, renders: 0 };
  return window.app;
}
