//! Events and the newtypes that identify them: [`NewEvent`] and [`RecordedEvent`] here, their
//! names and ids ([`StreamId`], [`EventType`], [`EventId`]) and where they sit ([`Version`],
//! [`Position`], [`Timestamp`]) in the files below.

mod id;
mod name;
mod position;
mod text;
mod write;

use serde::Serialize;

pub use id::EventId;
pub use name::{is_bidi_control, EventType, StreamId, MAX_NAME_BYTES};
pub use position::{Position, Timestamp, Version};

use crate::core::invalid::{Invalid, Result};
use crate::core::json::Json;
use crate::core::object::object_deserialize;

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

#[cfg(test)]
mod tests {
    use super::*;

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
