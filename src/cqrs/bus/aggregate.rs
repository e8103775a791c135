//! Aggregates behind the command bus: the command's context stamped on the events it appends,
//! and a command handled twice recognised by its derived event ids.

use std::rc::Rc;

use super::command::CommandHandler;
use super::context::CommandContext;
use crate::core::event::{EventId, NewEvent, RecordedEvent};
use crate::core::json::Json;
use crate::cqrs::aggregate::{Aggregate, Executed};
use crate::cqrs::ids;
use crate::cqrs::model::Model;
use crate::cqrs::runtime::LocalBoxFuture;
use crate::error::{Error, Result};
use crate::store::{EventStore, StateStore};

/// A command with its context, as an aggregate behind the bus receives it.
pub struct Addressed<C> {
    /// The command.
    pub command: C,
    /// Its ids and metadata.
    pub context: CommandContext,
}

/// A [`Model`] whose decided events carry the command's context: metadata stamped, ids derived
/// from the command id ([`CommandContext::stamp`]).
pub struct Stamped<M>(pub M);

impl<M: Model> Model for Stamped<M>
where
    M::Command: Sized,
{
    type State = M::State;
    type Command = Addressed<M::Command>;

    fn initial_state(&self) -> Result<M::State> {
        self.0.initial_state()
    }

    fn evolve(&self, state: M::State, events: &[RecordedEvent]) -> Result<M::State> {
        self.0.evolve(state, events)
    }

    fn decide(&self, command: &Self::Command, state: &M::State) -> Result<Vec<NewEvent>> {
        let events = self.0.decide(&command.command, state)?;
        command.context.stamp(events)
    }

    fn encode_state(&self, state: &M::State) -> Result<Json> {
        self.0.encode_state(state)
    }

    fn decode_state(&self, json: &Json) -> Result<M::State> {
        self.0.decode_state(json)
    }
}

/// Which aggregate instance a command addresses.
pub type IdOf<C> = Rc<dyn Fn(&C) -> Result<String>>;
/// What the bus returns for a handled command.
pub type Reply<S, R> = Rc<dyn Fn(Handled<S>) -> Result<R>>;

/// The outcome of a command handled by an [`AggregateHandler`].
pub enum Handled<S> {
    /// The command was decided and its events appended.
    Executed(Executed<S>),
    /// A command with this id was handled before (its events are in the stream): nothing was
    /// appended this time.
    Duplicate,
}

/// Whether `stream` holds an event appended by the command `command_id` (the events a command
/// appends through the bus carry ids derived from its id).
///
/// # Errors
/// Store failures.
pub async fn already_applied<S: EventStore>(
    store: &S,
    stream: &crate::core::event::StreamId,
    command_id: &EventId,
) -> Result<bool> {
    let first = ids::event_id(command_id, 0);
    let mut from = None;
    loop {
        let options = crate::store::ReadStreamOptions {
            from,
            limit: Some(500),
            direction: crate::store::Direction::Backward,
        };
        let events = store.read_stream(stream, &options).await?;
        if events.iter().any(|e| e.id == first) {
            return Ok(true);
        }
        match events.last() {
            Some(last) if events.len() == 500 && last.version.0 > 1 => {
                from = Some(crate::core::event::Version(last.version.0 - 1))
            }
            _ => return Ok(false),
        }
    }
}

/// The common command handler: an aggregate's `execute`, with the command's context stamped
/// on the events it appends. A command whose id was already handled (a retry after a crash, a
/// re-delivered event dispatching it again) is recognised by its derived event ids: when the
/// decider now rejects it, or its ids conflict, and the stream already holds its events, the
/// outcome is [`Handled::Duplicate`] and nothing is appended.
pub struct AggregateHandler<M: Model, S, R> {
    aggregate: Rc<Aggregate<Stamped<M>>>,
    store: Rc<S>,
    id_of: IdOf<M::Command>,
    reply: Reply<M::State, R>,
}

impl<M: Model, S, R> AggregateHandler<M, S, R>
where
    M::Command: Sized,
{
    /// Handles commands with `aggregate` on `store`; `id_of` picks the aggregate id from a
    /// command, `reply` turns the outcome into the bus's result.
    pub fn new(
        aggregate: Rc<Aggregate<Stamped<M>>>,
        store: Rc<S>,
        id_of: IdOf<M::Command>,
        reply: Reply<M::State, R>,
    ) -> Self {
        AggregateHandler {
            aggregate,
            store,
            id_of,
            reply,
        }
    }
}

impl<M, S, R> CommandHandler<M::Command, R> for AggregateHandler<M, S, R>
where
    M: Model + 'static,
    M::Command: Sized + 'static,
    S: EventStore + StateStore + 'static,
    R: 'static,
{
    fn handle(
        &self,
        command: M::Command,
        ctx: CommandContext,
    ) -> LocalBoxFuture<'static, Result<R>> {
        let (aggregate, store, id_of, reply) = (
            self.aggregate.clone(),
            self.store.clone(),
            self.id_of.clone(),
            self.reply.clone(),
        );
        Box::pin(async move {
            let id = id_of(&command)?;
            let command_id = ctx.command_id.clone();
            let addressed = Addressed {
                command,
                context: ctx,
            };
            match aggregate.execute(&*store, &id, &addressed).await {
                Ok(done) => reply(Handled::Executed(done)),
                Err(e @ (Error::DeciderRejected { .. } | Error::EventIdConflict { .. })) => {
                    let stream = aggregate.stream(&id)?;
                    if already_applied(&*store, &stream, &command_id).await? {
                        reply(Handled::Duplicate)
                    } else {
                        Err(e)
                    }
                }
                Err(e) => Err(e),
            }
        })
    }
}
