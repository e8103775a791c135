//! The context object a JavaScript command handler, middleware or event handler receives
//! (`{ commandId, correlationId, causationId, metadata, dispatch }`), to and from
//! [`CommandContext`]. The rules (derived ids, correlation, causation) are
//! [`CommandContext::dispatched`] and [`CommandContext::handling`]'s.

use std::rc::Rc;

use js_sys::Object;
use serde_json::{Map, Value};
use wasm_bindgen::prelude::*;

use crate::core::event::EventId;
use crate::core::json::Json;
use crate::cqrs::bus::CommandContext;
use crate::error::{Error, Result};
use crate::wasm::bus::reply::set;
use crate::wasm::bus::{bind_dispatch, BusInner};
use crate::wasm::convert::random_id;
use crate::wasm::convert::{get, string_arg};

fn json_to_js(json: &Json) -> JsValue {
    js_sys::JSON::parse(json.as_str()).unwrap_or(JsValue::NULL)
}

/// A JavaScript object's JSON (for metadata); empty for `undefined` and `null`.
fn js_to_map(v: &JsValue) -> Result<Map<String, Value>> {
    if v.is_undefined() || v.is_null() {
        return Ok(Map::new());
    }
    let text = js_sys::JSON::stringify(v)
        .ok()
        .and_then(|s| s.as_string())
        .ok_or_else(|| Error::invalid("metadata must be JSON"))?;
    Json::parse(text)?
        .decode()
        .map_err(|_| Error::invalid("metadata must be a plain object"))
}

/// The context object a JavaScript handler receives: ids, metadata, and `dispatch` for
/// commands it causes. Its `dispatch` marks them as caused by `cause` (an event handler's
/// event) when given, else by this context's command.
pub(crate) fn context_to_js(
    inner: &Rc<BusInner>,
    ctx: &CommandContext,
    cause: Option<&str>,
) -> JsValue {
    let o: JsValue = Object::new().into();
    set(&o, "commandId", &ctx.command_id.as_str().into());
    set(&o, "correlationId", &ctx.correlation_id.as_str().into());
    set(
        &o,
        "causationId",
        &ctx.causation_id
            .as_deref()
            .map_or(JsValue::UNDEFINED, JsValue::from_str),
    );
    let metadata = Json::from_value(&ctx.metadata)
        .map(|j| json_to_js(&j))
        .unwrap_or_else(|_| Object::new().into());
    set(&o, "metadata", &metadata);
    bind_dispatch(
        &o,
        inner.sender.as_ref().unchecked_ref(),
        &cause.map_or(JsValue::UNDEFINED, JsValue::from_str),
    );
    o
}

/// Reads back what a middleware changed in the context object.
pub(crate) fn context_from_js(obj: &JsValue, base: &CommandContext) -> Result<CommandContext> {
    let mut ctx = base.clone();
    if let Some(c) = get(obj, "correlationId")?.as_string() {
        ctx.correlation_id = c;
    }
    if let Some(c) = get(obj, "causationId")?.as_string() {
        ctx.causation_id = Some(c);
    }
    ctx.metadata = js_to_map(&get(obj, "metadata")?)?;
    Ok(ctx)
}

/// The context of a top-level dispatch from its options `{ commandId?, correlationId?,
/// causationId?, metadata? }`.
pub(crate) fn context_of(options: &JsValue) -> Result<CommandContext> {
    let id = match get(options, "commandId")?.as_string() {
        Some(id) => EventId::parse(id)?,
        None => EventId::parse(random_id())?,
    };
    let mut ctx = CommandContext::new(id);
    if let Some(c) = get(options, "correlationId")?.as_string() {
        ctx.correlation_id = c;
    }
    ctx.causation_id = get(options, "causationId")?.as_string();
    ctx.metadata = js_to_map(&get(options, "metadata")?)?;
    Ok(ctx)
}

/// The `n`-th command sent from the handler context object `obj` (see
/// [`CommandContext::dispatched`]).
pub(crate) fn child_context(obj: &JsValue, n: f64, cause: &JsValue) -> Result<CommandContext> {
    let parent = EventId::parse(string_arg(&get(obj, "commandId")?, "ctx.commandId")?)?;
    let base = context_from_js(obj, &CommandContext::new(parent))?;
    Ok(base.dispatched(n as u64, cause.as_string()))
}
