// The order aggregate in JavaScript (the same rules as examples/order.rs): totals in integer
// minor units, confirm/cancel. Shared by the tests as a user would write it.
export const order = {
  name: "order",
  initialState: () => ({ status: "none", customerId: null, lines: {}, total: 0 }),
  evolve(state, event) {
    const s = { ...state, lines: { ...state.lines } };
    switch (event.type) {
      case "OrderCreated": s.status = "open"; s.customerId = event.data.customerId; break;
      case "ItemAdded": {
        const line = s.lines[event.data.sku] ?? { qty: 0, unitPrice: event.data.unitPrice };
        s.lines[event.data.sku] = { qty: line.qty + event.data.qty, unitPrice: event.data.unitPrice };
        break;
      }
      case "ItemRemoved": delete s.lines[event.data.sku]; break;
      case "OrderConfirmed": s.status = "confirmed"; break;
      case "OrderCancelled": s.status = "cancelled"; break;
    }
    s.total = Object.values(s.lines).reduce((t, l) => t + l.qty * l.unitPrice, 0);
    return s;
  },
  decide(command, state) {
    const open = () => {
      if (state.status === "none") throw new Error("the order does not exist");
      if (state.status !== "open") throw new Error(`the order is ${state.status}, not open`);
    };
    switch (command.type) {
      case "Create":
        if (state.status !== "none") throw new Error("the order already exists");
        if (!command.customerId?.trim()) throw new Error("a customer is required");
        return [{ type: "OrderCreated", data: { customerId: command.customerId } }];
      case "AddItem":
        open();
        if (!Number.isInteger(command.qty) || command.qty <= 0) throw new Error("quantity must be a positive integer");
        if (!Number.isInteger(command.unitPrice) || command.unitPrice < 0) throw new Error("price must be a non-negative integer (minor units)");
        return [{ type: "ItemAdded", data: { sku: command.sku, qty: command.qty, unitPrice: command.unitPrice } }];
      case "RemoveItem":
        open();
        if (!state.lines[command.sku]) throw new Error(`no line for ${command.sku}`);
        return [{ type: "ItemRemoved", data: { sku: command.sku } }];
      case "Confirm":
        open();
        if (Object.keys(state.lines).length === 0) throw new Error("an empty order cannot be confirmed");
        return [{ type: "OrderConfirmed" }];
      case "Cancel":
        open();
        return [{ type: "OrderCancelled", data: { reason: command.reason ?? "" } }];
      default:
        throw new Error(`unknown command ${command.type}`);
    }
  },
};
