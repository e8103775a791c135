//! The push messages of the sync protocol (`docs/sync-protocol.md` §5): a client's pending
//! events per stream and the server's answer per stream. Part of [`super`], which
//! re-exports them.

use serde::{Deserialize, Serialize};

use super::{ErrorBody, StoreId, PROTOCOL_VERSION};
use crate::core::append::AppendResult;
use crate::core::event::{NewEvent, RecordedEvent, StreamId, Version};
use crate::core::expected::ExpectedVersion;
use crate::core::object::object_deserialize;
use crate::error::{Error, Result};

/// One stream's part of a push: the client's pending events and the version they were made on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamPush {
    /// The stream to append to.
    pub stream: StreamId,
    /// The client's last confirmed version of the stream (usually an exact number).
    pub expected_version: ExpectedVersion,
    /// The pending events, in order, with their client-chosen ids.
    pub events: Vec<NewEvent>,
}

/// `POST /v1/push`: pending events per stream. Each stream is appended atomically and
/// independently; a retried push is recognised by event ids and never duplicates.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PushRequest {
    /// Protocol version.
    pub v: u32,
    /// One entry per stream, processed in order.
    pub streams: Vec<StreamPush>,
}

impl PushRequest {
    /// A push of `streams`.
    pub fn new(streams: Vec<StreamPush>) -> Self {
        PushRequest {
            v: PROTOCOL_VERSION,
            streams,
        }
    }

    /// Total number of events in the request.
    pub fn event_count(&self) -> usize {
        self.streams.iter().map(|s| s.events.len()).sum()
    }
}

/// A push refused because the server's stream moved on: its version and the events the client
/// lacks (those after the client's expected version).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Conflict {
    /// The server's version of the stream.
    pub actual: Version,
    /// The server's events after the client's expected version, in version order (empty when
    /// the token may not read the stream).
    pub missing: Vec<RecordedEvent>,
    /// Whether more missing events exist than were sent (read them with `GET /v1/streams`).
    pub more: bool,
}

object_deserialize!(Conflict {
    actual: Version = "actual" required,
    missing: Vec<RecordedEvent> = "missing" required,
    more: bool = "more" required,
});

/// What happened to one stream of a push.
#[derive(Clone, Debug, PartialEq)]
pub enum PushOutcome {
    /// Appended (or recognised as already appended): the stream's version and the global
    /// position of the batch's last event.
    Ok(AppendResult),
    /// Not written: the server's stream is elsewhere.
    Conflict(Conflict),
    /// Not written, and retrying will not help (for example an event id reused for other
    /// content, or a batch breaking the store contract).
    Error(ErrorBody),
}

/// The result for one stream of a push, on the wire
/// `{"stream", "ok": {version, position}}`, `{"stream", "conflict": {...}}` or
/// `{"stream", "error": {code, message, ...}}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "StreamResultRepr", into = "StreamResultRepr")]
pub struct StreamResult {
    /// The stream.
    pub stream: StreamId,
    /// What happened to it.
    pub outcome: PushOutcome,
}

#[derive(Serialize)]
struct StreamResultRepr {
    stream: StreamId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ok: Option<AppendResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    conflict: Option<Conflict>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<ErrorBody>,
}

object_deserialize!(StreamResultRepr {
    stream: StreamId = "stream" required,
    ok: Option<AppendResult> = "ok" default,
    conflict: Option<Conflict> = "conflict" default,
    error: Option<ErrorBody> = "error" default,
});

impl TryFrom<StreamResultRepr> for StreamResult {
    type Error = Error;
    fn try_from(r: StreamResultRepr) -> Result<Self> {
        let outcome = match (r.ok, r.conflict, r.error) {
            (Some(ok), None, None) => PushOutcome::Ok(ok),
            (None, Some(c), None) => PushOutcome::Conflict(c),
            (None, None, Some(e)) => PushOutcome::Error(e),
            _ => {
                return Err(Error::protocol(format!(
                    "push result for stream {} must have exactly one of ok, conflict, error",
                    r.stream
                )))
            }
        };
        Ok(StreamResult {
            stream: r.stream,
            outcome,
        })
    }
}

impl From<StreamResult> for StreamResultRepr {
    fn from(r: StreamResult) -> Self {
        let mut repr = StreamResultRepr {
            stream: r.stream,
            ok: None,
            conflict: None,
            error: None,
        };
        match r.outcome {
            PushOutcome::Ok(ok) => repr.ok = Some(ok),
            PushOutcome::Conflict(c) => repr.conflict = Some(c),
            PushOutcome::Error(e) => repr.error = Some(e),
        }
        repr
    }
}

/// The answer to a [`PushRequest`]: one result per request entry, in the same order.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PushResponse {
    /// Protocol version.
    pub v: u32,
    /// The store that answered.
    pub store: StoreId,
    /// One result per pushed stream.
    pub results: Vec<StreamResult>,
}

object_deserialize!(PushResponse {
    v: u32 = "v" required,
    store: StoreId = "store" required,
    results: Vec<StreamResult> = "results" required,
});
