//! The pending events of a synced store: appended locally, not yet confirmed by the server.
//!
//! They live in one state record (`$sync/pending`), changed only by compare-and-swap, so every
//! tab of a browser store appends to and confirms the same set without losing an update. Each
//! stream remembers its `base`: the confirmed version its pending events were made on, which
//! is the `expectedVersion` of the push. Pending events are small in number (offline edits),
//! so one record is cheap; its size is bounded by what an app does offline.

use serde::Serialize;

use crate::core::append::{plan_append, AppendPlan, AppendResult};
use crate::core::event::{
    EventId, NewEvent, Position, RecordedEvent, StreamId, Timestamp, Version,
};
use crate::core::expected::ExpectedVersion;
use crate::core::json::Json;
use crate::core::object::object_deserialize;
use crate::error::Result;

mod name_map;

pub use name_map::NameMap;

/// The state key holding the pending set.
pub const PENDING_KEY: &str = "$sync/pending";

/// One pending event and what is needed to replay or re-place it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PendingEvent {
    /// The event, with the id it keeps for life (the push idempotency key).
    pub event: NewEvent,
    /// Local append order across all streams.
    pub seq: u64,
    /// The local append (events appended together share it).
    pub batch: u64,
    /// When it was appended locally.
    pub timestamp: Timestamp,
    /// The command that decided it (aggregates), for rebase; only on the batch's first event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Json>,
}

object_deserialize!(PendingEvent {
    event: NewEvent = "event" required,
    seq: u64 = "seq" required,
    batch: u64 = "batch" required,
    timestamp: Timestamp = "timestamp" required,
    command: Option<Json> = "command" default,
});

/// A stream's pending events.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PendingStream {
    /// The confirmed version the events were made on.
    pub base: Version,
    /// The events, in append order.
    pub events: Vec<PendingEvent>,
    /// Set under the `manual` strategy when the server's stream moved past `base`: the
    /// server's version. Held streams are not pushed until the app resolves them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held: Option<Version>,
    /// Set by a reset ([`PendingSet::unbase`]): `base` referred to a confirmed log that was
    /// dropped. The next reconcile, after a complete pull, confirms the events the new
    /// server already holds (by id, anywhere in the stream) and treats what is left as made
    /// on version 0.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unbased: bool,
}

object_deserialize!(PendingStream {
    base: Version = "base" required,
    events: Vec<PendingEvent> = "events" required,
    held: Option<Version> = "held" default,
    unbased: bool = "unbased" default,
});

/// Every pending event of a store.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PendingSet {
    /// The next `seq`/`batch` number.
    #[serde(default)]
    pub next_seq: u64,
    /// Pending events by stream.
    #[serde(default)]
    pub streams: NameMap<PendingStream>,
    /// Batches taken out of `streams` by a rebase and not decided again yet, by stream. A
    /// rebase interrupted by a closed tab resumes from here; each batch leaves this list in
    /// the same write that stores its re-decided events, so none runs twice.
    #[serde(default, skip_serializing_if = "NameMap::is_empty")]
    pub rebasing: NameMap<Vec<PendingBatch>>,
}

object_deserialize!(PendingSet {
    next_seq: u64 = "next_seq" default,
    streams: NameMap<PendingStream> = "streams" default,
    rebasing: NameMap<Vec<PendingBatch>> = "rebasing" default,
});

/// A run of pending events appended together (one `append`), as a rebase replays them.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PendingBatch {
    /// The events.
    pub events: Vec<NewEvent>,
    /// The command that decided them, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Json>,
}

object_deserialize!(PendingBatch {
    events: Vec<NewEvent> = "events" required,
    command: Option<Json> = "command" default,
});

impl PendingSet {
    /// The number of pending events.
    pub fn len(&self) -> usize {
        let rebasing: usize = self
            .rebasing
            .values()
            .flatten()
            .map(|b| b.events.len())
            .sum();
        self.streams.values().map(|s| s.events.len()).sum::<usize>() + rebasing
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.streams.is_empty() && self.rebasing.is_empty()
    }

    /// Removes the first batch waiting for a rebase on `stream`.
    pub fn pop_rebasing(&mut self, stream: &StreamId) -> Option<PendingBatch> {
        let list = self.rebasing.get_mut(stream.as_str())?;
        let first = (!list.is_empty()).then(|| list.remove(0));
        if list.is_empty() {
            self.rebasing.remove(stream.as_str());
        }
        first
    }

    /// The stream's pending events as the stream shows them: after the `confirmed` version,
    /// at position 0 (not placed in the global log yet).
    pub fn recorded(&self, stream: &StreamId, confirmed: Version) -> Vec<RecordedEvent> {
        let Some(pending) = self.streams.get(stream.as_str()) else {
            return Vec::new();
        };
        pending
            .events
            .iter()
            .zip(1..)
            .map(|(p, i)| RecordedEvent {
                id: p.event.id.clone(),
                stream: stream.clone(),
                event_type: p.event.event_type.clone(),
                data: p.event.data.clone(),
                metadata: p.event.metadata.clone(),
                version: Version(confirmed.0 + i),
                position: Position(0),
                timestamp: p.timestamp,
            })
            .collect()
    }

    /// The number of events pending on `stream`.
    pub fn count(&self, stream: &StreamId) -> u64 {
        self.streams
            .get(stream.as_str())
            .map_or(0, |s| s.events.len() as u64)
    }

    /// Appends a validated batch to `stream`, whose confirmed version is `confirmed`; the
    /// tentative version checked against `expected` is `confirmed` + the events pending.
    /// A batch already pending at that place is an idempotent retry.
    ///
    /// # Errors
    /// `WRONG_EXPECTED_VERSION` and `EVENT_ID_CONFLICT`, as a store's append.
    pub fn append(
        &mut self,
        stream: &StreamId,
        events: Vec<NewEvent>,
        expected: ExpectedVersion,
        confirmed: Version,
        command: Option<Json>,
        now: Timestamp,
    ) -> Result<AppendResult> {
        self.append_hiding(stream, events, expected, confirmed, &[], command, now)
    }

    /// [`append`](Self::append) while the pending events with ids in `hidden` are already in
    /// the confirmed log (pulled, not reconciled yet): they do not count towards the version
    /// `expected` is checked against, as readers do not see them twice.
    ///
    /// # Errors
    /// As [`append`](Self::append).
    #[allow(clippy::too_many_arguments)]
    pub fn append_hiding(
        &mut self,
        stream: &StreamId,
        events: Vec<NewEvent>,
        expected: ExpectedVersion,
        confirmed: Version,
        hidden: &[EventId],
        command: Option<Json>,
        now: Timestamp,
    ) -> Result<AppendResult> {
        let hidden_here = self.streams.get(stream.as_str()).map_or(0, |p| {
            p.events
                .iter()
                .filter(|e| hidden.contains(&e.event.id))
                .count() as u64
        });
        let current = Version(confirmed.0 + self.count(stream) - hidden_here);
        // Ids are looked up among every pending event, hidden or not: a retried batch is
        // recognised, never pended twice.
        let shown = self.recorded(stream, confirmed);
        let existing: Vec<Option<RecordedEvent>> = events
            .iter()
            .map(|e| shown.iter().find(|r| r.id == e.id).cloned())
            .collect();
        match plan_append(stream, &events, expected, current, &existing)? {
            AppendPlan::AlreadyAppended(result) => Ok(result),
            AppendPlan::Write { first_version } => {
                let batch = self.next_seq;
                let entry = self
                    .streams
                    .get_or_insert_with(stream.as_str(), || PendingStream {
                        base: confirmed,
                        ..PendingStream::default()
                    });
                let count = events.len() as u64;
                let mut command = command;
                for event in events {
                    entry.events.push(PendingEvent {
                        event,
                        seq: self.next_seq,
                        batch,
                        timestamp: now,
                        command: command.take(),
                    });
                    self.next_seq += 1;
                }
                Ok(AppendResult {
                    version: Version(first_version.0 + count - 1),
                    position: Position(0),
                })
            }
        }
    }

    /// Takes the stream's events out of the set, grouped by the append that made them.
    pub fn take_batches(&mut self, stream: &StreamId) -> Vec<PendingBatch> {
        let Some(pending) = self.streams.remove(stream.as_str()) else {
            return Vec::new();
        };
        let mut batches: Vec<(u64, PendingBatch)> = Vec::new();
        for p in pending.events {
            match batches.last_mut() {
                Some((b, batch)) if *b == p.batch => batch.events.push(p.event),
                _ => batches.push((
                    p.batch,
                    PendingBatch {
                        events: vec![p.event],
                        command: p.command,
                    },
                )),
            }
        }
        batches.into_iter().map(|(_, b)| b).collect()
    }
}

/// What [`PendingSet::reconcile`] found for a stream after the confirmed log moved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reconciled {
    /// Nothing pending on the stream any more (all confirmed, or nothing was).
    Clear,
    /// Still pending, on the right base: ready to push.
    Ready,
    /// The server's stream moved past the base with other events: a conflict to resolve.
    Conflict {
        /// The confirmed version now.
        actual: Version,
    },
}

impl PendingSet {
    /// Drops the stream's pending events that the confirmed log now holds (matched by id,
    /// from the base on) and says what is left. `confirmed_after_base` are the confirmed
    /// events after the stream's base, `confirmed` its confirmed version.
    pub fn reconcile(
        &mut self,
        stream: &StreamId,
        confirmed_after_base: &[RecordedEvent],
        confirmed: Version,
    ) -> Reconciled {
        let Some(pending) = self.streams.get_mut(stream.as_str()) else {
            return Reconciled::Clear;
        };
        let matched = pending
            .events
            .iter()
            .zip(confirmed_after_base)
            .take_while(|(p, c)| p.event.id == c.id)
            .count();
        pending.events.drain(..matched);
        pending.base = Version(pending.base.0 + matched as u64);
        if pending.events.is_empty() {
            self.streams.remove(stream.as_str());
            return Reconciled::Clear;
        }
        if confirmed > pending.base {
            return Reconciled::Conflict { actual: confirmed };
        }
        Reconciled::Ready
    }
}

impl PendingSet {
    /// After a reset dropped the confirmed log: every stream's `base` (and a `manual` hold's
    /// server version) referred to it, so each stream becomes [`unbased`](PendingStream::unbased)
    /// on version 0, not held. Events and rebasing batches are kept.
    pub fn unbase(&mut self) {
        for pending in self.streams.values_mut() {
            pending.base = Version(0);
            pending.held = None;
            pending.unbased = true;
        }
    }

    /// Reconciles an [`unbased`](PendingStream::unbased) stream with the whole `confirmed`
    /// stream pulled from the new server: pending events whose ids it holds are confirmed
    /// (dropped from pending, wherever they are in the stream); the rest are on version 0,
    /// which is a conflict when the server's stream is not empty.
    pub fn reconcile_unbased(
        &mut self,
        stream: &StreamId,
        confirmed: &[RecordedEvent],
    ) -> Reconciled {
        let Some(pending) = self.streams.get_mut(stream.as_str()) else {
            return Reconciled::Clear;
        };
        let held_by_server = |p: &PendingEvent| confirmed.iter().any(|c| c.id == p.event.id);
        // A batch partly on the server cannot be decided again as a whole: what is left of
        // it is re-placed as plain events.
        let split: Vec<u64> = pending
            .events
            .iter()
            .filter(|p| held_by_server(p))
            .map(|p| p.batch)
            .collect();
        pending.events.retain(|p| !held_by_server(p));
        for p in &mut pending.events {
            if split.contains(&p.batch) {
                p.command = None;
            }
        }
        pending.base = Version(0);
        pending.unbased = false;
        if pending.events.is_empty() {
            self.streams.remove(stream.as_str());
            return Reconciled::Clear;
        }
        match confirmed.len() {
            0 => Reconciled::Ready,
            n => Reconciled::Conflict {
                actual: Version(n as u64),
            },
        }
    }
}

#[cfg(test)]
mod tests;
