//! [`CommandContext`]: who asked for a command and why, and the rules that derive the context
//! (and the id) of the commands a handler sends in turn.

use serde_json::{Map, Value};

use crate::core::event::{EventId, NewEvent, RecordedEvent};
use crate::core::json::Json;
use crate::cqrs::ids;
use crate::error::Result;

/// Who asked for a command and why: stamped into the metadata of the events it appends as
/// `commandId`, `correlationId` (the conversation: shared by every command and event that
/// follows from the first one) and `causationId` (the command or event that caused this one).
#[derive(Clone, Debug, PartialEq)]
pub struct CommandContext {
    /// This command's id. Events the command appends get ids derived from it, so dispatching
    /// the same command id again cannot append its events twice.
    pub command_id: EventId,
    /// The conversation this command belongs to (by default, its own id).
    pub correlation_id: String,
    /// The command or event that caused this command, if any.
    pub causation_id: Option<String>,
    /// More metadata for the appended events (a middleware may add to it).
    pub metadata: Map<String, Value>,
}

impl CommandContext {
    /// A first command: its correlation id is its own id.
    pub fn new(command_id: EventId) -> Self {
        CommandContext {
            correlation_id: command_id.as_str().to_owned(),
            command_id,
            causation_id: None,
            metadata: Map::new(),
        }
    }

    /// A command caused by this one: same correlation, caused by this command.
    pub fn child(&self, command_id: EventId) -> Self {
        CommandContext {
            command_id,
            correlation_id: self.correlation_id.clone(),
            causation_id: Some(self.command_id.as_str().to_owned()),
            metadata: self.metadata.clone(),
        }
    }

    /// A command caused by a recorded event: the event's correlation id (or its id when it has
    /// none), caused by the event.
    pub fn caused_by(event: &RecordedEvent, command_id: EventId) -> Self {
        let metadata: Map<String, Value> = event.metadata.decode().unwrap_or_default();
        let correlation_id = metadata
            .get("correlationId")
            .and_then(Value::as_str)
            .unwrap_or(event.id.as_str())
            .to_owned();
        CommandContext {
            command_id,
            correlation_id,
            causation_id: Some(event.id.as_str().to_owned()),
            metadata: Map::new(),
        }
    }

    /// The `n`-th command (1, 2, ...) the handler of this command sends: same correlation,
    /// caused by this command (or by `cause`, the event an event handler is handling), with an
    /// id derived from this command's id and `n`, so a handler that runs again (a retry, a
    /// re-delivered event) sends the same ids and its commands append nothing twice.
    pub fn dispatched(&self, n: u64, cause: Option<String>) -> Self {
        let id = ids::derive(&[self.command_id.as_str(), "child", &n.to_string()]);
        let mut child = self.child(id);
        if let Some(c) = cause {
            child.causation_id = Some(c);
        }
        child
    }

    /// The context of the event handler `handler` handling `event`: the event's conversation,
    /// caused by it, with an id derived from the handler and the event (the same on every
    /// delivery of that event).
    pub fn handling(handler: &str, event: &RecordedEvent) -> Self {
        Self::caused_by(event, ids::derive(&["handler", handler, event.id.as_str()]))
    }

    /// The metadata this context adds to appended events.
    pub fn event_metadata(&self) -> Map<String, Value> {
        let mut m = self.metadata.clone();
        m.insert("commandId".into(), self.command_id.as_str().into());
        m.insert("correlationId".into(), self.correlation_id.clone().into());
        if let Some(c) = &self.causation_id {
            m.insert("causationId".into(), c.clone().into());
        }
        m
    }

    /// Stamps events decided for this command: the context's metadata is merged under each
    /// event's own metadata (keys the event sets win), and the `i`-th event gets the id
    /// derived from the command id and `i` (so a repeated command cannot append twice).
    ///
    /// # Errors
    /// [`crate::Error::InvalidInput`] if an event's metadata is not an object.
    pub fn stamp(&self, events: Vec<NewEvent>) -> Result<Vec<NewEvent>> {
        let base = self.event_metadata();
        events
            .into_iter()
            .enumerate()
            .map(|(i, mut e)| {
                let own: Map<String, Value> = e.metadata.decode()?;
                let mut merged = base.clone();
                merged.extend(own);
                e.metadata = Json::from_value(&merged)?;
                e.id = ids::event_id(&self.command_id, i);
                Ok(e)
            })
            .collect()
    }
}
