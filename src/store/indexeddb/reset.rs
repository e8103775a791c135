//! [`ResetStore`] on IndexedDB: one readwrite transaction over `chunks`, `state` and
//! `records` drops the events of the streams a reset names, forgets derived state and adds
//! the reset's marker; nothing of it is visible before it commits, and an abort changes nothing.
//!
//! Records of dropped streams are overwritten by **hollow** records with the same `p`, `q` and
//! `n` (see [`codec`](super::codec)): positions never move or come back, the `prev` chain stays
//! whole, and a connection (another tab) with a stale head still fails its fast append and
//! refreshes. The marker, a hollow record at `head + 1`, moves the head, so every remembered
//! head is stale, and tells a refreshing connection that its id map must be read again.

use wasm_bindgen::JsValue;
use web_sys::{IdbKeyRange, IdbObjectStore, IdbTransactionMode};

use super::codec::{decode_header, encode_hollow, hollow, window, Hollow};
use super::request::{DomError, Request, TxDone};
use super::schema::{CHUNKS, RECORDS, STATE};
use super::{IndexedDbStore, Inner};
use crate::core::event::{Position, Timestamp};
use crate::core::json::Json;
use crate::error::{Error, Result};
use crate::store::{LogReset, ResetOutcome, ResetStore};

/// Records read per `getAll` while walking the log.
const PAGE: u32 = 256;

impl ResetStore for IndexedDbStore {
    async fn reset_log(&self, reset: &LogReset<'_>) -> Result<ResetOutcome> {
        let inner = &*self.inner;
        let tx = inner.transaction_on(&[CHUNKS, STATE, RECORDS], IdbTransactionMode::Readwrite)?;
        let done = TxDone::new(&tx);
        let run = async {
            let os = |name: &str| tx.object_store(name).map_err(|e| inner.js_error(e));
            let outcome = drop_streams(inner, &os(CHUNKS)?, reset).await?;
            rewrite_state(inner, &os(STATE)?, reset).await?;
            os(RECORDS)?.clear().map_err(|e| inner.js_error(e))?;
            Ok::<_, Error>(outcome)
        };
        match run.await {
            Ok(outcome) => {
                #[allow(deprecated)]
                // web-sys marks IDBTransaction.commit() deprecated; it is standard
                let _ = tx.commit();
                done.await.map_err(|e| inner.dom_error(e))?;
                inner.was_reset(outcome.head, true);
                Ok(outcome)
            }
            Err(e) => Err(inner.abort(&tx, done, e).await),
        }
    }
}

/// Overwrites the records of dropped streams with hollow ones and adds the marker.
async fn drop_streams(
    inner: &Inner,
    chunks: &IdbObjectStore,
    reset: &LogReset<'_>,
) -> Result<ResetOutcome> {
    let dom = |e: DomError| inner.dom_error(e);
    let js = |e: JsValue| inner.js_error(e);
    let (mut dropped, mut kept) = (0, 0);
    let (mut head, mut last_ts) = (Position(0), Timestamp(i64::MIN));
    loop {
        let range = IdbKeyRange::lower_bound_with_open(&JsValue::from_f64(head.0 as f64), true)
            .map_err(js)?;
        let req = chunks.get_all_with_key_and_limit(&range, PAGE);
        let page = js_sys::Array::from(&Request::from_call(req).map_err(dom)?.await.map_err(dom)?);
        for record in page.iter() {
            let header = decode_header(&record)?;
            (head, last_ts) = (header.last_position, header.timestamp);
            if hollow(&record).is_some() {
                continue;
            }
            let n = js_sys::Reflect::get(&record, &JsValue::from_str("n"))
                .ok()
                .and_then(|n| n.as_f64())
                .map_or(0, |n| n as u64);
            let stream = js_sys::Reflect::get(&record, &JsValue::from_str("s"))
                .ok()
                .and_then(|s| s.as_string())
                .ok_or_else(|| Error::CorruptData {
                    record: format!("{CHUNKS}/{}", header.last_position),
                    message: "field s is not a stream id".into(),
                })?;
            if (reset.drops)(&stream) {
                let place =
                    encode_hollow(header.last_position, n, header.timestamp, Hollow::Dropped)?;
                if window(&record)?.is_some() {
                    // A compacted record's place: its list of positions and its window.
                    for k in ["q", "w"] {
                        let key = JsValue::from_str(k);
                        let value = js_sys::Reflect::get(&record, &key).map_err(js)?;
                        js_sys::Reflect::set(&place, &key, &value).map_err(js)?;
                    }
                }
                chunks.put(&place).map_err(js)?;
                dropped += n;
            } else {
                kept += n;
            }
        }
        if page.length() < PAGE {
            break;
        }
    }
    let marker_at = Position(head.0 + 1);
    let now = Timestamp(js_sys::Date::now() as i64).max(last_ts);
    // `add`: a marker position someone else took in between must fail, not be overwritten.
    chunks
        .add(&encode_hollow(marker_at, 1, now, Hollow::Reset)?)
        .map_err(js)?;
    Ok(ResetOutcome {
        dropped,
        kept,
        head: marker_at,
    })
}

/// Deletes the state records `forgets` names, then applies the rewrites.
async fn rewrite_state(inner: &Inner, state: &IdbObjectStore, reset: &LogReset<'_>) -> Result<()> {
    let dom = |e: DomError| inner.dom_error(e);
    let js = |e: JsValue| inner.js_error(e);
    let keys = Request::from_call(state.get_all_keys()).map_err(dom)?;
    let mut currents = Vec::with_capacity(reset.rewrites.len());
    for (key, _) in &reset.rewrites {
        currents.push(Request::from_call(state.get(&JsValue::from_str(key))).map_err(dom)?);
    }
    for key in js_sys::Array::from(&keys.await.map_err(dom)?).iter() {
        if key.as_string().is_some_and(|k| (reset.forgets)(&k)) {
            state.delete(&key).map_err(js)?;
        }
    }
    for ((key, rewrite), current) in reset.rewrites.iter().zip(currents) {
        let current = current.await.map_err(dom)?;
        let current =
            match current.as_string() {
                None if current.is_undefined() => None,
                text => Some(text.and_then(|t| Json::parse(t).ok()).ok_or_else(|| {
                    Error::CorruptData {
                        record: format!("{STATE}/{key}"),
                        message: "the stored value is not JSON text".into(),
                    }
                })?),
            };
        let js_key = JsValue::from_str(key);
        match rewrite(current.as_ref())? {
            Some(value) => state.put_with_key(&JsValue::from_str(value.as_str()), &js_key),
            None => state.delete(&js_key),
        }
        .map_err(js)?;
    }
    Ok(())
}
