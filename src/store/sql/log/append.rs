//! Appends: the plan against the log's [`Tip`], the lookup of ids already stored, and the
//! `INSERT`s of a batch.

use std::collections::HashMap;

use super::super::executor::{SqlExecutor, SqlValue, Statement, MAX_PARAMS};
use super::rows::{select, to_i64, to_u64, SELECT_COLUMNS};
use super::tip::{parse_tip, tip, tip_statement, Tip};
use crate::core::append::{plan_append, validate_batch, AppendPlan, AppendResult, StoreLimits};
use crate::core::event::{EventId, NewEvent, Position, RecordedEvent, StreamId, Version};
use crate::core::expected::ExpectedVersion;
use crate::error::{Error, Result};
use crate::store::Clock;

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
