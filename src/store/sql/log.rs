//! The log: appends and reads of `eventfold_events`, as free functions over an executor so
//! that a transaction's body can call them.

use std::collections::HashMap;

use super::executor::{first_int, int, text, Row, SqlExecutor, SqlValue, Statement, MAX_PARAMS};
use crate::core::append::{plan_append, validate_batch, AppendPlan, AppendResult, StoreLimits};
use crate::core::event::{
    EventId, EventType, NewEvent, Position, RecordedEvent, StreamId, Timestamp, Version,
};
use crate::core::expected::ExpectedVersion;
use crate::core::invalid::Invalid;
use crate::core::json::Json;
use crate::error::{Error, Result};
use crate::store::{Clock, Direction, ReadAllOptions, ReadStreamOptions};

/// The insert of event rows, without its `VALUES` lists.
const INSERT: &str = "INSERT INTO eventfold_events \
    (position, id, stream, version, type, data, metadata, timestamp) VALUES ";

/// The values of one event row in an [`INSERT`].
const ROW: &str = "(?, ?, ?, ?, ?, ?, ?, ?)";

/// Values bound per event row.
const ROW_PARAMS: usize = 8;

/// The [`INSERT`] of `rows` event rows.
fn insert_sql(rows: usize) -> String {
    let mut sql = String::with_capacity(INSERT.len() + rows * (ROW.len() + 2));
    sql.push_str(INSERT);
    for i in 0..rows {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(ROW);
    }
    sql
}

pub(crate) fn to_i64(n: u64, what: &str) -> Result<i64> {
    i64::try_from(n).map_err(|_| Error::invalid(format!("{what} {n} is out of range")))
}

fn to_u64(n: i64, what: &str) -> Result<u64> {
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
fn select<E: SqlExecutor>(db: &E, sql: &str, params: &[SqlValue]) -> Result<Vec<RecordedEvent>> {
    select_with(db, sql, params, Payloads::Check)
}

/// [`select`], checking the payloads or not.
fn select_with<E: SqlExecutor>(
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

/// Where the log ends: the head (the newest event, or a later reset marker) and the newest
/// timestamp (events' and resets'), with the version of one stream. An append's plan depends
/// on exactly these three values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tip {
    version: u64,
    head: i64,
    last_ts: i64,
}

/// The query of [`Tip`] (of `stream`, or of no stream).
fn tip_statement(stream: Option<&str>) -> Statement {
    Statement {
        sql: "SELECT (SELECT MAX(version) FROM eventfold_events WHERE stream = ?), \
              (SELECT MAX(position) FROM eventfold_events), \
              (SELECT timestamp FROM eventfold_events ORDER BY position DESC LIMIT 1), \
              (SELECT CAST(value AS INTEGER) FROM eventfold_meta WHERE key = 'reset_head'), \
              (SELECT CAST(value AS INTEGER) FROM eventfold_meta WHERE key = 'reset_ts')"
            .into(),
        params: vec![stream.map_or(SqlValue::Null, SqlValue::from)],
    }
}

/// The [`Tip`] in the rows of [`tip_statement`].
fn parse_tip(rows: Vec<Row>) -> Result<Tip> {
    let row = rows.into_iter().next().unwrap_or_default();
    let cell = |i: usize| match row.get(i) {
        None | Some(SqlValue::Null) => Ok(None),
        Some(_) => int(&row, i, "eventfold head").map(Some),
    };
    let version = cell(0)?.unwrap_or(0);
    let head = cell(1)?.unwrap_or(0).max(cell(3)?.unwrap_or(0));
    let last_ts = match (cell(2)?, cell(4)?) {
        (Some(a), Some(b)) => a.max(b),
        (a, b) => a.or(b).unwrap_or(i64::MIN),
    };
    Ok(Tip {
        version: to_u64(version, "version")?,
        head,
        last_ts,
    })
}

fn tip<E: SqlExecutor>(db: &E, stream: Option<&str>) -> Result<Tip> {
    let Statement { sql, params } = tip_statement(stream);
    parse_tip(db.query(&sql, &params)?)
}

/// Streams whose versions a [`TipCache`] keeps at most (then it forgets them all).
const CACHED_STREAMS: usize = 4096;

/// The tip this store's own commits left: the log's head and newest timestamp, and the
/// versions of the streams it appended to. Only a guess: another connection (or the app's
/// enclosing transaction rolling back) may have changed the log since. An append planned on
/// the guess reads the real [`Tip`] in the same call as its inserts, inside its transaction,
/// and rolls back when the two differ (see [`append`]), so a wrong guess costs a retry, never
/// a wrong write.
#[derive(Debug, Default)]
pub(crate) struct TipCache {
    log: Option<(i64, i64)>,
    versions: HashMap<String, u64>,
}

impl TipCache {
    /// The guessed tip for an append to `stream`, if this store knows it.
    pub(crate) fn guess(&self, stream: &str) -> Option<Tip> {
        let (head, last_ts) = self.log?;
        Some(Tip {
            version: *self.versions.get(stream)?,
            head,
            last_ts,
        })
    }

    /// Records the tip after a committed append to `stream`.
    pub(crate) fn record(&mut self, stream: &str, tip: Tip) {
        self.log = Some((tip.head, tip.last_ts));
        if self.versions.len() >= CACHED_STREAMS && !self.versions.contains_key(stream) {
            self.versions.clear();
        }
        self.versions.insert(stream.to_owned(), tip.version);
    }

    /// Forgets everything (after a reset, or a guess that proved wrong).
    pub(crate) fn clear(&mut self) {
        self.log = None;
        self.versions.clear();
    }
}

/// The head: the newest event's position, or the last reset's marker if later.
pub(crate) fn head<E: SqlExecutor>(db: &E) -> Result<Position> {
    Ok(Position(to_u64(tip(db, None)?.head, "position")?))
}

/// The events already stored under the batch's ids, in batch order.
fn existing<E: SqlExecutor>(db: &E, events: &[NewEvent]) -> Result<Vec<Option<RecordedEvent>>> {
    let mut found: HashMap<EventId, RecordedEvent> = HashMap::new();
    for chunk in events.chunks(MAX_PARAMS) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let params: Vec<SqlValue> = chunk.iter().map(|e| e.id.as_str().into()).collect();
        let sql = format!("{SELECT_COLUMNS} WHERE id IN ({marks})");
        for e in select(db, &sql, &params)? {
            found.insert(e.id.clone(), e);
        }
    }
    Ok(events.iter().map(|e| found.get(&e.id).cloned()).collect())
}

/// How an append finds the batch's ids that are already stored (an idempotent retry, or a
/// conflict).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IdCheck {
    /// Looks every id up before writing.
    Lookup,
    /// Writes when the batch is new to the stream's version, and lets the `UNIQUE(id)` index
    /// catch an id already stored: the insert then fails with [`is_id_taken`], and the caller
    /// rolls back and appends again with [`IdCheck::Lookup`]. Saves one query per append.
    Insert,
}

/// Whether `e` is the `UNIQUE(id)` failure of an [`IdCheck::Insert`] append.
pub(crate) fn is_id_taken(e: &Error) -> bool {
    matches!(e, Error::Storage { message } if message.contains("eventfold_events.id"))
}

/// The rollback of an append planned on a guessed [`Tip`] that the log did not match.
const STALE_TIP: &str = "eventfold: the cached tip of the log was stale";

/// One append, inside the caller's transaction (see [`EventStore::append`](crate::EventStore::append)).
/// With `guess` (and [`IdCheck::Insert`]) and a batch that fits it, the inserts go out in one
/// [`SqlExecutor::batch`] behind the query of the real tip, and the append fails with a
/// storage error when that differs from the guess (the caller rolls back and appends again
/// without a guess). Answers the result and the tip after it.
#[allow(clippy::too_many_arguments)]
pub(crate) fn append<E: SqlExecutor>(
    db: &E,
    stream: &StreamId,
    events: &[NewEvent],
    expected: ExpectedVersion,
    clock: &Clock,
    limits: &StoreLimits,
    check: IdCheck,
    guess: Option<Tip>,
) -> Result<(AppendResult, Tip)> {
    validate_batch(events, limits)?;
    let unseen = vec![None; events.len()];
    if let (Some(guess), IdCheck::Insert) = (guess, check) {
        let planned = plan_append(stream, events, expected, Version(guess.version), &unseen);
        if let Ok(AppendPlan::Write { first_version }) = planned {
            let mut statements = vec![tip_statement(Some(stream.as_str()))];
            let (result, after) = inserts(
                stream,
                events,
                first_version,
                guess,
                clock,
                db.rows_per_insert(),
                &mut statements,
            )?;
            let rows = db
                .batch(&statements)?
                .into_iter()
                .next()
                .unwrap_or_default();
            if parse_tip(rows)? != guess {
                return Err(Error::storage(STALE_TIP));
            }
            return Ok((result, after));
        }
    }
    let tip = tip(db, Some(stream.as_str()))?;
    let current = Version(tip.version);
    let planned = match check {
        IdCheck::Insert => plan_append(stream, events, expected, current, &unseen).ok(),
        IdCheck::Lookup => None,
    };
    // A new batch whose expected version does not match may be a retry of one already
    // appended: that needs the lookup.
    let plan = match planned {
        Some(plan) => plan,
        None => plan_append(stream, events, expected, current, &existing(db, events)?)?,
    };
    let first_version = match plan {
        AppendPlan::AlreadyAppended(result) => return Ok((result, tip)),
        AppendPlan::Write { first_version } => first_version,
    };
    let mut statements = Vec::new();
    let (result, after) = inserts(
        stream,
        events,
        first_version,
        tip,
        clock,
        db.rows_per_insert(),
        &mut statements,
    )?;
    db.batch(&statements)?;
    Ok((result, after))
}

/// The `INSERT`s of a batch written at `first_version` after `tip`, `rows` events per
/// statement (see [`SqlExecutor::rows_per_insert`]), pushed onto `out`; answers the append's
/// result and the tip after it. Every statement goes out in one [`SqlExecutor::batch`].
fn inserts(
    stream: &StreamId,
    events: &[NewEvent],
    first_version: Version,
    tip: Tip,
    clock: &Clock,
    rows: usize,
    out: &mut Vec<Statement>,
) -> Result<(AppendResult, Tip)> {
    // Timestamps never go backwards along the log, so "as of a time" is a prefix of it.
    let timestamp = clock().0.max(tip.last_ts);
    let first = to_i64(first_version.0, "version")?;
    let rows = rows.clamp(1, MAX_PARAMS / ROW_PARAMS);
    let mut k: i64 = 0;
    out.reserve(events.len().div_ceil(rows));
    for chunk in events.chunks(rows) {
        let mut params = Vec::with_capacity(chunk.len() * ROW_PARAMS);
        for e in chunk {
            k += 1;
            params.extend([
                SqlValue::Integer(tip.head + k),
                e.id.as_str().into(),
                stream.as_str().into(),
                SqlValue::Integer(first + k - 1),
                e.event_type.as_str().into(),
                e.data.as_str().into(),
                e.metadata.as_str().into(),
                SqlValue::Integer(timestamp),
            ]);
        }
        out.push(Statement {
            sql: insert_sql(chunk.len()),
            params,
        });
    }
    let version = first_version.0 + events.len() as u64 - 1;
    let head = tip.head + k;
    Ok((
        AppendResult {
            version: Version(version),
            position: Position(to_u64(head, "position")?),
        },
        Tip {
            version,
            head,
            last_ts: timestamp,
        },
    ))
}

/// The stream's version (0 when it does not exist).
pub(crate) fn stream_version<E: SqlExecutor>(db: &E, stream: &StreamId) -> Result<Version> {
    let rows = db.query(
        "SELECT MAX(version) FROM eventfold_events WHERE stream = ?",
        &[stream.as_str().into()],
    )?;
    Ok(Version(to_u64(
        first_int(&rows, "eventfold_events version")?,
        "version",
    )?))
}

/// How a read runs: nothing to read, one statement, or pages of the log filtered in Rust.
pub(crate) enum ReadPlan {
    /// The answer is empty.
    Nothing,
    /// One `SELECT` of event rows ([`SELECT_COLUMNS`]) answers it.
    One(Statement),
    /// The filter binds too many values for one statement: page through the log and filter.
    Paged,
}

/// The statement of a stream read, after looking up the stream's version.
pub(crate) fn read_stream_plan<E: SqlExecutor>(
    db: &E,
    stream: &StreamId,
    options: &ReadStreamOptions,
) -> Result<ReadPlan> {
    let current = stream_version(db, stream)?;
    let Some((lo, hi)) = options.range(current) else {
        return Ok(ReadPlan::Nothing);
    };
    let order = match options.direction {
        Direction::Forward => "ASC",
        Direction::Backward => "DESC",
    };
    Ok(ReadPlan::One(Statement {
        sql: format!(
            "{SELECT_COLUMNS} WHERE stream = ? AND version BETWEEN ? AND ? \
             ORDER BY version {order}"
        ),
        params: vec![
            stream.as_str().into(),
            SqlValue::Integer(to_i64(lo, "version")?),
            SqlValue::Integer(to_i64(hi, "version")?),
        ],
    }))
}

/// A stream read (see [`EventStore::read_stream`](crate::EventStore::read_stream)).
pub(crate) fn read_stream<E: SqlExecutor>(
    db: &E,
    stream: &StreamId,
    options: &ReadStreamOptions,
) -> Result<Vec<RecordedEvent>> {
    match read_stream_plan(db, stream, options)? {
        ReadPlan::One(s) => select(db, &s.sql, &s.params),
        ReadPlan::Nothing | ReadPlan::Paged => Ok(Vec::new()),
    }
}

/// How a read of the global log runs: the filter runs in SQL when its values fit in one
/// statement, otherwise in Rust over pages ([`ReadPlan::Paged`]).
pub(crate) fn read_all_plan(options: &ReadAllOptions) -> ReadPlan {
    let after = SqlValue::Integer(i64::try_from(options.after.0).unwrap_or(i64::MAX));
    let limit = options.limit.unwrap_or(usize::MAX);
    if limit == 0 {
        return ReadPlan::Nothing;
    }
    let filter = &options.filter;
    if filter.types.as_ref().is_some_and(Vec::is_empty) {
        return ReadPlan::Nothing;
    }
    let prefixes = &filter.stream_prefixes;
    let filter_params = prefixes.len() * 2 + filter.types.as_ref().map_or(0, Vec::len);
    if filter_params + 2 > MAX_PARAMS {
        return ReadPlan::Paged;
    }
    let mut sql = format!("{SELECT_COLUMNS} WHERE position > ?");
    let mut params = vec![after];
    if !prefixes.is_empty() {
        let any = vec!["substr(stream, 1, length(?)) = ?"; prefixes.len()].join(" OR ");
        sql.push_str(&format!(" AND ({any})"));
        for p in prefixes {
            params.push(p.as_str().into());
            params.push(p.as_str().into());
        }
    }
    if let Some(types) = &filter.types {
        let marks = vec!["?"; types.len()].join(", ");
        sql.push_str(&format!(" AND type IN ({marks})"));
        params.extend(types.iter().map(|t| SqlValue::from(t.as_str())));
    }
    sql.push_str(" ORDER BY position LIMIT ?");
    params.push(SqlValue::Integer(i64::try_from(limit).unwrap_or(-1)));
    ReadPlan::One(Statement { sql, params })
}

/// A read of the global log (see [`EventStore::read_all`](crate::EventStore::read_all)).
pub(crate) fn read_all<E: SqlExecutor>(
    db: &E,
    options: &ReadAllOptions,
    payloads: Payloads,
) -> Result<Vec<RecordedEvent>> {
    match read_all_plan(options) {
        ReadPlan::Nothing => Ok(Vec::new()),
        ReadPlan::One(s) => select_with(db, &s.sql, &s.params, payloads),
        ReadPlan::Paged => read_all_paged(db, options, payloads),
    }
}

/// A read whose filter does not fit in one statement: pages of the log, filtered here.
fn read_all_paged<E: SqlExecutor>(
    db: &E,
    options: &ReadAllOptions,
    payloads: Payloads,
) -> Result<Vec<RecordedEvent>> {
    let limit = options.limit.unwrap_or(usize::MAX);
    let mut out = Vec::new();
    let mut from = options.after;
    loop {
        let page = select_with(
            db,
            &format!("{SELECT_COLUMNS} WHERE position > ? ORDER BY position LIMIT 1000"),
            &[SqlValue::Integer(to_i64(from.0, "position")?)],
            payloads,
        )?;
        let Some(last) = page.last() else {
            return Ok(out);
        };
        from = last.position;
        out.extend(page.into_iter().filter(|e| options.filter.matches(e)));
        if out.len() >= limit {
            out.truncate(limit);
            return Ok(out);
        }
    }
}
