//! Event rows: the columns of `eventfold_events`, their reading back (packed into two cells a
//! row, checked into [`RecordedEvent`]s) and the integer conversions of their cells.

use super::super::executor::{int, text, SqlExecutor, SqlValue};
use crate::core::event::{
    EventId, EventType, Position, RecordedEvent, StreamId, Timestamp, Version,
};
use crate::core::invalid::Invalid;
use crate::core::json::Json;
use crate::error::{Error, Result};

pub(crate) fn to_i64(n: u64, what: &str) -> Result<i64> {
    i64::try_from(n).map_err(|_| Error::invalid(format!("{what} {n} is out of range")))
}

pub(super) fn to_u64(n: i64, what: &str) -> Result<u64> {
    u64::try_from(n).map_err(|_| Error::CorruptData {
        record: "eventfold_events".into(),
        message: format!("negative {what} {n}"),
    })
}

/// The start of every `SELECT` of event rows: the columns of an event row (JavaScript reads
/// them in this order, `sqlEvents` in `src/wasm/js/bindings.js`).
pub(crate) const SELECT_COLUMNS: &str =
    "SELECT position, id, stream, version, type, data, metadata, timestamp \
    FROM eventfold_events";

/// Separates the cells of a packed row: a control character, which no valid cell holds (JSON
/// text escapes them, names refuse them, ids are hex digits).
const SEPARATOR: char = '\u{1f}';

/// [`SELECT_COLUMNS`] as the engine reads them: the position, then the other cells packed
/// into one text, version, timestamp, id, stream, type, data and metadata joined by
/// [`SEPARATOR`]. A runtime's adapter makes one JavaScript value per cell (a Durable Object's
/// cursor wraps every cell it returns): two per event instead of eight.
const SELECT_PACKED: &str = "SELECT position, version || '\u{1f}' || timestamp || '\u{1f}' \
    || id || '\u{1f}' || stream || '\u{1f}' || type || '\u{1f}' || data || '\u{1f}' \
    || metadata FROM eventfold_events";

/// Whether a read checks that data and metadata are JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Payloads {
    /// Each is parsed: a row whose payload is not JSON is `CORRUPT_DATA`.
    Check,
    /// Taken as stored (the append validated them), for a reader that parses them itself
    /// ([`EventStore::read_all_to_send`](crate::EventStore::read_all_to_send)).
    AsStored,
}

/// The events of `sql`, a `SELECT` of event rows (it starts with [`SELECT_COLUMNS`]), read
/// packed ([`SELECT_PACKED`]); a bad row is `CORRUPT_DATA` naming its position.
pub(super) fn select<E: SqlExecutor>(
    db: &E,
    sql: &str,
    params: &[SqlValue],
) -> Result<Vec<RecordedEvent>> {
    select_with(db, sql, params, Payloads::Check)
}

/// [`select`], checking the payloads or not.
pub(super) fn select_with<E: SqlExecutor>(
    db: &E,
    sql: &str,
    params: &[SqlValue],
    payloads: Payloads,
) -> Result<Vec<RecordedEvent>> {
    let rest = sql
        .strip_prefix(SELECT_COLUMNS)
        .ok_or_else(|| Error::storage(format!("not a read of events: {sql}")))?;
    let mut names = Names::default();
    db.query(&format!("{SELECT_PACKED}{rest}"), params)?
        .into_iter()
        .map(|mut row| {
            let position = int(&row, 0, "eventfold_events position")?;
            let record = || format!("eventfold_events position {position}");
            let cells = text(&mut row, 1, "eventfold_events")
                .map_err(|_| corrupt(record(), "a cell is not text or a number".into()))?;
            unpack_row(position, &cells, &mut names, payloads).map_err(|e| corrupt(record(), e))
        })
        .collect()
}

fn corrupt(record: String, message: String) -> Error {
    Error::CorruptData { record, message }
}

/// The stream ids and event types of the rows read so far by one [`select`]: rows of a page
/// mostly repeat a few, which then are neither checked nor allocated again.
#[derive(Default)]
struct Names {
    streams: Vec<StreamId>,
    types: Vec<EventType>,
}

/// Names remembered per kind: a page's handful of types, the streams of its latest appends.
const NAMES_KEPT: usize = 8;

impl Names {
    fn stream(&mut self, s: &str) -> std::result::Result<StreamId, Invalid> {
        remembered(&mut self.streams, s, StreamId::as_str, |s| StreamId::new(s))
    }

    fn event_type(&mut self, s: &str) -> std::result::Result<EventType, Invalid> {
        remembered(&mut self.types, s, EventType::as_str, |s| EventType::new(s))
    }
}

/// The name `s` from `kept`, or made with `make` and kept (all forgotten past
/// [`NAMES_KEPT`]).
fn remembered<T: Clone>(
    kept: &mut Vec<T>,
    s: &str,
    name: fn(&T) -> &str,
    make: fn(&str) -> std::result::Result<T, Invalid>,
) -> std::result::Result<T, Invalid> {
    if let Some(found) = kept.iter().rev().find(|t| name(t) == s) {
        return Ok(found.clone());
    }
    let made = make(s)?;
    if kept.len() == NAMES_KEPT {
        kept.clear();
    }
    kept.push(made.clone());
    Ok(made)
}

/// The event at `position` from its other cells as [`SELECT_PACKED`] joins them; what is
/// wrong with them otherwise.
fn unpack_row(
    position: i64,
    cells: &str,
    names: &mut Names,
    payloads: Payloads,
) -> std::result::Result<RecordedEvent, String> {
    let mut cells = cells.split(SEPARATOR);
    let mut next = || cells.next().ok_or("a cell is missing");
    let (version, timestamp) = (next()?, next()?);
    let (id, stream, event_type, data, metadata) = (next()?, next()?, next()?, next()?, next()?);
    if next().is_ok() {
        return Err("a cell holds a control character".into());
    }
    let (Ok(version), Ok(timestamp), Ok(position)) = (
        version.parse::<u64>(),
        timestamp.parse::<i64>(),
        u64::try_from(position),
    ) else {
        return Err("its version, timestamp or position is not an integer of its range".into());
    };
    let invalid = |e: Invalid| e.to_string();
    let json = |text: &str| match payloads {
        Payloads::Check => Json::parse(text).map_err(invalid),
        Payloads::AsStored => Ok(Json::trusted(text)),
    };
    Ok(RecordedEvent {
        id: EventId::parse(id).map_err(invalid)?,
        stream: names.stream(stream).map_err(invalid)?,
        event_type: names.event_type(event_type).map_err(invalid)?,
        data: json(data)?,
        metadata: json(metadata)?,
        version: Version(version),
        position: Position(position),
        timestamp: Timestamp(timestamp),
    })
}
