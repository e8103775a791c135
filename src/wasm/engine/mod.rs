//! The JavaScript `EventStore` class: the struct here, its methods by concept in the files
//! below (opening, upkeep, the log, models, the optional layers).

#[cfg(any(feature = "sync", feature = "bus"))]
mod layers;
mod log;
mod models;
mod open;
mod upkeep;

use wasm_bindgen::prelude::*;

use crate::engine::Store;
use crate::wasm::aggregate::Aggregates;

// Type parameters of generic methods, which wasm-bindgen cannot declare: scripts/build-pkg.mjs
// adds them to the declarations (docs/testing.md, "Generic declarations").
#[wasm_bindgen(typescript_custom_section)]
const TS_GENERICS: &'static str = r#"
// @eventfold-generics EventStore.readStream<E extends EventShape = AnyEvent>
// @eventfold-generics EventStore.readAll<E extends EventShape = AnyEvent>
// @eventfold-generics EventStore.aggregate<State, Command, E extends EventShape = AnyEvent>
// @eventfold-generics EventStore.projection<State, E extends EventShape = AnyEvent>
// @eventfold-generics EventStore.readModel<Value, IndexName extends string = string, E extends EventShape = AnyEvent>
"#;

#[cfg(feature = "bus")]
#[wasm_bindgen(typescript_custom_section)]
const TS_BUS_GENERICS: &'static str = r#"
// @eventfold-generics EventStore.bus<C extends MessageMap<C> = AnyMessages, Q extends MessageMap<Q> = AnyMessages>
"#;

/// An event store: an append-only log of events in streams, with optimistic concurrency,
/// idempotent appends, reads by stream or by global position, and live subscriptions.
///
/// ```ts
/// import { EventStore } from "eventfold";
/// const store = await EventStore.inMemory();
/// await store.append("order-1", [{ type: "OrderCreated", data: { customerId: "c1" } }],
///   { expectedVersion: "no_stream" });
/// const events = await store.readStream("order-1");
/// ```
#[wasm_bindgen(js_name = EventStore)]
pub struct JsEventStore {
    /// The one view of the store every class of this store works on.
    pub(crate) store: Store,
    aggregates: Aggregates,
}

impl JsEventStore {
    pub(crate) fn new(store: Store) -> Self {
        JsEventStore {
            store,
            aggregates: Aggregates::default(),
        }
    }
}
