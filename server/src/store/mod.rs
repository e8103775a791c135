//! The server's event store backends and what they share.
//!
//! Both backends implement [`eventfold::EventStore`] and pass the shared contract suite. The
//! trait's futures are not `Send` (by design, for the browser); the server owns its store on a
//! dedicated thread instead (see [`crate::backend`]).

pub mod postgres;
pub mod sqlite;

use std::hash::BuildHasher;

use eventfold::sync::protocol::StoreId;
use eventfold::{
    Error, EventId, EventStore, EventType, Json, Position, RecordedEvent, Result, StreamId,
    Timestamp, Version,
};

/// A backend the server can run: an [`EventStore`] with a stable identity.
pub trait ServerStore: EventStore {
    /// The store's id, chosen when the database was created; pull checkpoints carry it.
    fn store_id(&self) -> StoreId;
}

/// A stored event row before validation.
pub(crate) struct RawRow {
    pub position: i64,
    pub id: String,
    pub stream: String,
    pub version: i64,
    pub event_type: String,
    pub data: String,
    pub metadata: String,
    pub timestamp: i64,
}

/// Validates a stored row into a [`RecordedEvent`]; a bad row is [`Error::CorruptData`] naming
/// its position.
pub(crate) fn decode_row(row: RawRow) -> Result<RecordedEvent> {
    let record = format!("events position {}", row.position);
    let corrupt = |e: Error| Error::CorruptData {
        record: record.clone(),
        message: e.to_string(),
    };
    let number = |n: i64, what: &str| {
        u64::try_from(n).map_err(|_| Error::CorruptData {
            record: record.clone(),
            message: format!("negative {what} {n}"),
        })
    };
    Ok(RecordedEvent {
        id: EventId::parse(&row.id).map_err(corrupt)?,
        stream: StreamId::new(&row.stream).map_err(corrupt)?,
        event_type: EventType::new(&row.event_type).map_err(corrupt)?,
        data: Json::parse(row.data).map_err(corrupt)?,
        metadata: Json::parse(row.metadata).map_err(corrupt)?,
        version: Version(number(row.version, "version")?),
        position: Position(number(row.position, "position")?),
        timestamp: Timestamp(row.timestamp),
    })
}

/// A fresh random store id (32 hex digits) from the standard library's randomly keyed hasher.
pub(crate) fn random_store_id() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let a = std::collections::hash_map::RandomState::new().hash_one((now, std::process::id()));
    let b = std::collections::hash_map::RandomState::new().hash_one((a, now));
    format!("{a:016x}{b:016x}")
}
