// The order domain: one decider (the rules), the read model of the order list (served by
// indexes) and the same list as a projection (a whole-state fold, for time travel).
// Money is integer minor units (cents) everywhere; the decider parses what the user typed.

/** "12.50" or "12,5" or "7" -> minor units (1250, 1250, 700); anything else -> null. */
export function parseMinor(text) {
  const m = /^\s*(\d{1,9})(?:[.,](\d{1,2}))?\s*$/.exec(String(text ?? ""));
  if (!m) return null;
  return Number(m[1]) * 100 + Number((m[2] ?? "0").padEnd(2, "0"));
}

/** 1250 -> "12.50". */
export function formatMinor(minor) {
  const sign = minor < 0 ? "-" : "";
  const abs = Math.abs(minor);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, "0")}`;
}

const lineTotal = (lines) => Object.values(lines).reduce((t, l) => t + l.qty * l.unitPrice, 0);

/** The order aggregate: stream "order-<id>". */
export const order = {
  name: "order",
  snapshotEvery: 50,
  initialState: () => ({ status: "none", customerId: null, lines: {}, total: 0 }),
  evolve(state, event) {
    const s = { ...state, lines: { ...state.lines } };
    switch (event.type) {
      case "OrderCreated": s.status = "open"; s.customerId = event.data.customerId; break;
      case "ItemAdded": {
        const line = s.lines[event.data.sku] ?? { qty: 0 };
        s.lines[event.data.sku] = { qty: line.qty + event.data.qty, unitPrice: event.data.unitPrice };
        break;
      }
      case "ItemRemoved": delete s.lines[event.data.sku]; break;
      case "OrderConfirmed": s.status = "confirmed"; break;
      case "OrderCancelled": s.status = "cancelled"; break;
    }
    s.total = lineTotal(s.lines);
    return s;
  },
  decide(command, state) {
    const open = () => {
      if (state.status === "none") throw new Error("the order does not exist");
      if (state.status !== "open") throw new Error(`the order is already ${state.status}`);
    };
    switch (command.type) {
      case "Create": {
        if (state.status !== "none") throw new Error("the order already exists");
        const customerId = String(command.customerId ?? "").trim();
        if (!customerId) throw new Error("a customer is required");
        if (customerId.length > 80) throw new Error("the customer name is too long (80 characters at most)");
        return [{ type: "OrderCreated", data: { customerId } }];
      }
      case "AddItem": {
        open();
        const sku = String(command.sku ?? "").trim();
        if (!sku) throw new Error("a product (SKU) is required");
        const qty = Number(String(command.qty ?? "").trim() || NaN);
        if (!Number.isInteger(qty) || qty <= 0) throw new Error(`quantity must be a positive whole number, not "${command.qty}"`);
        if (qty > 10_000) throw new Error("quantity is too large (10 000 at most)");
        const unitPrice = parseMinor(command.price);
        if (unitPrice === null) throw new Error(`price must be a number such as 12.50, not "${command.price}"`);
        const known = state.lines[sku];
        if (known && known.unitPrice !== unitPrice) {
          throw new Error(`${sku} is already on the order at ${formatMinor(known.unitPrice)}; remove it first to change its price`);
        }
        return [{ type: "ItemAdded", data: { sku, qty, unitPrice } }];
      }
      case "RemoveItem":
        open();
        if (!state.lines[command.sku]) throw new Error(`${command.sku} is not on the order`);
        return [{ type: "ItemRemoved", data: { sku: command.sku } }];
      case "Confirm":
        open();
        if (Object.keys(state.lines).length === 0) throw new Error("an empty order cannot be confirmed");
        return [{ type: "OrderConfirmed", data: { total: state.total } }];
      case "Cancel":
        open();
        return [{ type: "OrderCancelled", data: { reason: String(command.reason ?? "") } }];
      default:
        throw new Error(`unknown command ${command.type}`);
    }
  },
};

/** The list entry of one order, folded from its events (shared by the read model and the projection). */
export function summarize(entry, event) {
  switch (event.type) {
    case "OrderCreated": {
      const customerId = event.data.customerId;
      return summaryKeys({
        id: event.stream, customerId, status: "open", lines: {}, total: 0, items: 0,
        createdAt: event.timestamp, updatedAt: event.timestamp, version: event.version,
      });
    }
    case "ItemAdded": case "ItemRemoved": {
      const lines = { ...entry.lines };
      if (event.type === "ItemAdded") lines[event.data.sku] = { qty: (lines[event.data.sku]?.qty ?? 0) + event.data.qty, unitPrice: event.data.unitPrice };
      else delete lines[event.data.sku];
      const items = Object.values(lines).reduce((n, l) => n + l.qty, 0);
      return { ...entry, lines, items, total: lineTotal(lines), updatedAt: event.timestamp, version: event.version };
    }
    case "OrderConfirmed": return summaryKeys({ ...entry, status: "confirmed", updatedAt: event.timestamp, version: event.version });
    case "OrderCancelled": return summaryKeys({ ...entry, status: "cancelled", updatedAt: event.timestamp, version: event.version });
    default: return entry;
  }
}

/** Index fields: a case-insensitive customer key, and status+customer for the combined filter. */
function summaryKeys(entry) {
  const customerKey = entry.customerId.toLowerCase();
  return { ...entry, customerKey, statusCustomer: `${entry.status}|${customerKey}` };
}

const ORDER_EVENTS = ["OrderCreated", "ItemAdded", "ItemRemoved", "OrderConfirmed", "OrderCancelled"];

/** The order list as a read model: one record per order, with indexes for the filters. */
export const orderList = {
  name: "order-list",
  version: 2,
  indexes: ["status", "customerKey", "statusCustomer", "createdAt"],
  handlers: Object.fromEntries(ORDER_EVENTS.map((type) => [type, (e, rm) =>
    type === "OrderCreated"
      ? rm.put(e.stream, summarize(undefined, e))
      : rm.update(e.stream, (entry) => (entry ? summarize(entry, e) : entry))])),
};

/** The same list as a projection (a plain object by stream), for `stateAt(position)`. */
export const orderListProjection = {
  name: "order-list-history",
  version: 1,
  filter: { streamPrefix: "order-" },
  init: () => ({}),
  evolve(state, e) {
    const entry = e.type === "OrderCreated" ? undefined : state[e.stream];
    if (e.type !== "OrderCreated" && !entry) return state;
    return { ...state, [e.stream]: summarize(entry, e) };
  },
};

/** Runs the list filters over entries in memory (for time travel, where no index exists). */
export function filterList(entries, { status, customer }) {
  const prefix = (customer ?? "").trim().toLowerCase();
  return entries
    .filter((o) => (!status || o.status === status) && (!prefix || o.customerKey.startsWith(prefix)))
    .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1));
}

/** The index query for the list filters: status and/or customer prefix, served by one index. */
export function listQuery({ status, customer }, limit = 200) {
  const prefix = (customer ?? "").trim().toLowerCase();
  const startsWith = (index, p) => ({ index, range: { gte: p, lt: `${p}\uffff` }, limit });
  if (status && prefix) return startsWith("statusCustomer", `${status}|${prefix}`);
  if (status) return { index: "status", equals: status, limit };
  if (prefix) return startsWith("customerKey", prefix);
  return { index: "createdAt", range: { gte: 0 }, reverse: true, limit };
}
