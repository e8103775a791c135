//! What is defined over the log: aggregates, projections, read models and upcasters.

use std::rc::Rc;

use js_sys::Function;
use wasm_bindgen::prelude::*;

use super::JsEventStore;
use crate::engine::UpcastStep as JsStep;
use crate::wasm::error::to_js;
use crate::wasm::{aggregate, projection, readmodel};

#[wasm_bindgen(js_class = EventStore)]
impl JsEventStore {
    /// Defines an aggregate (a decider) stored in streams `<name>-<id>`. Options: `name`,
    /// `initialState()`, `evolve(state, event)`, `decide(command, state)` (returns new events
    /// `[{ type, data, metadata? }]` or throws to reject), `snapshotEvery` (events between
    /// snapshots), `snapshotVersion` (bump it when the state's shape changes), `maxRetries`.
    /// `evolve` must be deterministic: same events, same state.
    ///
    /// ```ts
    /// const orders = store.aggregate({ name: "order", initialState, evolve, decide, snapshotEvery: 100 });
    /// await orders.execute("42", { type: "AddItem", sku: "p1", qty: 2 });
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Aggregate<State, Command, E>")]
    pub fn aggregate(
        &self,
        #[wasm_bindgen(unchecked_param_type = "AggregateDefinition<State, Command, E>")]
        options: JsValue,
    ) -> std::result::Result<aggregate::Aggregate, JsValue> {
        aggregate::define(self.store.clone(), &self.aggregates, &options).map_err(to_js)
    }

    /// Defines a projection: `{ name, version, init(), evolve(state, event), filter?,
    /// onProgress? }`. It loads its persisted state, catches up, then follows new events;
    /// a changed `version` rebuilds it from the log.
    ///
    /// ```ts
    /// const view = store.projection({ name: "totals", version: 1, init, evolve });
    /// await view.ready();
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Projection<State>")]
    pub fn projection(
        &self,
        #[wasm_bindgen(unchecked_param_type = "ProjectionDefinition<State, E>")] options: JsValue,
    ) -> std::result::Result<projection::Projection, JsValue> {
        projection::define(self.store.clone(), &options).map_err(to_js)
    }

    /// Registers an upcaster: events of `type` at schema version `fromVersion`
    /// (`metadata.schemaVersion`, 1 when absent) are read through `upcast(event)`, which returns
    /// the event one version up (`{ type?, data, metadata? }`). Reads, subscriptions,
    /// aggregates and projections see the upcast shape; stored events are never rewritten.
    ///
    /// ```ts
    /// store.upcast("ItemAdded", 1, (e) => ({ data: { ...e.data, priceMinor: Math.round(e.data.price * 100) } }));
    /// ```
    pub fn upcast(
        &self,
        #[wasm_bindgen(js_name = "type")] event_type: &str,
        #[wasm_bindgen(js_name = "fromVersion")] from_version: u32,
        #[wasm_bindgen(unchecked_param_type = "(event: RecordedEvent) => Upcasted")]
        upcast: Function,
    ) -> std::result::Result<(), JsValue> {
        self.store
            .register_upcaster(event_type, from_version, Rc::new(JsStep(upcast)))
            .map_err(to_js)
    }

    /// Defines a read model: `{ name, version, indexes: [field names], handlers: { EventType:
    /// (event, rm) => void | Promise<void> } }`, where `rm` offers `put(key, value)`,
    /// `update(key, fn)`, `delete(key)` and `get(key)`. Each page of events is handled and its
    /// writes commit together with the checkpoint. A changed `version` rebuilds the model.
    ///
    /// ```ts
    /// const list = store.readModel({ name: "orders", version: 1, indexes: ["status"], handlers });
    /// await list.ready();
    /// await list.query({ index: "status", equals: "pending", limit: 50 });
    /// ```
    #[wasm_bindgen(js_name = readModel, unchecked_return_type = "ReadModel<Value, IndexName>")]
    pub fn read_model(
        &self,
        #[wasm_bindgen(unchecked_param_type = "ReadModelDefinition<Value, IndexName, E>")]
        options: JsValue,
    ) -> std::result::Result<readmodel::ReadModel, JsValue> {
        readmodel::define(self.store.clone(), &options).map_err(to_js)
    }
}
