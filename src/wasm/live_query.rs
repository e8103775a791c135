//! The JavaScript `LiveQuery` class: `readModel.liveQuery(query)`, `readModel.liveGet(key)` and
//! `projection.liveState()`. It holds one engine [`LiveQuery`](crate::cqrs::live::LiveQuery)
//! of JavaScript values and forwards; when to evaluate, what counts as a change and the
//! subscriber lifecycle are the engine's.

use std::rc::Rc;

use js_sys::Function;
use wasm_bindgen::prelude::*;

use crate::cqrs::live::query::Spawner;
use crate::wasm::error;
use crate::wasm::live;
use crate::wasm::promise::spawn;

type Live = crate::cqrs::live::LiveQuery<JsValue>;

#[wasm_bindgen(module = "/src/wasm/js/bindings.js")]
extern "C" {
    #[wasm_bindgen(js_name = bindLiveQuery)]
    fn bind_live_query(query: JsValue) -> JsValue;
}

// The class's type parameter, which wasm-bindgen cannot declare: scripts/build-pkg.mjs adds it.
#[wasm_bindgen(typescript_custom_section)]
const TS_GENERICS: &'static str = r#"
// @eventfold-generics LiveQuery<T = unknown>
"#;

/// The answer of a query kept up to date for a UI framework: `subscribe(onChange)` returns
/// a function that unsubscribes, and `getSnapshot()` answers synchronously with the same
/// value (the same object) until the answer changes. That is the contract of React's
/// `useSyncExternalStore`, of Svelte stores (`$query` in a component) and of a Vue
/// `shallowRef` fed by `subscribe`.
///
/// The query is followed only while it has subscribers: the first one evaluates it and starts
/// following the model (appends in this tab and in others, sync pulls, pending events), the
/// last one leaving stops it. An evaluation giving the same records keeps the snapshot.
///
/// ```ts
/// const open = orders.liveQuery({ index: "status", equals: "open", limit: 50 });
/// // React:
/// const rows = useSyncExternalStore(open.subscribe, open.getSnapshot); // Value[] | undefined
/// ```
#[wasm_bindgen]
pub struct LiveQuery {
    live: Rc<Live>,
}

/// Runs an evaluation task in the background (`spawn_local`).
pub(crate) fn spawner() -> Spawner {
    Rc::new(spawn)
}

/// The JavaScript object of `live`, its `subscribe` and `getSnapshot` bound to it.
pub(crate) fn to_js(live: Live) -> JsValue {
    bind_live_query(
        LiveQuery {
            live: Rc::new(live),
        }
        .into(),
    )
}

#[wasm_bindgen]
impl LiveQuery {
    /// The last answer: `undefined` until the first evaluation settled, then the same value
    /// until the answer changes (so `Object.is` tells a change).
    #[wasm_bindgen(js_name = getSnapshot, unchecked_return_type = "T | undefined")]
    pub fn get_snapshot(&self) -> JsValue {
        self.live.snapshot().unwrap_or(JsValue::UNDEFINED)
    }

    /// Calls `onChange(snapshot)` at once, then after each change of the snapshot; returns a
    /// function that unsubscribes (calling it again is harmless). What `onChange` throws is
    /// reported with `console.error`, then ignored. A bound function: pass it as it is
    /// (`useSyncExternalStore(q.subscribe, q.getSnapshot)`).
    #[wasm_bindgen(unchecked_return_type = "() => void")]
    pub fn subscribe(
        &self,
        #[wasm_bindgen(js_name = onChange, unchecked_param_type = "(snapshot: T | undefined) => void")]
        on_change: Function,
    ) -> JsValue {
        let id = self.live.subscribe(move |snapshot| {
            let value = snapshot.clone().unwrap_or(JsValue::UNDEFINED);
            live::call(&on_change, &value, "a live query subscriber")
        });
        // The subscription keeps the query alive (the object may be dropped meanwhile).
        let live = self.live.clone();
        Closure::<dyn Fn()>::new(move || live.unsubscribe(id)).into_js_value()
    }

    /// Why the last evaluation failed, if it did (the snapshot stays the last good answer).
    #[wasm_bindgen(getter, unchecked_return_type = "EventfoldError | undefined")]
    pub fn error(&self) -> JsValue {
        self.live.error().map_or(JsValue::UNDEFINED, error::to_js)
    }
}
