//! The sync client: one [`SyncClient::sync`] pulls new ranges into the confirmed log, confirms
//! or resolves pending events, pushes what is left and pulls again to confirm it.
//!
//! It is sans-IO: requests go through a [`Transport`] (HTTP `fetch` in the browser, the server
//! logic in-process in tests, with faults injected), and conflicts go through a [`Resolver`]
//! (which knows each aggregate's strategy and can re-run a command). Every step is safe to
//! interrupt: pulled events are appended with their server versions as expected versions
//! (a re-pull after a crash is an idempotent retry), the checkpoint is saved after the events,
//! pending events keep their ids, and a push is retried as the identical request.

use serde::{Deserialize, Serialize};

use crate::core::event::{NewEvent, Position, StreamId, Version};
use crate::core::expected::ExpectedVersion;
use crate::core::json::Json;
use crate::error::{Error, Result};
use crate::store::{Direction, ReadStreamOptions, ResetStore};
use crate::sync::pending::Reconciled;
use crate::sync::protocol::{
    Checkpoint, PullRequest, PullResponse, PushOutcome, PushRequest, PushResponse, StreamPush,
};
use crate::sync::replica::Replica;

/// The state key holding the client's checkpoint.
pub const META_KEY: &str = "$sync/meta";

/// How a client reaches the server.
#[allow(async_fn_in_trait)]
pub trait Transport {
    /// `POST /v1/pull`.
    ///
    /// # Errors
    /// `NETWORK` when the server cannot be reached; the server's error otherwise.
    async fn pull(&self, request: &PullRequest) -> Result<PullResponse>;

    /// `POST /v1/push`.
    ///
    /// # Errors
    /// As [`pull`](Transport::pull).
    async fn push(&self, request: &PushRequest) -> Result<PushResponse>;
}

/// How the pending events of a stream are reconciled with the server's newer events
/// (DESIGN.md §5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// Decide the pending commands again on the new confirmed state; commands now rejected
    /// are reported and dropped. Events appended without a command are re-placed.
    Rebase,
    /// The events commute: re-place them, unchanged, after the server's.
    Append,
    /// Keep them pending and unpushed, and report the conflict until the app resolves it.
    Manual,
}

/// What the client needs from the application to resolve conflicts.
#[allow(async_fn_in_trait)]
pub trait Resolver {
    /// The strategy for `stream`.
    fn strategy(&self, stream: &StreamId) -> Strategy;

    /// Decides `command` again on `stream`'s current state and appends the outcome (through
    /// the replica, so it becomes pending).
    ///
    /// # Errors
    /// `DECIDER_REJECTED` when the command is now rejected; anything else is a failure that
    /// stops the sync (the command stays pending).
    async fn rerun(&self, stream: &StreamId, command: &Json) -> Result<()>;

    /// Called the moment pending events are dropped or refused for good (a command a rebase
    /// finds rejected, a discard, events the server refuses), so the app hears of each once,
    /// even when the sync fails afterwards.
    fn rejected(&self, rejected: Rejected);
}

/// A pending command or append dropped by a sync.
#[derive(Debug)]
pub struct Rejected {
    /// Its stream.
    pub stream: StreamId,
    /// The command, when the events came from one.
    pub command: Option<Json>,
    /// The pending events dropped.
    pub events: Vec<NewEvent>,
    /// Why (`DECIDER_REJECTED` from a rebase, `EVENT_ID_CONFLICT` from the server).
    pub error: Error,
}

/// A stream held by the `manual` strategy (`HeldStream` in JavaScript).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Held {
    /// The stream.
    pub stream: StreamId,
    /// The server's version of it.
    pub actual: Version,
}

/// What [`SyncClient::status`] reads from the store for the sync status.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoreStatus {
    /// Pending events.
    pub pending: usize,
    /// The checkpoint's position (0 before the first pull).
    pub checkpoint: Position,
    /// Streams held by the `manual` strategy.
    pub held: Vec<Held>,
}

/// What one [`SyncClient::sync`] did (`SyncReport` in JavaScript).
#[derive(Debug, Default, Serialize)]
pub struct SyncReport {
    /// Events pulled into the confirmed log.
    pub pulled: usize,
    /// Events the server accepted from this client.
    pub pushed: usize,
    /// Pending commands dropped (rebase) and events refused by the server, each also given to
    /// [`Resolver::rejected`].
    pub rejected: usize,
    /// Streams waiting for the app (`manual`).
    pub held: Vec<Held>,
    /// The server's head at the last pull.
    pub head: Position,
    /// Requests sent.
    pub requests: usize,
    /// Whether this sync finished a re-sync from scratch: the server's store was another one
    /// (`CHECKPOINT_MISMATCH`, a reset or replaced server), so the confirmed log of the sync
    /// scope was dropped and pulled again ([`SyncClient::reset`]). Pending events were kept
    /// and reconciled like after any conflict. Also set by the first sync that completes
    /// after a reset that an earlier, failed sync started.
    pub resynced: bool,
}

/// How a held stream is resolved by the app (`"append"`, `"rebase"` or `"discard"` when
/// deserialized).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Resolution {
    /// Re-place the pending events after the server's.
    Append,
    /// Decide the pending commands again.
    Rebase,
    /// Drop the pending events.
    Discard,
}

/// The client's record under [`META_KEY`].
#[derive(Serialize, Default)]
pub(crate) struct Meta {
    /// The checkpoint of the last stored pull.
    pub checkpoint: Option<Checkpoint>,
    /// A reset dropped the confirmed log and no sync has completed since (reported once as
    /// [`SyncReport::resynced`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub resetting: bool,
}

crate::core::object::object_deserialize!(Meta {
    checkpoint: Option<Checkpoint> = "checkpoint" default,
    resetting: bool = "resetting" default,
});

/// Tuning of a [`SyncClient`].
#[derive(Clone, Debug)]
pub struct SyncOptions {
    /// Events asked per pull (default 5000, the reference server's maximum: a catch-up of
    /// 100,000 events ran at 57k events/s with pages of 5000, 38k with pages of 1000).
    pub pull_limit: u32,
    /// Events per push request (a stream's batch is never split).
    pub push_events: usize,
    /// Pull/push rounds per sync before leaving the rest to the next one.
    pub max_rounds: u32,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            pull_limit: 5000,
            push_events: 1000,
            max_rounds: 4,
        }
    }
}

/// A replica's sync state machine (see the module docs).
pub struct SyncClient<S> {
    pub(super) replica: std::rc::Rc<Replica<S>>,
    pub(super) options: SyncOptions,
}

impl<S: ResetStore> SyncClient<S> {
    /// A client syncing `replica`.
    pub fn new(replica: std::rc::Rc<Replica<S>>, options: SyncOptions) -> Self {
        SyncClient { replica, options }
    }

    /// The replica.
    pub fn replica(&self) -> &std::rc::Rc<Replica<S>> {
        &self.replica
    }

    /// The checkpoint of the last stored pull (`None`: never pulled).
    ///
    /// # Errors
    /// Backend failures; `CORRUPT_DATA`.
    pub async fn checkpoint(&self) -> Result<Option<Checkpoint>> {
        Ok(self.meta().await?.checkpoint)
    }

    /// What the scheduler shows of the store: how many events are pending, the checkpoint's
    /// position and the streams the `manual` strategy holds.
    ///
    /// # Errors
    /// Backend failures; `CORRUPT_DATA`.
    pub async fn status(&self) -> Result<StoreStatus> {
        let set = self.replica.pending().await?;
        let checkpoint = self.checkpoint().await?;
        let held = set
            .streams
            .iter()
            .filter_map(|(stream, p)| {
                let actual = p.held?;
                Some(Held {
                    stream: StreamId::new(stream).ok()?,
                    actual,
                })
            })
            .collect();
        Ok(StoreStatus {
            pending: set.len(),
            checkpoint: checkpoint.map_or(Position(0), |c| c.position),
            held,
        })
    }

    pub(crate) async fn meta(&self) -> Result<Meta> {
        match self.replica.inner().get_state(META_KEY).await? {
            None => Ok(Meta::default()),
            Some(json) => json.decode().map_err(|e| Error::CorruptData {
                record: format!("state/{META_KEY}"),
                message: e.to_string(),
            }),
        }
    }

    /// One full exchange: pull, reconcile, push, and pull again to confirm, for at most
    /// `max_rounds` rounds.
    ///
    /// # Errors
    /// The transport's errors (`NETWORK`, `UNAUTHORIZED`, …), `PROTOCOL_ERROR` for an answer
    /// that breaks the protocol (nothing of it is stored), store failures. Whatever was stored
    /// before the error stays consistent; the next sync continues from there.
    pub async fn sync<T: Transport, R: Resolver>(
        &self,
        transport: &T,
        resolver: &R,
    ) -> Result<SyncReport> {
        let mut report = SyncReport::default();
        for _ in 0..self.options.max_rounds.max(1) {
            self.pull_all(transport, &mut report).await?;
            self.reconcile_all(resolver, &mut report).await?;
            let outcome = self.push(transport, resolver, &mut report).await?;
            if outcome == Pushed::Nothing {
                break;
            }
            if outcome == Pushed::AllAccepted {
                self.pull_all(transport, &mut report).await?;
                self.reconcile_all(resolver, &mut report).await?;
                break;
            }
        }
        self.finish_reset(&mut report).await?;
        Ok(report)
    }

    /// Confirms pending events the confirmed log now holds and resolves streams whose server
    /// copy moved on.
    async fn reconcile_all<R: Resolver>(
        &self,
        resolver: &R,
        report: &mut SyncReport,
    ) -> Result<()> {
        let set = self.replica.pending().await?;
        for name in set.rebasing.keys() {
            // A rebase interrupted earlier (closed tab, failure): finish it first.
            report.rejected += self
                .continue_rebase(&StreamId::new(name)?, resolver)
                .await?;
        }
        let set = self.replica.pending().await?;
        for (name, pending) in set.streams.iter() {
            let stream = StreamId::new(name)?;
            let inner = self.replica.inner();
            let confirmed = inner.stream_version(&stream).await?;
            let outcome = if pending.unbased {
                // After a reset: match ids against the whole stream the new server has.
                let all = inner
                    .read_stream(&stream, &ReadStreamOptions::default())
                    .await?;
                self.replica
                    .update_pending(|s| match s.streams.get(stream.as_str()) {
                        Some(p) if p.unbased => Ok(s.reconcile_unbased(&stream, &all)),
                        _ => Ok(Reconciled::Ready),
                    })
                    .await?
            } else {
                if confirmed == pending.base && pending.held.is_none() {
                    continue;
                }
                let after_base = if confirmed > pending.base {
                    let options = ReadStreamOptions {
                        from: Some(Version(pending.base.0 + 1)),
                        limit: Some(pending.events.len()),
                        direction: Direction::Forward,
                    };
                    inner.read_stream(&stream, &options).await?
                } else {
                    Vec::new()
                };
                self.replica
                    .update_pending(|s| Ok(s.reconcile(&stream, &after_base, confirmed)))
                    .await?
            };
            if let Reconciled::Conflict { actual } = outcome {
                let resolution = match resolver.strategy(&stream) {
                    Strategy::Append => Resolution::Append,
                    Strategy::Rebase => Resolution::Rebase,
                    Strategy::Manual => {
                        self.replica
                            .update_pending(|s| {
                                if let Some(p) = s.streams.get_mut(stream.as_str()) {
                                    p.held = Some(actual);
                                }
                                Ok(())
                            })
                            .await?;
                        report.held.push(Held {
                            stream: stream.clone(),
                            actual,
                        });
                        continue;
                    }
                };
                report.rejected += self.resolve(&stream, resolution, resolver).await?;
            }
        }
        Ok(())
    }

    /// Pushes every stream that is ready, in requests of about `push_events` events.
    async fn push<T: Transport, R: Resolver>(
        &self,
        transport: &T,
        resolver: &R,
        report: &mut SyncReport,
    ) -> Result<Pushed> {
        let set = self.replica.pending().await?;
        let ready: Vec<StreamPush> = set
            .streams
            .iter()
            .filter(|(_, p)| p.held.is_none())
            .map(|(name, p)| {
                Ok(StreamPush {
                    stream: StreamId::new(name)?,
                    expected_version: ExpectedVersion::Exact(p.base),
                    events: p.events.iter().map(|e| e.event.clone()).collect(),
                })
            })
            .collect::<Result<_>>()?;
        if ready.is_empty() {
            return Ok(Pushed::Nothing);
        }
        let mut all_accepted = true;
        let mut requests: Vec<Vec<StreamPush>> = vec![Vec::new()];
        let mut size = 0;
        for push in ready {
            if size > 0 && size + push.events.len() > self.options.push_events {
                requests.push(Vec::new());
                size = 0;
            }
            size += push.events.len();
            if let Some(last) = requests.last_mut() {
                last.push(push);
            }
        }
        for streams in requests {
            let counts: Vec<usize> = streams.iter().map(|s| s.events.len()).collect();
            report.requests += 1;
            let answer = transport.push(&PushRequest::new(streams)).await?;
            for (result, count) in answer.results.into_iter().zip(counts) {
                match result.outcome {
                    PushOutcome::Ok(_) => report.pushed += count,
                    PushOutcome::Conflict(_) => all_accepted = false,
                    PushOutcome::Error(body) => {
                        // The server will never take these events: report and hold them so
                        // the app decides (nothing is dropped silently).
                        all_accepted = false;
                        let stream = result.stream.clone();
                        let error = body.into_error();
                        self.replica
                            .update_pending(|s| {
                                if let Some(p) = s.streams.get_mut(stream.as_str()) {
                                    p.held = Some(p.base);
                                }
                                Ok(())
                            })
                            .await?;
                        report.rejected += 1;
                        resolver.rejected(Rejected {
                            stream: stream.clone(),
                            command: None,
                            events: Vec::new(),
                            error,
                        });
                    }
                }
            }
        }
        Ok(if all_accepted {
            Pushed::AllAccepted
        } else {
            Pushed::Conflicts
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pushed {
    Nothing,
    AllAccepted,
    Conflicts,
}

mod conflicts;
pub use conflicts::Conflicts;
mod pull;
mod reset;
mod resolve;

#[cfg(test)]
mod reset_tests;

#[cfg(test)]
mod tests;
