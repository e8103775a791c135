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
    let corrupt = |e: eventfold::core::invalid::Invalid| Error::CorruptData {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Stored rows with mutated fields (what a damaged or hand-edited database holds) decode
    /// or fail as `CORRUPT_DATA` naming the row; never a panic. `EVENTFOLD_FUZZ_ITERS` sets
    /// the count (default 20 000).
    #[test]
    fn mutated_stored_rows_decode_or_are_corrupt_data() {
        let iterations: usize = std::env::var("EVENTFOLD_FUZZ_ITERS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(20_000);
        let pieces = [
            "", "{", "}", "[", "\"", "\\", "null", "1e400", "\u{202e}", "\n", "\u{0}", "é", "-",
            "A",
        ];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move |n: usize| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n.max(1) as u64) as usize
        };
        let (mut ok, mut corrupt) = (0, 0);
        for _ in 0..iterations {
            let mut fields = [
                "01010101-0101-4101-8101-010101010101".to_owned(),
                "order-1".to_owned(),
                "Added".to_owned(),
                r#"{"n":1,"s":"x"}"#.to_owned(),
                "{}".to_owned(),
            ];
            for _ in 0..1 + next(3) {
                let f = &mut fields[next(5)];
                let mut chars: Vec<char> = f.chars().collect();
                let at = next(chars.len() + 1);
                match next(3) {
                    0 => chars
                        .splice(at..at, pieces[next(pieces.len())].chars())
                        .for_each(drop),
                    1 if at < chars.len() => {
                        chars.remove(at);
                    }
                    _ => chars.truncate(at),
                }
                *f = chars.into_iter().collect();
            }
            let [id, stream, event_type, data, metadata] = fields;
            let numbers = [1i64, 0, -1, i64::MAX, i64::MIN];
            let row = RawRow {
                position: numbers[next(5)],
                id,
                stream,
                version: numbers[next(5)],
                event_type,
                data,
                metadata,
                timestamp: numbers[next(5)],
            };
            match decode_row(row) {
                Ok(_) => ok += 1,
                Err(e) => {
                    assert_eq!(e.code(), "CORRUPT_DATA", "{e}");
                    corrupt += 1;
                }
            }
        }
        eprintln!("stored rows: {iterations} mutants, {ok} decoded, {corrupt} corrupt");
    }
}
