//! Pulling new ranges into the confirmed log: pages fetched one ahead of the one being stored,
//! each stored as one append per run of a stream (all in one IndexedDB transaction through
//! group commit), the checkpoint saved only after its page. Used by [`SyncClient::sync`].

use crate::core::event::{NewEvent, RecordedEvent, StreamId, Version};
use crate::core::expected::ExpectedVersion;
use crate::core::json::Json;
use crate::error::{Error, Result};
use crate::store::{Direction, EventStore, ReadStreamOptions, ResetStore};
use crate::sync::client::{Meta, SyncClient, SyncReport, Transport, META_KEY};
use crate::sync::protocol::{Checkpoint, Encoding, PullRequest};

impl<S: ResetStore> SyncClient<S> {
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
            request.encoding = Encoding::Columns;
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
            let batch = to_new(run);
            let first = run[0].version;
            appends.push(async move {
                let appended = inner
                    .append(stream, batch, ExpectedVersion::Exact(before))
                    .await;
                match appended {
                    Err(Error::EventIdConflict { .. } | Error::WrongExpectedVersion { .. }) => {
                        store_overlapping(&**inner, stream, run, before).await
                    }
                    other => other.map(drop),
                }
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
}

/// Pulled events as the batch that appends them locally.
fn to_new(run: &[RecordedEvent]) -> Vec<NewEvent> {
    run.iter()
        .map(|e| NewEvent {
            id: e.id.clone(),
            event_type: e.event_type.clone(),
            data: e.data.clone(),
            metadata: e.metadata.clone(),
        })
        .collect()
}

/// Stores a run of pulled events of which a first part may be stored already, by a page that
/// ended inside this run before a crash (the checkpoint is saved after its page, and the pages
/// re-pulled after the crash need not end where the stored ones did). The stored part must be
/// these very events (same ids, same versions); only the rest is appended. Without such a part,
/// or when it differs, the error is the plain append's.
async fn store_overlapping<S: EventStore + ?Sized>(
    inner: &S,
    stream: &StreamId,
    run: &[RecordedEvent],
    before: Version,
) -> Result<()> {
    let batch = to_new(run);
    let current = inner.stream_version(stream).await?;
    let stored = usize::try_from(current.0.saturating_sub(before.0))
        .unwrap_or(usize::MAX)
        .min(batch.len());
    if stored == 0 {
        return inner
            .append(stream, batch, ExpectedVersion::Exact(before))
            .await
            .map(drop);
    }
    let local = inner
        .read_stream(
            stream,
            &ReadStreamOptions {
                from: Some(Version(before.0 + 1)),
                limit: Some(stored),
                direction: Direction::Forward,
            },
        )
        .await?;
    let same = local.len() == stored
        && local
            .iter()
            .zip(&batch)
            .all(|(old, new)| old.id == new.id && new.same_content(old));
    if !same {
        // Not ours: the plain append's error says why.
        return inner
            .append(stream, batch, ExpectedVersion::Exact(before))
            .await
            .map(drop);
    }
    let rest: Vec<NewEvent> = batch.into_iter().skip(stored).collect();
    if rest.is_empty() {
        return Ok(());
    }
    let at = Version(before.0 + stored as u64);
    inner
        .append(stream, rest, ExpectedVersion::Exact(at))
        .await
        .map(drop)
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
