//! The upkeep of a store: storage health, compaction, data loss, persistence, closing.

use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;

use super::JsEventStore;
use crate::error::Error;
use crate::wasm::convert::{self, get};
use crate::wasm::promise::promise;

#[wasm_bindgen(js_class = EventStore)]
impl JsEventStore {
    /// Storage health of a durable store: `{ usage, quota, persisted }` in bytes, from
    /// `navigator.storage` (for the whole origin). Rejects with `UNSUPPORTED` on an in-memory
    /// store or where `navigator.storage` is missing.
    ///
    /// ```ts
    /// const { usage, quota, persisted } = await db.storage();
    /// ```
    #[wasm_bindgen(
        unchecked_return_type = "Promise<{ usage: number; quota: number; persisted: boolean }>"
    )]
    pub fn storage(&self) -> Promise {
        let store = self.store.clone();
        promise(async move { Ok(convert::plain(&store.storage_estimate().await?)) })
    }

    /// Compacts the log now: merges runs of adjacent small records (a log built from
    /// single-event appends has one per event) into one record per stream, a window of up to
    /// 4,096 events per step, so that such a log reads like one written in batches; a second
    /// pass then merges small windows with each other and the records the first passed over. A
    /// step decodes and encodes in short slices outside any transaction (pausing while this tab
    /// appends, and waiting up to half a second for a pause in its appends before it reads and
    /// before it writes) and holds the write lock only for its final write. Positions, versions, ids
    /// and every read answer stay the same; appends from this and other tabs go on, and a crash at any point
    /// leaves the log whole. `onProgress` is called after each step with `{ compactedTo, head,
    /// recordsRead, recordsWritten, events }`; resolves to the totals. Durable stores also do
    /// this by themselves once the connection has been idle for a second: no append, read of
    /// the log or projection/read-model catch-up (unless opened with `compaction: "manual"`);
    /// an in-memory store has nothing to compact.
    ///
    /// ```ts
    /// const { recordsRead, recordsWritten } = await db.compact({
    ///   onProgress: (p) => console.log(`compacted up to ${p.compactedTo} of ${p.head}`),
    /// });
    /// ```
    #[wasm_bindgen(
        unchecked_return_type = "Promise<{ compactedTo: number; head: number; recordsRead: number; recordsWritten: number; events: number }>"
    )]
    pub fn compact(
        &self,
        #[wasm_bindgen(
            unchecked_param_type = "{ onProgress?: (progress: { compactedTo: number; head: number; recordsRead: number; recordsWritten: number; events: number }) => void }"
        )]
        options: JsValue,
    ) -> Promise {
        let store = self.store.clone();
        promise(async move {
            let on_progress = get(&options, "onProgress")?;
            let on_progress = match on_progress.is_undefined() || on_progress.is_null() {
                true => None,
                false => Some(
                    on_progress
                        .dyn_into::<Function>()
                        .map_err(|_| Error::invalid("compact: onProgress must be a function"))?,
                ),
            };
            let total = store
                .compact(|step| {
                    if let Some(f) = &on_progress {
                        let _ = f.call1(&JsValue::UNDEFINED, &convert::plain(step));
                    }
                })
                .await?;
            Ok(convert::plain(&total))
        })
    }

    /// The browser's own message when it deleted this database's previous contents before
    /// this open, or `undefined`. Chromium does that when it finds the database's files corrupt
    /// (after a crash, a full disk or a damaged file) and says so once, to the next open; the
    /// store then opens empty. Events not yet synced are gone; a synced store pulls the server's
    /// log again on its next sync. Always `undefined` in memory, on SQLite, and in browsers that
    /// do not report it.
    ///
    /// ```ts
    /// const db = await EventStore.open({ name: "app" });
    /// if (db.dataLoss) showBanner(`Local data was lost: ${db.dataLoss}`);
    /// ```
    #[wasm_bindgen(getter, js_name = dataLoss)]
    pub fn data_loss(&self) -> Option<String> {
        self.store.data_loss().map(str::to_owned)
    }

    /// Asks the browser to keep this origin's data under storage pressure
    /// (`navigator.storage.persist()`); resolves to whether storage is persisted. Rejects with
    /// `UNSUPPORTED` on an in-memory store.
    ///
    /// ```ts
    /// if (!(await db.requestPersistence())) console.warn("data may be evicted");
    /// ```
    #[wasm_bindgen(js_name = requestPersistence, unchecked_return_type = "Promise<boolean>")]
    pub fn request_persistence(&self) -> Promise {
        let store = self.store.clone();
        promise(async move { Ok(JsValue::from_bool(store.request_persistence().await?)) })
    }

    /// Closes the store: subscriptions end, and on a durable store every later call rejects
    /// with `STORE_CLOSED` (appends already in flight still complete). Idempotent.
    ///
    /// ```ts
    /// db.close();
    /// ```
    pub fn close(&self) {
        self.store.close();
    }
}
