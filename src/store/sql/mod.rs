//! The SQL store: the event log, snapshots, checkpoints and read models in one SQLite
//! database, over the synchronous SQLite APIs that edge runtimes ship.
//!
//! [`SqlStore`] is generic over a [`SqlExecutor`], the small synchronous interface each
//! runtime's adapter provides: a Durable Object's `ctx.storage` / `ctx.storage.sql`,
//! `node:sqlite`'s `DatabaseSync` (Node ≥ 22.5 and Deno), `bun:sqlite`'s `Database`
//! (`JsSqlExecutor` on `wasm32`, through `sqlExecutor` in `src/wasm/js/bindings.js`), or
//! `rusqlite` in native tests. It passes the shared `store::contract`
//! suite (natively, and in Node 22 on `node:sqlite` through `wasm-bindgen-test`).
//!
//! Every write is one transaction of the executor: an append (validation, expected-version
//! check, idempotency lookup and the inserts), a read model's page of writes together with
//! its checkpoint, a reset. Positions are assigned as head + 1 inside the append's
//! transaction, so a reader paging by position never skips an event. The tables are listed in
//! [`schema`]; a database written by a newer eventfold is refused with `SCHEMA_TOO_NEW`.
//!
//! One store object per database: live notifications ([`EventStore::changes`]) come from this
//! object's own appends (a Durable Object is single-threaded, so that is every append).

mod executor;
#[cfg(target_arch = "wasm32")]
mod js;
mod log;
mod records;
mod reset;
pub mod schema;
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;

pub use executor::{transaction, Row, SqlExecutor, SqlValue, Statement, MAX_PARAMS};
#[cfg(target_arch = "wasm32")]
pub use js::JsSqlExecutor;
pub use schema::SCHEMA_VERSION;

use std::cell::RefCell;

use crate::core::append::{AppendResult, StoreLimits};
use crate::core::event::{NewEvent, Position, RecordedEvent, StreamId, Version};
use crate::core::expected::ExpectedVersion;
use crate::core::json::Json;
use crate::error::{Error, Result};
use crate::store::{
    ChangeNotifier, Clock, EventStore, IndexQuery, LogReset, ReadAllOptions, ReadModelStore,
    ReadStreamOptions, RecordWrite, ResetOutcome, ResetStore, StateStore,
};

/// An event store in a SQLite database reached through a [`SqlExecutor`].
///
/// ```ignore
/// let store = SqlStore::open(executor, clock, StoreLimits::default(), fresh_id)?;
/// store.append(&stream, events, ExpectedVersion::NoStream).await?;
/// ```
pub struct SqlStore<E: SqlExecutor> {
    db: E,
    changes: ChangeNotifier,
    clock: Clock,
    limits: StoreLimits,
    id: String,
    tip: RefCell<log::TipCache>,
}

impl<E: SqlExecutor> SqlStore<E> {
    /// Opens the store in `db`, creating its tables if needed. `new_id` becomes the store's id
    /// if the database is new (a sync server's pull checkpoints carry it).
    ///
    /// # Errors
    /// [`Error::SchemaTooNew`] when a newer eventfold wrote the
    /// database (nothing is changed); storage failures.
    pub fn open(db: E, clock: Clock, limits: StoreLimits, new_id: String) -> Result<Self> {
        let id = schema::open(&db, new_id)?;
        let store = SqlStore {
            changes: ChangeNotifier::default(),
            db,
            clock,
            limits,
            id,
            tip: RefCell::default(),
        };
        store.changes.notify(log::head(&store.db)?);
        Ok(store)
    }

    /// The store's id, chosen when its database was created.
    pub fn store_id(&self) -> &str {
        &self.id
    }

    /// The limits this store enforces on appends.
    pub fn limits(&self) -> StoreLimits {
        self.limits
    }

    /// The executor (for reads the caller shapes itself).
    pub fn executor(&self) -> &E {
        &self.db
    }

    /// Closes the store: subscriptions end and every later call fails with `STORE_CLOSED`.
    /// The database handle itself stays open (it is the caller's). Idempotent.
    pub fn close(&self) {
        self.changes.close();
    }

    /// The executor, unless the store was closed.
    fn db(&self) -> Result<&E> {
        if self.changes.is_closed() {
            return Err(Error::StoreClosed {
                reason: "the store was closed".into(),
            });
        }
        Ok(&self.db)
    }
}

impl<E: SqlExecutor> EventStore for SqlStore<E> {
    async fn append(
        &self,
        stream: &StreamId,
        events: Vec<NewEvent>,
        expected: ExpectedVersion,
    ) -> Result<AppendResult> {
        let db = self.db()?;
        let append = |check, guess| {
            transaction(db, |db| {
                log::append(
                    db,
                    stream,
                    &events,
                    expected,
                    &self.clock,
                    &self.limits,
                    check,
                    guess,
                )
            })
        };
        // Written without looking the ids up first; an id already stored (an idempotent retry
        // or a conflict) fails the insert, and the append runs again with the lookup.
        let fresh = |e: Option<Error>| match e {
            Some(e) if log::is_id_taken(&e) => append(log::IdCheck::Lookup, None),
            _ => match append(log::IdCheck::Insert, None) {
                Err(e) if log::is_id_taken(&e) => append(log::IdCheck::Lookup, None),
                other => other,
            },
        };
        // Planned on the tip this store's last append left, checked in the same call as the
        // inserts (see `log::TipCache`); a storage failure there (a stale guess, a taken
        // position or id) runs the append again on the real tip.
        let guess = self.tip.borrow().guess(stream.as_str());
        let outcome = match guess {
            Some(guess) => match append(log::IdCheck::Insert, Some(guess)) {
                Err(e) => {
                    self.tip.borrow_mut().clear();
                    match e {
                        Error::Storage { .. } => fresh(Some(e)),
                        e => Err(e),
                    }
                }
                ok => ok,
            },
            None => fresh(None),
        };
        let (result, tip) = outcome?;
        self.tip.borrow_mut().record(stream.as_str(), tip);
        self.changes.notify(result.position);
        Ok(result)
    }

    async fn read_stream(
        &self,
        stream: &StreamId,
        options: &ReadStreamOptions,
    ) -> Result<Vec<RecordedEvent>> {
        log::read_stream(self.db()?, stream, options)
    }

    async fn read_all(&self, options: &ReadAllOptions) -> Result<Vec<RecordedEvent>> {
        log::read_all(self.db()?, options, log::Payloads::Check)
    }

    async fn read_all_to_send(&self, options: &ReadAllOptions) -> Result<Vec<RecordedEvent>> {
        log::read_all(self.db()?, options, log::Payloads::AsStored)
    }

    async fn stream_version(&self, stream: &StreamId) -> Result<Version> {
        log::stream_version(self.db()?, stream)
    }

    async fn head(&self) -> Result<Position> {
        log::head(&self.db)
    }

    fn changes(&self) -> &ChangeNotifier {
        &self.changes
    }
}

impl<E: SqlExecutor> StateStore for SqlStore<E> {
    async fn get_state(&self, key: &str) -> Result<Option<Json>> {
        records::get_state(self.db()?, key)
    }

    async fn put_state(&self, key: &str, value: Json) -> Result<()> {
        records::set_state(self.db()?, key, Some(&value))
    }

    async fn delete_state(&self, key: &str) -> Result<()> {
        records::set_state(self.db()?, key, None)
    }

    async fn swap_state(
        &self,
        key: &str,
        expected: Option<&Json>,
        new: Option<Json>,
    ) -> Result<bool> {
        transaction(self.db()?, |db| {
            let current = records::get_state(db, key)?;
            if current.as_ref().map(Json::as_str) != expected.map(Json::as_str) {
                return Ok(false);
            }
            records::set_state(db, key, new.as_ref())?;
            Ok(true)
        })
    }
}

impl<E: SqlExecutor> ReadModelStore for SqlStore<E> {
    async fn record(&self, model: &str, key: &str) -> Result<Option<Json>> {
        records::record(self.db()?, model, key)
    }

    async fn commit_records(
        &self,
        model: &str,
        writes: Vec<RecordWrite>,
        state_key: &str,
        state_value: Json,
    ) -> Result<()> {
        transaction(self.db()?, |db| {
            for w in &writes {
                records::write_record(db, model, w)?;
            }
            records::set_state(db, state_key, Some(&state_value))
        })
    }

    async fn query_records(&self, model: &str, query: &IndexQuery) -> Result<Vec<(String, Json)>> {
        records::query_records(self.db()?, model, query)
    }

    async fn clear_records(&self, model: &str) -> Result<()> {
        transaction(self.db()?, |db| records::clear_records(db, model))
    }
}

impl<E: SqlExecutor> ResetStore for SqlStore<E> {
    async fn reset_log(&self, reset: &LogReset<'_>) -> Result<ResetOutcome> {
        self.tip.borrow_mut().clear();
        let outcome = transaction(self.db()?, |db| reset::reset_log(db, reset))?;
        self.changes.notify_reset(outcome.head);
        Ok(outcome)
    }
}
