//! The saga runner's outer loop: finding the unfinished sagas of a definition, running them
//! until stopped (waking on new events, deadlines and kicks), and the app's answers to a parked
//! compensation (retry, skip).

use super::{Blocked, SagaEffects, SagaRunner};
use crate::cqrs::runtime::{self, Runtime, Signal};
use crate::cqrs::saga::SagaEvent;
use crate::error::{Error, Result};
use crate::store::{EventFilter, EventStore, ReadAllOptions};

impl<E: SagaEffects> SagaRunner<E> {
    /// Looks for saga streams of this definition that appeared or finished since the last
    /// call. Returns the ids of the unfinished ones.
    ///
    /// # Errors
    /// Store failures.
    pub async fn active<S: EventStore>(&self, store: &S) -> Result<Vec<String>> {
        let prefix = self.shape.prefix();
        loop {
            let cursor = self.index.borrow().cursor;
            let options = ReadAllOptions {
                after: cursor,
                limit: Some(1000),
                filter: EventFilter {
                    stream_prefixes: vec![prefix.clone()],
                    types: None,
                },
            };
            let events = store.read_all(&options).await?;
            let mut index = self.index.borrow_mut();
            for e in &events {
                let Some(id) = e.stream.as_str().strip_prefix(&prefix) else {
                    continue;
                };
                match e.event_type.as_str() {
                    "SagaCompleted" | "SagaCompensated" => index.active.remove(id),
                    _ => index.active.insert(id),
                };
                index.cursor = e.position;
            }
            if events.len() < 1000 {
                return Ok(index.active.0.clone());
            }
        }
    }

    /// Runs every unfinished saga of this definition, then waits for new events, the next
    /// deadline or a kick, until `signal` stops it. Failures are reported to `on_error` and
    /// retried on the next wake (after at most `backoff_ms`).
    pub async fn run<S, R>(&self, store: &S, rt: &R, signal: &Signal, on_error: &dyn Fn(&Error))
    where
        S: EventStore,
        R: Runtime + ?Sized,
    {
        while !signal.is_stopped() {
            let head = store.head().await.unwrap_or_default();
            let mut wake_at: Option<i64> = None;
            match self.active(store).await {
                Ok(ids) => {
                    for id in ids {
                        if signal.is_stopped() {
                            return;
                        }
                        match self.advance(store, rt, &id).await {
                            Ok(Blocked::Waiting(Some(due))) => {
                                wake_at = Some(wake_at.map_or(due, |w| w.min(due)))
                            }
                            Ok(_) => {}
                            Err(Error::StoreClosed { .. }) => return,
                            Err(e) => {
                                on_error(&e);
                                let retry = rt.now().0.saturating_add(
                                    i64::try_from(self.policy.backoff_ms).unwrap_or(i64::MAX),
                                );
                                wake_at = Some(wake_at.map_or(retry, |w| w.min(retry)));
                            }
                        }
                    }
                }
                Err(Error::StoreClosed { .. }) => return,
                Err(e) => on_error(&e),
            }
            if store.changes().is_closed() {
                return;
            }
            let sleep_ms =
                wake_at.map(|at| u64::try_from(at.saturating_sub(rt.now().0)).unwrap_or(0));
            let more = store.changes().wait_beyond(head);
            let go_on = match sleep_ms {
                Some(ms) => signal.wait_for(runtime::first(more, rt.sleep(ms))).await,
                None => signal.wait_for(more).await,
            };
            if !go_on {
                return;
            }
        }
    }

    /// Retries the parked compensation of saga `id` (its attempts start again).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] if the saga is not parked; store failures.
    pub async fn retry<S: EventStore>(&self, store: &S, id: &str) -> Result<()> {
        self.resolve(store, id, false).await
    }

    /// Skips the parked compensation of saga `id` (its step stays uncompensated) and goes on
    /// with the others.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] if the saga is not parked; store failures.
    pub async fn skip<S: EventStore>(&self, store: &S, id: &str) -> Result<()> {
        self.resolve(store, id, true).await
    }

    async fn resolve<S: EventStore>(&self, store: &S, id: &str, skip: bool) -> Result<()> {
        loop {
            let state = self
                .load(store, id)
                .await?
                .ok_or_else(|| Error::invalid(format!("no saga {id}")))?;
            let step = state
                .parked_step(&self.shape)
                .ok_or_else(|| Error::invalid(format!("saga {id} is not parked")))?;
            let event = if skip {
                SagaEvent::CompensationSkipped { step }
            } else {
                SagaEvent::CompensationRetried { step }
            };
            if self.record(store, &state, &event).await? {
                self.index.borrow_mut().active.insert(id);
                return Ok(());
            }
        }
    }
}
