//! Where the log ends ([`Tip`]), as read from the database and as this store's own commits left
//! it ([`TipCache`]).

use std::collections::HashMap;

use super::super::executor::{int, Row, SqlExecutor, SqlValue, Statement};
use super::rows::to_u64;
use crate::core::event::Position;
use crate::error::Result;

/// Where the log ends: the head (the newest event, or a later reset marker) and the newest
/// timestamp (events' and resets'), with the version of one stream. An append's plan depends
/// on exactly these three values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tip {
    pub(super) version: u64,
    pub(super) head: i64,
    pub(super) last_ts: i64,
}

/// The query of [`Tip`] (of `stream`, or of no stream).
pub(super) fn tip_statement(stream: Option<&str>) -> Statement {
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
pub(super) fn parse_tip(rows: Vec<Row>) -> Result<Tip> {
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

pub(super) fn tip<E: SqlExecutor>(db: &E, stream: Option<&str>) -> Result<Tip> {
    let Statement { sql, params } = tip_statement(stream);
    parse_tip(db.query(&sql, &params)?)
}

/// Streams whose versions a [`TipCache`] keeps at most (then it forgets them all).
const CACHED_STREAMS: usize = 4096;

/// The tip this store's own commits left: the log's head and newest timestamp, and the
/// versions of the streams it appended to. Only a guess: another connection (or the app's
/// enclosing transaction rolling back) may have changed the log since. An append planned on
/// the guess reads the real [`Tip`] in the same call as its inserts, inside its transaction,
/// and rolls back when the two differ (see [`append`](super::append::append)), so a wrong
/// guess costs a retry, never a wrong write.
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
