//! The kind of upcasting step a [`Store`](super::Store) holds: Rust closures natively,
//! JavaScript functions in wasm (registered with `store.upcast(type, fromVersion, fn)`). Both
//! follow the one rule of [`crate::core::upcast`]; this file only says how a JavaScript step
//! lifts each event representation.

#[cfg(not(target_arch = "wasm32"))]
pub use crate::core::upcast::RustStep as UpcastStep;
#[cfg(target_arch = "wasm32")]
pub use js::JsStep as UpcastStep;

#[cfg(target_arch = "wasm32")]
mod js {
    use js_sys::{Function, Reflect, JSON};
    use wasm_bindgen::prelude::*;

    use crate::core::event::{EventType, RecordedEvent};
    use crate::core::json::Json;
    use crate::core::upcast::{Lift, Versioned};
    use crate::error::{Error, Result};

    #[wasm_bindgen(module = "/src/wasm/js/bindings.js")]
    extern "C" {
        #[wasm_bindgen(js_name = liftEvent, catch)]
        fn lift_event(
            step: &Function,
            event: &JsValue,
            to: u32,
        ) -> std::result::Result<JsValue, JsValue>;
    }

    /// A JavaScript upcaster: `(event) => ({ type?, data, metadata? })`.
    pub struct JsStep(pub Function);

    fn field(v: &JsValue, key: &str) -> JsValue {
        Reflect::get(v, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
    }

    fn thrown(e: &JsValue) -> Error {
        let message = match e.dyn_ref::<js_sys::Error>() {
            Some(e) => String::from(e.message()),
            None => e.as_string().unwrap_or_else(|| format!("{e:?}")),
        };
        Error::invalid(message)
    }

    fn json_of(v: &JsValue) -> Result<Json> {
        let text = JSON::stringify(v)
            .map_err(|e| thrown(&e))?
            .as_string()
            .unwrap_or_else(|| "null".to_owned());
        Ok(Json::parse(text)?)
    }

    impl Versioned for JsValue {
        fn event_type(&self) -> Option<String> {
            field(self, "type").as_string()
        }

        fn schema_version(&self) -> u32 {
            let v = field(&field(self, "metadata"), "schemaVersion").as_f64();
            match v {
                Some(v) if v >= 1.0 && v.fract() == 0.0 && v <= f64::from(u32::MAX) => v as u32,
                _ => 1,
            }
        }
    }

    impl Lift<JsStep> for JsValue {
        fn lift(self, step: &JsStep, to: u32) -> Result<Self> {
            lift_event(&step.0, &self, to).map_err(|e| thrown(&e))
        }
    }

    impl Lift<JsStep> for RecordedEvent {
        fn lift(self, step: &JsStep, to: u32) -> Result<Self> {
            let mut text = String::new();
            self.write_json(&mut text);
            let js = JSON::parse(&text).map_err(|e| thrown(&e))?;
            let up = lift_event(&step.0, &js, to).map_err(|e| thrown(&e))?;
            let event_type = field(&up, "type")
                .as_string()
                .ok_or_else(|| Error::invalid("the upcast event has no type"))?;
            Ok(RecordedEvent {
                event_type: EventType::new(event_type)?,
                data: json_of(&field(&up, "data"))?,
                metadata: json_of(&field(&up, "metadata"))?,
                ..self
            })
        }
    }
}
