//! The JavaScript `ReadModel` class: `store.readModel({ name, version, indexes, handlers })`,
//! keyed records with secondary indexes kept up to date from the log. It holds one engine live
//! view ([`ReadModelView`]) and forwards; the handlers run in JavaScript one page at a time
//! (`handlers.rs`).

mod handlers;

use std::rc::Rc;

use js_sys::{Array, Function, Object, Promise};
use wasm_bindgen::prelude::*;

use crate::core::event::EventType;
use crate::core::json::Json;
use crate::cqrs::read_model::{ReadModelDef, ReadModelView};
use crate::engine::Store;
use crate::error::{Error, Result};
use crate::store::IndexQuery;
use crate::wasm::abort::{Abort, AbortOptionsArg};
use crate::wasm::batch::{JsBatch, JsPages};
use crate::wasm::convert::{self, get, opt_u64, string_arg};
use crate::wasm::error::{message_of, to_js};
use crate::wasm::live::{self, on_progress};
use crate::wasm::live_query;
use crate::wasm::promise::{spawn, to_promise};

use handlers::JsHandlers;

type View = ReadModelView<JsHandlers, JsPages, JsBatch>;

/// A read model: records you `put` from event handlers, with secondary indexes, queried by
/// key or by index range without loading the whole model.
///
/// ```ts
/// const orders = store.readModel({
///   name: "orders", version: 1, indexes: ["customerId", "status"],
///   handlers: {
///     OrderCreated: (e, rm) => rm.put(e.stream, { id: e.stream, customerId: e.data.customerId, status: "open" }),
///     OrderConfirmed: (e, rm) => rm.update(e.stream, (o) => ({ ...o, status: "confirmed" })),
///   },
/// });
/// await orders.ready();
/// const open = await orders.query({ index: "status", equals: "open", limit: 50 });
/// const unsubscribe = orders.subscribe(({ checkpoint, keys }) => refresh(keys));
/// ```
// The class's type parameters, which wasm-bindgen cannot declare: scripts/build-pkg.mjs adds
// them. `query` accepts only the index names the definition declared.
#[wasm_bindgen(typescript_custom_section)]
const TS_GENERICS: &'static str = r#"
// @eventfold-generics ReadModel<Value = unknown, IndexName extends string = string>
"#;

#[wasm_bindgen]
pub struct ReadModel {
    view: Rc<View>,
}

/// Builds the read model from its definition and starts it in the background.
pub(crate) fn define(store: Store, options: &JsValue) -> Result<ReadModel> {
    let name = string_arg(&get(options, "name")?, "read model name")?;
    let version = u32::try_from(opt_u64(options, "version")?.unwrap_or(1))
        .map_err(|_| Error::invalid("version is too large"))?;
    let indexes_js = get(options, "indexes")?;
    let indexes: Vec<String> = if indexes_js.is_undefined() {
        Vec::new()
    } else if Array::is_array(&indexes_js) {
        Array::from(&indexes_js)
            .iter()
            .map(|i| string_arg(&i, "index name"))
            .collect::<Result<_>>()?
    } else {
        return Err(Error::invalid("indexes must be an array of field names"));
    };
    let handlers: Object = get(options, "handlers")?.dyn_into().map_err(|_| {
        Error::invalid("a read model needs a handlers object ({ EventType: (event, rm) => ... })")
    })?;
    let mut types = Vec::new();
    for entry in Object::entries(&handlers).iter() {
        let pair = Array::from(&entry);
        let t = string_arg(&pair.get(0), "handler name")?;
        if !pair.get(1).is_function() {
            return Err(Error::invalid(format!("handler {t} must be a function")));
        }
        types.push(EventType::new(t)?);
    }
    let def = ReadModelDef::new(name, version, indexes, types)?;
    let progress = on_progress(options)?;
    let (view, run) = ReadModelView::start(store, def, JsHandlers { handlers }, JsPages, progress);
    spawn(run);
    Ok(ReadModel {
        view: Rc::new(view),
    })
}

/// `readModel.query(...)`'s options: `{ index, equals?, range?: { gt?, gte?, lt?, lte? },
/// limit?, reverse? }`.
fn parse_values(rows: &[(String, Json)]) -> Result<JsValue> {
    let mut text = String::from("[");
    for (i, (_, v)) in rows.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        text.push_str(v.as_str());
    }
    text.push(']');
    js_sys::JSON::parse(&text).map_err(|e| Error::invalid(message_of(&e)))
}

#[wasm_bindgen]
impl ReadModel {
    /// Resolves once the read model has caught up with the log (rejects with `EVOLVE_FAILED`
    /// when a handler threw: its records and checkpoint stay at the last good event).
    ///
    /// `{ signal }`: an `AbortSignal` that ends the wait (the promise rejects with
    /// `signal.reason`; the read model goes on catching up).
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn ready(&self, options: Option<AbortOptionsArg>) -> Promise {
        match Abort::from_options(options) {
            Ok(abort) => abort.settled(self.view.ready()),
            Err(e) => Promise::reject(&to_js(e)),
        }
    }

    /// The position of the last event handled.
    #[wasm_bindgen(getter)]
    pub fn checkpoint(&self) -> f64 {
        self.view.checkpoint().0 as f64
    }

    /// The error that stopped the read model, if any (a rebuild clears it).
    #[wasm_bindgen(getter, unchecked_return_type = "EventfoldError | undefined")]
    pub fn error(&self) -> JsValue {
        self.view.error().map_or(JsValue::UNDEFINED, to_js)
    }

    /// One record by key (`undefined` if absent).
    #[wasm_bindgen(unchecked_return_type = "Promise<Value | undefined>")]
    pub fn get(&self, key: &str) -> Promise {
        let record = self.view.get(key);
        to_promise(async move {
            match record.await.map_err(to_js)? {
                None => Ok(JsValue::UNDEFINED),
                Some(j) => js_sys::JSON::parse(j.as_str()),
            }
        })
    }

    /// Records whose `index` field equals a value or lies in a range, served from the index:
    /// `{ index, equals }` or `{ index, range: { gte|gt, lte|lt }, limit?, reverse? }`.
    /// Ordered by the indexed value, then by key. An unknown index is `INVALID_INPUT`.
    #[wasm_bindgen(unchecked_return_type = "Promise<Value[]>")]
    pub fn query(
        &self,
        #[wasm_bindgen(unchecked_param_type = "ReadModelQuery<IndexName>")] options: JsValue,
    ) -> Promise {
        let rows = convert::options::<IndexQuery>(&options).map(|q| self.view.query(q));
        to_promise(async move {
            let rows = rows.map_err(to_js)?.await.map_err(to_js)?;
            parse_values(&rows).map_err(to_js)
        })
    }

    /// Calls `callback(change)` each time what `get` and `query` answer may have changed,
    /// once the change is visible to them: after each page of events handled (`change.keys`:
    /// the record keys it wrote), after a rebuild from position 0 (on `rebuild()`, or once the
    /// log was reset), and when a synced store's pending events change (`keys` left out:
    /// anything may have changed). `change.checkpoint` is the read model's checkpoint.
    /// Callbacks run between pages, never while one is being applied; what they throw is
    /// reported with `console.error`, then ignored, and a promise they return is not awaited.
    /// Returns a function that unsubscribes (calling it again is harmless).
    ///
    /// ```ts
    /// const unsubscribe = orders.subscribe(async ({ keys }) => {
    ///   render(await orders.query({ index: "status", equals: "open", limit: 50 }));
    /// });
    /// ```
    #[wasm_bindgen(unchecked_return_type = "() => void")]
    pub fn subscribe(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(change: ReadModelChange) => void")]
        callback: Function,
    ) -> JsValue {
        let id = self.view.subscribe(move |change| {
            live::call(
                &callback,
                &crate::wasm::convert::plain(change),
                "a read model subscriber",
            )
        });
        live::unsubscriber(&self.view, id, View::unsubscribe)
    }

    /// The records a query selects as a live query for a UI framework: `getSnapshot()` is
    /// `undefined` until the model has caught up, then the records, the same array until
    /// they change (see `LiveQuery`). An unknown index is `INVALID_INPUT`, thrown here.
    ///
    /// ```ts
    /// const open = orders.liveQuery({ index: "status", equals: "open", limit: 50 });
    /// const unsubscribe = open.subscribe((rows) => render(rows ?? []));
    /// ```
    #[wasm_bindgen(js_name = liveQuery, unchecked_return_type = "LiveQuery<Value[]>")]
    pub fn live_query(
        &self,
        #[wasm_bindgen(unchecked_param_type = "ReadModelQuery<IndexName>")] options: JsValue,
    ) -> std::result::Result<JsValue, JsValue> {
        let query = convert::options::<IndexQuery>(&options).map_err(to_js)?;
        let convert = Box::new(|rows: &Vec<(String, Json)>| parse_values(rows));
        let live = self.view.live_query(query, convert, live_query::spawner());
        Ok(live_query::to_js(live.map_err(to_js)?))
    }

    /// One record as a live query for a UI framework: `getSnapshot()` is `undefined` until
    /// the model has caught up, then the record (`null` when there is none), the same object
    /// until it changes. Only changes that write `key` (or may write any key: a rebuild,
    /// pending events) evaluate it again.
    ///
    /// ```ts
    /// const order = orders.liveGet("order-42");
    /// const unsubscribe = order.subscribe((o) => render(o));
    /// ```
    #[wasm_bindgen(js_name = liveGet, unchecked_return_type = "LiveQuery<Value | null>")]
    pub fn live_get(&self, key: &str) -> JsValue {
        let convert = Box::new(|record: &Option<Json>| match record {
            None => Ok(JsValue::NULL),
            Some(j) => js_sys::JSON::parse(j.as_str()).map_err(|e| Error::invalid(message_of(&e))),
        });
        live_query::to_js(self.view.live_get(key, convert, live_query::spawner()))
    }

    /// Clears the records and the checkpoint and handles the whole log again (this also
    /// clears an error that stopped the model). Resolves when caught up; subscribers hear of
    /// the restart (`keys` left out), then of each page.
    ///
    /// ```ts
    /// await orders.rebuild();
    /// ```
    ///
    /// `{ signal }`: an `AbortSignal`. Aborted before the call, nothing is rebuilt and the
    /// promise rejects with `signal.reason`; aborted later, the promise rejects at once and the
    /// rebuild, which has started, runs to its end (stopping it half-way would show a partial
    /// fold).
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn rebuild(&self, options: Option<AbortOptionsArg>) -> Promise {
        match Abort::from_options(options) {
            Ok(abort) if abort.aborted() => Promise::reject(&abort.reason()),
            Ok(abort) => abort.settled(self.view.rebuild()),
            Err(e) => Promise::reject(&to_js(e)),
        }
    }

    /// Stops following the log (records stay).
    pub fn close(&self) {
        self.view.close()
    }
}
