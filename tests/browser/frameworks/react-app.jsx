// The React test app: the open orders through useSyncExternalStore, as docs/live-queries.md shows.
import { useSyncExternalStore } from "react";
import { createRoot } from "react-dom/client";
import { openOrders } from "./orders.js";

function OpenOrders({ query }) {
  const rows = useSyncExternalStore(query.subscribe, query.getSnapshot);
  window.app.renders += 1;
  if (rows === undefined) return <p id="loading">loading</p>;
  return <ul id="orders">{rows.map((o) => <li key={o.id}>{o.title}</li>)}</ul>;
}

const app = await openOrders();
createRoot(document.getElementById("root")).render(<OpenOrders query={app.open} />);
