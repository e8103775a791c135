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

use crate::core::event::{NewEvent, Position, RecordedEvent, StreamId, Version};
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

/// A stream held by the `manual` strategy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Held {
    /// The stream.
    pub stream: StreamId,
    /// The server's version of it.
    pub actual: Version,
}

/// What one [`SyncClient::sync`] did.
#[derive(Debug, Default)]
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

/// How a held stream is resolved by the app.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolution {
    /// Re-place the pending events after the server's.
    Append,
    /// Decide the pending commands again.
    Rebase,
    /// Drop the pending events.
    Discard,
}

/// The client's record under [`META_KEY`].
#[derive(Serialize, Deserialize, Default)]
pub(crate) struct Meta {
    /// The checkpoint of the last stored pull.
    pub checkpoint: Option<Checkpoint>,
    /// A reset dropped the confirmed log and no sync has completed since (reported once as
    /// [`SyncReport::resynced`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub resetting: bool,
}

/// Tuning of a [`SyncClient`].
#[derive(Clone, Debug)]
pub struct SyncOptions {
    /// Events asked per pull.
    pub pull_limit: u32,
    /// Events per push request (a stream's batch is never split).
    pub push_events: usize,
    /// Pull/push rounds per sync before leaving the rest to the next one.
    pub max_rounds: u32,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            pull_limit: 1000,
            push_events: 1000,
            max_rounds: 4,
        }
    }
}

/// A replica's sync state machine (see the module docs).
pub struct SyncClient<S> {
    replica: std::rc::Rc<Replica<S>>,
    options: SyncOptions,
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

    /// Pulls until the server says nothing more remains. While a page is stored, the next one
    /// is already requested (a pull only reads, and a page is stored only after the one before
    /// it), and the checkpoint of the page before is saved, so the network and the local store
    /// work at the same time. A checkpoint is only ever saved once its page is stored (a crash
    /// in between re-pulls pages that are already stored: idempotent retries).
    ///
    /// A `CHECKPOINT_MISMATCH` (the server's store is another one) resets the client
    /// ([`reset`](Self::reset), at most once per report) and pulls again from the start.
    ///
    /// # Errors
    /// As [`sync`](Self::sync).
    pub async fn pull_all<T: Transport>(
        &self,
        transport: &T,
        report: &mut SyncReport,
    ) -> Result<()> {
        match self.pull_pages(transport, report).await {
            Err(Error::CheckpointMismatch { .. }) if !report.resynced => {
                self.reset().await?;
                report.resynced = true;
                self.pull_pages(transport, report).await
            }
            other => other,
        }
    }

    async fn pull_pages<T: Transport>(&self, transport: &T, report: &mut SyncReport) -> Result<()> {
        let request = |after: Option<Checkpoint>| {
            let mut request = PullRequest::new(after, self.replica.scope().to_vec());
            request.limit = Some(self.options.pull_limit);
            request
        };
        let Meta {
            checkpoint: mut after,
            resetting,
        } = self.meta().await?;
        report.requests += 1;
        let mut page = transport.pull(&request(after.clone())).await?;
        // The checkpoint of the last page stored, not saved yet.
        let mut unsaved: Option<Checkpoint> = None;
        loop {
            page.check(after.as_ref())?;
            let next = page.more.then(|| request(Some(page.checkpoint.clone())));
            if next.is_some() {
                report.requests += 1;
            }
            let save = unsaved.take();
            let store = async {
                let (stored, saved) = both(self.store_page(&page.events), async {
                    match save {
                        Some(checkpoint) => self.save_checkpoint(checkpoint, resetting).await,
                        None => Ok(()),
                    }
                })
                .await;
                saved.and(stored)
            };
            let fetch = async {
                match &next {
                    Some(next) => transport.pull(next).await.map(Some),
                    None => Ok(None),
                }
            };
            let (stored, fetched) = both(store, fetch).await;
            stored?;
            report.pulled += page.events.len();
            report.head = page.head;
            unsaved = Some(page.checkpoint.clone());
            let fetched = match fetched {
                Ok(Some(fetched)) => fetched,
                done => {
                    // The last page (or a failed pull): what is stored stays stored.
                    if let Some(checkpoint) = unsaved {
                        self.save_checkpoint(checkpoint, resetting).await?;
                    }
                    return done.map(drop);
                }
            };
            after = Some(page.checkpoint);
            page = fetched;
        }
    }

    /// Saves the checkpoint of the pulls stored so far (`resetting` kept as it was: see
    /// [`Meta::resetting`]).
    async fn save_checkpoint(&self, checkpoint: Checkpoint, resetting: bool) -> Result<()> {
        let meta = Meta {
            checkpoint: Some(checkpoint),
            resetting,
        };
        self.replica
            .inner()
            .put_state(META_KEY, Json::from_value(&meta)?)
            .await
    }

    /// Appends pulled events to the confirmed log, each run of one stream as one append
    /// expecting the version before it: a page stored before (a crash before the checkpoint
    /// was saved) is recognised as already appended. The appends of a page are issued together,
    /// in order, so a backend that groups concurrent appends (IndexedDB) commits the page in
    /// one transaction.
    async fn store_page(&self, events: &[RecordedEvent]) -> Result<()> {
        let inner = self.replica.inner();
        let mut appends = Vec::new();
        let mut start = 0;
        while start < events.len() {
            let stream = &events[start].stream;
            let end = events[start..]
                .iter()
                .position(|e| e.stream != *stream)
                .map_or(events.len(), |n| start + n);
            let run = &events[start..end];
            if run.windows(2).any(|w| w[1].version.0 != w[0].version.0 + 1) {
                return Err(Error::protocol(format!(
                    "pulled events of stream {stream} skip or repeat versions"
                )));
            }
            let before = Version(run[0].version.0.saturating_sub(1));
            let batch = run
                .iter()
                .map(|e| NewEvent {
                    id: e.id.clone(),
                    event_type: e.event_type.clone(),
                    data: e.data.clone(),
                    metadata: e.metadata.clone(),
                })
                .collect();
            let first = run[0].version;
            appends.push(async move {
                inner
                    .append(stream, batch, ExpectedVersion::Exact(before))
                    .await
                    .map_err(|e| match e {
                        Error::WrongExpectedVersion { actual, .. } => Error::protocol(format!(
                            "pulled events of stream {stream} start at version {first} but the \
                             local confirmed stream is at version {actual} (local events that \
                             were never pulled from this server?)"
                        )),
                        other => other,
                    })
            });
            start = end;
        }
        all_in_order(appends).await
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
        for (name, pending) in &set.streams {
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

/// Runs `a` and `b` together (`a` polled first); resolves to both outputs.
async fn both<A, B>(
    a: impl std::future::Future<Output = A>,
    b: impl std::future::Future<Output = B>,
) -> (A, B) {
    use std::task::Poll;
    let (mut a, mut b) = (Box::pin(a), Box::pin(b));
    let (mut done_a, mut done_b) = (None, None);
    std::future::poll_fn(move |cx| {
        if done_a.is_none() {
            if let Poll::Ready(v) = a.as_mut().poll(cx) {
                done_a = Some(v);
            }
        }
        if done_b.is_none() {
            if let Poll::Ready(v) = b.as_mut().poll(cx) {
                done_b = Some(v);
            }
        }
        match (done_a.take(), done_b.take()) {
            (Some(x), Some(y)) => Poll::Ready((x, y)),
            (x, y) => {
                done_a = x;
                done_b = y;
                Poll::Pending
            }
        }
    })
    .await
}

/// Polls every future (the first poll of each in order) until all are done; the first error.
async fn all_in_order<T, F: std::future::Future<Output = Result<T>>>(
    futures: Vec<F>,
) -> Result<()> {
    use std::task::Poll;
    let mut pending: Vec<Option<std::pin::Pin<Box<F>>>> =
        futures.into_iter().map(|f| Some(Box::pin(f))).collect();
    let mut first_error = None;
    std::future::poll_fn(|cx| {
        for slot in pending.iter_mut() {
            if let Some(f) = slot {
                if let Poll::Ready(result) = f.as_mut().poll(cx) {
                    *slot = None;
                    if let Err(e) = result {
                        first_error.get_or_insert(e);
                    }
                }
            }
        }
        if pending.iter().all(Option::is_none) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
    first_error.map_or(Ok(()), Err)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pushed {
    Nothing,
    AllAccepted,
    Conflicts,
}

#[cfg(test)]
#[path = "client_reset_tests.rs"]
mod reset_tests;

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
