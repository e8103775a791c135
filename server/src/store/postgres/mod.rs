//! The PostgreSQL event store, for deployments with several stateless server instances on one
//! database.
//!
//! **No skipped events.** Positions are not taken from a sequence (sequence values commit out
//! of order, so a reader paging by position could pass a position whose transaction commits
//! later). Every append instead takes a transaction-level advisory lock (one per schema),
//! reads the head and writes `head + 1 …` inside the same transaction. PostgreSQL releases the
//! lock only after the commit is visible, so positions become visible strictly in order and
//! every prefix a reader sees is gap-free. Appends are serialized across instances, as SQLite
//! serializes them within one file.
//!
//! **Runtime.** The store owns a small tokio runtime (one worker) that drives its two
//! connections (a writer behind an async mutex, a pipelined reader that also `LISTEN`s for
//! other instances' appends). Its methods run their queries there and await the join handle,
//! so its futures work on any executor (the contract suite's `block_on` or the server's store
//! thread).
//!
//! **Reconnecting.** A supervisor task checks both connections every 250 ms; a lost one is
//! opened again with exponential backoff (100 ms doubling to 5 s), the `LISTEN` renewed and the
//! head re-read (other instances may have appended meanwhile). While a connection is down its
//! requests fail with [`Error::StoreClosed`] (the server answers `503`, health included).
//!
//! Payloads are stored as `text`, byte-for-byte (`jsonb` would reorder keys).

use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use eventfold::core::append::{plan_append, validate_batch, AppendPlan};
use eventfold::store::{ChangeNotifier, Clock, Direction};
use eventfold::sync::protocol::StoreId;
use eventfold::{
    AppendResult, Error, EventStore, ExpectedVersion, NewEvent, Position, ReadAllOptions,
    ReadStreamOptions, RecordedEvent, Result, StoreLimits, StreamId, Version,
};
use tokio::runtime::{Handle, Runtime};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Row};

use super::{decode_row, RawRow, ServerStore};
use setup::{check_schema, init_schema, open_reader, open_writer};

mod setup;

pub use setup::SCHEMA_VERSION;

const COLUMNS: &str = "position, id, stream, version, type, data, metadata, timestamp";

pub(super) fn db_err(e: tokio_postgres::Error) -> Error {
    // A dead connection, or the server going away (SQLSTATE class 08 connection exception, 57
    // operator intervention such as a shutdown): unavailable, not a storage failure.
    let away = e.is_closed()
        || e.code()
            .is_some_and(|c| c.code().starts_with("08") || c.code().starts_with("57"));
    if away {
        return Error::StoreClosed {
            reason: format!("postgres is unreachable ({e}); reconnecting"),
        };
    }
    match e.as_db_error() {
        Some(db) => Error::storage(format!(
            "postgres: {} ({}): {}",
            db.severity(),
            db.code().code(),
            db.message()
        )),
        None => match std::error::Error::source(&e) {
            Some(cause) => Error::storage(format!("postgres: {e}: {cause}")),
            None => Error::storage(format!("postgres: {e}")),
        },
    }
}

fn to_i64(n: u64, what: &str) -> Result<i64> {
    i64::try_from(n).map_err(|_| Error::invalid(format!("{what} {n} is out of range")))
}

fn raw(r: &Row) -> Result<RawRow> {
    Ok(RawRow {
        position: r.try_get(0).map_err(db_err)?,
        id: r.try_get(1).map_err(db_err)?,
        stream: r.try_get(2).map_err(db_err)?,
        version: r.try_get(3).map_err(db_err)?,
        event_type: r.try_get(4).map_err(db_err)?,
        data: r.try_get(5).map_err(db_err)?,
        metadata: r.try_get(6).map_err(db_err)?,
        timestamp: r.try_get(7).map_err(db_err)?,
    })
}

fn decode_rows(rows: &[Row]) -> Result<Vec<RecordedEvent>> {
    rows.iter().map(|r| decode_row(raw(r)?)).collect()
}

struct Inner {
    reader: Mutex<Arc<Client>>,
    writer: tokio::sync::Mutex<Client>,
    changes: Arc<ChangeNotifier>,
    clock: Clock,
    url: String,
    schema: String,
    channel: String,
    lock_key: String,
}

/// An event store in a PostgreSQL schema.
pub struct PostgresStore {
    inner: Arc<Inner>,
    handle: Handle,
    _runtime: OwnedRuntime,
    id: StoreId,
    limits: StoreLimits,
}

/// The store's runtime, shut down in the background when dropped: dropping a runtime the
/// normal way blocks, which panics inside another runtime (the server's store thread), also
/// when connecting failed.
struct OwnedRuntime(Option<Runtime>);

impl Drop for OwnedRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user@host:port/db`) and uses `schema` (created with the
    /// tables if missing; `public` when `None`).
    ///
    /// # Errors
    /// [`Error::Storage`] if the database cannot be reached or initialised;
    /// [`Error::SchemaTooNew`] if a newer eventfold wrote it; [`Error::InvalidInput`] for a bad
    /// schema name.
    pub async fn connect(url: &str, schema: Option<&str>, clock: Clock) -> Result<Self> {
        let schema = schema.unwrap_or("public").to_owned();
        check_schema(&schema)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("eventfold-postgres")
            .enable_all()
            .build()
            .map_err(|e| Error::storage(format!("postgres runtime: {e}")))?;
        let handle = runtime.handle().clone();
        let runtime = OwnedRuntime(Some(runtime));
        let url = url.to_owned();
        let task = handle.spawn(async move {
            let changes = Arc::new(ChangeNotifier::default());
            let mut writer = open_writer(&url, None).await?;
            let id = init_schema(&mut writer, &schema).await?;
            let channel = format!("eventfold_{schema}");
            let reader = open_reader(&url, &schema, &channel, changes.clone()).await?;
            let inner = Arc::new(Inner {
                reader: Mutex::new(Arc::new(reader)),
                writer: tokio::sync::Mutex::new(writer),
                changes,
                clock,
                url,
                lock_key: format!("eventfold:{schema}"),
                schema,
                channel,
            });
            inner.refresh_head().await?;
            Ok::<_, Error>((inner, id))
        });
        let (inner, id) = task
            .await
            .map_err(|e| Error::storage(format!("postgres task: {e}")))??;
        handle.spawn(supervise(Arc::downgrade(&inner)));
        Ok(PostgresStore {
            inner,
            handle,
            _runtime: runtime,
            id,
            limits: StoreLimits::default(),
        })
    }

    /// Replaces the store's append limits (before it is shared).
    pub fn with_limits(mut self, limits: StoreLimits) -> Self {
        self.limits = limits;
        self
    }

    async fn run<T, F, Fut>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(Arc<Inner>) -> Fut,
        Fut: std::future::Future<Output = Result<T>> + Send + 'static,
    {
        self.handle
            .spawn(f(self.inner.clone()))
            .await
            .map_err(|e| Error::storage(format!("postgres task: {e}")))?
    }
}

/// Watches both connections and opens a lost one again, with backoff.
async fn supervise(inner: Weak<Inner>) {
    const FIRST: Duration = Duration::from_millis(100);
    let mut backoff = FIRST;
    let mut down = false;
    loop {
        tokio::time::sleep(if down {
            backoff
        } else {
            Duration::from_millis(250)
        })
        .await;
        let Some(inner) = inner.upgrade() else {
            return;
        };
        let reader_down = inner.reader().is_closed();
        let writer_down = inner.writer.try_lock().is_ok_and(|w| w.is_closed());
        if !reader_down && !writer_down {
            continue;
        }
        if !down {
            tracing::warn!(schema = %inner.schema, "postgres connection lost: reconnecting");
            down = true;
        }
        match inner.reconnect(reader_down, writer_down).await {
            Ok(()) => {
                tracing::info!(schema = %inner.schema, "postgres reconnected");
                down = false;
                backoff = FIRST;
            }
            Err(e) => {
                tracing::warn!(error = %e, retry_ms = backoff.as_millis() as u64, "postgres reconnect failed");
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

impl Inner {
    fn reader(&self) -> Arc<Client> {
        self.reader
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    async fn reconnect(&self, reader: bool, writer: bool) -> Result<()> {
        if reader {
            let client =
                open_reader(&self.url, &self.schema, &self.channel, self.changes.clone()).await?;
            *self.reader.lock().unwrap_or_else(PoisonError::into_inner) = Arc::new(client);
        }
        if writer {
            let client = open_writer(&self.url, Some(&self.schema)).await?;
            *self.writer.lock().await = client;
        }
        self.refresh_head().await
    }

    /// Reads the head and tells live listeners (appends by other instances while away).
    async fn refresh_head(&self) -> Result<()> {
        let head = self
            .scalar("SELECT COALESCE(MAX(position), 0) FROM events", None)
            .await?;
        self.changes.notify(Position(head));
        Ok(())
    }

    async fn append(
        &self,
        stream: StreamId,
        events: Vec<NewEvent>,
        expected: ExpectedVersion,
    ) -> Result<AppendResult> {
        let mut writer = self.writer.lock().await;
        let tx = writer.transaction().await.map_err(db_err)?;
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtext($1))",
            &[&self.lock_key],
        )
        .await
        .map_err(db_err)?;
        let current: i64 = tx
            .query_one(
                "SELECT COALESCE(MAX(version), 0) FROM events WHERE stream = $1",
                &[&stream.as_str()],
            )
            .await
            .map_err(db_err)?
            .try_get(0)
            .map_err(db_err)?;
        let ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
        let found = tx
            .query(
                &format!("SELECT {COLUMNS} FROM events WHERE id = ANY($1)"),
                &[&ids],
            )
            .await
            .map_err(db_err)?;
        let found = decode_rows(&found)?;
        let existing: Vec<Option<RecordedEvent>> = events
            .iter()
            .map(|e| found.iter().find(|r| r.id == e.id).cloned())
            .collect();
        let current = Version(u64::try_from(current).unwrap_or(0));
        let first_version = match plan_append(&stream, &events, expected, current, &existing)? {
            AppendPlan::AlreadyAppended(result) => return Ok(result),
            AppendPlan::Write { first_version } => first_version,
        };
        let last = tx
            .query_opt(
                "SELECT position, timestamp FROM events ORDER BY position DESC LIMIT 1",
                &[],
            )
            .await
            .map_err(db_err)?;
        let (head, last_ts): (i64, i64) = match last {
            Some(r) => (r.try_get(0).map_err(db_err)?, r.try_get(1).map_err(db_err)?),
            None => (0, i64::MIN),
        };
        let timestamp = (self.clock)().0.max(last_ts);
        let n = events.len() as i64;
        let first = to_i64(first_version.0, "version")?;
        let positions: Vec<i64> = (0..n).map(|k| head + 1 + k).collect();
        let versions: Vec<i64> = (0..n).map(|k| first + k).collect();
        let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
        let data: Vec<&str> = events.iter().map(|e| e.data.as_str()).collect();
        let metadata: Vec<&str> = events.iter().map(|e| e.metadata.as_str()).collect();
        tx.execute(
            &format!(
                "INSERT INTO events ({COLUMNS})
                 SELECT p, i, $3, v, t, d, m, $8
                 FROM UNNEST($1::bigint[], $2::text[], $4::bigint[], $5::text[], $6::text[], $7::text[])
                   AS x(p, i, v, t, d, m)"
            ),
            &[
                &positions,
                &ids,
                &stream.as_str(),
                &versions,
                &types,
                &data,
                &metadata,
                &timestamp,
            ],
        )
        .await
        .map_err(db_err)?;
        let head = head + n;
        tx.execute(
            "SELECT pg_notify($1, $2)",
            &[&self.channel, &head.to_string()],
        )
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(AppendResult {
            version: Version(first_version.0 + n as u64 - 1),
            position: Position(head as u64),
        })
    }

    async fn query(
        &self,
        sql: String,
        args: Vec<Box<dyn ToSql + Send + Sync>>,
    ) -> Result<Vec<RecordedEvent>> {
        let refs: Vec<&(dyn ToSql + Sync)> = args
            .iter()
            .map(|a| a.as_ref() as &(dyn ToSql + Sync))
            .collect();
        let rows = self.reader().query(&sql, &refs).await.map_err(db_err)?;
        decode_rows(&rows)
    }

    async fn scalar(&self, sql: &str, stream: Option<String>) -> Result<u64> {
        let reader = self.reader();
        let row = match &stream {
            Some(s) => reader.query_one(sql, &[s]).await,
            None => reader.query_one(sql, &[]).await,
        }
        .map_err(db_err)?;
        let n: i64 = row.try_get(0).map_err(db_err)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

impl ServerStore for PostgresStore {
    fn store_id(&self) -> StoreId {
        self.id.clone()
    }
}

impl EventStore for PostgresStore {
    async fn append(
        &self,
        stream: &StreamId,
        events: Vec<NewEvent>,
        expected: ExpectedVersion,
    ) -> Result<AppendResult> {
        validate_batch(&events, &self.limits)?;
        let stream = stream.clone();
        let result = self
            .run(move |i| async move { i.append(stream, events, expected).await })
            .await?;
        self.inner.changes.notify(result.position);
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
            "SELECT {COLUMNS} FROM events WHERE stream = $1 AND version BETWEEN $2 AND $3 ORDER BY version {order}"
        );
        let args: Vec<Box<dyn ToSql + Send + Sync>> = vec![
            Box::new(stream.as_str().to_owned()),
            Box::new(to_i64(lo, "version")?),
            Box::new(to_i64(hi, "version")?),
        ];
        self.run(move |i| async move { i.query(sql, args).await })
            .await
    }

    async fn read_all(&self, options: &ReadAllOptions) -> Result<Vec<RecordedEvent>> {
        let mut sql = format!("SELECT {COLUMNS} FROM events WHERE position > $1");
        let mut args: Vec<Box<dyn ToSql + Send + Sync>> =
            vec![Box::new(i64::try_from(options.after.0).unwrap_or(i64::MAX))];
        let prefixes = &options.filter.stream_prefixes;
        if !prefixes.is_empty() {
            args.push(Box::new(prefixes.clone()));
            sql.push_str(&format!(
                " AND EXISTS (SELECT 1 FROM UNNEST(${}::text[]) AS p(x) WHERE starts_with(stream, p.x))",
                args.len()
            ));
        }
        if let Some(types) = &options.filter.types {
            if types.is_empty() {
                return Ok(Vec::new());
            }
            let names: Vec<String> = types.iter().map(|t| t.as_str().to_owned()).collect();
            args.push(Box::new(names));
            sql.push_str(&format!(" AND type = ANY(${})", args.len()));
        }
        sql.push_str(" ORDER BY position");
        if let Some(limit) = options.limit {
            args.push(Box::new(i64::try_from(limit).unwrap_or(i64::MAX)));
            sql.push_str(&format!(" LIMIT ${}", args.len()));
        }
        self.run(move |i| async move { i.query(sql, args).await })
            .await
    }

    async fn stream_version(&self, stream: &StreamId) -> Result<Version> {
        let stream = stream.as_str().to_owned();
        let v = self
            .run(move |i| async move {
                i.scalar(
                    "SELECT COALESCE(MAX(version), 0) FROM events WHERE stream = $1",
                    Some(stream),
                )
                .await
            })
            .await?;
        Ok(Version(v))
    }

    async fn head(&self) -> Result<Position> {
        let p = self
            .run(|i| async move {
                i.scalar("SELECT COALESCE(MAX(position), 0) FROM events", None)
                    .await
            })
            .await?;
        Ok(Position(p))
    }

    fn changes(&self) -> &ChangeNotifier {
        &self.inner.changes
    }
}
