// Boot: open the durable store (IndexedDB), define the order aggregate, the list read model and
// its history projection, attach sync, then render the two views and keep them live.
import { EventStore } from "eventfold";
import { order, orderList, orderListProjection } from "./domain.js";
import { connectSync } from "./sync.js";
import { $, mount, h } from "./dom.js";
import { ordersView } from "./orders-view.js";
import { inspectorView } from "./inspector-view.js";
import { syncBar } from "./sync-bar.js";

async function main() {
  const store = await EventStore.open({ name: "eventfold-demo" });
  store.requestPersistence().catch(() => {});
  // Sync comes first: the aggregate, read model and projection defined after it see pending
  // (not yet pushed) events on top of the confirmed ones, and the aggregate's commands are
  // what a rebase re-runs.
  const bar = syncBar($("#sync"), { onSyncNow: () => sync.now() });
  let views = null;
  const sync = connectSync(store, {
    onChange: (s) => {
      bar.render(s);
      views?.orders.syncChanged(s);
    },
  });
  bar.render(sync.view);
  const app = {
    store,
    sync,
    orders: store.aggregate(order),                 // decide/evolve: the rules
    list: store.readModel(orderList),               // the order list, served by indexes
    history: store.projection(orderListProjection), // the same list, foldable to any position
  };
  await Promise.all([app.list.ready(), app.history.ready()]);

  views = {
    orders: ordersView($("#view-orders"), app),
    inspector: inspectorView($("#view-inspector"), app),
  };
  // A view re-reads once what it shows has taken in a change: the order list when its read
  // model has applied new events (this tab, another tab, or pulled by sync) or the pending
  // events changed (a command here, pushed, rejected); the inspector when its projection has.
  // Both are told after the change is visible to their queries, so a re-read never misses it.
  app.list.subscribe(() => { if (route().tab === "orders") views.orders.refresh(); });
  app.history.subscribe(() => { if (route().tab === "inspector") views.inspector.refresh(); });

  const show = () => {
    const { tab, rest } = route();
    for (const [name, view] of Object.entries(views)) view.el.hidden = name !== tab;
    for (const a of document.querySelectorAll("[data-tab]")) a.classList.toggle("active", a.dataset.tab === tab);
    views[tab].show(rest);
  };
  addEventListener("hashchange", show);
  $("#boot").remove();
  show();
  window.eventfoldDemo = app; // for the console (and the end-to-end tests)
  document.body.dataset.ready = "true";
}

/** "#/orders/order-42" -> { tab: "orders", rest: "order-42" }. */
function route() {
  const [, tab = "orders", ...rest] = location.hash.split("/");
  return { tab: tab === "inspector" ? "inspector" : "orders", rest: rest.join("/") };
}

if ("serviceWorker" in navigator && import.meta.env.PROD) {
  navigator.serviceWorker.register("/sw.js").catch((e) => console.warn("service worker:", e));
}

main().catch((e) => {
  console.error(e);
  mount($("#boot"), h("strong", {}, "The event store could not be opened: "), e.message ?? String(e));
  $("#boot").classList.add("error");
});
