//! `store.sync({ url, token, scope, conflicts })` and the `Sync` class it returns: the Rust
//! [`SyncClient`] over HTTP `fetch` (`transport.rs`), JavaScript aggregates resolving conflicts
//! (`resolver.rs`), and the engine's [`Scheduler`] deciding when to sync, whose actions
//! `driver.rs` performs with the platform's primitives (Web Locks, the live stream, timers).

mod convert;
mod driver;
mod listeners;
mod resolver;
mod transport;
mod types;

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;

use crate::engine::Store;
use crate::error::{Error, Result};
use crate::sync::client::{Resolution, SyncClient};
use crate::sync::scheduler::Scheduler;
use crate::sync::settings::SyncSettings;
use crate::wasm::abort::{Abort, AbortOptionsArg};
use crate::wasm::aggregate::Aggregates;
use crate::wasm::error::to_js;
use crate::wasm::promise::to_promise;
use convert::SyncListeners;
use driver::{Driver, Parts};
use listeners::subscribe;
use resolver::JsResolver;
use transport::FetchTransport;

/// Syncing of one store with an `eventfold-server` (`store.sync()`): `now()` for one exchange,
/// `start()` / `stop()` for background syncing in one tab of the store at a time, the status
/// and its listeners. See docs/sync.md.
///
/// ```ts
/// const sync = db.sync({ url: "http://127.0.0.1:8787", token, scope: ["order-"] });
/// sync.onStatus(({ online, pending }) => render(online, pending));
/// sync.start();
/// ```
#[wasm_bindgen(js_name = Sync)]
pub struct SyncHandle {
    driver: Rc<Driver>,
}

/// Builds the sync of a store from `{ url, token?, scope?, conflicts?, pollIntervalMs?,
/// pullLimit? }`.
pub(crate) fn start(
    store: &Store,
    aggregates: Aggregates,
    options: &JsValue,
) -> Result<SyncHandle> {
    if store.replica().is_some() {
        return Err(Error::invalid(
            "this store is already syncing: call store.sync() once",
        ));
    }
    let settings: SyncSettings = crate::wasm::convert::options(options)?;
    let lock_name = settings.lock_name(store.durable_name());
    let SyncSettings {
        url,
        token,
        scope,
        conflicts,
        client,
        scheduler,
    } = settings;

    let clock: crate::store::Clock =
        std::sync::Arc::new(|| crate::core::event::Timestamp(js_sys::Date::now() as i64));
    let replica = store.attach_sync(scope, crate::core::append::StoreLimits::default(), clock)?;
    let listeners = Rc::new(RefCell::new(SyncListeners::default()));
    let seed = (js_sys::Math::random() * 9_007_199_254_740_992.0) as u64;
    let driver = Driver::new(Parts {
        machine: Scheduler::new(scheduler, seed),
        client: Rc::new(SyncClient::new(replica, client)),
        transport: Rc::new(FetchTransport {
            url,
            token: token.map_or(JsValue::UNDEFINED, JsValue::from),
        }),
        resolver: Rc::new(JsResolver {
            store: store.clone(),
            aggregates,
            conflicts,
            listeners: listeners.clone(),
        }),
        listeners,
        lock_name,
        shared: store.durable_name().is_some(),
    });
    Ok(SyncHandle { driver })
}

#[wasm_bindgen(js_class = Sync)]
impl SyncHandle {
    /// Pushes pending events and pulls new ones now; resolves to what it did. Rejects with
    /// `NETWORK` when offline (nothing is lost). Calls made while an exchange runs share it.
    ///
    /// `{ signal }`: an `AbortSignal`. Aborting it rejects this call with `signal.reason`. When
    /// no other `now()` waits for the exchange and background syncing is off, the exchange
    /// stops at its next request: pulled pages are stored whole or not at all, pushed events
    /// stay pending until a server answer confirms them, and the next sync goes on from there.
    /// A background exchange (`start()`) carries on.
    ///
    /// ```ts
    /// const { pushed, pulled } = await sync.now();
    /// await sync.now({ signal: AbortSignal.timeout(10_000) });
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<SyncReport>")]
    pub fn now(&self, options: Option<AbortOptionsArg>) -> Promise {
        match Abort::from_options(options) {
            Ok(abort) => self.driver.now(abort),
            Err(e) => Promise::reject(&to_js(e)),
        }
    }

    /// Keeps syncing in the background (pending events, live notifications, back online,
    /// every `pollIntervalMs`, retries with backoff), in one tab of the store at a time.
    ///
    /// ```ts
    /// sync.start();
    /// ```
    pub fn start(&self) {
        self.driver.update(|m| m.start());
    }

    /// Stops background syncing (an exchange in flight finishes).
    ///
    /// ```ts
    /// sync.stop();
    /// ```
    pub fn stop(&self) {
        self.driver.update(|m| m.stop());
    }

    /// The latest status: `{ pending, checkpoint, online, syncing, leader, lastSync, lastError,
    /// held, resyncedAt }` (a new object each time).
    ///
    /// ```ts
    /// if (!sync.status.online) showOffline();
    /// ```
    #[wasm_bindgen(getter, unchecked_return_type = "SyncStatus")]
    pub fn status(&self) -> JsValue {
        self.driver.status()
    }

    /// Calls `callback(status)` on every change; returns a function that unsubscribes.
    ///
    /// ```ts
    /// const off = sync.onStatus(({ pending }) => badge(pending));
    /// ```
    #[wasm_bindgen(js_name = onStatus, unchecked_return_type = "() => void")]
    pub fn on_status(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(status: SyncStatus) => void")] callback: Function,
    ) -> JsValue {
        subscribe(&self.driver.listeners, |l| &mut l.status, callback)
    }

    /// Calls `callback({ stream, command, events, error })` for each pending command or
    /// append dropped for good (a rebase found the command rejected, a discard, a refusal);
    /// returns a function that unsubscribes.
    ///
    /// ```ts
    /// sync.onRejected(({ command, error }) => toast(`${command.type}: ${error.message}`));
    /// ```
    #[wasm_bindgen(js_name = onRejected, unchecked_return_type = "() => void")]
    pub fn on_rejected(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(rejected: RejectedCommand) => void")]
        callback: Function,
    ) -> JsValue {
        subscribe(&self.driver.listeners, |l| &mut l.rejected, callback)
    }

    /// Calls `callback({ stream, actual })` for each stream an exchange leaves held by the
    /// `manual` strategy; returns a function that unsubscribes.
    ///
    /// ```ts
    /// sync.onConflict(({ stream }) => askUser(stream));
    /// ```
    #[wasm_bindgen(js_name = onConflict, unchecked_return_type = "() => void")]
    pub fn on_conflict(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(held: HeldStream) => void")] callback: Function,
    ) -> JsValue {
        subscribe(&self.driver.listeners, |l| &mut l.conflict, callback)
    }

    /// Resolves a held stream: `"append"` re-places its events, `"rebase"` decides its
    /// commands again, `"discard"` drops them; resolves to the number of commands dropped,
    /// once `status` shows the result.
    ///
    /// ```ts
    /// await sync.resolve("order-42", "rebase");
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<number>")]
    pub fn resolve(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] stream: JsValue,
        #[wasm_bindgen(unchecked_param_type = "\"append\" | \"rebase\" | \"discard\"")]
        how: JsValue,
    ) -> Promise {
        let driver = self.driver.clone();
        to_promise(async move {
            let run = async {
                let stream = crate::wasm::convert::stream_arg(&stream)?;
                let resolution: Resolution = serde_wasm_bindgen::from_value(how).map_err(|_| {
                    Error::invalid("resolve(stream, \"append\" | \"rebase\" | \"discard\")")
                })?;
                driver
                    .client
                    .resolve(&stream, resolution, &*driver.resolver)
                    .await
            };
            let dropped = run.await.map_err(to_js)?;
            // Read the status now, so it shows the resolution when this resolves.
            let read = driver.update(|m| m.reserve_read());
            let status = driver.client.status().await.ok();
            driver.update(|m| m.handle_status_read(read, status));
            Ok(JsValue::from_f64(dropped as f64))
        })
    }

    /// The pending events, in local append order (`position` 0).
    ///
    /// ```ts
    /// const unsynced = new Set((await sync.pending()).map((e) => e.stream));
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<RecordedEvent[]>")]
    pub fn pending(&self) -> Promise {
        let store = self.driver.resolver.store.clone();
        to_promise(async move {
            let events = store.pending_events().await.map_err(to_js)?;
            crate::wasm::convert::recorded_to_js(&events).map_err(to_js)
        })
    }
}
