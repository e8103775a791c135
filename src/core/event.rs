//! Events and the newtypes that identify them.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::core::invalid::{Invalid, Result};
use crate::core::json::Json;
use crate::core::object::object_deserialize;

/// Longest stream id or event type accepted, in bytes.
pub const MAX_NAME_BYTES: usize = 512;

fn check_name(kind: &str, s: &str) -> Result<()> {
    if s.is_empty() {
        return Err(Invalid::new(format!("{kind} must be a non-empty string")));
    }
    if s.len() > MAX_NAME_BYTES {
        return Err(Invalid::new(format!(
            "{kind} is {} bytes long; the limit is {MAX_NAME_BYTES}",
            s.len()
        )));
    }
    // Most names are printable ASCII, which holds no control character of either kind: one
    // pass over the bytes (the Unicode scans below are slow in wasm at opt-level z).
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Ok(());
    }
    if s.chars().any(char::is_control) {
        return Err(Invalid::new(format!(
            "{kind} {s:?} contains a control character"
        )));
    }
    if let Some(c) = s.chars().find(|c| is_bidi_control(*c)) {
        return Err(Invalid::new(format!(
            "{kind} {s:?} contains the bidirectional control U+{:04X} (it can make one name \
             display as another)",
            u32::from(c)
        )));
    }
    Ok(())
}

/// Unicode's bidirectional formatting characters (marks, embeddings, overrides, isolates):
/// refused in names, where they can make `order-1` display like another stream.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// The name of a stream, for example `order-42`. Non-empty, at most [`MAX_NAME_BYTES`] bytes,
/// no control characters. An aggregate `order` with id `42` lives in stream `order-42`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamId(Arc<str>);

impl StreamId {
    /// Validates and wraps a stream name.
    ///
    /// # Errors
    /// [`Invalid`] if the name is empty, too long or contains control characters.
    pub fn new(name: impl AsRef<str>) -> Result<Self> {
        let name = name.as_ref();
        check_name("stream id", name)?;
        Ok(StreamId(name.into()))
    }

    /// The stream name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for StreamId {
    type Error = Invalid;
    fn try_from(s: String) -> Result<Self> {
        StreamId::new(s)
    }
}
impl From<StreamId> for String {
    fn from(s: StreamId) -> String {
        s.0.to_string()
    }
}
impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Debug for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StreamId({:?})", &*self.0)
    }
}

/// The type of an event, for example `OrderCreated`. Same rules as [`StreamId`].
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct EventType(Arc<str>);

impl EventType {
    /// Validates and wraps an event type.
    ///
    /// # Errors
    /// [`Invalid`] if the type is empty, too long or contains control characters.
    pub fn new(name: impl AsRef<str>) -> Result<Self> {
        let name = name.as_ref();
        check_name("event type", name)?;
        Ok(EventType(name.into()))
    }

    /// The type name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for EventType {
    type Error = Invalid;
    fn try_from(s: String) -> Result<Self> {
        EventType::new(s)
    }
}
impl From<EventType> for String {
    fn from(s: EventType) -> String {
        s.0.to_string()
    }
}
impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Debug for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EventType({:?})", &*self.0)
    }
}

/// Serializes the newtypes of names as their text, and deserializes them from a string,
/// borrowed from the input when it has no escapes (pull answers decode 100,000s of them),
/// validated by their constructor.
macro_rules! str_serde {
    ($ty:ident, $make:path, $what:literal) => {
        impl Serialize for $ty {
            fn serialize<S: serde::Serializer>(
                &self,
                serializer: S,
            ) -> std::result::Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(
                deserializer: D,
            ) -> std::result::Result<Self, D::Error> {
                struct V;
                impl serde::de::Visitor<'_> for V {
                    type Value = $ty;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($what)
                    }
                    fn visit_str<E: serde::de::Error>(
                        self,
                        v: &str,
                    ) -> std::result::Result<$ty, E> {
                        $make(v).map_err(E::custom)
                    }
                }
                deserializer.deserialize_str(V)
            }
        }
    };
}

str_serde!(StreamId, StreamId::new, "a stream id");
str_serde!(EventType, EventType::new, "an event type");
str_serde!(EventId, EventId::parse, "an event id (UUID)");

/// An event's id: a UUID in its canonical text form (`8-4-4-4-12` lower-case hex digits),
/// chosen by the client. It is the idempotency key of appends and of sync pushes.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventId(Arc<str>);

impl EventId {
    /// Parses a UUID in text form, kept in canonical lower case (`A0…` and `a0…` are the same
    /// id, as they are the same UUID).
    ///
    /// # Errors
    /// [`Invalid`] if `s` is not a UUID.
    pub fn parse(s: impl AsRef<str>) -> Result<Self> {
        let s = s.as_ref();
        let ok = s.len() == 36
            && s.bytes().enumerate().all(|(i, b)| match i {
                8 | 13 | 18 | 23 => b == b'-',
                _ => b.is_ascii_hexdigit(),
            });
        if ok {
            if s.bytes().any(|b| b.is_ascii_uppercase()) {
                Ok(EventId(s.to_ascii_lowercase().into()))
            } else {
                Ok(EventId(s.into()))
            }
        } else {
            Err(Invalid::new(format!(
                "event id {s:?} is not a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"
            )))
        }
    }

    /// Formats 16 bytes as a UUID string (for ids derived from a hash or a random source).
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        let mut s = String::with_capacity(36);
        for (i, b) in bytes.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                s.push('-');
            }
            s.push_str(&format!("{b:02x}"));
        }
        EventId(s.into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for EventId {
    type Error = Invalid;
    fn try_from(s: String) -> Result<Self> {
        EventId::parse(s)
    }
}
impl From<EventId> for String {
    fn from(s: EventId) -> String {
        s.0.to_string()
    }
}
impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Debug for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EventId({})", &*self.0)
    }
}

/// A stream version: the number of events in the stream. The first event of a stream has
/// version 1; version 0 means the stream does not exist.
#[derive(
    Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Debug, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Version(pub u64);

/// A position in the global log: 1-based, strictly increasing across the whole store.
/// Position 0 means "before the first event".
#[derive(
    Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Debug, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Position(pub u64);

/// Milliseconds since the Unix epoch (what JavaScript's `Date.now()` returns).
#[derive(
    Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Debug, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// An event to append: what the caller decides. The store adds stream, version, position
/// and timestamp when it records it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NewEvent {
    /// Client-chosen UUID, the idempotency key.
    pub id: EventId,
    /// The event type.
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// The payload, any JSON value.
    pub data: Json,
    /// A JSON object: correlation and causation ids, schema version, anything else.
    pub metadata: Json,
}

impl NewEvent {
    /// Builds an event with empty metadata (`{}`).
    pub fn new(id: EventId, event_type: EventType, data: Json) -> Self {
        NewEvent {
            id,
            event_type,
            data,
            metadata: Json::empty_object(),
        }
    }

    /// Replaces the metadata.
    ///
    /// # Errors
    /// [`Invalid`] if `metadata` is not a JSON object.
    pub fn with_metadata(mut self, metadata: Json) -> Result<Self> {
        if !metadata.is_object() {
            return Err(Invalid::new("metadata must be a JSON object"));
        }
        self.metadata = metadata;
        Ok(self)
    }

    /// Bytes this event's payloads take (data + metadata), the figure the size limit checks.
    pub fn payload_bytes(&self) -> usize {
        self.data.as_str().len() + self.metadata.as_str().len()
    }

    /// Whether `recorded` holds the same content as this event (id, type, data, metadata).
    pub fn same_content(&self, recorded: &RecordedEvent) -> bool {
        self.id == recorded.id
            && self.event_type == recorded.event_type
            && self.data == recorded.data
            && self.metadata == recorded.metadata
    }
}

/// An event as the store recorded it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RecordedEvent {
    /// Client-chosen UUID.
    pub id: EventId,
    /// The stream it belongs to.
    pub stream: StreamId,
    /// The event type.
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// The payload, exactly as appended.
    pub data: Json,
    /// The metadata object, exactly as appended.
    pub metadata: Json,
    /// 1-based position within its stream.
    pub version: Version,
    /// 1-based position in the global log.
    pub position: Position,
    /// When the store recorded it.
    pub timestamp: Timestamp,
}

object_deserialize!(NewEvent {
    id: EventId = "id" required,
    event_type: EventType = "type" required,
    data: Json = "data" required,
    metadata: Json = "metadata" required,
});

object_deserialize!(RecordedEvent {
    id: EventId = "id" required,
    stream: StreamId = "stream" required,
    event_type: EventType = "type" required,
    data: Json = "data" required,
    metadata: Json = "metadata" required,
    version: Version = "version" required,
    position: Position = "position" required,
    timestamp: Timestamp = "timestamp" required,
});

impl RecordedEvent {
    /// Appends this event to `out` as the JSON object JavaScript sees:
    /// `{"id","stream","type","data","metadata","version","position","timestamp"}`.
    pub fn write_json(&self, out: &mut String) {
        use crate::core::json::write_string;
        out.push_str("{\"id\":");
        write_string(out, self.id.as_str());
        out.push_str(",\"stream\":");
        write_string(out, self.stream.as_str());
        out.push_str(",\"type\":");
        write_string(out, self.event_type.as_str());
        out.push_str(",\"data\":");
        out.push_str(self.data.as_str());
        out.push_str(",\"metadata\":");
        out.push_str(self.metadata.as_str());
        out.push_str(",\"version\":");
        push_uint(out, self.version.0);
        out.push_str(",\"position\":");
        push_uint(out, self.position.0);
        out.push_str(",\"timestamp\":");
        push_int(out, self.timestamp.0);
        out.push('}');
    }

    /// An estimate (exact unless names need escaping) of [`write_json`](Self::write_json)'s output length.
    pub fn json_len_hint(&self) -> usize {
        180 + self.stream.as_str().len()
            + self.event_type.as_str().len()
            + self.data.as_str().len()
            + self.metadata.as_str().len()
    }
}

/// Appends the decimal digits of `n` (without the formatting machinery: this runs for every
/// number of every event written to IndexedDB).
fn push_int(out: &mut String, n: i64) {
    if n < 0 {
        out.push('-');
    }
    push_uint(out, n.unsigned_abs());
}

fn push_uint(out: &mut String, mut v: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    for &d in &digits[i..] {
        out.push(char::from(d));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_events_write_the_json_serde_reads() {
        let e = RecordedEvent {
            id: EventId::from_bytes([7; 16]),
            stream: StreamId::new("order-\"1\"").unwrap(),
            event_type: EventType::new("Créé").unwrap(),
            data: Json::parse(r#"{"a":[1,null]}"#).unwrap(),
            metadata: Json::empty_object(),
            version: Version(3),
            position: Position(9),
            timestamp: Timestamp(1_700_000_000_000),
        };
        let mut out = String::new();
        e.write_json(&mut out);
        let back: RecordedEvent = serde_json::from_str(&out).unwrap();
        assert_eq!(back, e);
        assert!(out.len() <= e.json_len_hint());
        assert_eq!(out, serde_json::to_string(&e).unwrap());
        for (v, p, t) in [
            (0, 0, 0),
            (u64::MAX, 9_007_199_254_740_991, i64::MIN),
            (10, 100, -5),
        ] {
            let e = RecordedEvent {
                version: Version(v),
                position: Position(p),
                timestamp: Timestamp(t),
                ..e.clone()
            };
            let mut out = String::new();
            e.write_json(&mut out);
            assert_eq!(out, serde_json::to_string(&e).unwrap());
        }
    }

    #[test]
    fn names_are_validated() {
        assert!(StreamId::new("order-1").is_ok());
        assert_eq!(
            crate::error::Error::from(StreamId::new("").unwrap_err()).code(),
            "INVALID_INPUT"
        );
        assert!(StreamId::new("a\nb").is_err());
        assert!(StreamId::new("x".repeat(MAX_NAME_BYTES + 1)).is_err());
        assert!(EventType::new("").is_err());
        assert!(EventType::new("Ünïcødé ✓").is_ok());
    }

    #[test]
    fn event_ids_must_be_uuids() {
        assert!(EventId::parse("0f8fad5b-d9cb-469f-a165-70867728950e").is_ok());
        assert!(EventId::parse("0F8FAD5B-D9CB-469F-A165-70867728950E").is_ok());
        assert!(EventId::parse("0f8fad5bd9cb469fa16570867728950e").is_err());
        assert!(EventId::parse("0f8fad5b-d9cb-469f-a165-70867728950g").is_err());
        assert!(EventId::parse("").is_err());
        let id = EventId::from_bytes([0xab; 16]);
        assert_eq!(id.as_str(), "abababab-abab-abab-abab-abababababab");
        assert!(EventId::parse(id.as_str()).is_ok());
    }

    #[test]
    fn metadata_must_be_an_object() {
        let e = NewEvent::new(
            EventId::from_bytes([1; 16]),
            EventType::new("T").unwrap(),
            Json::null(),
        );
        assert!(e
            .clone()
            .with_metadata(Json::parse("[1]").unwrap())
            .is_err());
        assert!(e.with_metadata(Json::parse(r#"{"a":1}"#).unwrap()).is_ok());
    }
}
