//! [`Model`]: what the aggregate runner needs from an aggregate, whatever language it is
//! written in. [`DeciderModel`] adapts a typed Rust [`Decider`] to it.

use std::marker::PhantomData;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::core::decider::Decider;
use crate::core::event::{EventId, EventType, NewEvent, RecordedEvent};
use crate::core::json::Json;
use crate::error::{Error, Result};

/// An aggregate as the runner sees it: states, commands, and events as recorded.
pub trait Model {
    /// The aggregate's state.
    type State;
    /// A command.
    type Command: ?Sized;

    /// A fresh initial state.
    ///
    /// # Errors
    /// When user code fails.
    fn initial_state(&self) -> Result<Self::State>;

    /// Applies a batch of recorded events, in order.
    ///
    /// # Errors
    /// [`Error::EvolveFailed`] when user code throws.
    fn evolve(&self, state: Self::State, events: &[RecordedEvent]) -> Result<Self::State>;

    /// The new events for `command` in `state`.
    ///
    /// # Errors
    /// [`Error::DeciderRejected`] when the command is rejected; [`Error::InvalidInput`] when
    /// the decider returns malformed events.
    fn decide(&self, command: &Self::Command, state: &Self::State) -> Result<Vec<NewEvent>>;

    /// The command as JSON, kept with pending events of a synced store so a conflict can be
    /// resolved by deciding it again (rebase). `None` (the default): the model cannot replay
    /// its commands, and its pending events are re-placed as they are.
    fn encode_command(&self, command: &Self::Command) -> Option<Json> {
        let _ = command;
        None
    }

    /// The state as JSON, for snapshots.
    ///
    /// # Errors
    /// When the state cannot be represented as JSON.
    fn encode_state(&self, state: &Self::State) -> Result<Json>;

    /// The state from a snapshot.
    ///
    /// # Errors
    /// When the snapshot does not have the state's shape.
    fn decode_state(&self, json: &Json) -> Result<Self::State>;
}

/// Where new event ids come from (the core has no random source of its own).
pub type IdSource = Arc<dyn Fn() -> EventId + Send + Sync>;

/// Adapts a Rust [`Decider`] whose events serialize as `{"type": ..., "data": ...}` (serde's
/// `#[serde(tag = "type", content = "data")]`) and whose state is serde-serializable.
pub struct DeciderModel<D> {
    ids: IdSource,
    decider: PhantomData<fn() -> D>,
}

impl<D> DeciderModel<D> {
    /// A model drawing new event ids from `ids`.
    pub fn new(ids: IdSource) -> Self {
        DeciderModel {
            ids,
            decider: PhantomData,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Tagged {
    #[serde(rename = "type")]
    event_type: String,
    #[serde(default = "Json::null")]
    data: Json,
}

impl<D> Model for DeciderModel<D>
where
    D: Decider,
    D::State: Serialize + DeserializeOwned,
    D::Event: Serialize + DeserializeOwned,
    D::Error: std::fmt::Display,
{
    type State = D::State;
    type Command = D::Command;

    fn initial_state(&self) -> Result<D::State> {
        Ok(D::initial_state())
    }

    fn evolve(&self, state: D::State, events: &[RecordedEvent]) -> Result<D::State> {
        events.iter().try_fold(state, |s, e| {
            let tagged = format!(
                r#"{{"type":{},"data":{}}}"#,
                Json::from_value(e.event_type.as_str())?,
                e.data
            );
            let event: D::Event =
                serde_json::from_str(&tagged).map_err(|err| Error::EvolveFailed {
                    position: e.position,
                    message: format!("event {} ({}) does not decode: {err}", e.id, e.event_type),
                })?;
            Ok(D::evolve(s, &event))
        })
    }

    fn decide(&self, command: &D::Command, state: &D::State) -> Result<Vec<NewEvent>> {
        let events = D::decide(command, state).map_err(|e| Error::DeciderRejected {
            message: e.to_string(),
        })?;
        events
            .iter()
            .map(|e| {
                let tagged: Tagged = serde_json::to_string(e)
                    .and_then(|text| serde_json::from_str(&text))
                    .map_err(|err| {
                        Error::invalid(format!(
                            "decider events must serialize as {{\"type\", \"data\"}}: {err}"
                        ))
                    })?;
                Ok(NewEvent::new(
                    (self.ids)(),
                    EventType::new(tagged.event_type)?,
                    tagged.data,
                ))
            })
            .collect()
    }

    fn encode_state(&self, state: &D::State) -> Result<Json> {
        Ok(Json::from_value(state)?)
    }

    fn decode_state(&self, json: &Json) -> Result<D::State> {
        Ok(json.decode()?)
    }
}
