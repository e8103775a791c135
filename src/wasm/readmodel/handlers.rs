//! A read model's JavaScript handlers as the engine's [`Handlers`]: one call into JavaScript
//! per page (`applyHandlers` in `js/bindings.js`), its buffered writes converted back.

use js_sys::{Array, Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::core::json::Json;
use crate::cqrs::live::Batch;
use crate::cqrs::read_model::{Handled, Handlers, ReadModelDef};
use crate::engine::Store;
use crate::error::{Error, Result};
use crate::store::{IndexKey, ReadModelStore, RecordWrite};
use crate::wasm::batch::JsBatch;
use crate::wasm::convert::string_arg;
use crate::wasm::error::{message_of, to_js};
use crate::wasm::promise::to_promise;

#[wasm_bindgen(module = "/src/wasm/js/bindings.js")]
extern "C" {
    #[wasm_bindgen(js_name = applyHandlers)]
    fn apply_handlers(
        handlers: &Object,
        indexes: &Array,
        events: &JsValue,
        load: &Function,
    ) -> Promise;
}

/// An index value from JavaScript: a string or a finite number.
fn index_key(v: &JsValue, what: &str) -> Result<IndexKey> {
    match v.as_string() {
        Some(s) => Ok(IndexKey::Text(s)),
        None => IndexKey::number(v.as_f64().unwrap_or(f64::NAN), what),
    }
}

/// `{ EventType: (event, rm) => ... }`.
pub(crate) struct JsHandlers {
    pub(crate) handlers: Object,
}

fn writes_from_js(out: &JsValue) -> Result<Vec<RecordWrite>> {
    let writes = Array::from(&Reflect::get(out, &"writes".into()).unwrap_or(JsValue::UNDEFINED));
    writes
        .iter()
        .map(|w| {
            let w = Array::from(&w);
            let key = string_arg(&w.get(0), "record key")?;
            let json = w.get(1);
            let value = match json.as_string() {
                None => None,
                Some(text) => {
                    let entries = Array::from(&w.get(2))
                        .iter()
                        .map(|e| {
                            let e = Array::from(&e);
                            Ok((
                                string_arg(&e.get(0), "index name")?,
                                index_key(&e.get(1), "an index value")?,
                            ))
                        })
                        .collect::<Result<_>>()?;
                    Some((Json::trusted(text), entries))
                }
            };
            Ok(RecordWrite { key, value })
        })
        .collect()
}

impl Handlers<JsBatch> for JsHandlers {
    async fn handle(&self, store: &Store, def: &ReadModelDef, events: &JsBatch) -> Result<Handled> {
        let loader = {
            let (store, name) = (store.clone(), def.name().to_owned());
            Closure::<dyn FnMut(String) -> Promise>::new(move |key: String| {
                let (store, name) = (store.clone(), name.clone());
                to_promise(async move {
                    let rec = store.record(&name, &key).await.map_err(to_js)?;
                    Ok(rec.map_or(JsValue::UNDEFINED, |j| JsValue::from_str(j.as_str())))
                })
            })
        };
        let indexes: Array = def.indexes().iter().map(|i| JsValue::from_str(i)).collect();
        let load: &Function = loader.as_ref().unchecked_ref();
        let out = JsFuture::from(apply_handlers(
            &self.handlers,
            &indexes,
            events.array(),
            load,
        ))
        .await
        .map_err(|e| {
            Error::invalid(format!(
                "read model {} failed: {}",
                def.name(),
                message_of(&e)
            ))
        })?;
        let applied = Reflect::get(&out, &"applied".into())
            .ok()
            .and_then(|a| a.as_f64())
            .unwrap_or(0.0) as usize;
        let thrown = Reflect::get(&out, &"error".into()).unwrap_or(JsValue::UNDEFINED);
        let error = (!thrown.is_undefined()).then(|| Error::EvolveFailed {
            position: events.position(applied),
            message: format!(
                "read model {} handler threw on {}: {}",
                def.name(),
                events.describe(applied),
                message_of(&thrown)
            ),
        });
        Ok(Handled {
            writes: writes_from_js(&out)?,
            applied,
            error,
        })
    }
}
