//! The log: appends, reads and subscriptions.

use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;

use super::JsEventStore;
use crate::core::event::Position;
use crate::error::{Error, Result};
use crate::store::EventStore as _;
use crate::wasm::convert::{self, get, opt_u64};
use crate::wasm::error::to_js;
use crate::wasm::promise::promise;
use crate::wasm::subscription;
use crate::wasm::types::{opt, AppendOptionsArg, ReadAllOptionsArg, ReadStreamOptionsArg};

#[wasm_bindgen(typescript_custom_section)]
const TS_SUBSCRIBE: &'static str = r#"
/** What `store.subscribe(options, callback)` returns: call it to stop the subscription. */
export interface Unsubscribe {
  (): void;
  /** Whether the subscription has stopped (stopped, the store closed, or the callback failed). */
  readonly closed: boolean;
  /** The position of the last event delivered. */
  readonly checkpoint: number;
  /** @deprecated Call the function itself: `unsubscribe()`. `close()` works in 0.1 and goes in the next release. */
  close(): void;
  [Symbol.dispose](): void;
}

/**
 * What `store.subscribe(options)` without a callback returns: the batches, in position order,
 * catch-up then live. The subscription reads at most one batch ahead of the loop. `break` (or
 * `return()`, `close()`, `options.signal`) ends it; an error that stops it is thrown by the loop.
 */
export interface EventBatches<E extends EventShape = AnyEvent> extends AsyncIterableIterator<Recorded<E>[]> {
  /** Ends the subscription (as `break` does). */
  close(): void;
  /** Whether the subscription has ended. */
  readonly closed: boolean;
  /** The position of the last event delivered. */
  readonly checkpoint: number;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface EventStore {
  /**
   * Calls `callback` with batches of events in position order: first those already stored
   * after `after`, then new ones as they are appended (in the browser, from other tabs too).
   * Options: `{ after?, streamPrefix?, types?, batchSize? (default 500), onError?, signal? }`.
   * When the callback returns a promise, the next batch waits for it; when it throws, the
   * subscription stops and `onError` receives the error. Returns the function that stops it
   * (an aborted `signal` stops it too). Given the app's event union `E`, the events are typed.
   *
   * ```ts
   * const unsubscribe = store.subscribe({ after: 0, streamPrefix: "order-" }, (events) => {
   *   for (const e of events) console.log(e.position, e.type);
   * });
   * unsubscribe();
   * ```
   */
  subscribe<E extends EventShape = AnyEvent>(options: SubscribeOptions | undefined, callback: (events: Recorded<E>[]) => void | Promise<void>): Unsubscribe;
  /**
   * Without a callback: the same batches as an async iterator.
   *
   * ```ts
   * for await (const events of store.subscribe({ after: 0, streamPrefix: "order-" })) {
   *   render(events);
   *   if (done) break; // ends the subscription
   * }
   * ```
   */
  subscribe<E extends EventShape = AnyEvent>(options?: SubscribeOptions): EventBatches<E>;
}
"#;

#[wasm_bindgen(js_class = EventStore)]
impl JsEventStore {
    /// Appends events to the end of a stream, atomically (all or none). Ids are generated for
    /// events without one; pass your own (`crypto.randomUUID()`) to make retries idempotent.
    /// Resolves to `{ version, position }`: the stream's version and the global position of the
    /// last event. Rejects with `WRONG_EXPECTED_VERSION`, `EVENT_ID_CONFLICT` or
    /// `INVALID_INPUT`, having written nothing.
    ///
    /// ```ts
    /// const { version } = await store.append("order-1",
    ///   [{ type: "ItemAdded", data: { sku: "p1", qty: 2 }, id: crypto.randomUUID() }],
    ///   { expectedVersion: 1 });
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<AppendResult>")]
    pub fn append(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] stream: JsValue,
        #[wasm_bindgen(unchecked_param_type = "EventInput[]")] events: JsValue,
        options: Option<AppendOptionsArg>,
    ) -> Promise {
        let options = opt(options);
        let parsed = (|| {
            Ok::<_, Error>((
                convert::stream_arg(&stream)?,
                convert::new_events(&events)?,
                convert::expected_version(&options)?,
            ))
        })();
        let store = self.store.clone();
        promise(async move {
            let (stream, events, expected) = parsed?;
            Ok(convert::plain(
                &store.append(&stream, events, expected).await?,
            ))
        })
    }

    /// Reads one stream: `{ from?, limit?, direction?: "forward" | "backward" }`. Forward
    /// starts at version 1 by default, backward at the last version. A missing stream reads
    /// as `[]`.
    ///
    /// Given the app's event union (see `EventShape`), the events come back typed, narrowing
    /// `data` by `type` (the store does not check the data against it).
    ///
    /// ```ts
    /// const last10 = await store.readStream("order-1", { direction: "backward", limit: 10 });
    /// const typed = await store.readStream<OrderEvent>("order-1");
    /// ```
    #[wasm_bindgen(js_name = readStream, unchecked_return_type = "Promise<Recorded<E>[]>")]
    pub fn read_stream(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] stream: JsValue,
        options: Option<ReadStreamOptionsArg>,
    ) -> Promise {
        let options = opt(options);
        let parsed =
            convert::stream_arg(&stream).and_then(|s| Ok((s, convert::options(&options)?)));
        let store = self.store.clone();
        promise(async move {
            let (stream, options) = parsed?;
            if let Some(events) = store.read_stream_js(&stream, &options).await? {
                return Ok(events.into());
            }
            crate::wasm::convert::recorded_to_js(&store.read_stream(&stream, &options).await?)
        })
    }

    /// Reads the global log after a position: `{ after?, limit?, filter?: { streamPrefix?,
    /// types? } }`. `limit` counts the events returned (after filtering).
    ///
    /// ```ts
    /// const page = await store.readAll({ after: 0, limit: 1000, filter: { streamPrefix: "order-" } });
    /// ```
    #[wasm_bindgen(js_name = readAll, unchecked_return_type = "Promise<Recorded<E>[]>")]
    pub fn read_all(&self, options: Option<ReadAllOptionsArg>) -> Promise {
        let parsed = convert::options(&opt(options));
        let store = self.store.clone();
        promise(async move { crate::wasm::batch::JsPages::read_js(&store, &parsed?).await })
    }

    /// The stream's version: its number of events, 0 if it does not exist.
    #[wasm_bindgen(js_name = streamVersion, unchecked_return_type = "Promise<number>")]
    pub fn stream_version(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] stream: JsValue,
    ) -> Promise {
        let parsed = convert::stream_arg(&stream);
        let store = self.store.clone();
        promise(async move {
            let v = store.stream_version(&parsed?).await?;
            Ok(JsValue::from_f64(v.0 as f64))
        })
    }

    /// The global position of the newest event (0 for an empty store).
    #[wasm_bindgen(js_name = headPosition, unchecked_return_type = "Promise<number>")]
    pub fn head_position(&self) -> Promise {
        let store = self.store.clone();
        promise(async move { Ok(JsValue::from_f64(store.head().await?.0 as f64)) })
    }

    /// Delivers batches of events in position order: first those already stored after
    /// `after`, then new ones as they are appended (in the browser, from other tabs too).
    /// Declared in `TS_SUBSCRIBE` (two forms: with a callback it returns a function that stops
    /// it; without, an async iterator of batches).
    #[wasm_bindgen(skip_typescript)]
    pub fn subscribe(
        &self,
        options: JsValue,
        callback: JsValue,
    ) -> std::result::Result<JsValue, JsValue> {
        let parse = || -> Result<_> {
            let callback = if callback.is_undefined() || callback.is_null() {
                None
            } else {
                Some(
                    callback
                        .dyn_into::<Function>()
                        .map_err(|_| Error::invalid("subscribe needs a callback function"))?,
                )
            };
            let on_error = get(&options, "onError")?.dyn_into::<Function>().ok();
            let batch = opt_u64(&options, "batchSize")?.unwrap_or(500);
            Ok((
                Position(opt_u64(&options, "after")?.unwrap_or(0)),
                convert::options(&options)?,
                usize::try_from(batch).unwrap_or(usize::MAX),
                callback,
                on_error,
                convert::abort_signal(&options)?,
            ))
        };
        let (after, filter, batch, callback, on_error, signal) = parse().map_err(to_js)?;
        let store = self.store.clone();
        Ok(match callback {
            Some(callback) => {
                let sub =
                    subscription::start(store, after, filter, batch, callback, on_error, None);
                subscription::unsubscriber(sub, &signal).into()
            }
            None => {
                let channel = subscription::batch_channel();
                let end = channel.end();
                let sub = subscription::start(
                    store,
                    after,
                    filter,
                    batch,
                    channel.push(),
                    Some(end.clone()),
                    Some(end),
                );
                channel.attach(sub, &signal)
            }
        })
    }
}
