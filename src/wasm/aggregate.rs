//! The JavaScript `Aggregate` class: `store.aggregate({ name, initialState, evolve, decide })`.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Object, Promise, Reflect};
use wasm_bindgen::prelude::*;

use crate::wasm::abort::{Abort, AbortOptionsArg};

use crate::core::event::{Timestamp, Version};
use crate::cqrs::aggregate::AggregateOptions;
use crate::cqrs::{self, AggregateConfig, AsOf};
use crate::engine::Store;
use crate::error::{Error, Result};
use crate::store::{Direction, ReadStreamOptions};
use crate::wasm::convert::{self, get, opt_u64, string_arg};
use crate::wasm::error::to_js;
use crate::wasm::model::{fold_parsed, function, JsModel};
use crate::wasm::types::{opt, AsOfArg};

/// An aggregate defined by JavaScript functions, stored in streams `<name>-<id>`.
///
/// ```ts
/// const orders = store.aggregate({
///   name: "order",
///   initialState: () => ({ status: "none", items: {} }),
///   evolve: (state, event) => ({ ...state, status: event.type === "OrderCreated" ? "open" : state.status }),
///   decide: (command, state) => {
///     if (command.type === "Create" && state.status !== "none") throw new Error("already exists");
///     return [{ type: "OrderCreated", data: { customerId: command.customerId } }];
///   },
///   snapshotEvery: 100,
/// });
/// const { state, version, events } = await orders.execute("42", { type: "Create", customerId: "c1" });
/// ```
// The class's type parameters, which wasm-bindgen cannot declare: scripts/build-pkg.mjs adds them.
#[wasm_bindgen(typescript_custom_section)]
const TS_GENERICS: &'static str = r#"
// @eventfold-generics Aggregate<State = unknown, Command = unknown, E extends EventShape = AnyEvent>
"#;

#[wasm_bindgen]
pub struct Aggregate {
    store: Store,
    inner: Rc<cqrs::Aggregate<JsModel>>,
}

fn set(o: &Object, key: &str, v: &JsValue) {
    let _ = Reflect::set(o, &JsValue::from_str(key), v);
}

/// Reads an aggregate definition `{ name, initialState, evolve, decide, snapshotEvery?,
/// snapshotAfter?, snapshotVersion?, maxRetries? }`: the one parser for `store.aggregate` and
/// `bus.registerAggregate` (the settings' rules are [`AggregateOptions`]'s).
pub(crate) fn parse_definition(options: &JsValue) -> Result<(JsModel, AggregateConfig)> {
    let name = string_arg(&get(options, "name")?, "aggregate name")?;
    let model = JsModel {
        initial_state: function(options, "initialState", "an aggregate")?,
        evolve: function(options, "evolve", "an aggregate")?,
        decide: function(options, "decide", "an aggregate")?,
        last_rejection: RefCell::new(None),
    };
    let config = convert::options::<AggregateOptions>(options)?.config(name)?;
    Ok((model, config))
}

/// The JavaScript aggregates of a store, by name: what a sync's rebase runs commands with.
pub(crate) type Aggregates = Rc<cqrs::aggregate::Registry<JsModel>>;

/// Builds the aggregate from its definition object.
pub(crate) fn define(store: Store, registry: &Aggregates, options: &JsValue) -> Result<Aggregate> {
    let (model, config) = parse_definition(options)?;
    let inner = Rc::new(cqrs::Aggregate::new(model, config)?);
    registry.define(inner.clone());
    Ok(Aggregate { store, inner })
}

/// Loads the current state the fast way where the store can read a stream as parsed
/// JavaScript objects (IndexedDB, no sync attached): the newest snapshot (as
/// `cqrs::Aggregate::load` takes it), then every later event folded by one JavaScript loop:
/// the same state and version as `load`, without decoding the events in wasm and converting
/// them back. `None` where the store cannot.
async fn load_parsed(
    inner: &cqrs::Aggregate<JsModel>,
    store: &Store,
    id: &str,
) -> Result<Option<(JsValue, Version)>> {
    let stream = inner.stream(id)?;
    let (state, version) = match inner.snapshot(store, &stream, AsOf::Latest).await {
        Some(found) => found,
        None => (cqrs::Model::initial_state(inner.model())?, Version(0)),
    };
    let options = ReadStreamOptions {
        from: Some(Version(version.0 + 1)),
        limit: None,
        direction: Direction::Forward,
    };
    let Some(events) = store.read_stream_js(&stream, &options).await? else {
        return Ok(None);
    };
    let n = events.length();
    let (state, _) = fold_parsed(&inner.model().evolve, &state, &events)?;
    Ok(Some((state, Version(version.0 + u64::from(n)))))
}

fn as_of(options: &JsValue) -> Result<AsOf> {
    let version = opt_u64(options, "atVersion")?;
    let position = opt_u64(options, "atPosition")?;
    let time = get(options, "atTime")?;
    let time = if time.is_undefined() || time.is_null() {
        None
    } else if let Some(date) = time.dyn_ref::<js_sys::Date>() {
        Some(date.get_time())
    } else {
        time.as_f64()
            .filter(|t| t.is_finite())
            .map(Some)
            .ok_or_else(|| Error::invalid("atTime must be a Date or Unix milliseconds"))?
    };
    AsOf::pick(version, position, time.map(|t| t as i64))
}

#[wasm_bindgen]
impl Aggregate {
    /// Handles a command: loads the aggregate (snapshot + later events), runs `decide`, appends
    /// its events expecting the loaded version, and on a concurrent append reloads and decides
    /// again (`maxRetries`, default 3). Resolves to `{ state, version, events }`. A `decide`
    /// that throws rejects with `DECIDER_REJECTED` (the thrown value as `cause`) and appends
    /// nothing.
    ///
    /// `{ signal }`: an `AbortSignal`. An abort before the append starts (before or during a
    /// load, after `decide`, before a retry) rejects with `signal.reason` and appends nothing;
    /// once the append has started the command completes and resolves as usual.
    ///
    /// ```ts
    /// const { state, version } = await orders.execute("42", { type: "AddItem", sku: "p1", qty: 2 });
    /// await orders.execute("42", command, { signal: AbortSignal.timeout(5000) });
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<Executed<State, E>>")]
    pub fn execute(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Command")] command: JsValue,
        options: Option<AbortOptionsArg>,
    ) -> Promise {
        let abort = match Abort::from_options(options) {
            Ok(abort) => abort,
            Err(e) => return Promise::reject(&to_js(e)),
        };
        let (store, inner) = (self.store.clone(), self.inner.clone());
        crate::wasm::promise::to_promise(async move {
            let run = async {
                let id = string_arg(&id, "aggregate id")?;
                let done = inner
                    .execute_abortable(&store, &id, &command, abort.signal())
                    .await?;
                let Some(done) = done else {
                    return Ok(None);
                };
                let out = Object::new();
                set(&out, "state", &done.state);
                set(&out, "version", &JsValue::from_f64(done.version.0 as f64));
                set(
                    &out,
                    "events",
                    &crate::wasm::convert::recorded_to_js(&done.events)?,
                );
                Ok::<Option<JsValue>, Error>(Some(out.into()))
            };
            let outcome = run.await.map_err(|e| {
                let rejected = matches!(e, Error::DeciderRejected { .. });
                let js = to_js(e);
                if rejected {
                    if let Some(cause) = inner.model().last_rejection.borrow_mut().take() {
                        let _ = Reflect::set(&js, &"cause".into(), &cause);
                    }
                }
                js
            })?;
            outcome.ok_or_else(|| abort.reason())
        })
    }

    /// Loads the aggregate's state, now or as of `{ atVersion }`, `{ atPosition }` or
    /// `{ atTime }` (a Date or Unix milliseconds). Resolves to `{ state, version }`.
    ///
    /// ```ts
    /// const then = await orders.load("42", { atVersion: 3 });
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<Loaded<State>>")]
    pub fn load(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
        options: Option<AsOfArg>,
    ) -> Promise {
        let options = opt(options);
        let (store, inner) = (self.store.clone(), self.inner.clone());
        crate::wasm::promise::to_promise(async move {
            let run = async {
                let id = string_arg(&id, "aggregate id")?;
                let as_of = as_of(&options)?;
                if as_of == AsOf::Latest {
                    if let Some((state, version)) = load_parsed(&inner, &store, &id).await? {
                        let out = Object::new();
                        set(&out, "state", &state);
                        set(&out, "version", &JsValue::from_f64(version.0 as f64));
                        return Ok(out.into());
                    }
                }
                let loaded = inner.load(&store, &id, as_of).await?;
                let out = Object::new();
                set(&out, "state", &loaded.state);
                set(&out, "version", &JsValue::from_f64(loaded.version.0 as f64));
                Ok::<JsValue, Error>(out.into())
            };
            run.await.map_err(to_js)
        })
    }

    /// Takes a snapshot of the aggregate now, whatever the policy: its current state and
    /// version are stored (replacing its previous snapshot), and the next `load` or `execute`
    /// starts from there. Resolves to `{ version }` of the snapshot, or `null` when the
    /// aggregate has no events.
    ///
    /// ```ts
    /// await orders.snapshot("42"); // e.g. when the app goes idle, or before a big replay
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<{ version: number } | null>")]
    pub fn snapshot(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
    ) -> Promise {
        let (store, inner) = (self.store.clone(), self.inner.clone());
        crate::wasm::promise::to_promise(async move {
            let run = async {
                let id = string_arg(&id, "aggregate id")?;
                let now = Timestamp(js_sys::Date::now() as i64);
                Ok::<JsValue, Error>(match inner.take_snapshot(&store, &id, now).await? {
                    Some(info) => {
                        let out = Object::new();
                        set(&out, "version", &JsValue::from_f64(info.version.0 as f64));
                        out.into()
                    }
                    None => JsValue::NULL,
                })
            };
            run.await.map_err(to_js)
        })
    }

    /// Deletes the aggregate's snapshots: loading then replays its stream from the first
    /// event until a new snapshot is taken. The events are untouched.
    ///
    /// ```ts
    /// await orders.deleteSnapshots("42");
    /// ```
    #[wasm_bindgen(js_name = deleteSnapshots, unchecked_return_type = "Promise<void>")]
    pub fn delete_snapshots(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
    ) -> Promise {
        let (store, inner) = (self.store.clone(), self.inner.clone());
        crate::wasm::promise::to_promise(async move {
            let run = async {
                let id = string_arg(&id, "aggregate id")?;
                inner.delete_snapshots(&store, &id).await?;
                Ok::<JsValue, Error>(JsValue::UNDEFINED)
            };
            run.await.map_err(to_js)
        })
    }

    /// The stream of the aggregate with this id (`<name>-<id>`).
    #[wasm_bindgen(js_name = streamOf)]
    pub fn stream_of(&self, id: &str) -> std::result::Result<String, JsValue> {
        self.inner
            .stream(id)
            .map(|s| s.as_str().to_owned())
            .map_err(to_js)
    }
}
