//! How a browser store resolves conflicts: the strategy per aggregate, and a rebase running
//! the JavaScript aggregate's `decide` again.

use std::cell::RefCell;
use std::rc::Rc;

use super::convert::{rejected_to_js, SyncListeners};
use super::listeners::call_all;
use crate::core::event::StreamId;
use crate::core::json::Json;
use crate::engine::Store;
use crate::error::{Error, Result};
use crate::sync::client::{Conflicts, Rejected, Resolver, Strategy};
use crate::wasm::aggregate::Aggregates;
use crate::wasm::error::message_of;

/// The conflict settings of a sync and what it needs to act on them.
pub(super) struct JsResolver {
    pub(super) store: Store,
    pub(super) aggregates: Aggregates,
    pub(super) conflicts: Conflicts,
    pub(super) listeners: Rc<RefCell<SyncListeners>>,
}

impl Resolver for JsResolver {
    fn strategy(&self, stream: &StreamId) -> Strategy {
        let owner = self.aggregates.owner(stream.as_str());
        let name = owner.as_ref().map(|(a, _)| a.config().name.as_str());
        self.conflicts.strategy(name)
    }

    async fn rerun(&self, stream: &StreamId, command: &Json) -> Result<()> {
        let (aggregate, id) = self.aggregates.owner(stream.as_str()).ok_or_else(|| {
            Error::invalid(format!(
                "no aggregate is defined for stream {stream}: define it with store.aggregate() before syncing"
            ))
        })?;
        let command =
            js_sys::JSON::parse(command.as_str()).map_err(|e| Error::invalid(message_of(&e)))?;
        aggregate
            .execute(&self.store, &id, &command)
            .await
            .map(drop)
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
