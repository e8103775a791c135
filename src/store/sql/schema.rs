//! The tables of the SQL store, their version, and opening a database.
//!
//! | table | rows |
//! |---|---|
//! | `eventfold_meta` | `schema_version`, `store_id`, and the last reset's `reset_head` / `reset_ts` |
//! | `eventfold_events` | the log: `position INTEGER PRIMARY KEY`, `UNIQUE(id)`, `UNIQUE(stream, version)` |
//! | `eventfold_state` | snapshots and checkpoints ([`StateStore`](crate::store::StateStore)) |
//! | `eventfold_records` | read-model records, keyed by `(model, key)` |
//! | `eventfold_entries` | read-model index entries: `(model, idx, kind, num, txt, key)`, numbers (kind 0) before strings (kind 1) |
//!
//! The names carry an `eventfold_` prefix because the database is often the app's own (a
//! Durable Object has one).

use super::executor::{transaction, SqlExecutor, SqlValue};
use crate::error::{Error, Result};

/// The schema version this build creates and understands.
pub const SCHEMA_VERSION: u32 = 1;

const TABLES: [&str; 7] = [
    "CREATE TABLE IF NOT EXISTS eventfold_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS eventfold_events (position INTEGER PRIMARY KEY, \
     id TEXT NOT NULL UNIQUE, stream TEXT NOT NULL, version INTEGER NOT NULL, \
     type TEXT NOT NULL, data TEXT NOT NULL, metadata TEXT NOT NULL, \
     timestamp INTEGER NOT NULL, UNIQUE (stream, version))",
    "CREATE TABLE IF NOT EXISTS eventfold_state (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS eventfold_records (model TEXT NOT NULL, key TEXT NOT NULL, \
     value TEXT NOT NULL, PRIMARY KEY (model, key))",
    "CREATE TABLE IF NOT EXISTS eventfold_entries (model TEXT NOT NULL, idx TEXT NOT NULL, \
     kind INTEGER NOT NULL, num REAL, txt TEXT, key TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS eventfold_entries_range \
     ON eventfold_entries (model, idx, kind, num, txt, key)",
    "CREATE INDEX IF NOT EXISTS eventfold_entries_key ON eventfold_entries (model, key)",
];

/// Creates the tables if needed (one transaction) and answers the store's id, recording
/// `new_id` as the id of a new database.
///
/// # Errors
/// [`Error::SchemaTooNew`] when a newer eventfold wrote the database (nothing is changed);
/// storage failures.
pub(crate) fn open<E: SqlExecutor>(db: &E, new_id: String) -> Result<String> {
    transaction(db, move |db: &E| {
        db.execute(TABLES[0], &[])?;
        let version = db.query(
            "SELECT value FROM eventfold_meta WHERE key = 'schema_version'",
            &[],
        )?;
        if let Some(SqlValue::Text(v)) = version.first().and_then(|r| r.first()) {
            let found: u32 = v.parse().unwrap_or(u32::MAX);
            if found > SCHEMA_VERSION {
                return Err(Error::SchemaTooNew {
                    found,
                    supported: SCHEMA_VERSION,
                });
            }
        }
        for sql in &TABLES[1..] {
            db.execute(sql, &[])?;
        }
        db.execute(
            "INSERT OR IGNORE INTO eventfold_meta (key, value) VALUES ('schema_version', ?), ('store_id', ?)",
            &[SCHEMA_VERSION.to_string().into(), new_id.into()],
        )?;
        let rows = db.query(
            "SELECT value FROM eventfold_meta WHERE key = 'store_id'",
            &[],
        )?;
        match rows.into_iter().next().and_then(|r| r.into_iter().next()) {
            Some(SqlValue::Text(id)) => Ok(id),
            other => Err(Error::CorruptData {
                record: "eventfold_meta store_id".into(),
                message: format!("unexpected SQL value {other:?}"),
            }),
        }
    })
}
