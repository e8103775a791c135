//! Storage health: `navigator.storage.estimate()`, `persisted()` and `persist()`, in a window
//! or a worker.

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{StorageEstimate, StorageManager};

use super::request::DomError;
use crate::error::{Error, Result};

/// What the browser reports about this origin's storage.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct StorageInfo {
    /// Bytes used by this origin (all its storage, not only this database).
    pub usage: u64,
    /// Bytes this origin may use.
    pub quota: u64,
    /// Whether the browser keeps the data under storage pressure (`persisted()`).
    pub persisted: bool,
}

fn manager() -> Result<StorageManager> {
    let global = js_sys::global();
    js_sys::Reflect::get(&global, &JsValue::from_str("navigator"))
        .ok()
        .and_then(|n| js_sys::Reflect::get(&n, &JsValue::from_str("storage")).ok())
        .and_then(|s| s.dyn_into::<StorageManager>().ok())
        .ok_or_else(|| Error::Unsupported {
            message: "navigator.storage is not available in this environment".into(),
        })
}

async fn settle(promise: std::result::Result<js_sys::Promise, JsValue>) -> Result<JsValue> {
    let promise = promise.map_err(|e| DomError::from_js(&e).into_error(None))?;
    JsFuture::from(promise)
        .await
        .map_err(|e| DomError::from_js(&e).into_error(None))
}

fn bytes(n: Option<f64>) -> u64 {
    n.filter(|n| n.is_finite() && *n >= 0.0).unwrap_or(0.0) as u64
}

/// Reads the estimate and the persistence flag.
///
/// # Errors
/// [`Error::Unsupported`] without `navigator.storage`; [`Error::Storage`] if the browser fails.
pub(crate) async fn storage_info() -> Result<StorageInfo> {
    let m = manager()?;
    let estimate: StorageEstimate = settle(m.estimate()).await?.unchecked_into();
    let persisted = settle(m.persisted()).await?.as_bool().unwrap_or(false);
    Ok(StorageInfo {
        usage: bytes(estimate.get_usage()),
        quota: bytes(estimate.get_quota()),
        persisted,
    })
}

/// Asks for persistent storage; returns whether it is granted.
///
/// # Errors
/// As [`storage_info`].
pub(crate) async fn request_persistence() -> Result<bool> {
    let m = manager()?;
    Ok(settle(m.persist()).await?.as_bool().unwrap_or(false))
}
