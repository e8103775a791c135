//! The JavaScript `Projection` class: `store.projection({ name, version, init, evolve })`. It
//! holds one engine live view ([`ProjectionView`]) and forwards: catch-up, follow, rebuild,
//! pending events on top and close are the engine's; here are conversions only.

use std::rc::Rc;

use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;

use crate::core::event::Position;
use crate::cqrs::{ProjectionRunner, ProjectionView};
use crate::engine::Store;
use crate::error::{Error, Result};
use crate::wasm::abort::{Abort, AbortOptionsArg};
use crate::wasm::batch::{JsBatch, JsPages};
use crate::wasm::convert::{self, get, opt_u64, string_arg};
use crate::wasm::error::to_js;
use crate::wasm::live::{self, on_progress};
use crate::wasm::live_query;
use crate::wasm::model::{function, JsProjection};
use crate::wasm::promise::{spawn, to_promise};

type View = ProjectionView<JsProjection, JsPages, JsBatch>;

/// A projection: a state folded from the log by your `evolve`, persisted with its checkpoint
/// and kept up to date as events are appended (in this tab and in others).
///
/// ```ts
/// const totals = store.projection({
///   name: "totals", version: 1,
///   init: () => ({ orders: 0 }),
///   evolve: (s, e) => (e.type === "OrderCreated" ? { orders: s.orders + 1 } : s),
/// });
/// await totals.ready();
/// console.log(totals.state.orders);
/// const unsubscribe = totals.subscribe((state) => render(state));
/// ```
// The class's type parameter, which wasm-bindgen cannot declare: scripts/build-pkg.mjs adds it.
#[wasm_bindgen(typescript_custom_section)]
const TS_GENERICS: &'static str = r#"
// @eventfold-generics Projection<State = unknown>
"#;

#[wasm_bindgen]
pub struct Projection {
    view: Rc<View>,
}

/// Builds the projection from its definition and starts it in the background.
pub(crate) fn define(store: Store, options: &JsValue) -> Result<Projection> {
    let name = string_arg(&get(options, "name")?, "projection name")?;
    let version = opt_u64(options, "version")?.unwrap_or(1);
    let version = u32::try_from(version).map_err(|_| Error::invalid("version is too large"))?;
    let projection = JsProjection {
        init: function(options, "init", "a projection")?,
        evolve: function(options, "evolve", "a projection")?,
    };
    let progress = on_progress(options)?;
    let runner = ProjectionRunner::new(
        projection,
        name,
        version,
        convert::options(&get(options, "filter")?)?,
    )?;
    let (view, run) = ProjectionView::start(store, runner, JsPages, progress)?;
    spawn(run);
    Ok(Projection {
        view: Rc::new(view),
    })
}

#[wasm_bindgen]
impl Projection {
    /// Resolves once the projection has caught up with the log (rejects with `EVOLVE_FAILED`
    /// if `evolve` threw; the state then stays at the last good event).
    ///
    /// `{ signal }`: an `AbortSignal` that ends the wait (the promise rejects with
    /// `signal.reason`; the projection goes on catching up).
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn ready(&self, options: Option<AbortOptionsArg>) -> Promise {
        match Abort::from_options(options) {
            Ok(abort) => abort.settled(self.view.ready()),
            Err(e) => Promise::reject(&to_js(e)),
        }
    }

    /// The current state (undefined until the first catch-up has settled).
    #[wasm_bindgen(getter, unchecked_return_type = "State | undefined")]
    pub fn state(&self) -> JsValue {
        self.view.state().unwrap_or(JsValue::UNDEFINED)
    }

    /// The position of the last event folded in.
    #[wasm_bindgen(getter)]
    pub fn checkpoint(&self) -> f64 {
        self.view.checkpoint().0 as f64
    }

    /// The error that stopped the projection, if any.
    #[wasm_bindgen(getter, unchecked_return_type = "EventfoldError | undefined")]
    pub fn error(&self) -> JsValue {
        self.view.error().map_or(JsValue::UNDEFINED, to_js)
    }

    /// Calls `callback(state)` after every update; returns a function that unsubscribes.
    #[wasm_bindgen(unchecked_return_type = "() => void")]
    pub fn subscribe(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(state: State) => void")] callback: Function,
    ) -> JsValue {
        let id = self
            .view
            .subscribe(move |state| live::call(&callback, state, "a projection subscriber"));
        live::unsubscriber(&self.view, id, View::unsubscribe)
    }

    /// The state as a live query for a UI framework (`getSnapshot()` is the state shown,
    /// the same object until `evolve` returns another; see `LiveQuery`).
    ///
    /// ```ts
    /// const state = totals.liveState();
    /// const unsubscribe = state.subscribe((s) => render(s));
    /// ```
    #[wasm_bindgen(js_name = liveState, unchecked_return_type = "LiveQuery<State>")]
    pub fn live_state(&self) -> JsValue {
        let convert = Box::new(|state: &JsValue| Ok(state.clone()));
        live_query::to_js(self.view.live_state(convert, live_query::spawner()))
    }

    /// Discards the persisted state and folds the whole log again (this also clears an error
    /// that stopped the projection). Resolves when caught up.
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

    /// The state as of a global position, folded from the start (time travel; nothing is
    /// persisted).
    #[wasm_bindgen(js_name = stateAt, unchecked_return_type = "Promise<State>")]
    pub fn state_at(&self, position: f64) -> Promise {
        if !(position.is_finite() && position >= 0.0 && position.fract() == 0.0) {
            let e = to_js(Error::invalid("position must be a non-negative integer"));
            return Promise::reject(&e);
        }
        let state = self.view.state_at(Position(position as u64));
        to_promise(async move { state.await.map_err(to_js) })
    }

    /// Stops following the log (the persisted state stays).
    pub fn close(&self) {
        self.view.close()
    }
}
