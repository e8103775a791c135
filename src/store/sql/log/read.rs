//! Reads: of one stream, and of the global log (filtered in SQL when the filter fits in one
//! statement, in Rust over pages otherwise).

use super::super::executor::{first_int, SqlExecutor, SqlValue, Statement, MAX_PARAMS};
use super::rows::{select, select_with, to_i64, to_u64, Payloads, SELECT_COLUMNS};
use crate::core::event::{RecordedEvent, StreamId, Version};
use crate::error::Result;
use crate::store::{Direction, ReadAllOptions, ReadStreamOptions};

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
