//! The JavaScript values of sync: reports, the status, held streams, rejections, and the
//! app's listeners of them.

use js_sys::{Array, Object, Reflect};
use wasm_bindgen::prelude::*;

use super::listeners::Listeners;
use crate::core::json::Json;
use crate::sync::client::{Held, Rejected, SyncReport};
use crate::sync::scheduler::{Failure, FailureKind, Status};
use crate::wasm::error::to_js;

/// The callbacks given to `onStatus`, `onRejected` and `onConflict`.
#[derive(Default)]
pub(super) struct SyncListeners {
    pub(super) status: Listeners,
    pub(super) rejected: Listeners,
    pub(super) conflict: Listeners,
}

/// A failed exchange as the scheduler keeps it: the JavaScript error `now()` rejected with
/// (so `status.lastError` is that very object) and its class.
#[derive(Clone)]
pub(super) struct JsFailure {
    pub(super) kind: FailureKind,
    pub(super) error: JsValue,
}

impl Failure for JsFailure {
    fn kind(&self) -> FailureKind {
        self.kind
    }
}

fn set(o: &Object, k: &str, v: &JsValue) {
    let _ = Reflect::set(o, &JsValue::from_str(k), v);
}

fn num(n: impl Into<f64>) -> JsValue {
    JsValue::from_f64(n.into())
}

fn count(n: usize) -> JsValue {
    JsValue::from_f64(n as f64)
}

/// `{ stream, actual }`.
pub(super) fn held_to_js(held: &Held) -> JsValue {
    let o = Object::new();
    set(&o, "stream", &JsValue::from_str(held.stream.as_str()));
    set(&o, "actual", &num(held.actual.0 as f64));
    o.into()
}

fn held_list(held: &[Held]) -> Array {
    held.iter().map(held_to_js).collect()
}

/// `{ pulled, pushed, rejected, held, head, requests, resynced }`.
pub(super) fn report_to_js(report: &SyncReport) -> JsValue {
    let o = Object::new();
    set(&o, "pulled", &count(report.pulled));
    set(&o, "pushed", &count(report.pushed));
    set(&o, "rejected", &count(report.rejected));
    set(&o, "head", &num(report.head.0 as f64));
    set(&o, "requests", &count(report.requests));
    set(&o, "resynced", &report.resynced.into());
    set(&o, "held", &held_list(&report.held));
    o.into()
}

/// `{ pending, checkpoint, online, syncing, leader, lastSync, lastError, held, resyncedAt }`.
pub(super) fn status_to_js(status: &Status<JsFailure>) -> JsValue {
    let o = Object::new();
    let time =
        |t: Option<crate::core::event::Timestamp>| t.map_or(JsValue::NULL, |t| num(t.0 as f64));
    set(&o, "pending", &count(status.pending));
    set(&o, "checkpoint", &num(status.checkpoint.0 as f64));
    set(&o, "online", &status.online.into());
    set(&o, "syncing", &status.syncing.into());
    set(&o, "leader", &status.leader.into());
    set(&o, "lastSync", &time(status.last_sync));
    let error = status
        .last_error
        .as_ref()
        .map_or(JsValue::NULL, |f| f.error.clone());
    set(&o, "lastError", &error);
    set(&o, "held", &held_list(&status.held));
    set(&o, "resyncedAt", &time(status.resynced_at));
    o.into()
}

/// `{ stream, command, events, error }` of a pending command or append dropped for good.
pub(super) fn rejected_to_js(rejected: Rejected) -> JsValue {
    let o = Object::new();
    set(&o, "stream", &JsValue::from_str(rejected.stream.as_str()));
    let command = rejected
        .command
        .as_ref()
        .and_then(|c| js_sys::JSON::parse(c.as_str()).ok())
        .unwrap_or(JsValue::UNDEFINED);
    set(&o, "command", &command);
    let events: Array = rejected
        .events
        .iter()
        .filter_map(|e| Json::from_value(e).ok())
        .filter_map(|j| js_sys::JSON::parse(j.as_str()).ok())
        .collect();
    set(&o, "events", &events);
    set(&o, "error", &to_js(rejected.error));
    o.into()
}
