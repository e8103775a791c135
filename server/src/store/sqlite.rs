//! The embedded SQLite event store (the server's default backend).
//!
//! One table holds the log: `position INTEGER PRIMARY KEY` (the global position, assigned as
//! head + 1 inside the append's transaction), `UNIQUE(id)` and `UNIQUE(stream, version)`.
//! Every append is one `BEGIN IMMEDIATE` transaction, so appends are serialized by SQLite's
//! write lock (also across processes sharing the file) and a reader never sees a position
//! before all lower positions are committed: paging by position cannot skip events.
//! The database runs in WAL mode with `synchronous = FULL`: a committed append survives a
//! power loss.
//!
//! **Damage.** Opening runs `PRAGMA quick_check` (a read of the whole file: seconds for
//! gigabytes). From a failed check, or the first time SQLite reports the file malformed (or a row
//! fails to decode), the store refuses every append with `CORRUPT_DATA` and logs it once: reads
//! keep serving what is readable, so the data can be pulled out, but nothing is written to a
//! damaged file.
//!
//! One server process per database file: the connection holds SQLite's exclusive lock
//! (`locking_mode = EXCLUSIVE`) from opening to closing, so a second server (or any other
//! program) opening the file is refused instead of running beside it. Live notifications come
//! from this process's own appends; several instances on one database is what the PostgreSQL
//! backend is for.

use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};

use eventfold::core::append::{plan_append, validate_batch, AppendPlan};
use eventfold::store::{ChangeNotifier, Clock, Direction};
use eventfold::sync::protocol::StoreId;
use eventfold::{
    AppendResult, Error, EventId, EventStore, ExpectedVersion, NewEvent, Position, ReadAllOptions,
    ReadStreamOptions, RecordedEvent, Result, StoreLimits, StreamId, Version,
};
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, TransactionBehavior};

use super::{decode_row, random_store_id, RawRow, ServerStore};

/// The schema version this build writes and understands.
pub const SCHEMA_VERSION: u32 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    position  INTEGER PRIMARY KEY,
    id        TEXT NOT NULL UNIQUE,
    stream    TEXT NOT NULL,
    version   INTEGER NOT NULL,
    type      TEXT NOT NULL,
    data      TEXT NOT NULL,
    metadata  TEXT NOT NULL,
    timestamp INTEGER NOT NULL,
    UNIQUE (stream, version)
);";

const COLUMNS: &str = "position, id, stream, version, type, data, metadata, timestamp";

fn db_err(e: rusqlite::Error) -> Error {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase) => {
            Error::CorruptData {
                record: "sqlite database".into(),
                message: e.to_string(),
            }
        }
        _ => Error::storage(format!("sqlite: {e}")),
    }
}

fn to_i64(n: u64, what: &str) -> Result<i64> {
    i64::try_from(n).map_err(|_| Error::invalid(format!("{what} {n} is out of range")))
}

/// An event store in one SQLite database file (or in memory, for tests).
pub struct SqliteStore {
    conn: Mutex<Connection>,
    damaged: std::sync::atomic::AtomicBool,
    changes: ChangeNotifier,
    clock: Clock,
    limits: StoreLimits,
    id: StoreId,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`, in WAL mode.
    ///
    /// # Errors
    /// [`Error::Storage`] if the file cannot be opened or initialised;
    /// [`Error::SchemaTooNew`] if a newer eventfold wrote it.
    pub fn open(path: impl AsRef<Path>, clock: Clock) -> Result<Self> {
        let path = path.as_ref();
        let conn = Connection::open(path).map_err(db_err)?;
        let in_use = |e: rusqlite::Error| {
            match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
                Error::storage(format!(
                    "sqlite: {} is in use by another process (one eventfold-server per database file)",
                    path.display()
                ))
            }
            _ => db_err(e),
        }
        };
        // Exclusive locking before WAL: the WAL index lives in this process's memory (no -shm
        // file), and the lock taken by the first write is held until the connection closes.
        conn.pragma_update(None, "locking_mode", "EXCLUSIVE")
            .map_err(in_use)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(in_use)?;
        conn.execute_batch("BEGIN EXCLUSIVE; COMMIT;")
            .map_err(in_use)?;
        Self::init(conn, clock)
    }

    /// A private in-memory database, gone when dropped.
    ///
    /// # Errors
    /// [`Error::Storage`] if SQLite cannot create it.
    pub fn in_memory(clock: Clock) -> Result<Self> {
        Self::init(Connection::open_in_memory().map_err(db_err)?, clock)
    }

    fn init(conn: Connection, clock: Clock) -> Result<Self> {
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(db_err)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(db_err)?;
        conn.execute_batch(SCHEMA).map_err(db_err)?;
        let meta = |key: &str| {
            conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| {
                r.get::<_, String>(0)
            })
            .optional()
            .map_err(db_err)
        };
        if let Some(v) = meta("schema_version")? {
            let found: u32 = v.parse().unwrap_or(u32::MAX);
            if found > SCHEMA_VERSION {
                return Err(Error::SchemaTooNew {
                    found,
                    supported: SCHEMA_VERSION,
                });
            }
        }
        conn.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?1), ('store_id', ?2)",
            params![SCHEMA_VERSION.to_string(), random_store_id()],
        )
        .map_err(db_err)?;
        let id = StoreId::new(meta("store_id")?.unwrap_or_default())?;
        let check: String = conn
            .query_row("PRAGMA quick_check(1)", [], |r| r.get(0))
            .unwrap_or_else(|e| e.to_string());
        let store = SqliteStore {
            damaged: std::sync::atomic::AtomicBool::new(false),
            conn: Mutex::new(conn),
            changes: ChangeNotifier::default(),
            clock,
            limits: StoreLimits::default(),
            id,
        };
        if check != "ok" {
            store.mark_damaged(&check);
        }
        store.changes.notify(store.head_now()?);
        Ok(store)
    }

    fn mark_damaged(&self, why: &str) {
        if !self.damaged.swap(true, std::sync::atomic::Ordering::SeqCst) {
            tracing::error!(
                problem = why,
                "the SQLite database is damaged: appends are refused from now on; restore it \
                 from a backup (reads go on serving what is readable)"
            );
        }
    }

    /// Notes a corruption report on its way out.
    fn watch<T>(&self, result: Result<T>) -> Result<T> {
        if let Err(Error::CorruptData { message, .. }) = &result {
            self.mark_damaged(message);
        }
        result
    }

    /// Whether the database was found damaged (appends are refused).
    pub fn is_damaged(&self) -> bool {
        self.damaged.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Replaces the store's append limits.
    pub fn with_limits(mut self, limits: StoreLimits) -> Self {
        self.limits = limits;
        self
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn head_now(&self) -> Result<Position> {
        let head: i64 = self
            .lock()
            .query_row("SELECT COALESCE(MAX(position), 0) FROM events", [], |r| {
                r.get(0)
            })
            .map_err(db_err)?;
        Ok(Position(u64::try_from(head).unwrap_or(0)))
    }

    fn query(&self, sql: &str, args: Vec<Value>) -> Result<Vec<RecordedEvent>> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(sql).map_err(db_err)?;
        let rows = stmt
            .query_map(params_from_iter(args), RawRow::from_sqlite)
            .map_err(db_err)?;
        let mut out = Vec::new();
        for row in rows {
            out.push(decode_row(row.map_err(db_err)?)?);
        }
        Ok(out)
    }

    fn append_now(
        &self,
        stream: &StreamId,
        events: Vec<NewEvent>,
        expected: ExpectedVersion,
    ) -> Result<AppendResult> {
        validate_batch(&events, &self.limits)?;
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db_err)?;
        let current: i64 = tx
            .query_row(
                "SELECT COALESCE(MAX(version), 0) FROM events WHERE stream = ?1",
                [stream.as_str()],
                |r| r.get(0),
            )
            .map_err(db_err)?;
        let current = Version(u64::try_from(current).unwrap_or(0));
        let mut existing = Vec::with_capacity(events.len());
        {
            let mut stmt = tx
                .prepare_cached(&format!("SELECT {COLUMNS} FROM events WHERE id = ?1"))
                .map_err(db_err)?;
            for e in &events {
                let row = stmt
                    .query_row([e.id.as_str()], RawRow::from_sqlite)
                    .optional()
                    .map_err(db_err)?;
                existing.push(row.map(decode_row).transpose()?);
            }
        }
        let first_version = match plan_append(stream, &events, expected, current, &existing)? {
            AppendPlan::AlreadyAppended(result) => return Ok(result),
            AppendPlan::Write { first_version } => first_version,
        };
        let (head, last_ts): (i64, i64) = tx
            .query_row(
                "SELECT position, timestamp FROM events ORDER BY position DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(db_err)?
            .unwrap_or((0, i64::MIN));
        let timestamp = (self.clock)().0.max(last_ts);
        let n = events.len() as i64;
        {
            let mut insert = tx
                .prepare_cached(&format!(
                    "INSERT INTO events ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
                ))
                .map_err(db_err)?;
            let first = to_i64(first_version.0, "version")?;
            for (k, e) in events.iter().enumerate() {
                let k = k as i64;
                insert
                    .execute(params![
                        head + 1 + k,
                        e.id.as_str(),
                        stream.as_str(),
                        first + k,
                        e.event_type.as_str(),
                        e.data.as_str(),
                        e.metadata.as_str(),
                        timestamp,
                    ])
                    .map_err(db_err)?;
            }
        }
        tx.commit().map_err(db_err)?;
        Ok(AppendResult {
            version: Version(first_version.0 + n as u64 - 1),
            position: Position((head + n) as u64),
        })
    }
}

impl RawRow {
    fn from_sqlite(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(RawRow {
            position: r.get(0)?,
            id: r.get(1)?,
            stream: r.get(2)?,
            version: r.get(3)?,
            event_type: r.get(4)?,
            data: r.get(5)?,
            metadata: r.get(6)?,
            timestamp: r.get(7)?,
        })
    }
}

impl ServerStore for SqliteStore {
    fn store_id(&self) -> StoreId {
        self.id.clone()
    }
}

impl EventStore for SqliteStore {
    async fn append(
        &self,
        stream: &StreamId,
        events: Vec<NewEvent>,
        expected: ExpectedVersion,
    ) -> Result<AppendResult> {
        if self.is_damaged() {
            return Err(Error::CorruptData {
                record: "sqlite database".into(),
                message: "the database file is damaged; appends are refused until it is \
                          restored from a backup"
                    .into(),
            });
        }
        let result = self.watch(self.append_now(stream, events, expected))?;
        self.changes.notify(result.position);
        Ok(result)
    }

    async fn read_stream(
        &self,
        stream: &StreamId,
        options: &ReadStreamOptions,
    ) -> Result<Vec<RecordedEvent>> {
        let current = self.stream_version(stream).await?;
        let Some((lo, hi)) = options.range(current) else {
            return Ok(Vec::new());
        };
        let order = match options.direction {
            Direction::Forward => "ASC",
            Direction::Backward => "DESC",
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM events WHERE stream = ?1 AND version BETWEEN ?2 AND ?3 ORDER BY version {order}"
        );
        self.watch(self.query(
            &sql,
            vec![
                Value::Text(stream.as_str().to_owned()),
                Value::Integer(to_i64(lo, "version")?),
                Value::Integer(to_i64(hi, "version")?),
            ],
        ))
    }

    async fn read_all(&self, options: &ReadAllOptions) -> Result<Vec<RecordedEvent>> {
        let mut sql = format!("SELECT {COLUMNS} FROM events WHERE position > ?");
        let mut args = vec![Value::Integer(
            i64::try_from(options.after.0).unwrap_or(i64::MAX),
        )];
        let prefixes = &options.filter.stream_prefixes;
        if !prefixes.is_empty() {
            let any: Vec<&str> = prefixes
                .iter()
                .map(|_| "substr(stream, 1, length(?)) = ?")
                .collect();
            sql.push_str(&format!(" AND ({})", any.join(" OR ")));
            for p in prefixes {
                args.push(Value::Text(p.clone()));
                args.push(Value::Text(p.clone()));
            }
        }
        if let Some(types) = &options.filter.types {
            if types.is_empty() {
                return Ok(Vec::new());
            }
            let marks = vec!["?"; types.len()].join(", ");
            sql.push_str(&format!(" AND type IN ({marks})"));
            args.extend(types.iter().map(|t| Value::Text(t.as_str().to_owned())));
        }
        sql.push_str(" ORDER BY position LIMIT ?");
        let limit = options.limit.map_or(-1, |l| i64::try_from(l).unwrap_or(-1));
        args.push(Value::Integer(limit));
        self.watch(self.query(&sql, args))
    }

    async fn stream_version(&self, stream: &StreamId) -> Result<Version> {
        let v: i64 = self
            .lock()
            .query_row(
                "SELECT COALESCE(MAX(version), 0) FROM events WHERE stream = ?1",
                [stream.as_str()],
                |r| r.get(0),
            )
            .map_err(db_err)?;
        Ok(Version(u64::try_from(v).unwrap_or(0)))
    }

    async fn head(&self) -> Result<Position> {
        self.watch(self.head_now())
    }

    fn changes(&self) -> &ChangeNotifier {
        &self.changes
    }
}

/// Reads the id of the event at `position` (for diagnostics and tests).
///
/// # Errors
/// Storage failures.
pub fn event_id_at(store: &SqliteStore, position: Position) -> Result<Option<EventId>> {
    let id: Option<String> = store
        .lock()
        .query_row(
            "SELECT id FROM events WHERE position = ?1",
            [to_i64(position.0, "position")?],
            |r| r.get(0),
        )
        .optional()
        .map_err(db_err)?;
    Ok(id.map(EventId::parse).transpose()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    eventfold::contract_tests!(
        native,
        SqliteStore::in_memory(eventfold::store::contract::test_clock()).unwrap()
    );

    #[test]
    fn a_file_store_keeps_its_events_and_id_across_reopening() {
        let dir = std::env::temp_dir().join(format!("eventfold-sqlite-{}", random_store_id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("db.sqlite");
        let clock = eventfold::store::contract::test_clock();
        let (id, head) = {
            let s = SqliteStore::open(&path, clock.clone()).unwrap();
            let e = NewEvent::new(
                EventId::from_bytes([9; 16]),
                eventfold::EventType::new("T").unwrap(),
                eventfold::Json::parse("{\"a\":1}").unwrap(),
            );
            let stream = StreamId::new("s").unwrap();
            futures::executor::block_on(s.append(&stream, vec![e], ExpectedVersion::NoStream))
                .unwrap();
            (s.store_id(), s.changes().head())
        };
        let s = SqliteStore::open(&path, clock).unwrap();
        assert_eq!(s.store_id(), id);
        assert_eq!(s.changes().head(), head);
        assert_eq!(
            event_id_at(&s, Position(1)).unwrap(),
            Some(EventId::from_bytes([9; 16]))
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
