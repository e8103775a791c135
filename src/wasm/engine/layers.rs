//! The optional layers of the class: `store.sync()` and `store.syncHandler()` (cargo feature
//! `sync`), `store.bus()` (cargo feature `bus`).

use wasm_bindgen::prelude::*;

use super::JsEventStore;
use crate::wasm::error::to_js;
#[cfg(feature = "bus")]
use crate::wasm::types::opt;
#[cfg(feature = "sync")]
use js_sys::Function;

/// `store.sync()` and `store.syncHandler()`: the cargo feature `sync` (not in the
/// `eventfold/core` build).
#[cfg(feature = "sync")]
#[wasm_bindgen(js_class = EventStore)]
impl JsEventStore {
    /// The sync server of this store as a Fetch handler, `(request: Request) =>
    /// Promise<Response>`: sync protocol v1 exactly as `eventfold-server` serves it (pull,
    /// push, stream reads, health, the live stream; bearer tokens with prefixes; body limits;
    /// gzip where `CompressionStream` exists). Options: `tokens?: { [token]: { read?: string[],
    /// write?: string[] } }` (none: everything open), `limits?: { maxBodyBytes?, defaultPull?,
    /// maxPull?, maxPushEvents?, maxMissing? }`. Usually reached through
    /// `createSyncHandler({ store, tokens?, limits? })`. Throws `INVALID_INPUT` for bad
    /// options and `UNSUPPORTED` on an IndexedDB store.
    ///
    /// ```ts
    /// const handle = store.syncHandler({ tokens: { s3cr3t: { read: [""], write: ["order-"] } } });
    /// const response = await handle(new Request("http://x/v1/health"));
    /// ```
    #[wasm_bindgen(js_name = syncHandler, unchecked_return_type = "(request: Request) => Promise<Response>")]
    pub fn sync_handler(
        &self,
        #[wasm_bindgen(unchecked_param_type = "SyncHandlerOptions")] options: JsValue,
    ) -> std::result::Result<Function, JsValue> {
        crate::wasm::serve::handler(self.store.clone(), &options).map_err(to_js)
    }

    /// Syncs this store with an `eventfold-server` (docs/sync-protocol.md): `{ url, token?,
    /// scope?: string[] (stream prefixes; all streams by default), conflicts?: "rebase" |
    /// "append" | "manual" | { [aggregate]: strategy } (default "rebase"), pollIntervalMs?,
    /// pullLimit? (events per pull, default 5000) }`.
    /// From now on appends to streams in the scope are kept **pending** (they work offline;
    /// `readStream`, aggregates, projections and read models show them on top of the confirmed
    /// events) until a sync confirms them in the server's order. Call it once per store, in
    /// every tab, before defining projections and read models; `start()` syncs in one tab at
    /// a time. Rejects with `INVALID_INPUT` for bad options or a second call.
    ///
    /// ```ts
    /// const sync = db.sync({ url: "http://127.0.0.1:8787", token, scope: ["order-"], conflicts: "rebase" });
    /// sync.onRejected(({ stream, command, error }) => toast(`${command.type}: ${error.message}`));
    /// sync.start();
    /// await sync.now(); // push pending, pull new; NETWORK when offline (nothing lost)
    /// ```
    pub fn sync(
        &self,
        #[wasm_bindgen(unchecked_param_type = "SyncOptions")] options: JsValue,
    ) -> std::result::Result<crate::wasm::sync::SyncHandle, JsValue> {
        crate::wasm::sync::start(&self.store, self.aggregates.clone(), &options).map_err(to_js)
    }
}

/// `store.bus()`: the cargo feature `bus` (only in the full `eventfold` build).
#[cfg(feature = "bus")]
#[wasm_bindgen(js_class = EventStore)]
impl JsEventStore {
    /// A bus over this store: command and query handlers, middleware, event handlers with side
    /// effects and sagas. Options: `{ onError? }`, called with the failures of background
    /// workers. See `docs/buses-and-sagas.md`.
    ///
    /// ```ts
    /// const bus = store.bus({ onError: console.error });
    /// bus.registerAggregate(order, { commands: ["Create"], id: (c) => c.orderId });
    /// await bus.dispatch({ type: "Create", orderId: "42", customerId: "c1" });
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Bus<C, Q>")]
    pub fn bus(
        &self,
        options: Option<crate::wasm::bus::BusOptionsArg>,
    ) -> std::result::Result<crate::wasm::bus::Bus, JsValue> {
        let options = opt(options);
        crate::wasm::bus::define(self.store.clone(), &options).map_err(to_js)
    }
}
