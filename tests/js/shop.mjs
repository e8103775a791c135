// The order flow of the docs as tests use it: inventory and payment aggregates beside the order
// aggregate (order.mjs), and the checkout saga: create order -> add item -> reserve inventory
// -> charge payment -> confirm, with compensations.
import { order } from "./order.mjs";

export const inventory = {
  name: "inventory",
  initialState: () => ({ stock: 10, reserved: {} }),
  evolve(s, e) {
    const reserved = { ...s.reserved };
    if (e.type === "StockReserved") reserved[e.data.orderId] = e.data.qty;
    if (e.type === "StockReleased") delete reserved[e.data.orderId];
    const held = Object.values(reserved).reduce((a, b) => a + b, 0);
    return { stock: 10 - held, reserved };
  },
  decide(c, s) {
    if (c.type === "Reserve") {
      if (c.qty > s.stock) throw new Error(`only ${s.stock} left`);
      return [{ type: "StockReserved", data: { orderId: c.orderId, qty: c.qty } }];
    }
    if (!s.reserved[c.orderId]) throw new Error(`nothing reserved for ${c.orderId}`);
    return [{ type: "StockReleased", data: { orderId: c.orderId } }];
  },
};

export const payment = {
  name: "payment",
  initialState: () => ({ charged: {} }),
  evolve(s, e) {
    const charged = { ...s.charged };
    if (e.type === "PaymentCharged") charged[e.data.orderId] = e.data.amount;
    if (e.type === "PaymentRefunded") delete charged[e.data.orderId];
    return { charged };
  },
  decide(c, s) {
    if (c.type === "Charge") {
      if (c.amount > 5000) throw new Error("card declined");
      if (s.charged[c.orderId]) throw new Error("already charged");
      return [{ type: "PaymentCharged", data: { orderId: c.orderId, amount: c.amount } }];
    }
    if (!s.charged[c.orderId]) throw new Error("nothing to refund");
    return [{ type: "PaymentRefunded", data: { orderId: c.orderId } }];
  },
};

/** Registers the three aggregates on `bus`. */
export function registerShop(bus) {
  bus.registerAggregate(order, { commands: ["Create", "AddItem", "Confirm", "Cancel"], id: (c) => c.orderId });
  bus.registerAggregate(inventory, { commands: ["Reserve", "Release"], id: (c) => c.sku });
  bus.registerAggregate(payment, { commands: ["Charge", "Refund"], id: (c) => c.account });
}

/** The checkout saga; `input` is { orderId, customerId, sku, qty, unitPrice, account }. */
export const checkout = {
  name: "checkout",
  steps: [
    {
      name: "create",
      command: ({ input: i }) => ({ type: "Create", orderId: i.orderId, customerId: i.customerId }),
      compensate: ({ input: i, failure }) => ({ type: "Cancel", orderId: i.orderId, reason: failure?.message }),
    },
    { name: "add", command: ({ input: i }) => ({ type: "AddItem", orderId: i.orderId, sku: i.sku, qty: i.qty, unitPrice: i.unitPrice }) },
    {
      name: "reserve",
      command: ({ input: i }) => ({ type: "Reserve", sku: i.sku, orderId: i.orderId, qty: i.qty }),
      compensate: ({ input: i }) => ({ type: "Release", sku: i.sku, orderId: i.orderId }),
    },
    {
      name: "charge",
      command: ({ input: i }) => ({ type: "Charge", account: i.account, orderId: i.orderId, amount: i.qty * i.unitPrice }),
      compensate: ({ input: i }) => ({ type: "Refund", account: i.account, orderId: i.orderId }),
    },
    { name: "confirm", command: ({ input: i }) => ({ type: "Confirm", orderId: i.orderId }) },
  ],
  compensationAttempts: 3,
  backoffMs: 5,
};

export const input = (orderId, extra = {}) => ({ orderId, customerId: "c1", sku: "p1", qty: 2, unitPrice: 1000, account: "acct-1", ...extra });
