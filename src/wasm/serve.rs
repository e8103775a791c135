//! The JavaScript `SyncServer`: the sync server over a store, answering the requests that the
//! Fetch handler (`fetchHandler` in `js/bindings.js`, returned by `createSyncHandler`) hands it.
//! All protocol and HTTP logic is the engine's (`sync::serve::http`); this converts.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;

use crate::engine::Store;
use crate::error::{Error, Result};
use crate::sync::access::Access;
use crate::sync::protocol::{encode, HeadInfo, StoreId, PROTOCOL_VERSION};
use crate::sync::serve::http::{respond, Answer, Request, ServeConfig, Tokens};
use crate::sync::serve::live::{next_head, LiveScope};
use crate::sync::serve::ServeLimits;
use crate::wasm::convert::{self, get};
use crate::wasm::error::to_js;
use crate::wasm::promise::to_promise;

#[wasm_bindgen(typescript_custom_section)]
const TS_SERVE: &'static str = r#"
/** Options of `createSyncHandler` / `store.syncHandler`. */
export interface SyncHandlerOptions {
  /** Bearer tokens and the stream prefixes each may read and write (`""`: every stream); none: open (localhost and IP hosts only). */
  tokens?: { [token: string]: { read?: string[]; write?: string[] } };
  limits?: {
    /** Largest request body in bytes (default 16 MiB); larger ones get 413. */
    maxBodyBytes?: number;
    /** Events per pull when the request names no limit (default 1000). */
    defaultPull?: number;
    /** Most events per pull (default 5000). */
    maxPull?: number;
    /** Most events in one push (default 10 000). */
    maxPushEvents?: number;
    /** Most missing events sent back with one conflict (default 1000). */
    maxMissing?: number;
    /** About the most bytes of events in one answer (default 4 MiB; at least one event). */
    maxAnswerBytes?: number;
  };
}
"#;

#[wasm_bindgen(module = "/src/wasm/js/bindings.js")]
extern "C" {
    #[wasm_bindgen(js_name = fetchHandler)]
    fn fetch_handler(server: SyncServer, max_body_bytes: f64) -> Function;
}

/// The sync server of one store (see `createSyncHandler`). Not constructed directly.
#[wasm_bindgen]
pub struct SyncServer {
    store: Store,
    id: StoreId,
    config: Rc<ServeConfig>,
}

/// `{ [token]: { read?: string[], write?: string[] } }` as [`Tokens`].
fn tokens(v: &JsValue) -> Result<Tokens> {
    if v.is_undefined() || v.is_null() {
        return Ok(Tokens::Open);
    }
    let text = js_sys::JSON::stringify(v)
        .ok()
        .and_then(|s| s.as_string())
        .ok_or_else(|| Error::invalid("tokens must be an object of token -> { read, write }"))?;
    let map: std::collections::BTreeMap<String, Access> =
        serde_json::from_str(&text).map_err(|e| Error::invalid(format!("tokens: {e}")))?;
    if map.keys().any(|t| t.trim().is_empty()) {
        return Err(Error::invalid("tokens: a token is empty"));
    }
    Ok(Tokens::Listed(map.into_iter().collect()))
}

/// `limits` of `createSyncHandler`: each replaces the server's default.
#[derive(Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct LimitsOptions {
    max_body_bytes: Option<u64>,
    default_pull: Option<u64>,
    max_pull: Option<u64>,
    max_push_events: Option<u64>,
    max_missing: Option<u64>,
    max_answer_bytes: Option<u64>,
}

/// `{ maxBodyBytes?, defaultPull?, maxPull?, maxPushEvents?, maxMissing?, maxAnswerBytes? }` on top of the
/// server's defaults; the store's own append limits apply too.
fn config(
    options: &JsValue,
    store_limits: crate::core::append::StoreLimits,
) -> Result<ServeConfig> {
    let limits: LimitsOptions =
        convert::options(&get(options, "limits")?).map_err(|e| match e {
            Error::InvalidInput { message } => Error::invalid(format!("limits: {message}")),
            other => other,
        })?;
    let d = ServeConfig::default();
    let as_u32 = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
    let as_usize = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    Ok(ServeConfig {
        tokens: tokens(&get(options, "tokens")?)?,
        limits: ServeLimits {
            default_pull: limits.default_pull.map_or(d.limits.default_pull, as_u32),
            max_pull: limits.max_pull.map_or(d.limits.max_pull, as_u32),
            max_push_events: limits
                .max_push_events
                .map_or(d.limits.max_push_events, as_usize),
            max_missing: limits.max_missing.map_or(d.limits.max_missing, as_usize),
            max_answer_bytes: limits
                .max_answer_bytes
                .map_or(d.limits.max_answer_bytes, as_usize),
            store: store_limits,
        },
        max_body_bytes: limits.max_body_bytes.map_or(d.max_body_bytes, as_usize),
    })
}

/// The Fetch handler of `store`'s sync server: `(request: Request) => Promise<Response>`.
pub(crate) fn handler(store: Store, options: &JsValue) -> Result<Function> {
    let (id, store_limits) =
        store.serve_identity(|| crate::wasm::convert::random_id().replace('-', ""))?;
    let id = StoreId::new(id)?;
    let config = config(options, store_limits)?;
    let max = config.max_body_bytes as f64;
    let server = SyncServer {
        store,
        id,
        config: Rc::new(config),
    };
    Ok(fetch_handler(server, max))
}

fn set(o: &Object, key: &str, v: &JsValue) {
    let _ = Reflect::set(o, &JsValue::from_str(key), v);
}

#[wasm_bindgen]
impl SyncServer {
    /// Answers one request: `{ status, body?: Uint8Array, live?: LiveStream }`. `headers` holds the
    /// request's `authorization`, `contentType`, `contentLength` and `host` (strings or absent).
    #[wasm_bindgen(
        unchecked_return_type = "Promise<{ status: number; body?: Uint8Array; live?: LiveStream }>"
    )]
    pub fn respond(
        &self,
        method: String,
        path: String,
        query: String,
        #[wasm_bindgen(
            unchecked_param_type = "{ authorization?: string; contentType?: string; contentLength?: string; host?: string }"
        )]
        headers: JsValue,
        body: Vec<u8>,
    ) -> Promise {
        let (store, id, config) = (self.store.clone(), self.id.clone(), self.config.clone());
        let header = |name: &str| get(&headers, name).ok().and_then(|v| v.as_string());
        let (authorization, content_type, host) = (
            header("authorization"),
            header("contentType"),
            header("host"),
        );
        let content_length = header("contentLength").and_then(|v| v.trim().parse::<u64>().ok());
        to_promise(async move {
            let req = Request {
                method: &method,
                path: &path,
                query: &query,
                authorization: authorization.as_deref(),
                content_type: content_type.as_deref(),
                host: host.as_deref(),
                content_length,
                body: &body,
            };
            let answer = respond(&store, &id, &config, req).await;
            let o = Object::new();
            set(&o, "status", &JsValue::from(answer.status()));
            match answer {
                Answer::Json { body, .. } => set(&o, "body", &Uint8Array::from(&body[..])),
                Answer::Live(access) => {
                    let live = LiveStream {
                        store,
                        id,
                        scope: Rc::new(RefCell::new(LiveScope::new(access))),
                    };
                    set(&o, "live", &live.into());
                }
            }
            Ok(o.into())
        })
    }
}

/// One `GET /v1/live` connection of the Fetch handler: the heads to announce to its token, by
/// the engine's rule ([`LiveScope`], as `eventfold-server`'s). Not constructed directly.
#[wasm_bindgen]
pub struct LiveStream {
    store: Store,
    id: StoreId,
    scope: Rc<RefCell<LiveScope>>,
}

#[wasm_bindgen]
impl LiveStream {
    /// The `{ v, store, head }` JSON of the next `head` event (the first one at once);
    /// resolves to `null` when the store closes.
    #[wasm_bindgen(unchecked_return_type = "Promise<string | null>")]
    pub fn next(&self) -> Promise {
        let (store, id, scope) = (self.store.clone(), self.id.clone(), self.scope.clone());
        to_promise(async move {
            let Some(head) = next_head(&store, &scope).await.map_err(to_js)? else {
                return Ok(JsValue::NULL);
            };
            let info = HeadInfo {
                v: PROTOCOL_VERSION,
                store: id,
                head,
            };
            let text = encode(&info).map_err(to_js)?;
            Ok(JsValue::from_str(&String::from_utf8_lossy(&text)))
        })
    }
}
