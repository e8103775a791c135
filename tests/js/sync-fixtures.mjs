// What the sync tests share: a cart aggregate, a device (an in-memory store syncing with the
// test server), and a wait for something that happens asynchronously.
import assert from "node:assert/strict";
import { EventStore } from "eventfold";

/** A cart holding at most 3 items: decide rejects the 4th. */
export const cart = {
  name: "cart",
  initialState: () => ({ items: [] }),
  evolve: (s, e) => (e.type === "ItemAdded" ? { items: [...s.items, e.data.sku] } : s),
  decide: (c, s) => {
    if (s.items.length >= 3) throw new Error(`cart is full (${s.items.length} items)`);
    return [{ type: "ItemAdded", data: { sku: c.sku } }];
  },
};

/**
 * A device: a fresh in-memory store with the cart aggregate, syncing `scope` with `server`;
 * `rejected` collects what `onRejected` reports.
 */
export async function device(server, scope = ["cart-"]) {
  const store = await EventStore.inMemory();
  const carts = store.aggregate(cart);
  const sync = store.sync({ url: server.url, scope });
  const rejected = [];
  sync.onRejected((r) => rejected.push(r));
  return { store, carts, sync, rejected };
}

/** Resolves once `check()` (may be async) is true; fails after ~5 s naming `what`. */
export async function eventually(check, what) {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.fail(`timed out waiting for ${what}`);
}
