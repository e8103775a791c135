//! Carrying sagas out: [`SagaRunner`] records each decision of [`SagaState::next`] in the saga's
//! stream (expecting the version it read, so two runners never both record a step), then acts
//! on it through [`SagaEffects`] (the command bus, the definition's matchers).

use std::cell::RefCell;

use serde_json::{Map, Value};

use crate::core::event::{EventId, EventType, Position, RecordedEvent};
use crate::core::expected::ExpectedVersion;
use crate::core::json::Json;
use crate::cqrs::bus::CommandContext;
use crate::cqrs::ids;
use crate::cqrs::runtime::{self, LocalBoxFuture, Runtime};
use crate::cqrs::saga::{Action, InFlight, SagaEvent, SagaShape, SagaState, SagaStatus, StepKind};
use crate::cqrs::tagged::to_event;
use crate::error::{Error, Result};
use crate::store::{EventFilter, EventStore, ReadAllOptions, ReadStreamOptions};

/// What a saga's steps do: dispatch commands and recognise awaited events.
pub trait SagaEffects {
    /// Dispatches the command of `step` (its compensation when `compensate`) for `saga`, with
    /// `ctx` (whose deterministic command id makes a repeated dispatch recognisable).
    fn dispatch(
        &self,
        saga: &SagaState,
        step: usize,
        compensate: bool,
        ctx: CommandContext,
    ) -> LocalBoxFuture<'static, Result<Json>>;

    /// Whether `event` is the one the wait step `step` of `saga` waits for.
    ///
    /// # Errors
    /// When the matcher fails (the step then fails).
    fn matches(&self, saga: &SagaState, step: usize, event: &RecordedEvent) -> Result<bool>;
}

/// Time limits and retry pacing of a saga runner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SagaPolicy {
    /// A step or compensation command that has not settled after this long fails
    /// (`HANDLER_TIMEOUT`).
    pub step_timeout_ms: u64,
    /// Wait before retrying a failed compensation; doubles with each failure.
    pub backoff_ms: u64,
    /// The longest wait between compensation retries.
    pub max_backoff_ms: u64,
}

impl Default for SagaPolicy {
    /// 30 s per command, backoff 1 s doubling up to 30 s.
    fn default() -> Self {
        SagaPolicy {
            step_timeout_ms: 30_000,
            backoff_ms: 1000,
            max_backoff_ms: 30_000,
        }
    }
}

/// Why [`SagaRunner::advance`] stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Blocked {
    /// The saga does not exist.
    Missing,
    /// The saga finished (completed or compensated).
    Finished(SagaStatus),
    /// A compensation is parked: the app must retry or skip it.
    Parked,
    /// Waiting for an event, until the deadline if any (Unix milliseconds).
    Waiting(Option<i64>),
}

#[derive(Default)]
struct Index {
    cursor: Position,
    active: SortedIds,
}

/// A sorted set of saga ids on a `Vec` (a `BTreeSet` would add its own tree code to the wasm).
#[derive(Default)]
struct SortedIds(Vec<String>);

impl SortedIds {
    fn insert(&mut self, id: &str) {
        if let Err(i) = self.0.binary_search_by(|x| x.as_str().cmp(id)) {
            self.0.insert(i, id.to_owned());
        }
    }

    fn remove(&mut self, id: &str) {
        if let Ok(i) = self.0.binary_search_by(|x| x.as_str().cmp(id)) {
            self.0.remove(i);
        }
    }
}

/// Runs the sagas of one definition.
pub struct SagaRunner<E> {
    shape: SagaShape,
    effects: E,
    policy: SagaPolicy,
    index: RefCell<Index>,
}

fn recovered() -> Json {
    Json::trusted(r#"{"recovered":true}"#.to_owned())
}

impl<E: SagaEffects> SagaRunner<E> {
    /// A runner of the sagas `shape` defines.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a malformed shape.
    pub fn new(shape: SagaShape, effects: E, policy: SagaPolicy) -> Result<Self> {
        shape.check()?;
        Ok(SagaRunner {
            shape,
            effects,
            policy,
            index: RefCell::new(Index::default()),
        })
    }

    /// The saga's shape.
    pub fn shape(&self) -> &SagaShape {
        &self.shape
    }

    /// Starts the saga `id` with `input`. Idempotent: a saga id runs once; starting it again
    /// returns `false` and changes nothing.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an empty id; store failures.
    pub async fn start<S: EventStore>(
        &self,
        store: &S,
        id: &str,
        input: Json,
        correlation_id: Option<String>,
    ) -> Result<bool> {
        let stream = self.shape.stream(id)?;
        let event_id = ids::derive(&[stream.as_str(), "started"]);
        let correlation_id = correlation_id.unwrap_or_else(|| event_id.as_str().to_owned());
        let event = to_event(
            event_id,
            &SagaEvent::SagaStarted {
                input,
                correlation_id: correlation_id.clone(),
            },
        )?;
        let mut m = Map::new();
        m.insert("correlationId".into(), correlation_id.into());
        let event = event.with_metadata(Json::from_value(&m)?)?;
        match store
            .append(&stream, vec![event], ExpectedVersion::NoStream)
            .await
        {
            Ok(_) => {
                self.index.borrow_mut().active.insert(id);
                Ok(true)
            }
            Err(Error::WrongExpectedVersion { .. } | Error::EventIdConflict { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The saga's state (`None` if it was never started).
    ///
    /// # Errors
    /// Store failures; [`Error::CorruptData`] for a stream that is not a saga's.
    pub async fn load<S: EventStore>(&self, store: &S, id: &str) -> Result<Option<SagaState>> {
        let stream = self.shape.stream(id)?;
        let events = store
            .read_stream(&stream, &ReadStreamOptions::default())
            .await?;
        SagaState::fold(id, &events)
    }

    /// Records `event` after the state it was decided from. `Ok(false)` when another runner
    /// recorded something first (reload and decide again).
    async fn record<S: EventStore>(
        &self,
        store: &S,
        state: &SagaState,
        event: &SagaEvent,
    ) -> Result<bool> {
        let stream = self.shape.stream(&state.id)?;
        let next = state.version.0 + 1;
        let id = ids::derive(&[stream.as_str(), "v", &next.to_string()]);
        let mut m = Map::new();
        m.insert("correlationId".into(), state.correlation_id.clone().into());
        if let Some(c) = &state.last_event {
            m.insert("causationId".into(), c.as_str().into());
        }
        let event = to_event(id, event)?.with_metadata(Json::from_value(&m)?)?;
        match store
            .append(&stream, vec![event], ExpectedVersion::Exact(state.version))
            .await
        {
            Ok(_) => Ok(true),
            Err(Error::WrongExpectedVersion { .. } | Error::EventIdConflict { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Whether some event after `after` carries `command_id` in its metadata: the command
    /// committed (before a reload or a closed tab) and must not run again.
    async fn committed<S: EventStore>(
        &self,
        store: &S,
        after: Position,
        command_id: &EventId,
    ) -> Result<bool> {
        let mut after = after;
        loop {
            let options = ReadAllOptions {
                after,
                limit: Some(500),
                filter: EventFilter::default(),
            };
            let events = store.read_all(&options).await?;
            for e in &events {
                if e.stream.as_str().starts_with("$saga-")
                    || !e.metadata.as_str().contains(command_id.as_str())
                {
                    continue;
                }
                let m: Map<String, Value> = e.metadata.decode().unwrap_or_default();
                if m.get("commandId").and_then(Value::as_str) == Some(command_id.as_str()) {
                    return Ok(true);
                }
            }
            match events.last() {
                Some(last) if events.len() == 500 => after = last.position,
                _ => return Ok(false),
            }
        }
    }

    fn context(&self, state: &SagaState, f: &InFlight) -> CommandContext {
        CommandContext {
            command_id: f.command_id.clone(),
            correlation_id: state.correlation_id.clone(),
            causation_id: state.last_event.as_ref().map(|e| e.as_str().to_owned()),
            metadata: Map::new(),
        }
    }

    async fn dispatch<R: Runtime + ?Sized>(
        &self,
        rt: &R,
        state: &SagaState,
        f: &InFlight,
        compensate: bool,
    ) -> Result<Json> {
        let ms = self.policy.step_timeout_ms;
        let call = self
            .effects
            .dispatch(state, f.step, compensate, self.context(state, f));
        runtime::timeout(rt, ms, call)
            .await
            .unwrap_or(Err(Error::HandlerTimeout { ms }))
    }

    /// The awaited event after `f.after`, if it arrived.
    async fn awaited<S: EventStore>(
        &self,
        store: &S,
        state: &SagaState,
        f: &InFlight,
        event_type: &EventType,
    ) -> Result<Option<RecordedEvent>> {
        let mut after = f.after;
        loop {
            let options = ReadAllOptions {
                after,
                limit: Some(500),
                filter: EventFilter {
                    stream_prefixes: Vec::new(),
                    types: Some(vec![event_type.clone()]),
                },
            };
            let events = store.read_all(&options).await?;
            for e in &events {
                if self.effects.matches(state, f.step, e)? {
                    return Ok(Some(e.clone()));
                }
            }
            match events.last() {
                Some(last) if events.len() == 500 => after = last.position,
                _ => return Ok(None),
            }
        }
    }

    fn backoff(&self, attempts: u32) -> u64 {
        let shift = attempts.saturating_sub(1).min(32);
        self.policy
            .backoff_ms
            .saturating_mul(1u64 << shift)
            .min(self.policy.max_backoff_ms)
    }

    /// Runs the saga `id` until it finishes or blocks (a wait, a parked compensation). Every
    /// step is recorded as started before it runs and as settled after; a step in flight from
    /// an earlier run is first looked up in the log by its command id.
    ///
    /// # Errors
    /// Store failures (nothing is recorded for the action that failed; the next advance
    /// resumes it).
    pub async fn advance<S, R>(&self, store: &S, rt: &R, id: &str) -> Result<Blocked>
    where
        S: EventStore,
        R: Runtime + ?Sized,
    {
        loop {
            let Some(state) = self.load(store, id).await? else {
                return Ok(Blocked::Missing);
            };
            let stream = self.shape.stream(id)?;
            let event = match state.next(&self.shape) {
                Action::Idle if state.status == SagaStatus::Parked => return Ok(Blocked::Parked),
                Action::Idle => return Ok(Blocked::Finished(state.status)),
                Action::StartStep(step) => {
                    // A wait sees the events since the saga started (the payment may come
                    // before the saga reaches the step); a command, those after its start.
                    let (after, due) = match self.shape.steps.get(step).map(|s| &s.kind) {
                        Some(StepKind::Await { timeout_ms, .. }) => (
                            state.started_after,
                            timeout_ms.map(|ms| {
                                rt.now()
                                    .0
                                    .saturating_add(i64::try_from(ms).unwrap_or(i64::MAX))
                            }),
                        ),
                        _ => (store.head().await?, None),
                    };
                    SagaEvent::StepStarted {
                        step,
                        command_id: self.shape.command_id(&stream, step, false),
                        after,
                        due,
                    }
                }
                Action::RunStep(f) => {
                    if self.committed(store, f.after, &f.command_id).await? {
                        SagaEvent::StepCompleted {
                            step: f.step,
                            result: recovered(),
                        }
                    } else {
                        match self.dispatch(rt, &state, &f, false).await {
                            Ok(result) => SagaEvent::StepCompleted {
                                step: f.step,
                                result,
                            },
                            Err(e @ Error::StoreClosed { .. }) => return Err(e),
                            Err(e) => SagaEvent::StepFailed {
                                step: f.step,
                                error: (&e).into(),
                            },
                        }
                    }
                }
                Action::Await(f) => {
                    let Some(StepKind::Await { event_type, .. }) =
                        self.shape.steps.get(f.step).map(|s| &s.kind)
                    else {
                        return Err(Error::invalid("the awaited step is not a wait step"));
                    };
                    match self.awaited(store, &state, &f, event_type).await {
                        Ok(Some(e)) => {
                            let mut text = String::with_capacity(e.json_len_hint());
                            e.write_json(&mut text);
                            SagaEvent::StepCompleted {
                                step: f.step,
                                result: Json::trusted(text),
                            }
                        }
                        Ok(None) => match f.due {
                            Some(due) if due <= rt.now().0 => SagaEvent::StepFailed {
                                step: f.step,
                                error: crate::cqrs::saga::Failure {
                                    code: "HANDLER_TIMEOUT".into(),
                                    message: format!(
                                        "step {} did not see {event_type} before its deadline",
                                        self.shape
                                            .steps
                                            .get(f.step)
                                            .map_or("?", |s| s.name.as_str())
                                    ),
                                },
                            },
                            due => return Ok(Blocked::Waiting(due)),
                        },
                        Err(e @ Error::StoreClosed { .. }) => return Err(e),
                        Err(e) => SagaEvent::StepFailed {
                            step: f.step,
                            error: (&e).into(),
                        },
                    }
                }
                Action::StartCompensation(step) => {
                    if state.attempts > 0 {
                        rt.sleep(self.backoff(state.attempts)).await;
                    }
                    SagaEvent::CompensationStarted {
                        step,
                        command_id: self.shape.command_id(&stream, step, true),
                        after: store.head().await?,
                    }
                }
                Action::RunCompensation(f) => {
                    if self.committed(store, f.after, &f.command_id).await? {
                        SagaEvent::CompensationCompleted { step: f.step }
                    } else {
                        match self.dispatch(rt, &state, &f, true).await {
                            Ok(_) => SagaEvent::CompensationCompleted { step: f.step },
                            Err(e @ Error::StoreClosed { .. }) => return Err(e),
                            Err(e) => state.compensation_failed(&self.shape, f.step, &e),
                        }
                    }
                }
                Action::Finish(event) => event,
            };
            self.record(store, &state, &event).await?;
        }
    }
}

mod options;
mod run_loop;
pub use options::{SagaOptions, DEFAULT_COMPENSATION_ATTEMPTS};
mod starter;

pub use starter::{starter, SagaStarter};
