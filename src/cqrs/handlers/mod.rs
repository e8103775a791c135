//! Event handlers with side effects (send the confirmation email, call the payment provider):
//! at-least-once delivery in position order from a persisted checkpoint, retries with
//! exponential backoff, a time limit per call, and a dead-letter list for events that keep
//! failing.
//!
//! - The checkpoint and the current failure live in one state-store record
//!   (`handler:<name>`), saved after every handled event: a crash re-delivers at most the
//!   event in flight. Handlers make themselves idempotent with the event id as the key.
//! - Events are handled one at a time, in position order; a failing event holds back the
//!   later ones until it succeeds or is parked.
//! - Parked events are events of the stream `$deadletter-<name>` (ids derived from the
//!   handler and the position, so a crash while parking never parks twice); retrying or
//!   skipping one appends to it too, so every tab sees the same list.
//! - Only one runner per handler may run at a time: in the browser the leader tab (Web
//!   Locks) runs them.

use serde::{Deserialize, Serialize};

use crate::core::event::{EventId, EventType, Position, RecordedEvent, StreamId};
use crate::core::expected::ExpectedVersion;
use crate::core::json::Json;
use crate::cqrs::ids;
use crate::cqrs::runtime::{self, LocalBoxFuture, Runtime, Signal};
use crate::cqrs::tagged::{to_event, FieldResult, Fields};
use crate::error::{Error, Result};
use crate::store::{EventFilter, EventStore, ReadAllOptions, StateStore};

/// How a handler retries and when it gives up on an event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandlerPolicy {
    /// Attempts before the event is parked in the dead-letter list (at least 1).
    pub max_attempts: u32,
    /// Wait before the first retry; it doubles with every failure.
    pub backoff_ms: u64,
    /// The longest wait between retries.
    pub max_backoff_ms: u64,
    /// A call that has not settled after this long counts as failed (`HANDLER_TIMEOUT`).
    pub timeout_ms: u64,
    /// Events read per page.
    pub page_size: usize,
}

impl Default for HandlerPolicy {
    /// 5 attempts, backoff 1 s doubling up to 60 s, 30 s time limit, pages of 100.
    fn default() -> Self {
        HandlerPolicy {
            max_attempts: 5,
            backoff_ms: 1000,
            max_backoff_ms: 60_000,
            timeout_ms: 30_000,
            page_size: 100,
        }
    }
}

impl HandlerPolicy {
    /// The wait after the `attempts`-th failure: `backoff_ms * 2^(attempts-1)`, capped.
    pub fn backoff(&self, attempts: u32) -> u64 {
        let shift = attempts.saturating_sub(1).min(32);
        self.backoff_ms
            .saturating_mul(1u64 << shift)
            .min(self.max_backoff_ms)
    }
}

/// The event a handler is failing on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Failing {
    /// Its position.
    pub position: Position,
    /// Its id.
    pub event_id: EventId,
    /// Failed attempts so far.
    pub attempts: u32,
    /// When the next attempt is due (Unix milliseconds).
    pub retry_at: i64,
    /// The last error.
    pub error: String,
}

/// A handler's persisted progress.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HandlerProgress {
    /// Every event up to this position was handled (or parked, or is not for this handler).
    pub checkpoint: Position,
    /// The event after the checkpoint that failed, if any.
    pub failing: Option<Failing>,
}

impl HandlerProgress {
    /// Reads a saved progress record (the form its `Serialize` writes) through the generic
    /// field reader of [`crate::cqrs::tagged`], smaller in wasm than the derived `Deserialize`.
    fn read(json: &Json) -> FieldResult<Self> {
        let f = Fields::parse(json)?;
        let failing = |f: &Fields, name: &str| -> FieldResult<Failing> {
            let g = f.object(name)?;
            Ok(Failing {
                position: g.position("position")?,
                event_id: g.event_id("eventId")?,
                attempts: g.u32("attempts")?,
                retry_at: g.i64("retryAt")?,
                error: g.string("error")?,
            })
        };
        Ok(HandlerProgress {
            checkpoint: f.position("checkpoint")?,
            failing: f.opt("failing", failing)?,
        })
    }
}

/// An event parked after `max_attempts` failures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeadLetter {
    /// The event's position.
    pub position: Position,
    /// The event's id.
    pub event_id: EventId,
    /// The event's stream.
    pub stream: StreamId,
    /// The event's type.
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// Attempts made (including manual retries).
    pub attempts: u32,
    /// The last error.
    pub error: String,
}

/// The events of `$deadletter-<name>` (read back by `dead::read`).
#[derive(Serialize)]
#[serde(tag = "type", content = "data", rename_all_fields = "camelCase")]
enum DeadLetterEvent {
    EventParked(DeadLetter),
    DeadLetterRetried {
        position: Position,
        ok: bool,
        error: Option<String>,
    },
    DeadLetterSkipped {
        position: Position,
    },
}

/// Handles the events of one handler. The future owns what it needs.
pub trait EventHandler {
    /// Handles `event`; an error (or a time-out) means "try again later".
    fn handle(&self, event: &RecordedEvent) -> LocalBoxFuture<'static, Result<()>>;
}

impl<T: EventHandler + ?Sized> EventHandler for Box<T> {
    fn handle(&self, event: &RecordedEvent) -> LocalBoxFuture<'static, Result<()>> {
        (**self).handle(event)
    }
}

/// What a pass over the log ended with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pass {
    /// Caught up: wait for new events.
    CaughtUp,
    /// An event failed: try again at this time (Unix milliseconds).
    RetryAt(i64),
}

/// Runs one named event handler against a store.
pub struct HandlerRunner<H> {
    name: String,
    handler: H,
    filter: EventFilter,
    policy: HandlerPolicy,
}

impl<H: EventHandler> HandlerRunner<H> {
    /// A runner for `handler` named `name` (the key of its checkpoint and dead letters), for
    /// the events `filter` keeps.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an empty name or a policy with 0 attempts.
    pub fn new(
        name: impl Into<String>,
        handler: H,
        filter: EventFilter,
        policy: HandlerPolicy,
    ) -> Result<Self> {
        let name = name.into();
        if name.is_empty() {
            return Err(Error::invalid("an event handler needs a non-empty name"));
        }
        if policy.max_attempts == 0 {
            return Err(Error::invalid("maxAttempts must be at least 1"));
        }
        Ok(HandlerRunner {
            name,
            handler,
            filter,
            policy,
        })
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its policy.
    pub fn policy(&self) -> &HandlerPolicy {
        &self.policy
    }

    fn key(&self) -> String {
        format!("handler:{}", self.name)
    }

    /// The stream of its dead letters.
    ///
    /// # Errors
    /// Never for a valid name.
    pub fn dead_letter_stream(&self) -> Result<StreamId> {
        Ok(StreamId::new(format!("$deadletter-{}", self.name))?)
    }

    /// Its persisted progress (the start when none or unreadable).
    ///
    /// # Errors
    /// Store failures.
    pub async fn progress<S: StateStore>(&self, store: &S) -> Result<HandlerProgress> {
        Ok(match store.get_state(&self.key()).await? {
            Some(json) => HandlerProgress::read(&json).unwrap_or_default(),
            None => HandlerProgress::default(),
        })
    }

    async fn save<S: StateStore>(&self, store: &S, p: &HandlerProgress) -> Result<()> {
        store.put_state(&self.key(), Json::from_value(p)?).await
    }

    async fn call<R: Runtime + ?Sized>(&self, rt: &R, event: &RecordedEvent) -> Result<()> {
        let ms = self.policy.timeout_ms;
        runtime::timeout(rt, ms, self.handler.handle(event))
            .await
            .unwrap_or(Err(Error::HandlerTimeout { ms }))
    }

    async fn park<S: EventStore>(&self, store: &S, letter: DeadLetter) -> Result<()> {
        let id = ids::derive(&[
            "deadletter",
            &self.name,
            &letter.position.0.to_string(),
            &letter.event_id.to_string(),
        ]);
        let event = to_event(id, &DeadLetterEvent::EventParked(letter))?;
        match store
            .append(
                &self.dead_letter_stream()?,
                vec![event],
                ExpectedVersion::Any,
            )
            .await
        {
            // Parked before a crash: the same id is already in the stream.
            Ok(_) | Err(Error::EventIdConflict { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Handles the events after the checkpoint until caught up or until an event fails and
    /// must wait for its retry. Saves the progress after every event.
    ///
    /// # Errors
    /// Store failures (the progress stays at the last saved event).
    pub async fn pass<S, R>(&self, store: &S, rt: &R) -> Result<Pass>
    where
        S: EventStore + StateStore,
        R: Runtime + ?Sized,
    {
        let mut p = self.progress(store).await?;
        loop {
            let head = store.head().await?;
            let options = ReadAllOptions {
                after: p.checkpoint,
                limit: Some(self.policy.page_size.max(1)),
                filter: self.filter.clone(),
            };
            let events = store.read_all(&options).await?;
            for event in &events {
                if let Some(f) = &p.failing {
                    if f.position == event.position && f.retry_at > rt.now().0 {
                        return Ok(Pass::RetryAt(f.retry_at));
                    }
                }
                match self.call(rt, event).await {
                    Ok(()) => {
                        p.checkpoint = event.position;
                        p.failing = None;
                    }
                    Err(e) => {
                        let attempts = match &p.failing {
                            Some(f) if f.position == event.position => f.attempts + 1,
                            _ => 1,
                        };
                        if attempts < self.policy.max_attempts {
                            let retry_at = rt.now().0.saturating_add(
                                i64::try_from(self.policy.backoff(attempts)).unwrap_or(i64::MAX),
                            );
                            p.failing = Some(Failing {
                                position: event.position,
                                event_id: event.id.clone(),
                                attempts,
                                retry_at,
                                error: e.to_string(),
                            });
                            self.save(store, &p).await?;
                            return Ok(Pass::RetryAt(retry_at));
                        }
                        self.park(
                            store,
                            DeadLetter {
                                position: event.position,
                                event_id: event.id.clone(),
                                stream: event.stream.clone(),
                                event_type: event.event_type.clone(),
                                attempts,
                                error: e.to_string(),
                            },
                        )
                        .await?;
                        p.checkpoint = event.position;
                        p.failing = None;
                    }
                }
                self.save(store, &p).await?;
            }
            if events.len() < self.policy.page_size.max(1) {
                // Nothing more for this handler up to the head seen before reading.
                if head > p.checkpoint {
                    p.checkpoint = head;
                    self.save(store, &p).await?;
                }
                return Ok(Pass::CaughtUp);
            }
        }
    }

    /// Runs until `signal` stops it: a pass, then a wait for new events (or for the retry
    /// time), again. Store failures are reported to `on_error` and retried after the backoff;
    /// a closed store ends the run.
    pub async fn run<S, R>(&self, store: &S, rt: &R, signal: &Signal, on_error: &dyn Fn(&Error))
    where
        S: EventStore + StateStore,
        R: Runtime + ?Sized,
    {
        let mut failures = 0;
        while !signal.is_stopped() {
            let wait = match self.pass(store, rt).await {
                Ok(Pass::CaughtUp) => {
                    failures = 0;
                    None
                }
                Ok(Pass::RetryAt(at)) => {
                    failures = 0;
                    Some(u64::try_from(at.saturating_sub(rt.now().0)).unwrap_or(0))
                }
                Err(Error::StoreClosed { .. }) => return,
                Err(e) => {
                    on_error(&e);
                    failures += 1;
                    Some(self.policy.backoff(failures))
                }
            };
            let go_on = match wait {
                None => {
                    let checkpoint = match self.progress(store).await {
                        Ok(p) => p.checkpoint,
                        Err(_) => Position(0),
                    };
                    signal
                        .wait_for(store.changes().wait_beyond(checkpoint))
                        .await
                }
                Some(ms) => signal.wait_for(rt.sleep(ms)).await,
            };
            if !go_on || store.changes().is_closed() {
                return;
            }
        }
    }
}

mod dead;
mod options;
pub use options::HandlerOptions;

#[cfg(test)]
mod tests;
