//! Futures over raw IndexedDB requests and transactions: the layer under the hot paths.
//!
//! Two layers serve the store, split by what each path needs (docs/storage.md, "Which layer
//! serves what"):
//!
//! - **`indexed_db_futures`** (its typed API): the database lifecycle, in `schema.rs`: the
//!   factory, the open request at [`SCHEMA_VERSION`](super::SCHEMA_VERSION) with its
//!   `upgradeneeded` listener creating the object stores and indexes of every migration, the
//!   version read behind `SCHEMA_TOO_NEW`; and the reads off the hot paths, in `models.rs`:
//!   a state record (snapshots, projection checkpoints) and a read-model record by key, each a
//!   typed `get`, and a read-model query, a typed `getAll` on the `entries` index, each on a
//!   readonly transaction of its own. A failure there is a request whose
//!   error aborts only a transaction the read owns, so the crate's behaviour (the error's
//!   default action runs, the readonly transaction is aborted when dropped, after the read)
//!   changes nothing.
//! - **This module, raw `web-sys`**: every other request. The crate cannot express what they
//!   need: its requests leave a failed request's default action alone, so the error aborts
//!   the transaction, where [`Request`] cancels it (`preventDefault`) and lets the caller
//!   decide (the append's refresh attempt, `swap_state`); its requests always install
//!   listeners, where an append's `add`s and a compaction's writes are fired without any (their
//!   failure aborts the transaction anyway, and a listener per record is measurable on bulk
//!   writes); its transactions abort when dropped and report an abort as an error without the
//!   transaction's `error`, where [`TxDone`] reports the abort's `DOMException` (a
//!   `ConstraintError` on `prev` is the fast append's compare-and-set failing,
//!   `QuotaExceededError` is `QUOTA_EXCEEDED`). The log reads (`readAll`, `readStream`, the
//!   head, the id map) stay here too: they are hot paths, and the refresh reads run inside
//!   the append's readwrite transaction.
//!
//! Also raw, in `schema.rs`: the `versionchange` and `close` listeners of the open connection
//! (`CloseWatch`): the store must close the connection inside the `versionchange` event, and
//! the crate offers `versionchange` only as a polled receiver behind its `version-change`
//! feature (tokio's `select!` and another event-listener crate), which would need a task per
//! open store to turn events back into a callback; and the 1 → 2 migration's cursor walk
//! inside the upgrade (the crate's cursors are futures, and its upgrade listener may only
//! await behind the `async-upgrade` feature). The store has no database deletion and does not
//! listen to `blocked` (every eventfold connection closes on `versionchange`), as before.
//!
//! Each helper here is small and holds its JavaScript callbacks only as long as it lives.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{DomException, Event, IdbRequest, IdbTransaction};

use crate::error::{Error, Result};

/// A DOMException as IndexedDB reports it: its `name` decides the typed error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DomError {
    /// The DOMException name (`QuotaExceededError`, `ConstraintError`, ...).
    pub name: String,
    /// The browser's message.
    pub message: String,
}

impl DomError {
    /// Reads name and message from any thrown value (a DOMException, an Error or a string).
    pub fn from_js(value: &JsValue) -> Self {
        if let Some(e) = value.dyn_ref::<DomException>() {
            return DomError {
                name: e.name(),
                message: e.message(),
            };
        }
        let field = |k: &str| {
            js_sys::Reflect::get(value, &JsValue::from_str(k))
                .ok()
                .and_then(|v| v.as_string())
        };
        DomError {
            name: field("name").unwrap_or_else(|| "UnknownError".into()),
            message: field("message")
                .or_else(|| value.as_string())
                .unwrap_or_default(),
        }
    }

    /// Reads name and message from an `indexed_db_futures` error (a DOMException it wrapped,
    /// or, for its own failures, `UnknownError` with its description).
    pub fn from_idb(e: &indexed_db_futures::error::Error) -> Self {
        use indexed_db_futures::error::{Error as IdbError, JSError};
        match e {
            IdbError::DomException(e) => DomError::from_js(e.as_ref()),
            IdbError::Unknown(JSError::Error(e)) => DomError::from_js(e),
            IdbError::Unknown(JSError::Unknown(e)) => DomError::from_js(e),
            other => DomError {
                name: "UnknownError".into(),
                message: other.to_string(),
            },
        }
    }

    fn from_option(e: Option<DomException>, fallback: &str) -> Self {
        match e {
            Some(e) => DomError {
                name: e.name(),
                message: e.message(),
            },
            None => DomError {
                name: fallback.into(),
                message: String::new(),
            },
        }
    }

    /// Maps the exception to eventfold's typed error. `closed` is the reason the store was
    /// closed, if it was: operations on a closing connection then report `STORE_CLOSED`.
    pub fn into_error(self, closed: Option<String>) -> Error {
        if let Some(reason) = closed {
            if matches!(
                self.name.as_str(),
                "InvalidStateError" | "AbortError" | "TransactionInactiveError"
            ) {
                return Error::StoreClosed { reason };
            }
        }
        error_from_dom_exception(&self.name, &self.message)
    }
}

impl From<JsValue> for DomError {
    fn from(e: JsValue) -> Self {
        DomError::from_js(&e)
    }
}

impl From<indexed_db_futures::error::Error> for DomError {
    fn from(e: indexed_db_futures::error::Error) -> Self {
        DomError::from_idb(&e)
    }
}

/// The typed error for a DOMException `name` (with its `message`).
///
/// ```
/// # #[cfg(target_arch = "wasm32")] {
/// use eventfold::store::indexeddb::error_from_dom_exception;
/// assert_eq!(error_from_dom_exception("QuotaExceededError", "full").code(), "QUOTA_EXCEEDED");
/// # }
/// ```
///
/// `QuotaExceededError` → [`Error::QuotaExceeded`]; `VersionError` → [`Error::SchemaTooNew`]
/// (versions unknown here: callers that know them build the variant themselves);
/// `InvalidStateError` (a closing or closed connection) → [`Error::StoreClosed`]; `AbortError`
/// and everything else → [`Error::Storage`] naming the exception.
pub fn error_from_dom_exception(name: &str, message: &str) -> Error {
    match name {
        "QuotaExceededError" => Error::QuotaExceeded {
            message: message.to_string(),
        },
        "VersionError" => Error::SchemaTooNew {
            found: 0,
            supported: super::SCHEMA_VERSION,
        },
        "InvalidStateError" => Error::StoreClosed {
            reason: format!("the database connection is closing ({message})"),
        },
        "AbortError" => Error::Storage {
            message: format!("transaction aborted: {message}"),
        },
        other => Error::Storage {
            message: format!("{other}: {message}"),
        },
    }
}

type Callback = Closure<dyn FnMut(Event)>;

struct Slot<T> {
    outcome: Option<T>,
    waker: Option<Waker>,
}

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Slot {
            outcome: None,
            waker: None,
        }
    }
}

impl<T> Slot<T> {
    fn fill(cell: &RefCell<Slot<T>>, value: T) {
        let waker = {
            let mut s = cell.borrow_mut();
            if s.outcome.is_some() {
                return;
            }
            s.outcome = Some(value);
            s.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    fn poll(cell: &RefCell<Slot<T>>, cx: &Context<'_>) -> Poll<T> {
        let mut s = cell.borrow_mut();
        match s.outcome.take() {
            Some(v) => Poll::Ready(v),
            None => {
                s.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// A request being served; resolves to its `result` or its error. A failed request's default
/// action (aborting the transaction) is cancelled: the caller decides what the failure means.
pub(crate) struct Request {
    req: IdbRequest,
    slot: Rc<RefCell<Slot<std::result::Result<JsValue, DomError>>>>,
    _on_success: Callback,
    _on_error: Callback,
}

impl Request {
    /// Listens to `req`. Must be called before control returns to the event loop.
    pub fn new(req: IdbRequest) -> Self {
        let slot = Rc::new(RefCell::new(Slot::default()));
        let (s, r) = (slot.clone(), req.clone());
        let on_success = Closure::<dyn FnMut(Event)>::new(move |_: Event| {
            let value = r.result().map_err(|e| DomError::from_js(&e));
            Slot::fill(&s, value);
        });
        let (s, r) = (slot.clone(), req.clone());
        let on_error = Closure::<dyn FnMut(Event)>::new(move |ev: Event| {
            ev.prevent_default();
            ev.stop_propagation();
            let err = DomError::from_option(r.error().ok().flatten(), "UnknownError");
            Slot::fill(&s, Err(err));
        });
        req.set_onsuccess(Some(on_success.as_ref().unchecked_ref()));
        req.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        Request {
            req,
            slot,
            _on_success: on_success,
            _on_error: on_error,
        }
    }

    /// Wraps the result of a call that creates a request (which may throw synchronously).
    pub fn from_call(call: std::result::Result<IdbRequest, JsValue>) -> Result<Self, DomError> {
        call.map(Request::new).map_err(|e| DomError::from_js(&e))
    }
}

impl Drop for Request {
    fn drop(&mut self) {
        self.req.set_onsuccess(None);
        self.req.set_onerror(None);
    }
}

impl Future for Request {
    type Output = std::result::Result<JsValue, DomError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Slot::poll(&self.slot, cx)
    }
}

/// Resolves when a transaction finishes: `Ok` on `complete`, the abort's error otherwise.
pub(crate) struct TxDone {
    tx: IdbTransaction,
    slot: Rc<RefCell<Slot<std::result::Result<(), DomError>>>>,
    _on_complete: Callback,
    _on_abort: Callback,
}

impl TxDone {
    /// Listens to `tx`; create it right after the transaction.
    pub fn new(tx: &IdbTransaction) -> Self {
        let slot = Rc::new(RefCell::new(Slot::default()));
        let s = slot.clone();
        let on_complete = Closure::<dyn FnMut(Event)>::new(move |_: Event| Slot::fill(&s, Ok(())));
        let (s, t) = (slot.clone(), tx.clone());
        let on_abort = Closure::<dyn FnMut(Event)>::new(move |_: Event| {
            Slot::fill(&s, Err(DomError::from_option(t.error(), "AbortError")));
        });
        tx.set_oncomplete(Some(on_complete.as_ref().unchecked_ref()));
        tx.set_onabort(Some(on_abort.as_ref().unchecked_ref()));
        TxDone {
            tx: tx.clone(),
            slot,
            _on_complete: on_complete,
            _on_abort: on_abort,
        }
    }
}

impl Drop for TxDone {
    fn drop(&mut self) {
        self.tx.set_oncomplete(None);
        self.tx.set_onabort(None);
    }
}

impl Future for TxDone {
    type Output = std::result::Result<(), DomError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Slot::poll(&self.slot, cx)
    }
}

/// Awaits every request in order, returning all results or the first error.
pub(crate) async fn join_all(requests: Vec<Request>) -> Result<Vec<JsValue>, DomError> {
    let mut out = Vec::with_capacity(requests.len());
    for r in requests {
        out.push(r.await?);
    }
    Ok(out)
}
