//! Starting sagas on events: [`SagaStarter`], the event handler behind a definition's
//! `startOn`, run like any other handler (checkpoint, retries, dead letters) under the name
//! `saga:<name>:start`.

use std::rc::Rc;

use super::{SagaEffects, SagaRunner};
use crate::core::event::{EventType, RecordedEvent};
use crate::core::json::Json;
use crate::cqrs::bus::CommandContext;
use crate::cqrs::handlers::{EventHandler, HandlerPolicy, HandlerRunner};
use crate::cqrs::runtime::LocalBoxFuture;
use crate::error::Result;
use crate::store::{EventFilter, EventStore};

/// Starts a saga for each event it handles: `pick` gives the saga id and input of an event,
/// and the saga joins the event's conversation (its correlation id, or its id when it has
/// none). Starting is idempotent, so a re-delivered or repeated event starts the saga once.
pub struct SagaStarter<E, S, F> {
    saga: Rc<SagaRunner<E>>,
    store: S,
    pick: F,
}

impl<E, S, F> SagaStarter<E, S, F> {
    /// Starts sagas of `saga` on `store`, with the id and input `pick` gives.
    pub fn new(saga: Rc<SagaRunner<E>>, store: S, pick: F) -> Self {
        SagaStarter { saga, store, pick }
    }
}

impl<E, S, F> EventHandler for SagaStarter<E, S, F>
where
    E: SagaEffects + 'static,
    S: EventStore + Clone + 'static,
    F: Fn(&RecordedEvent) -> Result<(String, Json)>,
{
    fn handle(&self, event: &RecordedEvent) -> LocalBoxFuture<'static, Result<()>> {
        let picked = (self.pick)(event);
        let correlation = CommandContext::caused_by(event, event.id.clone()).correlation_id;
        let (saga, store) = (self.saga.clone(), self.store.clone());
        Box::pin(async move {
            let (id, input) = picked?;
            saga.start(&store, &id, input, Some(correlation))
                .await
                .map(drop)
        })
    }
}

/// The handler runner of the saga `saga`'s starter `handler`, for the events of `event_type`:
/// named `saga:<saga>:start` (its checkpoint and dead letters), with the default policy.
///
/// # Errors
/// [`crate::Error::InvalidInput`] for an empty saga name.
pub fn starter<H: EventHandler>(
    saga: &str,
    event_type: EventType,
    handler: H,
) -> Result<HandlerRunner<H>> {
    if saga.is_empty() {
        return Err(crate::error::Error::invalid(
            "a saga needs a non-empty name",
        ));
    }
    let filter = EventFilter {
        stream_prefixes: Vec::new(),
        types: Some(vec![event_type]),
    };
    HandlerRunner::new(
        format!("saga:{saga}:start"),
        handler,
        filter,
        HandlerPolicy::default(),
    )
}
