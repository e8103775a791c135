//! How a browser store resolves conflicts: the strategy per aggregate, and a rebase running
//! the JavaScript aggregate's `decide` again.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::prelude::*;

use super::convert::{rejected_to_js, SyncListeners};
use super::listeners::call_all;
use crate::core::event::StreamId;
use crate::core::json::Json;
use crate::cqrs;
use crate::engine::Store;
use crate::error::{Error, Result};
use crate::sync::client::{Rejected, Resolver, Strategy};
use crate::wasm::aggregate::Aggregates;
use crate::wasm::error::message_of;
use crate::wasm::model::JsModel;

/// The conflict settings of a sync and what it needs to act on them.
pub(super) struct JsResolver {
    pub(super) store: Store,
    pub(super) aggregates: Aggregates,
    pub(super) default: Strategy,
    pub(super) per_aggregate: Vec<(String, Strategy)>,
    pub(super) listeners: Rc<RefCell<SyncListeners>>,
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
        let callbacks = self.listeners.borrow().rejected.snapshot();
        if callbacks.is_empty() {
            return;
        }
        call_all(
            callbacks,
            &rejected_to_js(rejected),
            "a sync onRejected listener",
        );
    }
}

/// Parses one strategy name.
pub(super) fn strategy_of(v: &JsValue) -> Result<Strategy> {
    match v.as_string().as_deref() {
        Some("rebase") => Ok(Strategy::Rebase),
        Some("append") => Ok(Strategy::Append),
        Some("manual") => Ok(Strategy::Manual),
        _ => Err(Error::invalid(
            "conflicts must be \"rebase\", \"append\" or \"manual\" (or an object of them by aggregate name)",
        )),
    }
}
