//! The events a saga's stream holds ([`SagaEvent`]) and its error record ([`Failure`]):
//! written with serde, read back through the generic field reader of [`tagged`] (far smaller
//! in wasm than a derived `Deserialize` for this enum). Re-exported by [`crate::cqrs::saga`].

use serde::{Deserialize, Serialize};

use crate::core::event::{EventId, EventType, Position, RecordedEvent};
use crate::core::json::Json;
use crate::cqrs::tagged::{self, FieldResult, Fields};
use crate::error::{Error, Result};

/// A saga's error record: code and message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    /// The error code (`DECIDER_REJECTED`, `HANDLER_FAILED`, `HANDLER_TIMEOUT`, ...).
    pub code: String,
    /// The message.
    pub message: String,
}

impl From<&Error> for Failure {
    fn from(e: &Error) -> Self {
        Failure {
            code: e.code().to_owned(),
            message: e.to_string(),
        }
    }
}

/// The events of a saga stream.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data", rename_all_fields = "camelCase")]
pub enum SagaEvent {
    /// The saga started with this input.
    SagaStarted {
        /// The input every step's command is built from.
        input: Json,
        /// The conversation the saga belongs to.
        correlation_id: String,
    },
    /// A step started (the command is about to be dispatched, or the wait begins).
    StepStarted {
        /// Step index.
        step: usize,
        /// The step's command id.
        command_id: EventId,
        /// The head of the log when it started (events it causes come after).
        after: Position,
        /// Deadline (Unix milliseconds), if any.
        due: Option<i64>,
    },
    /// A step succeeded.
    StepCompleted {
        /// Step index.
        step: usize,
        /// The handler's result (or the awaited event).
        result: Json,
    },
    /// A step failed: compensation begins.
    StepFailed {
        /// Step index.
        step: usize,
        /// Why.
        error: Failure,
    },
    /// A compensation is about to be dispatched.
    CompensationStarted {
        /// The compensated step.
        step: usize,
        /// The compensation's command id.
        command_id: EventId,
        /// The head of the log when it started.
        after: Position,
    },
    /// A compensation succeeded.
    CompensationCompleted {
        /// The compensated step.
        step: usize,
    },
    /// A compensation attempt failed.
    CompensationFailed {
        /// The compensated step.
        step: usize,
        /// Why.
        error: Failure,
    },
    /// A compensation failed too often: the saga waits for the app (retry or skip).
    CompensationParked {
        /// The compensated step.
        step: usize,
        /// The last error.
        error: Failure,
    },
    /// The app asked to try the parked compensation again.
    CompensationRetried {
        /// The compensated step.
        step: usize,
    },
    /// The app gave up on the parked compensation.
    CompensationSkipped {
        /// The step left uncompensated.
        step: usize,
    },
    /// Every step completed.
    SagaCompleted,
    /// A step failed and every completed step was compensated (or skipped).
    SagaCompensated,
}

impl SagaEvent {
    /// Decodes a recorded saga event: the event type names the variant, the data holds its
    /// fields (the `{"type", "data"}` form its `Serialize` writes).
    ///
    /// # Errors
    /// [`Error::CorruptData`] if it is not a saga event.
    pub fn decode(e: &RecordedEvent) -> Result<Self> {
        Self::read(&e.event_type, &e.data).map_err(|err| Error::CorruptData {
            record: format!("{}@{}", e.stream, e.version),
            message: format!("not a saga event: {err}"),
        })
    }

    /// Reads the variant `event_type` from `data` (the generic path of [`tagged`], far
    /// smaller in wasm than a derived `Deserialize` for this enum).
    fn read(event_type: &EventType, data: &Json) -> FieldResult<Self> {
        let unit = |event: SagaEvent| tagged::unit(data).map(|()| event);
        let name = event_type.as_str();
        match name {
            "SagaCompleted" => return unit(SagaEvent::SagaCompleted),
            "SagaCompensated" => return unit(SagaEvent::SagaCompensated),
            _ => {}
        }
        let f = Fields::parse(data)?;
        let failure = |f: &Fields| -> FieldResult<Failure> {
            let e = f.object("error")?;
            Ok(Failure {
                code: e.string("code")?,
                message: e.string("message")?,
            })
        };
        Ok(match name {
            "SagaStarted" => SagaEvent::SagaStarted {
                input: f.json("input")?,
                correlation_id: f.string("correlationId")?,
            },
            "StepStarted" => SagaEvent::StepStarted {
                step: f.usize("step")?,
                command_id: f.event_id("commandId")?,
                after: f.position("after")?,
                due: f.opt("due", Fields::i64)?,
            },
            "StepCompleted" => SagaEvent::StepCompleted {
                step: f.usize("step")?,
                result: f.json("result")?,
            },
            "StepFailed" => SagaEvent::StepFailed {
                step: f.usize("step")?,
                error: failure(&f)?,
            },
            "CompensationStarted" => SagaEvent::CompensationStarted {
                step: f.usize("step")?,
                command_id: f.event_id("commandId")?,
                after: f.position("after")?,
            },
            "CompensationCompleted" => SagaEvent::CompensationCompleted {
                step: f.usize("step")?,
            },
            "CompensationFailed" => SagaEvent::CompensationFailed {
                step: f.usize("step")?,
                error: failure(&f)?,
            },
            "CompensationParked" => SagaEvent::CompensationParked {
                step: f.usize("step")?,
                error: failure(&f)?,
            },
            "CompensationRetried" => SagaEvent::CompensationRetried {
                step: f.usize("step")?,
            },
            "CompensationSkipped" => SagaEvent::CompensationSkipped {
                step: f.usize("step")?,
            },
            _ => return Err(tagged::unknown_type(event_type)),
        })
    }
}
