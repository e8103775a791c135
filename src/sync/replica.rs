//! [`Replica`]: a local store as a synced client sees it. The store's own log holds only
//! **confirmed** events, in the server's order; appends to streams in the sync scope become
//! **pending** events (see [`pending`](super::pending)) until a push and a pull confirm them.
//!
//! Reads of a stream show its confirmed events followed by its pending ones, re-versioned after
//! the confirmed version, at position 0 (pending events have no global position yet), so an
//! aggregate loads, decides and appends offline exactly as on a plain store. The global log
//! (`read_all`, `head`, subscriptions) is the confirmed log: positions never move, and
//! projections fold pending events on top of their persisted state instead of persisting them.

use std::rc::Rc;

use crate::core::append::{validate_batch, AppendResult, StoreLimits};
use crate::core::event::{EventId, NewEvent, Position, RecordedEvent, StreamId, Version};
use crate::core::expected::ExpectedVersion;
use crate::core::json::Json;
use crate::error::{Error, Result};
use crate::store::{
    ChangeNotifier, Clock, Direction, EventStore, ReadAllOptions, ReadStreamOptions, StateStore,
};
use crate::sync::pending::{PendingSet, PENDING_KEY};

/// Compare-and-swap attempts before a pending update gives up (each failure means another
/// writer changed the set in between, so this bound is never reached in practice).
const MAX_SWAPS: usize = 64;

/// A local store plus its pending events (see the module docs).
pub struct Replica<S> {
    inner: Rc<S>,
    scope: Vec<String>,
    limits: StoreLimits,
    clock: Clock,
    pending_changes: ChangeNotifier,
    local_changes: ChangeNotifier,
    consume_rebasing: std::cell::RefCell<Option<StreamId>>,
}

impl<S: EventStore + StateStore> Replica<S> {
    /// A replica of `inner` whose streams starting with one of `scope` are synced (an empty
    /// scope syncs every stream).
    pub fn new(inner: Rc<S>, scope: Vec<String>, limits: StoreLimits, clock: Clock) -> Self {
        Replica {
            inner,
            scope,
            limits,
            clock,
            pending_changes: ChangeNotifier::new(Position(0)),
            local_changes: ChangeNotifier::new(Position(0)),
            consume_rebasing: std::cell::RefCell::new(None),
        }
    }

    /// The local store holding the confirmed log.
    pub fn inner(&self) -> &Rc<S> {
        &self.inner
    }

    /// The synced stream prefixes.
    pub fn scope(&self) -> &[String] {
        &self.scope
    }

    /// Whether appends to `stream` become pending: a stream starting with one of the scope's
    /// prefixes (any stream for an empty scope), except the engine's own streams, whose names
    /// start with `$` (saga progress `$saga-…`, dead letters `$deadletter-…`): they record what
    /// this device's workers did and stay local.
    pub fn in_scope(&self, stream: &str) -> bool {
        !stream.starts_with('$')
            && (self.scope.is_empty() || self.scope.iter().any(|p| stream.starts_with(p.as_str())))
    }

    /// Moves each time this replica changes the pending set (its "head" is a change counter);
    /// [`pending_changed`](Self::pending_changed) reports changes made elsewhere (other tabs).
    pub fn pending_changes(&self) -> &ChangeNotifier {
        &self.pending_changes
    }

    /// Moves each time this replica itself changes the pending set (what a tab tells the
    /// others about).
    pub fn local_changes(&self) -> &ChangeNotifier {
        &self.local_changes
    }

    /// Ends every wait on this replica's notifiers (the store closed).
    pub fn close(&self) {
        self.pending_changes.close();
        self.local_changes.close();
    }

    /// Tells waiters on [`pending_changes`](Self::pending_changes) the set changed (another
    /// tab changed it).
    pub fn pending_changed(&self) {
        let next = Position(self.pending_changes.head().0 + 1);
        self.pending_changes.notify(next);
    }

    /// The pending events now.
    ///
    /// # Errors
    /// Backend failures; `CORRUPT_DATA` when the stored set does not decode.
    pub async fn pending(&self) -> Result<PendingSet> {
        Ok(self.load().await?.1)
    }

    async fn load(&self) -> Result<(Option<Json>, PendingSet)> {
        let raw = self.inner.get_state(PENDING_KEY).await?;
        let set = match &raw {
            None => PendingSet::default(),
            Some(json) => json.decode().map_err(|e| Error::CorruptData {
                record: format!("state/{PENDING_KEY}"),
                message: e.to_string(),
            })?,
        };
        Ok((raw, set))
    }

    /// Every pending event, in local append order, as its stream shows it (position 0): what
    /// projections and read models fold on top of their confirmed state.
    ///
    /// # Errors
    /// Backend failures; `CORRUPT_DATA`.
    pub async fn pending_events(&self) -> Result<Vec<RecordedEvent>> {
        let mut set = self.pending().await?;
        let names: Vec<String> = set.streams.keys().cloned().collect();
        let mut out = Vec::with_capacity(set.len());
        for name in names {
            let stream = StreamId::new(&name)?;
            let confirmed = self.inner.stream_version(&stream).await?;
            self.hide_confirmed(&mut set, &stream, confirmed).await?;
            let Some(pending) = set.streams.get(name.as_str()) else {
                continue;
            };
            let seqs = pending.events.iter().map(|e| e.seq);
            out.extend(seqs.zip(set.recorded(&stream, confirmed)));
        }
        out.sort_by_key(|(seq, _)| *seq);
        Ok(out.into_iter().map(|(_, e)| e).collect())
    }

    /// Changes the pending set with `f`, atomically against every other writer (it re-runs
    /// on a fresh copy when another writer got in between). `f` leaving the set as it was
    /// writes nothing; `f` failing writes nothing.
    ///
    /// # Errors
    /// `f`'s error, backend failures, `CORRUPT_DATA`.
    pub async fn update_pending<T>(
        &self,
        mut f: impl FnMut(&mut PendingSet) -> Result<T>,
    ) -> Result<T> {
        for _ in 0..MAX_SWAPS {
            let (raw, set) = self.load().await?;
            let mut next = set.clone();
            let out = f(&mut next)?;
            if next == set {
                return Ok(out);
            }
            let value = if next.is_empty() && next.next_seq == 0 {
                None
            } else {
                Some(Json::from_value(&next)?)
            };
            if self
                .inner
                .swap_state(PENDING_KEY, raw.as_ref(), value)
                .await?
            {
                self.pending_changed();
                // This replica made the change: what the sync driver tells other tabs about
                // and wakes its own background sync with.
                self.local_changes
                    .notify(Position(self.local_changes.head().0 + 1));
                return Ok(out);
            }
        }
        Err(Error::storage(
            "the pending events kept changing under a concurrent writer",
        ))
    }

    /// Marks the next append to `stream` as the re-decision of its first rebasing batch: the
    /// append removes that batch in the same write (see [`PendingSet::rebasing`]).
    pub(crate) fn consume_rebasing_on(&self, stream: Option<StreamId>) -> Option<StreamId> {
        std::mem::replace(&mut *self.consume_rebasing.borrow_mut(), stream)
    }

    /// Leaves out of `set` the pending events of `stream` that its confirmed log (at
    /// `confirmed`) already holds. Between a pull storing a page and the sync client
    /// reconciling the pending set (two writes, possibly by another tab) an event is both
    /// confirmed and pending; a read meeting that window must not show it twice.
    async fn hide_confirmed(
        &self,
        set: &mut PendingSet,
        stream: &StreamId,
        confirmed: Version,
    ) -> Result<()> {
        let held = self.confirmed_pending(set, stream, confirmed).await?;
        if let (false, Some(pending)) = (held.is_empty(), set.streams.get_mut(stream.as_str())) {
            pending.events.retain(|p| !held.contains(&p.event.id));
        }
        Ok(())
    }

    /// The ids of `stream`'s pending events that its confirmed log already holds. Only a
    /// stream whose confirmed log moved past the pending events' base is read for it.
    async fn confirmed_pending(
        &self,
        set: &PendingSet,
        stream: &StreamId,
        confirmed: Version,
    ) -> Result<Vec<EventId>> {
        let Some(pending) = set.streams.get(stream.as_str()) else {
            return Ok(Vec::new());
        };
        // After a reset the base is meaningless: the ids may be anywhere in the stream.
        let from = if pending.unbased { 0 } else { pending.base.0 };
        if pending.events.is_empty() || confirmed.0 <= from {
            return Ok(Vec::new());
        }
        let options = ReadStreamOptions {
            from: Some(Version(from + 1)),
            limit: usize::try_from(confirmed.0 - from).ok(),
            direction: Direction::Forward,
        };
        let log = self.inner.read_stream(stream, &options).await?;
        Ok(pending
            .events
            .iter()
            .map(|p| &p.event.id)
            .filter(|id| log.iter().any(|e| e.id == **id))
            .cloned()
            .collect())
    }

    fn pending_version(&self, set: &PendingSet, stream: &StreamId, confirmed: Version) -> Version {
        Version(confirmed.0 + set.count(stream))
    }
}

impl<S: EventStore + StateStore> EventStore for Replica<S> {
    async fn append(
        &self,
        stream: &StreamId,
        events: Vec<NewEvent>,
        expected: ExpectedVersion,
    ) -> Result<AppendResult> {
        self.append_decided(stream, events, expected, None).await
    }

    /// Streams outside the scope are appended to the local log; streams inside it get
    /// pending events (the result's position is 0: not placed yet).
    async fn append_decided(
        &self,
        stream: &StreamId,
        events: Vec<NewEvent>,
        expected: ExpectedVersion,
        command: Option<Json>,
    ) -> Result<AppendResult> {
        if !self.in_scope(stream.as_str()) {
            return self.inner.append(stream, events, expected).await;
        }
        validate_batch(&events, &self.limits)?;
        let confirmed = self.inner.stream_version(stream).await?;
        let now = (self.clock)();
        let consume = self.consume_rebasing.borrow().as_ref() == Some(stream);
        let (events, command) = (&events, &command);
        let attempt = |hidden: Vec<EventId>| {
            self.update_pending(move |set| {
                let result = set.append_hiding(
                    stream,
                    events.clone(),
                    expected,
                    confirmed,
                    &hidden,
                    command.clone(),
                    now,
                )?;
                if consume {
                    set.pop_rebasing(stream);
                }
                Ok(result)
            })
        };
        let result = match attempt(Vec::new()).await {
            // Maybe the caller read the stream while pulled events were not reconciled yet
            // (see `hide_confirmed`): check against the version it was shown.
            Err(e @ Error::WrongExpectedVersion { .. }) => {
                let set = self.pending().await?;
                let hidden = self.confirmed_pending(&set, stream, confirmed).await?;
                if hidden.is_empty() {
                    return Err(e);
                }
                attempt(hidden).await?
            }
            other => other?,
        };
        if consume {
            self.consume_rebasing.borrow_mut().take();
        }
        Ok(result)
    }

    async fn read_stream(
        &self,
        stream: &StreamId,
        options: &ReadStreamOptions,
    ) -> Result<Vec<RecordedEvent>> {
        if !self.in_scope(stream.as_str()) {
            return self.inner.read_stream(stream, options).await;
        }
        let mut set = self.pending().await?;
        let confirmed = self.inner.stream_version(stream).await?;
        self.hide_confirmed(&mut set, stream, confirmed).await?;
        let total = self.pending_version(&set, stream, confirmed);
        let Some((a, b)) = options.range(total) else {
            return Ok(Vec::new());
        };
        let (lo, hi) = (a.min(b), a.max(b));
        let mut events = Vec::new();
        if lo <= confirmed.0 {
            let upto = hi.min(confirmed.0);
            let part = ReadStreamOptions {
                from: Some(Version(lo)),
                limit: Some(usize::try_from(upto - lo + 1).unwrap_or(usize::MAX)),
                direction: Direction::Forward,
            };
            events = self.inner.read_stream(stream, &part).await?;
        }
        events.extend(
            set.recorded(stream, confirmed)
                .into_iter()
                .filter(|e| (lo..=hi).contains(&e.version.0)),
        );
        if options.direction == Direction::Backward {
            events.reverse();
        }
        Ok(events)
    }

    /// The confirmed log only: pending events have no position yet.
    async fn read_all(&self, options: &ReadAllOptions) -> Result<Vec<RecordedEvent>> {
        self.inner.read_all(options).await
    }

    async fn stream_version(&self, stream: &StreamId) -> Result<Version> {
        let confirmed = self.inner.stream_version(stream).await?;
        if !self.in_scope(stream.as_str()) {
            return Ok(confirmed);
        }
        let mut set = self.pending().await?;
        self.hide_confirmed(&mut set, stream, confirmed).await?;
        Ok(self.pending_version(&set, stream, confirmed))
    }

    async fn head(&self) -> Result<Position> {
        self.inner.head().await
    }

    fn changes(&self) -> &ChangeNotifier {
        self.inner.changes()
    }
}

impl<S: EventStore + StateStore> StateStore for Replica<S> {
    async fn get_state(&self, key: &str) -> Result<Option<Json>> {
        self.inner.get_state(key).await
    }

    /// A snapshot of a stream with pending events is not written: it could hold pending
    /// events that a rebase replaces (the next load replays instead).
    async fn put_state(&self, key: &str, value: Json) -> Result<()> {
        if let Some(stream) = key.strip_prefix("snapshot:") {
            let stream = StreamId::new(stream)?;
            if self.pending().await?.count(&stream) > 0 {
                return Ok(());
            }
        }
        self.inner.put_state(key, value).await
    }

    async fn delete_state(&self, key: &str) -> Result<()> {
        self.inner.delete_state(key).await
    }

    async fn swap_state(
        &self,
        key: &str,
        expected: Option<&Json>,
        new: Option<Json>,
    ) -> Result<bool> {
        self.inner.swap_state(key, expected, new).await
    }
}
