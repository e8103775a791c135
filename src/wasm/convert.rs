//! JavaScript values to core types and back. Events enter as one JSON text per payload (see
//! `js/bindings.js`) and leave as one JSON array text per call, parsed once by `JSON.parse`.

use js_sys::{Array, Reflect};
use wasm_bindgen::prelude::*;

use crate::core::event::{EventId, EventType, NewEvent, RecordedEvent, StreamId};
use crate::core::expected::ExpectedVersion;
use crate::core::invalid::Invalid;
use crate::core::json::Json;
use crate::error::{Error, Result};
use crate::wasm::error::message_of;

#[wasm_bindgen(module = "/src/wasm/js/bindings.js")]
extern "C" {
    #[wasm_bindgen(js_name = encodeEvents, catch)]
    fn encode_events(events: &JsValue) -> std::result::Result<JsValue, JsValue>;
    /// A random UUID (`crypto.randomUUID()`).
    #[wasm_bindgen(js_name = randomId)]
    pub(crate) fn random_id() -> String;
}

const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// Reads `obj[key]`; `undefined` when `obj` is `undefined`/`null` or lacks the key.
pub(crate) fn get(obj: &JsValue, key: &str) -> Result<JsValue> {
    if obj.is_undefined() || obj.is_null() {
        return Ok(JsValue::UNDEFINED);
    }
    if !obj.is_object() {
        return Err(Error::invalid(format!(
            "options must be an object, got {}",
            type_name(obj)
        )));
    }
    Reflect::get(obj, &JsValue::from_str(key))
        .map_err(|e| Error::invalid(format!("cannot read option {key}: {}", message_of(&e))))
}

fn type_name(v: &JsValue) -> String {
    v.js_typeof().as_string().unwrap_or_else(|| "value".into())
}

/// The optional `signal` of `options`: an `AbortSignal` (anything with a boolean `aborted` and an
/// `addEventListener` method), or `undefined` when absent.
///
/// # Errors
/// [`Error::InvalidInput`] for anything else.
pub(crate) fn abort_signal(options: &JsValue) -> Result<JsValue> {
    let signal = get(options, "signal")?;
    if signal.is_undefined() || signal.is_null() {
        return Ok(JsValue::UNDEFINED);
    }
    let field = |key: &str| Reflect::get(&signal, &JsValue::from_str(key)).ok();
    let aborted = field("aborted").and_then(|a| a.as_bool()).is_some();
    let listens = field("addEventListener").is_some_and(|f| f.is_function());
    if signal.is_object() && aborted && listens {
        Ok(signal)
    } else {
        Err(Error::invalid(format!(
            "signal must be an AbortSignal, got {}",
            type_name(&signal)
        )))
    }
}

/// A non-negative safe integer option, or `None` when absent.
pub(crate) fn opt_u64(obj: &JsValue, key: &str) -> Result<Option<u64>> {
    let v = get(obj, key)?;
    if v.is_undefined() || v.is_null() {
        return Ok(None);
    }
    match v.as_f64() {
        Some(n) if n.is_finite() && n >= 0.0 && n.fract() == 0.0 && n <= MAX_SAFE_INTEGER => {
            Ok(Some(n as u64))
        }
        _ => Err(Error::invalid(format!(
            "{key} must be a non-negative integer, got {}",
            describe(&v)
        ))),
    }
}

fn describe(v: &JsValue) -> String {
    match v.as_f64() {
        Some(n) => crate::core::expected::describe_number(n),
        None => v
            .as_string()
            .map(|s| format!("{s:?}"))
            .unwrap_or_else(|| type_name(v)),
    }
}

/// A string argument (stream ids and the like).
pub(crate) fn string_arg(v: &JsValue, what: &str) -> Result<String> {
    v.as_string().ok_or_else(|| {
        Error::invalid(format!(
            "{what} must be a non-empty string, got {}",
            type_name(v)
        ))
    })
}

/// A stream id argument.
pub(crate) fn stream_arg(v: &JsValue) -> Result<StreamId> {
    Ok(StreamId::new(string_arg(v, "stream id")?)?)
}

/// `expectedVersion` from append options; `"any"` when absent.
pub(crate) fn expected_version(options: &JsValue) -> Result<ExpectedVersion> {
    let v = get(options, "expectedVersion")?;
    if v.is_undefined() {
        return Ok(ExpectedVersion::Any);
    }
    if let Some(s) = v.as_string() {
        return Ok(ExpectedVersion::parse(&s)?);
    }
    match v.as_f64() {
        Some(n) => Ok(ExpectedVersion::from_f64(n)?),
        None => Err(Error::invalid(format!(
            "expectedVersion must be \"any\", \"no_stream\", \"exists\" or a non-negative integer, got {}",
            type_name(&v)
        ))),
    }
}

/// Validates and encodes an array of event inputs (`{ type, data?, metadata?, id? }`).
pub(crate) fn new_events(events: &JsValue) -> Result<Vec<NewEvent>> {
    let encoded = encode_events(events).map_err(|e| Error::invalid(message_of(&e)))?;
    // Usually the UTF-8 bytes of the events' strings joined by NUL (see `encodeEvents`).
    let bytes = encoded
        .dyn_ref::<js_sys::Uint8Array>()
        .map(js_sys::Uint8Array::to_vec);
    let joined = match &bytes {
        Some(b) => Some(
            std::str::from_utf8(b).map_err(|_| Error::invalid("events could not be encoded"))?,
        ),
        None => None,
    };
    let flat: Vec<String> = match joined {
        Some(_) => Vec::new(),
        None => Array::from(&encoded)
            .iter()
            .map(|v| v.as_string().unwrap_or_default())
            .collect(),
    };
    let fields: Vec<&str> = match joined {
        Some("") => Vec::new(),
        Some(text) => text.split('\0').collect(),
        None => flat.iter().map(String::as_str).collect(),
    };
    if fields.len() % 4 != 0 {
        return Err(Error::invalid("events could not be encoded"));
    }
    let mut out = Vec::with_capacity(fields.len() / 4);
    for (k, f) in fields.chunks_exact(4).enumerate() {
        let at = |e: Invalid| Error::invalid(format!("events[{k}]: {}", e.message()));
        let id = EventId::parse(f[0]).map_err(at)?;
        let event_type = EventType::new(f[1]).map_err(at)?;
        out.push(NewEvent {
            id,
            event_type,
            data: Json::trusted(f[2]),
            metadata: Json::trusted(f[3]),
        });
    }
    Ok(out)
}

/// Options as their derive-based type `T` (`undefined`/`null`: all defaults). A bad field is
/// `INVALID_INPUT` naming it (`pullLimit: invalid value: integer `0`, expected a nonzero u32`).
pub(crate) fn options<T: serde::de::DeserializeOwned>(options: &JsValue) -> Result<T> {
    let object = |v: JsValue| {
        serde_wasm_bindgen::from_value::<T>(v).map_err(|e| message_of(&JsValue::from(e)))
    };
    if options.is_undefined() || options.is_null() {
        return object(js_sys::Object::new().into()).map_err(Error::invalid);
    }
    if !options.is_object() || Array::is_array(options) {
        return Err(Error::invalid(format!(
            "options must be an object, got {}",
            type_name(options)
        )));
    }
    object(options.clone()).map_err(|e| {
        // Name the field: the first one that fails on its own (an absent required field
        // names itself).
        let keys = js_sys::Object::keys(options.unchecked_ref::<js_sys::Object>());
        let named = keys.iter().find_map(|key| {
            let one = js_sys::Object::new();
            let value = Reflect::get(options, &key).ok()?;
            Reflect::set(&one, &key, &value).ok()?;
            let alone = object(one.into()).err()?;
            let missing = alone.starts_with("missing field");
            (!missing).then(|| format!("{}: {alone}", key.as_string().unwrap_or_default()))
        });
        Error::invalid(named.unwrap_or(e))
    })
}

/// A value type (a report, a status, progress) as plain JavaScript objects: structs as objects,
/// numbers as numbers, `None` as `null`, JavaScript values kept as they are
/// (`serde_wasm_bindgen::preserve`). Event payloads never go this way (see the module docs).
pub(crate) fn plain<T: serde::Serialize + ?Sized>(value: &T) -> JsValue {
    let plain = serde_wasm_bindgen::Serializer::json_compatible();
    value.serialize(&plain).unwrap_or_else(JsValue::from)
}

/// Recorded events as a JavaScript array of plain objects (one `JSON.parse` for the batch).
pub(crate) fn recorded_to_js(events: &[RecordedEvent]) -> Result<JsValue> {
    let mut text =
        String::with_capacity(events.iter().map(|e| e.json_len_hint()).sum::<usize>() + 2);
    text.push('[');
    for (i, e) in events.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        e.write_json(&mut text);
    }
    text.push(']');
    js_sys::JSON::parse(&text).map_err(|e| Error::Storage {
        message: format!("cannot decode events: {}", message_of(&e)),
    })
}

/// One recorded event as a JavaScript object.
#[cfg(feature = "bus")]
pub(crate) fn event_to_js(event: &RecordedEvent) -> Result<JsValue> {
    Ok(js_sys::Array::from(&recorded_to_js(std::slice::from_ref(event))?).get(0))
}
