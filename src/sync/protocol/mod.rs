//! The sync protocol's messages and their codec: data only, no I/O (sans-IO), shared by the
//! browser client and `eventfold-server`. `docs/sync-protocol.md` is the normative spec; this
//! module is its executable form.
//!
//! Every message carries the protocol version in `v`. Bodies are JSON (readable in devtools);
//! event payloads travel as the raw JSON values that were appended. Unknown fields are ignored,
//! so a later minor addition does not break older peers; a different `v` is refused with a
//! typed [`Error::Protocol`].
//!
//! ```
//! use eventfold::sync::protocol::{decode, encode, PullRequest};
//! let req: PullRequest = decode(br#"{"v":1,"limit":100,"scope":["order-"]}"#)?;
//! assert_eq!(req.scope, ["order-"]);
//! let back: PullRequest = decode(&encode(&req)?)?;
//! assert_eq!(back, req);
//! let err = decode::<PullRequest>(br#"{"v":99}"#).unwrap_err();
//! assert_eq!(err.code(), "PROTOCOL_ERROR");
//! # Ok::<(), eventfold::Error>(())
//! ```

use serde::de::DeserializeOwned;
use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::core::event::{EventId, Position, RecordedEvent, StreamId, Version, MAX_NAME_BYTES};
use crate::core::object::object_deserialize;
use crate::error::{Error, Result};

mod columns;
mod push;
mod store_id;
mod wire_error;

pub use columns::Columns;
pub use push::{Conflict, PushOutcome, PushRequest, PushResponse, StreamPush, StreamResult};
pub use store_id::{StoreId, MAX_STORE_ID_BYTES};
pub use wire_error::ErrorBody;

/// The protocol version this build speaks, sent as `v` in every message.
pub const PROTOCOL_VERSION: u32 = 1;

/// Most stream prefixes one pull scope may list.
pub const MAX_SCOPE_PREFIXES: usize = 64;

/// Where a pull stopped: every event of the scope at or before `position` in store `store` was
/// delivered. Resume by sending it back as the next pull's `after`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Checkpoint {
    /// The store the position belongs to.
    pub store: StoreId,
    /// The global position scanned up to (may exceed the last delivered event's position when
    /// events outside the scope follow it).
    pub position: Position,
    /// A fingerprint of the event at `position` ([`event_mark`]), absent at position 0 and from
    /// older servers. The server checks it when the checkpoint comes back: a store that lost
    /// acknowledged events (restored from an older backup, damaged on disk) and grew past the
    /// position again holds another event there, and answers `CHECKPOINT_MISMATCH` instead of
    /// silently skipping what the client never saw.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mark: Option<String>,
}

object_deserialize!(Checkpoint {
    store: StoreId = "store" required,
    position: Position = "position" required,
    mark: Option<String> = "mark" default,
});

/// The fingerprint of an event in a [`Checkpoint`]: 16 hex digits of a 64-bit FNV-1a hash of
/// its id. Ids are random, so the mark tells nothing about the event beyond "this one".
pub fn event_mark(id: &EventId) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.as_str().bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// `POST /v1/pull`: "events after this checkpoint, at most `limit`, of these stream prefixes".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullRequest {
    /// Protocol version.
    pub v: u32,
    /// The checkpoint of the previous pull; absent (or `null`) to start from the beginning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Checkpoint>,
    /// Most events wanted; the server clamps it to `1..=` its own maximum. Absent: the server's
    /// default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// Stream prefixes to pull; empty means everything the token may read.
    #[serde(default)]
    pub scope: Vec<String>,
    /// How the answer should lay out its events. Absent: rows.
    #[serde(default, skip_serializing_if = "Encoding::is_rows")]
    pub encoding: Encoding,
}

/// How a pull answer lays out its events (`docs/sync-protocol.md` §4.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// `columns`: the same events as columns ([`Columns`]): about 25 % fewer bytes once
    /// compressed.
    Columns,
    /// `events`: an array of recorded events. Also what a server answers to an encoding it
    /// does not know.
    #[default]
    #[serde(other)]
    Rows,
}

impl Encoding {
    /// Whether this is [`Encoding::Rows`].
    pub fn is_rows(&self) -> bool {
        *self == Encoding::Rows
    }
}

impl PullRequest {
    /// A pull of `scope` after `after`, with the server's default limit.
    pub fn new(after: Option<Checkpoint>, scope: Vec<String>) -> Self {
        PullRequest {
            v: PROTOCOL_VERSION,
            after,
            limit: None,
            scope,
            encoding: Encoding::Rows,
        }
    }

    /// The position to read after (0 without a checkpoint).
    pub fn after_position(&self) -> Position {
        self.after.as_ref().map_or(Position(0), |c| c.position)
    }
}

/// The answer to a [`PullRequest`]. On the wire its events are `events` or `columns`, as
/// [`encoding`](Self::encoding) says; decoding accepts either.
#[derive(Clone, Debug, PartialEq)]
pub struct PullResponse {
    /// Protocol version.
    pub v: u32,
    /// The scope's events after the request's checkpoint, in position order.
    pub events: Vec<RecordedEvent>,
    /// Send this back as the next pull's `after`.
    pub checkpoint: Checkpoint,
    /// Whether more events may follow right away (pull again without waiting).
    pub more: bool,
    /// The store's head when the pull was served.
    pub head: Position,
    /// How the events travel (what the request asked for; when decoding, what came).
    pub encoding: Encoding,
}

impl Serialize for PullResponse {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("PullResponse", 5)?;
        s.serialize_field("v", &self.v)?;
        match self.encoding {
            Encoding::Rows => s.serialize_field("events", &self.events)?,
            Encoding::Columns => {
                let columns = Columns::encode(&self.events).map_err(serde::ser::Error::custom)?;
                s.serialize_field("columns", &columns)?;
            }
        }
        s.serialize_field("checkpoint", &self.checkpoint)?;
        s.serialize_field("more", &self.more)?;
        s.serialize_field("head", &self.head)?;
        s.end()
    }
}

struct PullWire<'a> {
    v: u32,
    events: Option<Vec<RecordedEvent>>,
    columns: Option<Columns<'a>>,
    checkpoint: Checkpoint,
    more: bool,
    head: Position,
}

object_deserialize!(PullWire<'de> {
    v: u32 = "v" required,
    events: Option<Vec<RecordedEvent>> = "events" default,
    columns: Option<Columns<'de>> = "columns" default,
    checkpoint: Checkpoint = "checkpoint" required,
    more: bool = "more" required,
    head: Position = "head" required,
});

impl<'de> Deserialize<'de> for PullResponse {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let w = PullWire::deserialize(deserializer)?;
        let (events, encoding) = match (w.events, w.columns) {
            (Some(events), None) => (events, Encoding::Rows),
            (None, Some(columns)) => (
                columns.decode().map_err(serde::de::Error::custom)?,
                Encoding::Columns,
            ),
            _ => {
                return Err(serde::de::Error::custom(
                    "a pull response has exactly one of events and columns",
                ))
            }
        };
        Ok(PullResponse {
            v: w.v,
            events,
            checkpoint: w.checkpoint,
            more: w.more,
            head: w.head,
            encoding,
        })
    }
}

impl PullResponse {
    /// Checks what a client must check before storing anything from a pull answer: the same
    /// store as `after`, positions strictly increasing, all beyond `after` and none beyond the
    /// new checkpoint, which never moves backwards.
    ///
    /// # Errors
    /// [`Error::Protocol`] naming the first violation; [`Error::CheckpointMismatch`] when the
    /// answer comes from another store than `after`.
    pub fn check(&self, after: Option<&Checkpoint>) -> Result<()> {
        let from = after.map_or(Position(0), |c| c.position);
        if let Some(a) = after {
            if a.store != self.checkpoint.store {
                return Err(Error::CheckpointMismatch {
                    expected: self.checkpoint.store.to_string(),
                    found: a.store.to_string(),
                });
            }
        }
        let mut last = from;
        for (i, e) in self.events.iter().enumerate() {
            if e.position <= last {
                return Err(Error::protocol(format!(
                    "pull answer events[{i}] has position {} after position {last}: positions repeat or go backwards",
                    e.position
                )));
            }
            last = e.position;
        }
        if self.checkpoint.position < last {
            return Err(Error::protocol(format!(
                "pull answer checkpoint {} is before its last event's position {last}",
                self.checkpoint.position
            )));
        }
        Ok(())
    }
}

/// `GET /v1/streams/{stream}`: the events of one stream.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StreamResponse {
    /// Protocol version.
    pub v: u32,
    /// The stream.
    pub stream: StreamId,
    /// The stream's current version.
    pub version: Version,
    /// The requested events.
    pub events: Vec<RecordedEvent>,
}

/// `GET /v1/health` and the `head` events of `GET /v1/live`: where the store is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeadInfo {
    /// Protocol version.
    pub v: u32,
    /// The store's id.
    pub store: StoreId,
    /// The newest position a pull can deliver.
    pub head: Position,
}

/// A protocol message: something with a version field and a name for error messages.
pub trait Message: Serialize + DeserializeOwned {
    /// The message's name, used in decode errors.
    const NAME: &'static str;
    /// The message's `v`.
    fn version(&self) -> u32;
    /// Checks what serde cannot express (lengths, formats).
    ///
    /// # Errors
    /// [`Error::Protocol`] describing the first problem.
    fn validate(&self) -> Result<()> {
        Ok(())
    }
}

macro_rules! message {
    ($($t:ty => $name:literal),+ $(,)?) => {$(
        impl Message for $t {
            const NAME: &'static str = $name;
            fn version(&self) -> u32 {
                self.v
            }
        }
    )+};
}
message!(
    PullResponse => "pull response",
    PushRequest => "push request",
    PushResponse => "push response",
    StreamResponse => "stream response",
    HeadInfo => "head info",
);

impl Message for PullRequest {
    const NAME: &'static str = "pull request";
    fn version(&self) -> u32 {
        self.v
    }
    fn validate(&self) -> Result<()> {
        if self.scope.len() > MAX_SCOPE_PREFIXES {
            return Err(Error::protocol(format!(
                "pull scope lists {} prefixes; the limit is {MAX_SCOPE_PREFIXES}",
                self.scope.len()
            )));
        }
        for (i, p) in self.scope.iter().enumerate() {
            if p.len() > MAX_NAME_BYTES || p.chars().any(char::is_control) {
                return Err(Error::protocol(format!(
                    "scope[{i}] is longer than {MAX_NAME_BYTES} bytes or has a control character"
                )));
            }
        }
        Ok(())
    }
}

struct VersionProbe {
    v: u32,
}

object_deserialize!(VersionProbe { v: u32 = "v" required });

/// Encodes a message as JSON.
///
/// # Errors
/// [`Error::CorruptData`] when an event's payload is not JSON text (the store's data is
/// damaged: a read with [`EventStore::read_all_to_send`](crate::EventStore::read_all_to_send)
/// hands payloads out unchecked); this module's types always serialize otherwise.
pub fn encode<M: Serialize>(message: &M) -> Result<Vec<u8>> {
    serde_json::to_vec(message).map_err(|e| Error::CorruptData {
        record: "an event to send".into(),
        message: e.to_string(),
    })
}

/// Decodes and checks a message: well-formed JSON of the right shape, `v` equal to
/// [`PROTOCOL_VERSION`], and the message's own rules.
///
/// # Errors
/// [`Error::Protocol`] for malformed JSON, wrong types, missing fields, an unsupported version
/// or values out of range; [`Error::InvalidInput`] never (contract checks such as batch limits
/// happen when the events are appended).
pub fn decode<M: Message>(bytes: &[u8]) -> Result<M> {
    checked(serde_json::from_slice::<M>(bytes), || {
        serde_json::from_slice::<VersionProbe>(bytes).ok()
    })
}

/// [`decode`] for a message already held as text (what `fetch` gives the browser client).
/// Same checks and errors; it shares `serde_json`'s `&str` reader with the rest of the wasm
/// build, so the package carries one JSON parser, not two.
///
/// # Errors
/// As [`decode`].
pub fn decode_str<M: Message>(text: &str) -> Result<M> {
    checked(serde_json::from_str::<M>(text), || {
        serde_json::from_str::<VersionProbe>(text).ok()
    })
}

fn checked<M: Message>(
    parsed: serde_json::Result<M>,
    probe: impl FnOnce() -> Option<VersionProbe>,
) -> Result<M> {
    match parsed {
        Ok(m) => {
            check_version(m.version())?;
            m.validate()?;
            Ok(m)
        }
        Err(e) => {
            // A message of another version may have another shape: report the version.
            if let Some(probe) = probe() {
                check_version(probe.v)?;
            }
            // A well-formed message carrying a value the contract refuses (a stream name with
            // a control character, a bad event id) is INVALID_INPUT, as it is on the client.
            let text = e.to_string();
            match text.strip_prefix("invalid input: ") {
                Some(rest) if e.is_data() => Err(Error::invalid(format!("{}: {rest}", M::NAME))),
                _ => Err(Error::protocol(format!("malformed {}: {text}", M::NAME))),
            }
        }
    }
}

/// How the message of a `PROTOCOL_ERROR` about another protocol version begins (on both
/// peers): what tells a client that retrying cannot help.
pub const UNSUPPORTED_VERSION: &str = "unsupported protocol version";

fn check_version(v: u32) -> Result<()> {
    if v == PROTOCOL_VERSION {
        Ok(())
    } else {
        Err(Error::protocol(format!(
            "{UNSUPPORTED_VERSION} {v}; this peer speaks version {PROTOCOL_VERSION}"
        )))
    }
}

#[cfg(test)]
mod tests;
