//! The JavaScript `ReadModel` class: `store.readModel({ name, version, indexes, handlers })`,
//! keyed records with secondary indexes kept up to date from the log. Each page of events is
//! handled in JavaScript and its writes commit atomically with the checkpoint.

mod follow;
mod pending;

use std::cell::RefCell;
use std::rc::Rc;
use std::task::Waker;

use js_sys::{Array, Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;

use crate::core::event::{EventType, Position};
use crate::core::json::Json;
use crate::engine::Store;
use crate::error::{Error, Result};
use crate::store::{Bound, EventFilter, IndexKey, IndexQuery, IndexRange};
use crate::wasm::convert::{get, opt_u64, string_arg};
use crate::wasm::error::{message_of, to_js};
use crate::wasm::listeners::{self, Listeners};
use crate::wasm::promise::to_promise;
use crate::wasm::ready::Ready;

/// A read model's definition, as the follower uses it.
pub(crate) struct Definition {
    pub(crate) name: String,
    pub(crate) version: u32,
    pub(crate) indexes: Vec<String>,
    pub(crate) handlers: Object,
    pub(crate) filter: EventFilter,
}

/// What the follower and the class share.
#[derive(Default)]
pub(crate) struct Shared {
    pub(crate) checkpoint: Position,
    pub(crate) closed: bool,
    pub(crate) waker: Option<Waker>,
    listeners: Listeners,
}

/// Tells the subscribers what get/query now show differently: `{ checkpoint, keys }`, where
/// `keys` (the record keys written) is left out when anything may have changed. Called by the
/// follower between pages, so never while a page is being applied; what a callback throws is
/// reported with `console.error` and otherwise ignored (as for projection subscribers).
pub(crate) fn notify(shared: &RefCell<Shared>, keys: Option<&[String]>) {
    let (checkpoint, subscribers) = {
        let s = shared.borrow();
        if s.listeners.is_empty() {
            return;
        }
        let subscribers = s.listeners.snapshot();
        (s.checkpoint, subscribers)
    };
    let change = Object::new();
    let _ = Reflect::set(
        &change,
        &"checkpoint".into(),
        &JsValue::from_f64(checkpoint.0 as f64),
    );
    if let Some(keys) = keys {
        let keys: Array = keys.iter().map(|k| JsValue::from_str(k)).collect();
        let _ = Reflect::set(&change, &"keys".into(), &keys);
    }
    listeners::call_all(subscribers, &change, "a read model subscriber");
}

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
#[wasm_bindgen]
pub struct ReadModel {
    store: Store,
    routed: Store,
    def: Rc<Definition>,
    shared: Rc<RefCell<Shared>>,
    ready: Ready,
}

pub(crate) fn state_key(name: &str) -> String {
    format!("readmodel:{name}")
}

pub(crate) fn index_key(v: &JsValue, what: &str) -> Result<IndexKey> {
    if let Some(s) = v.as_string() {
        return Ok(IndexKey::Text(s));
    }
    match v.as_f64() {
        Some(n) if n.is_finite() => Ok(IndexKey::Number(n)),
        _ => Err(Error::invalid(format!(
            "{what} must be a string or a finite number"
        ))),
    }
}

/// Builds the read model from its definition and starts it in the background.
pub(crate) fn define(routed: Store, options: &JsValue) -> Result<ReadModel> {
    let name = string_arg(&get(options, "name")?, "read model name")?;
    if name.is_empty() {
        return Err(Error::invalid("a read model needs a non-empty name"));
    }
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
    let def = Definition {
        name,
        version,
        indexes,
        handlers,
        filter: EventFilter {
            stream_prefixes: Vec::new(),
            types: Some(types),
        },
    };
    let rm = ReadModel {
        store: routed.clone(),
        routed,
        def: Rc::new(def),
        shared: Rc::new(RefCell::new(Shared::default())),
        ready: Ready::default(),
    };
    crate::wasm::promise::spawn(follow::run(
        rm.routed.clone(),
        rm.def.clone(),
        rm.shared.clone(),
        rm.ready.clone(),
    ));
    Ok(rm)
}

fn range(options: &JsValue) -> Result<IndexRange> {
    let equals = get(options, "equals")?;
    if !equals.is_undefined() {
        let key = index_key(&equals, "equals")?;
        return Ok(IndexRange {
            lower: Some(Bound {
                key: key.clone(),
                open: false,
            }),
            upper: Some(Bound { key, open: false }),
        });
    }
    let r = get(options, "range")?;
    let bound = |name: &str, open: bool| -> Result<Option<Bound>> {
        let v = get(&r, name)?;
        if v.is_undefined() {
            return Ok(None);
        }
        Ok(Some(Bound {
            key: index_key(&v, &format!("range.{name}"))?,
            open,
        }))
    };
    let lower = match (bound("gte", false)?, bound("gt", true)?) {
        (Some(_), Some(_)) => return Err(Error::invalid("pass gte or gt, not both")),
        (a, b) => a.or(b),
    };
    let upper = match (bound("lte", false)?, bound("lt", true)?) {
        (Some(_), Some(_)) => return Err(Error::invalid("pass lte or lt, not both")),
        (a, b) => a.or(b),
    };
    Ok(IndexRange { lower, upper })
}

fn parse_values(rows: Vec<(String, Json)>) -> Result<JsValue> {
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
    pub fn ready(&self) -> Promise {
        self.ready.promise()
    }

    /// The position of the last event handled.
    #[wasm_bindgen(getter)]
    pub fn checkpoint(&self) -> f64 {
        self.shared.borrow().checkpoint.0 as f64
    }

    /// One record by key (`undefined` if absent).
    #[wasm_bindgen(unchecked_return_type = "Promise<any>")]
    pub fn get(&self, key: &str) -> Promise {
        let (store, routed, def, key) = (
            self.store.clone(),
            self.routed.clone(),
            self.def.clone(),
            key.to_owned(),
        );
        to_promise(async move {
            let run = async {
                let writes = pending::pending_writes(&routed, &store, &def).await?;
                pending::get(&store, &def, &writes, &key).await
            };
            let rec = run.await.map_err(to_js)?;
            match rec {
                None => Ok(JsValue::UNDEFINED),
                Some(j) => js_sys::JSON::parse(j.as_str()),
            }
        })
    }

    /// Records whose `index` field equals a value or lies in a range, served from the index:
    /// `{ index, equals }` or `{ index, range: { gte|gt, lte|lt }, limit?, reverse? }`.
    /// Ordered by the indexed value, then by key. An unknown index is `INVALID_INPUT`.
    #[wasm_bindgen(unchecked_return_type = "Promise<any[]>")]
    pub fn query(
        &self,
        #[wasm_bindgen(unchecked_param_type = "ReadModelQuery")] options: JsValue,
    ) -> Promise {
        let parsed = (|| -> Result<IndexQuery> {
            let index = string_arg(&get(&options, "index")?, "index")?;
            if !self.def.indexes.contains(&index) {
                return Err(Error::invalid(format!(
                    "read model {} has no index {index:?} (its indexes: {:?})",
                    self.def.name, self.def.indexes
                )));
            }
            let limit =
                opt_u64(&options, "limit")?.map(|l| usize::try_from(l).unwrap_or(usize::MAX));
            let reverse = get(&options, "reverse")?.is_truthy();
            Ok(IndexQuery {
                index,
                range: range(&options)?,
                limit,
                reverse,
            })
        })();
        let (store, routed, def) = (self.store.clone(), self.routed.clone(), self.def.clone());
        to_promise(async move {
            let query = parsed.map_err(to_js)?;
            let run = async {
                let writes = pending::pending_writes(&routed, &store, &def).await?;
                pending::query(&store, &def, &writes, &query).await
            };
            let rows = run.await.map_err(to_js)?;
            parse_values(rows).map_err(to_js)
        })
    }

    /// Calls `callback(change)` each time what `get` and `query` answer may have changed,
    /// once the change is visible to them: after each page of events handled (`change.keys`:
    /// the record keys it wrote), after a rebuild from position 0 once the log was reset, and
    /// when a synced store's pending events change (`keys` left out: anything may have
    /// changed). `change.checkpoint` is the read model's checkpoint. Callbacks run between
    /// pages, never while one is being applied; what they throw is reported with
    /// `console.error`, then ignored, and a promise they return is not awaited. Returns a
    /// function that unsubscribes (calling it again is harmless).
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
        listeners::subscribe(&self.shared, |s| &mut s.listeners, callback)
    }

    /// Stops following the log (records stay).
    pub fn close(&self) {
        let mut s = self.shared.borrow_mut();
        s.closed = true;
        if let Some(w) = s.waker.take() {
            w.wake();
        }
    }
}
