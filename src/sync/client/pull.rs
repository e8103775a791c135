//! Pulling new ranges into the confirmed log: pages fetched one ahead of the one being stored,
//! each stored as one append per run of a stream (all in one IndexedDB transaction through
//! group commit), the checkpoint saved only after its page. Used by [`SyncClient::sync`].

use crate::core::event::{NewEvent, RecordedEvent, Version};
use crate::core::expected::ExpectedVersion;
use crate::core::json::Json;
use crate::error::{Error, Result};
use crate::store::{Direction, ReadStreamOptions, ResetStore};
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
        // Until a page holds an event not stored here: pages pulled again after a crash
        // (stored, checkpoint not saved) may be stored whole or in part.
        let mut resume = true;
        // The checkpoint of the last page stored, not saved yet.
        let mut unsaved: Option<Checkpoint> = None;
        loop {
            page.check(after.as_ref())?;
            let next = page.more.then(|| request(Some(page.checkpoint.clone())));
            if next.is_some() {
                report.requests += 1;
            }
            let save = unsaved.take();
            let fresh = if resume {
                match self.unstored(&page.events).await? {
                    Unstored::None => &[][..],
                    Unstored::From(i) => {
                        resume = false;
                        &page.events[i..]
                    }
                }
            } else {
                &page.events[..]
            };
            let store = async {
                let (stored, saved) = both(self.store_page(fresh), async {
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

    /// Which events of a pulled page are not stored yet. Pulled pages are stored in the
    /// server's order, so what is stored is a prefix of what the server sends, and an event is
    /// stored when its stream's local version reaches its version. A page pulled again after a
    /// crash (stored, its checkpoint not saved) may be stored whole or end inside a stored run
    /// of one stream (the pages pulled again need not end where the stored ones did: another
    /// `pullLimit`, or more events since). Finds the first unstored event by bisection: one
    /// version read when the page is new, about log2(page) otherwise, then checks by id that
    /// the last one taken for stored is the pulled event.
    async fn unstored(&self, events: &[RecordedEvent]) -> Result<Unstored> {
        let inner = self.replica.inner();
        let stored = |e: &RecordedEvent| {
            let (stream, version) = (e.stream.clone(), e.version);
            async move { Ok::<_, Error>(inner.stream_version(&stream).await? >= version) }
        };
        match events.first() {
            None => return Ok(Unstored::None),
            Some(first) if !stored(first).await? => return Ok(Unstored::From(0)),
            Some(_) => {}
        }
        let (mut lo, mut hi) = (1, events.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if stored(&events[mid]).await? {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        // The last event taken for stored must be this very event, not a local one at its
        // version (then the plain append of the whole page says what is wrong).
        let last = &events[lo - 1];
        let options = ReadStreamOptions {
            from: Some(last.version),
            limit: Some(1),
            direction: Direction::Forward,
        };
        let local = inner.read_stream(&last.stream, &options).await?;
        if local.first().map(|e| &e.id) != Some(&last.id) {
            return Ok(Unstored::From(0));
        }
        Ok(if lo == events.len() {
            Unstored::None
        } else {
            Unstored::From(lo)
        })
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
}

/// What of a pulled page is not stored yet (see [`SyncClient::unstored`]).
enum Unstored {
    /// All of it is stored (pulled again after a crash).
    None,
    /// The events from this index on.
    From(usize),
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
