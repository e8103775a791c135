//! `store.sync({ url, token, scope, conflicts })`: the Rust [`SyncClient`] over HTTP `fetch`,
//! with JavaScript aggregates resolving conflicts, driven by `createSync` in `js/bindings.js`
//! (when to sync, Web Locks, live notifications, listeners).

mod types;

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::core::event::StreamId;
use crate::core::json::Json;
use crate::cqrs;
use crate::engine::{Backend, Store};
use crate::error::{Error, Result};
use crate::sync::client::{
    Rejected, Resolution, Resolver, Strategy, SyncClient, SyncOptions, Transport,
};
use crate::sync::protocol::{
    self, ErrorBody, Message, PullRequest, PullResponse, PushRequest, PushResponse,
};
use crate::wasm::convert::get;
use crate::wasm::error::{message_of, to_js};
use crate::wasm::model::JsModel;
use crate::wasm::promise::{spawn, to_promise};

#[wasm_bindgen(module = "/src/wasm/js/bindings.js")]
extern "C" {
    #[wasm_bindgen(js_name = syncRequest)]
    fn sync_request(url: &str, token: &JsValue, path: &str, body: &str) -> Promise;
    #[wasm_bindgen(js_name = createSync)]
    fn create_sync(engine: SyncEngine, options: &JsValue) -> JsValue;
}

/// The JavaScript aggregates of a store, by name: what a rebase runs commands with.
pub(crate) type Aggregates = Rc<RefCell<Vec<(String, Rc<cqrs::Aggregate<JsModel>>)>>>;

struct FetchTransport {
    url: String,
    token: JsValue,
}

impl FetchTransport {
    async fn call<M: Message>(&self, path: &str, body: Vec<u8>) -> Result<M> {
        let body = String::from_utf8(body).map_err(|e| Error::invalid(e.to_string()))?;
        let network = |message: String| Error::Network { message };
        let out = JsFuture::from(sync_request(&self.url, &self.token, path, &body))
            .await
            .map_err(|e| network(message_of(&e)))?;
        if let Some(message) = get(&out, "network")?.as_string() {
            return Err(network(message));
        }
        let status = get(&out, "status")?.as_f64().unwrap_or(0.0);
        let text = get(&out, "text")?.as_string().unwrap_or_default();
        if (200.0..300.0).contains(&status) {
            return protocol::decode_str(&text);
        }
        match serde_json::from_str::<ErrorBody>(&text) {
            Ok(body) => Err(body.into_error()),
            // Not the server's answer (a proxy, a server starting): try again later.
            Err(_) => Err(network(format!("{path} answered HTTP {status}"))),
        }
    }
}

impl Transport for FetchTransport {
    async fn pull(&self, request: &PullRequest) -> Result<PullResponse> {
        self.call("/v1/pull", protocol::encode(request)?).await
    }

    async fn push(&self, request: &PushRequest) -> Result<PushResponse> {
        self.call("/v1/push", protocol::encode(request)?).await
    }
}

struct JsResolver {
    store: Store,
    aggregates: Aggregates,
    default: Strategy,
    per_aggregate: Vec<(String, Strategy)>,
    on_rejected: RefCell<Option<Function>>,
}

impl JsResolver {
    /// The aggregate whose streams `stream` belongs to (`<name>-<id>`), longest name first.
    fn aggregate(&self, stream: &str) -> Option<(String, Rc<cqrs::Aggregate<JsModel>>)> {
        self.aggregates
            .borrow()
            .iter()
            .filter(|(name, _)| {
                stream.len() > name.len() + 1
                    && stream.starts_with(name.as_str())
                    && stream.as_bytes()[name.len()] == b'-'
            })
            .max_by_key(|(name, _)| name.len())
            .cloned()
    }
}

impl Resolver for JsResolver {
    fn strategy(&self, stream: &StreamId) -> Strategy {
        let found = self.aggregate(stream.as_str());
        let configured = found
            .as_ref()
            .and_then(|(name, _)| self.per_aggregate.iter().find(|(n, _)| n == name))
            .map_or(self.default, |(_, s)| *s);
        // Without a decider to run, a rebase can only re-place the events.
        match (configured, found) {
            (Strategy::Rebase, None) => Strategy::Append,
            (s, _) => s,
        }
    }

    async fn rerun(&self, stream: &StreamId, command: &Json) -> Result<()> {
        let (name, aggregate) = self.aggregate(stream.as_str()).ok_or_else(|| {
            Error::invalid(format!(
                "no aggregate is defined for stream {stream}: define it with store.aggregate() before syncing"
            ))
        })?;
        let id = &stream.as_str()[name.len() + 1..];
        let command =
            js_sys::JSON::parse(command.as_str()).map_err(|e| Error::invalid(message_of(&e)))?;
        aggregate.execute(&self.store, id, &command).await.map(drop)
    }

    fn rejected(&self, rejected: Rejected) {
        let Some(callback) = self.on_rejected.borrow().clone() else {
            return;
        };
        let o = Object::new();
        let set = |k: &str, v: &JsValue| {
            let _ = Reflect::set(&o, &JsValue::from_str(k), v);
        };
        set("stream", &JsValue::from_str(rejected.stream.as_str()));
        let command = rejected
            .command
            .as_ref()
            .and_then(|c| js_sys::JSON::parse(c.as_str()).ok())
            .unwrap_or(JsValue::UNDEFINED);
        set("command", &command);
        let events: Array = rejected
            .events
            .iter()
            .filter_map(|e| Json::from_value(e).ok())
            .filter_map(|j| js_sys::JSON::parse(j.as_str()).ok())
            .collect();
        set("events", &events);
        set("error", &to_js(rejected.error));
        let _ = callback.call1(&JsValue::UNDEFINED, &o);
    }
}

/// The engine behind a `Sync` object (internal: use `store.sync()`).
#[wasm_bindgen]
pub struct SyncEngine {
    client: Rc<SyncClient<Backend>>,
    transport: Rc<FetchTransport>,
    resolver: Rc<JsResolver>,
}

fn strategy_of(v: &JsValue) -> Result<Strategy> {
    match v.as_string().as_deref() {
        Some("rebase") => Ok(Strategy::Rebase),
        Some("append") => Ok(Strategy::Append),
        Some("manual") => Ok(Strategy::Manual),
        _ => Err(Error::invalid(
            "conflicts must be \"rebase\", \"append\" or \"manual\" (or an object of them by aggregate name)",
        )),
    }
}

/// Builds the sync of a store from `{ url, token?, scope?, conflicts?, pollIntervalMs?,
/// pullLimit? }`.
pub(crate) fn start(store: &Store, aggregates: Aggregates, options: &JsValue) -> Result<JsValue> {
    if store.replica().is_some() {
        return Err(Error::invalid(
            "this store is already syncing: call store.sync() once",
        ));
    }
    let url = get(options, "url")?
        .as_string()
        .filter(|u| u.starts_with("http://") || u.starts_with("https://"))
        .ok_or_else(|| Error::invalid("sync needs { url: \"http(s)://…\" }"))?;
    let url = url.trim_end_matches('/').to_owned();
    let token = get(options, "token")?;
    if !(token.is_undefined() || token.is_null() || token.is_string()) {
        return Err(Error::invalid("token must be a string"));
    }
    let scope_js = get(options, "scope")?;
    let scope: Vec<String> = if scope_js.is_undefined() || scope_js.is_null() {
        Vec::new()
    } else {
        let arr = scope_js
            .dyn_ref::<Array>()
            .ok_or_else(|| Error::invalid("scope must be an array of stream prefixes"))?;
        arr.iter()
            .map(|p| {
                p.as_string()
                    .ok_or_else(|| Error::invalid("scope must be an array of stream prefixes"))
            })
            .collect::<Result<_>>()?
    };
    let conflicts = get(options, "conflicts")?;
    let (default, per_aggregate) = if conflicts.is_undefined() || conflicts.is_null() {
        (Strategy::Rebase, Vec::new())
    } else if conflicts.is_string() {
        (strategy_of(&conflicts)?, Vec::new())
    } else if conflicts.is_object() {
        let keys = Object::keys(conflicts.unchecked_ref::<Object>());
        let per = keys
            .iter()
            .map(|k| {
                let name = k.as_string().unwrap_or_default();
                Ok((name.clone(), strategy_of(&get(&conflicts, &name)?)?))
            })
            .collect::<Result<_>>()?;
        (Strategy::Rebase, per)
    } else {
        return Err(strategy_of(&conflicts)
            .err()
            .unwrap_or_else(|| Error::invalid("conflicts")));
    };
    let mut sync_options = SyncOptions::default();
    let pull_limit = get(options, "pullLimit")?;
    if !(pull_limit.is_undefined() || pull_limit.is_null()) {
        sync_options.pull_limit = pull_limit
            .as_f64()
            .filter(|n| n.fract() == 0.0 && (1.0..=f64::from(u32::MAX)).contains(n))
            .map(|n| n as u32)
            .ok_or_else(|| {
                Error::invalid("pullLimit must be a positive integer (events per pull)")
            })?;
    }
    let clock: crate::store::Clock =
        std::sync::Arc::new(|| crate::core::event::Timestamp(js_sys::Date::now() as i64));
    let replica = store.attach_sync(scope, crate::core::append::StoreLimits::default(), clock)?;
    let engine = SyncEngine {
        client: Rc::new(SyncClient::new(replica, sync_options)),
        transport: Rc::new(FetchTransport { url, token }),
        resolver: Rc::new(JsResolver {
            store: store.clone(),
            aggregates,
            default,
            per_aggregate,
            on_rejected: RefCell::new(None),
        }),
    };
    let driver_options = Object::new();
    let _ = Object::assign(&driver_options, options.unchecked_ref());
    if let Some(name) = store.durable_name() {
        let _ = Reflect::set(
            &driver_options,
            &"storeName".into(),
            &JsValue::from_str(name),
        );
    }
    Ok(create_sync(engine, &driver_options))
}

fn set_num(o: &Object, k: &str, n: f64) {
    let _ = Reflect::set(o, &JsValue::from_str(k), &JsValue::from_f64(n));
}

fn held_to_js(held: &[(String, u64)]) -> Array {
    held.iter()
        .map(|(stream, actual)| {
            let o = Object::new();
            let _ = Reflect::set(&o, &"stream".into(), &JsValue::from_str(stream));
            set_num(&o, "actual", *actual as f64);
            JsValue::from(o)
        })
        .collect()
}

#[wasm_bindgen]
impl SyncEngine {
    /// One exchange with the server: `{ pulled, pushed, rejected, held, head, requests,
    /// resynced }`.
    #[wasm_bindgen(js_name = syncOnce)]
    pub fn sync_once(&self) -> Promise {
        let (client, transport, resolver) = (
            self.client.clone(),
            self.transport.clone(),
            self.resolver.clone(),
        );
        to_promise(async move {
            let report = client.sync(&*transport, &*resolver).await.map_err(to_js)?;
            let o = Object::new();
            set_num(&o, "pulled", report.pulled as f64);
            set_num(&o, "pushed", report.pushed as f64);
            set_num(&o, "rejected", report.rejected as f64);
            set_num(&o, "head", report.head.0 as f64);
            set_num(&o, "requests", report.requests as f64);
            let _ = Reflect::set(&o, &"resynced".into(), &report.resynced.into());
            let held: Vec<(String, u64)> = report
                .held
                .iter()
                .map(|h| (h.stream.as_str().to_owned(), h.actual.0))
                .collect();
            let _ = Reflect::set(&o, &"held".into(), &held_to_js(&held));
            Ok(o.into())
        })
    }

    /// `{ pending, checkpoint, held }` now.
    pub fn status(&self) -> Promise {
        let client = self.client.clone();
        to_promise(async move {
            let run = async {
                let set = client.replica().pending().await?;
                let checkpoint = client.checkpoint().await?;
                Ok::<_, Error>((set, checkpoint))
            };
            let (set, checkpoint) = run.await.map_err(to_js)?;
            let o = Object::new();
            set_num(&o, "pending", set.len() as f64);
            set_num(
                &o,
                "checkpoint",
                checkpoint.map_or(0.0, |c| c.position.0 as f64),
            );
            let held: Vec<(String, u64)> = set
                .streams
                .iter()
                .filter_map(|(s, p)| p.held.map(|v| (s.clone(), v.0)))
                .collect();
            let _ = Reflect::set(&o, &"held".into(), &held_to_js(&held));
            Ok(o.into())
        })
    }

    /// Resolves a held stream: `"append" | "rebase" | "discard"`; resolves to how many
    /// batches were dropped.
    pub fn resolve(&self, stream: JsValue, how: JsValue) -> Promise {
        let (client, resolver) = (self.client.clone(), self.resolver.clone());
        to_promise(async move {
            let run = async {
                let stream = crate::wasm::convert::stream_arg(&stream)?;
                let resolution = match how.as_string().as_deref() {
                    Some("append") => Resolution::Append,
                    Some("rebase") => Resolution::Rebase,
                    Some("discard") => Resolution::Discard,
                    _ => {
                        return Err(Error::invalid(
                            "resolve(stream, \"append\" | \"rebase\" | \"discard\")",
                        ))
                    }
                };
                client.resolve(&stream, resolution, &*resolver).await
            };
            Ok(JsValue::from_f64(run.await.map_err(to_js)? as f64))
        })
    }

    /// The pending events, in local append order (position 0).
    pub fn pending(&self) -> Promise {
        let store = self.resolver.store.clone();
        to_promise(async move {
            let events = store.pending_events().await.map_err(to_js)?;
            crate::wasm::convert::recorded_to_js(&events).map_err(to_js)
        })
    }

    /// Calls `callback()` after each change this tab makes to the pending events.
    #[wasm_bindgen(js_name = onPendingChange)]
    pub fn on_pending_change(&self, callback: Function) {
        let replica = self.client.replica().clone();
        spawn(async move {
            let mut seen = replica.local_changes().head();
            while replica.local_changes().wait_beyond(seen).await {
                seen = replica.local_changes().head();
                let _ = callback.call0(&JsValue::UNDEFINED);
            }
        });
    }

    /// Another tab changed the pending events: wake this tab's views.
    #[wasm_bindgen(js_name = pendingChangedElsewhere)]
    pub fn pending_changed_elsewhere(&self) {
        self.client.replica().pending_changed();
    }

    /// Where rejections are reported.
    #[wasm_bindgen(js_name = setOnRejected)]
    pub fn set_on_rejected(&self, callback: Function) {
        *self.resolver.on_rejected.borrow_mut() = Some(callback);
    }
}
