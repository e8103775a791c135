//! Sagas (process managers): ordered steps, each a command with an optional compensation, or a
//! wait for an event with a deadline. The saga's state is the fold of its own stream
//! `$saga-<name>-<id>`: every decision is an event appended before it is acted on, so a saga
//! interrupted by a reload or a closed tab resumes where it stopped.
//!
//! This module is the pure part: the saga's events, its state, and [`SagaState::next`], the
//! one place that decides what happens next. [`run`] carries it out.
//!
//! Rules:
//! - steps run in order; a failed step (rejected command, thrown handler, time-out, passed
//!   deadline) compensates the completed steps in reverse order, then the saga is
//!   `compensated`;
//! - a step or compensation whose start was recorded but not its outcome is *in doubt*: the
//!   runner looks for events carrying its (deterministic) command id before running it again,
//!   so a command that committed before the tab closed is not run twice;
//! - a failing compensation is retried up to `compensation_attempts` times, then the saga is
//!   `parked` (visible in its state) until the app retries or skips it;
//! - deadlines are stored in the `StepStarted` event and fire after a reload when due.

use serde::{Deserialize, Serialize};

use crate::core::event::{EventId, EventType, Position, RecordedEvent, StreamId, Version};
use crate::core::json::Json;
use crate::cqrs::ids;
use crate::error::{Error, Result};

mod event;
pub mod run;
mod view;

pub use event::{Failure, SagaEvent};
pub use view::SagaView;

/// What kind of step a saga step is.
#[derive(Clone, Debug, PartialEq)]
pub enum StepKind {
    /// Dispatch a command; `compensate` says whether it has a compensation command.
    Command {
        /// Whether the step has a compensation.
        compensate: bool,
    },
    /// Wait for an event of this type that the definition matches, until the deadline.
    Await {
        /// The event type waited for.
        event_type: EventType,
        /// The deadline, from the step's start (`None`: wait forever).
        timeout_ms: Option<u64>,
    },
}

/// One step of a saga definition.
#[derive(Clone, Debug, PartialEq)]
pub struct StepShape {
    /// Its name (unique in the saga).
    pub name: String,
    /// What it does.
    pub kind: StepKind,
}

/// The shape of a saga definition: what the state machine needs to know about it.
#[derive(Clone, Debug, PartialEq)]
pub struct SagaShape {
    /// The saga's name: its streams are `$saga-<name>-<id>`.
    pub name: String,
    /// Its steps, in order.
    pub steps: Vec<StepShape>,
    /// Attempts of a compensation before the saga is parked (at least 1).
    pub compensation_attempts: u32,
}

impl SagaShape {
    /// Checks the definition.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an empty name, no steps, duplicate step names or 0
    /// compensation attempts.
    pub fn check(&self) -> Result<()> {
        if self.name.is_empty() {
            return Err(Error::invalid("a saga needs a non-empty name"));
        }
        if self.steps.is_empty() {
            return Err(Error::invalid(format!("saga {} has no steps", self.name)));
        }
        for (i, s) in self.steps.iter().enumerate() {
            if s.name.is_empty() || self.steps[..i].iter().any(|o| o.name == s.name) {
                return Err(Error::invalid(format!(
                    "saga {}: step {i} needs a unique, non-empty name",
                    self.name
                )));
            }
        }
        if self.compensation_attempts == 0 {
            return Err(Error::invalid("compensationAttempts must be at least 1"));
        }
        Ok(())
    }

    /// The stream of the saga `id`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an empty id.
    pub fn stream(&self, id: &str) -> Result<StreamId> {
        if id.is_empty() {
            return Err(Error::invalid("a saga id must be a non-empty string"));
        }
        Ok(StreamId::new(format!("{}{id}", self.prefix()))?)
    }

    /// The prefix of this saga's streams.
    pub fn prefix(&self) -> String {
        format!("$saga-{}-", self.name)
    }

    /// The deterministic command id of step `step` (or of its compensation).
    pub fn command_id(&self, stream: &StreamId, step: usize, compensate: bool) -> EventId {
        let kind = if compensate { "compensate" } else { "step" };
        ids::derive(&[stream.as_str(), kind, &step.to_string()])
    }
}

/// Where a saga is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SagaStatus {
    /// Running its steps.
    Running,
    /// A step failed; compensating the completed ones.
    Compensating,
    /// A compensation failed too often; waiting for the app.
    Parked,
    /// Every step completed.
    Completed,
    /// Failed and compensated.
    Compensated,
}

impl SagaStatus {
    /// Whether the saga has finished (nothing more will happen).
    pub fn is_final(self) -> bool {
        matches!(self, SagaStatus::Completed | SagaStatus::Compensated)
    }
}

/// A step or compensation whose start is recorded but not its outcome.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InFlight {
    /// The step.
    pub step: usize,
    /// Its command id.
    pub command_id: EventId,
    /// The log head when it started.
    pub after: Position,
    /// Its deadline.
    pub due: Option<i64>,
}

/// A saga's state: the fold of its stream.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SagaState {
    /// The saga id.
    pub id: String,
    /// Its stream's version (the expected version of its next event).
    pub version: Version,
    /// Where it is.
    pub status: SagaStatus,
    /// Its input.
    pub input: Json,
    /// Its correlation id.
    pub correlation_id: String,
    /// The log position just before it started: wait steps see events after it.
    pub started_after: Position,
    /// The id of its last event (the causation of its next command).
    pub last_event: Option<EventId>,
    /// Results of the completed steps, by step index.
    pub results: Vec<Option<Json>>,
    /// The step or compensation in flight.
    pub in_flight: Option<InFlight>,
    /// The failure that started the compensation.
    pub failure: Option<Failure>,
    /// Steps compensated (or skipped), in the order it happened.
    pub compensated: Vec<usize>,
    /// Failed attempts of the current compensation since it started or was retried.
    pub attempts: u32,
    /// The last compensation error.
    pub compensation_error: Option<Failure>,
}

/// What the runner must do next with a saga.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Record `StepStarted` for this step (with a deadline for a wait).
    StartStep(usize),
    /// Settle the step in flight: look for its command's events, else dispatch it.
    RunStep(InFlight),
    /// Look for the awaited event; past the deadline, fail the step.
    Await(InFlight),
    /// Record `CompensationStarted` for this step.
    StartCompensation(usize),
    /// Settle the compensation in flight: look for its events, else dispatch it.
    RunCompensation(InFlight),
    /// Record the final event.
    Finish(SagaEvent),
    /// Nothing to do (finished, or parked until the app decides).
    Idle,
}

impl SagaState {
    /// Folds a saga stream. `None` for an empty stream.
    ///
    /// # Errors
    /// [`Error::CorruptData`] for an event that is not a saga event, or a stream that does not
    /// start with `SagaStarted`.
    pub fn fold(id: &str, events: &[RecordedEvent]) -> Result<Option<SagaState>> {
        let Some(first) = events.first() else {
            return Ok(None);
        };
        let SagaEvent::SagaStarted {
            input,
            correlation_id,
        } = SagaEvent::decode(first)?
        else {
            return Err(Error::CorruptData {
                record: format!("{}@{}", first.stream, first.version),
                message: "a saga stream must start with SagaStarted".into(),
            });
        };
        let mut s = SagaState {
            id: id.to_owned(),
            version: first.version,
            status: SagaStatus::Running,
            input,
            correlation_id,
            started_after: Position(first.position.0.saturating_sub(1)),
            last_event: Some(first.id.clone()),
            results: Vec::new(),
            in_flight: None,
            failure: None,
            compensated: Vec::new(),
            attempts: 0,
            compensation_error: None,
        };
        for e in &events[1..] {
            s.apply(SagaEvent::decode(e)?);
            s.version = e.version;
            s.last_event = Some(e.id.clone());
        }
        Ok(Some(s))
    }

    fn apply(&mut self, event: SagaEvent) {
        match event {
            SagaEvent::SagaStarted { .. } => {}
            SagaEvent::StepStarted {
                step,
                command_id,
                after,
                due,
            } => {
                self.in_flight = Some(InFlight {
                    step,
                    command_id,
                    after,
                    due,
                })
            }
            SagaEvent::StepCompleted { step, result } => {
                if self.results.len() <= step {
                    self.results.resize(step + 1, None);
                }
                self.results[step] = Some(result);
                self.in_flight = None;
            }
            SagaEvent::StepFailed { error, .. } => {
                self.failure = Some(error);
                self.status = SagaStatus::Compensating;
                self.in_flight = None;
            }
            SagaEvent::CompensationStarted {
                step,
                command_id,
                after,
            } => {
                self.in_flight = Some(InFlight {
                    step,
                    command_id,
                    after,
                    due: None,
                })
            }
            SagaEvent::CompensationCompleted { step } | SagaEvent::CompensationSkipped { step } => {
                self.compensated.push(step);
                self.in_flight = None;
                self.attempts = 0;
                self.compensation_error = None;
                if self.status == SagaStatus::Parked {
                    self.status = SagaStatus::Compensating;
                }
            }
            SagaEvent::CompensationFailed { error, .. } => {
                self.attempts += 1;
                self.compensation_error = Some(error);
                self.in_flight = None;
            }
            SagaEvent::CompensationParked { error, .. } => {
                self.status = SagaStatus::Parked;
                self.compensation_error = Some(error);
                self.in_flight = None;
            }
            SagaEvent::CompensationRetried { .. } => {
                self.status = SagaStatus::Compensating;
                self.attempts = 0;
            }
            SagaEvent::SagaCompleted => self.status = SagaStatus::Completed,
            SagaEvent::SagaCompensated => self.status = SagaStatus::Compensated,
        }
    }

    /// Completed steps (those with a result), in order.
    pub fn completed_steps(&self) -> impl Iterator<Item = usize> + '_ {
        self.results
            .iter()
            .enumerate()
            .filter(|(_, r)| r.is_some())
            .map(|(i, _)| i)
    }

    /// The next step to compensate: the last completed step with a compensation that is not
    /// compensated yet.
    pub fn next_compensation(&self, shape: &SagaShape) -> Option<usize> {
        let done: Vec<usize> = self.completed_steps().collect();
        done.into_iter().rev().find(|&i| {
            matches!(
                shape.steps.get(i).map(|s| &s.kind),
                Some(StepKind::Command { compensate: true })
            ) && !self.compensated.contains(&i)
        })
    }

    /// The step the app can retry or skip, when parked.
    pub fn parked_step(&self, shape: &SagaShape) -> Option<usize> {
        (self.status == SagaStatus::Parked)
            .then(|| self.next_compensation(shape))
            .flatten()
    }

    /// What happens next. Pure: the same state and shape always give the same action.
    pub fn next(&self, shape: &SagaShape) -> Action {
        match self.status {
            SagaStatus::Completed | SagaStatus::Compensated | SagaStatus::Parked => Action::Idle,
            SagaStatus::Running => {
                if let Some(f) = &self.in_flight {
                    return match shape.steps.get(f.step).map(|s| &s.kind) {
                        Some(StepKind::Await { .. }) => Action::Await(f.clone()),
                        _ => Action::RunStep(f.clone()),
                    };
                }
                let next = self.completed_steps().count();
                if next >= shape.steps.len() {
                    Action::Finish(SagaEvent::SagaCompleted)
                } else {
                    Action::StartStep(next)
                }
            }
            SagaStatus::Compensating => {
                if let Some(f) = &self.in_flight {
                    return Action::RunCompensation(f.clone());
                }
                match self.next_compensation(shape) {
                    Some(step) => Action::StartCompensation(step),
                    None => Action::Finish(SagaEvent::SagaCompensated),
                }
            }
        }
    }

    /// The event recording a failed compensation attempt: `CompensationFailed`, or
    /// `CompensationParked` once the attempts are used up.
    pub fn compensation_failed(&self, shape: &SagaShape, step: usize, error: &Error) -> SagaEvent {
        if self.attempts + 1 >= shape.compensation_attempts {
            SagaEvent::CompensationParked {
                step,
                error: error.into(),
            }
        } else {
            SagaEvent::CompensationFailed {
                step,
                error: error.into(),
            }
        }
    }
}

#[cfg(test)]
mod tests;
