//! The seam between the SQL store and a runtime's SQLite: one small synchronous interface.
//!
//! Every runtime eventfold runs in at the edge ships a synchronous SQLite API: a Durable
//! Object's `ctx.storage.sql`, Node's `node:sqlite` (`DatabaseSync`, also in Deno) and
//! `bun:sqlite` (`Database`). A thin adapter per runtime (`sqlExecutor` in
//! `src/wasm/js/bindings.js`) turns each into this interface; native tests implement it over
//! `rusqlite`. The store never sends transaction-control statements (a Durable Object refuses
//! them): [`SqlExecutor::transaction`] owns atomicity, and no statement binds more than
//! [`MAX_PARAMS`] values (a Durable Object's limit).

use crate::error::{Error, Result};

/// Most values one statement binds: a Durable Object's SQLite refuses more than 100.
pub const MAX_PARAMS: usize = 100;

/// A bound parameter or a result cell: the storage classes the store uses.
#[derive(Clone, Debug, PartialEq)]
pub enum SqlValue {
    /// SQL `NULL`.
    Null,
    /// An integer (positions, versions, timestamps). Values above 2^53 do not survive the
    /// JavaScript adapters, which carry numbers as doubles; the store never writes such values.
    Integer(i64),
    /// A floating-point number (numeric read-model index keys).
    Real(f64),
    /// Text (ids, names, JSON).
    Text(String),
}

impl From<&str> for SqlValue {
    fn from(s: &str) -> Self {
        SqlValue::Text(s.to_owned())
    }
}

impl From<String> for SqlValue {
    fn from(s: String) -> Self {
        SqlValue::Text(s)
    }
}

impl From<i64> for SqlValue {
    fn from(n: i64) -> Self {
        SqlValue::Integer(n)
    }
}

/// One result row: its cells in the order of the statement's columns.
pub type Row = Vec<SqlValue>;

/// One statement of a [`SqlExecutor::batch`]: SQL with positional parameters (`?`) and their
/// values (at most [`MAX_PARAMS`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Statement {
    /// The SQL text.
    pub sql: String,
    /// The bound values, in order.
    pub params: Vec<SqlValue>,
}

/// A synchronous SQLite connection, as each runtime's adapter presents it.
pub trait SqlExecutor {
    /// Runs one statement with positional parameters (`?`) and returns its rows (none for a
    /// statement that returns nothing).
    ///
    /// # Errors
    /// [`Error::Storage`] (or [`Error::QuotaExceeded`] when the database is full) with
    /// SQLite's message.
    fn query(&self, sql: &str, params: &[SqlValue]) -> Result<Vec<Row>>;

    /// Runs one statement that returns no rows.
    ///
    /// # Errors
    /// As [`query`](SqlExecutor::query).
    fn execute(&self, sql: &str, params: &[SqlValue]) -> Result<()> {
        self.query(sql, params).map(drop)
    }

    /// Runs `statements` in order and answers each one's rows (none for a statement that
    /// returns nothing); stops at the first failure. One call, where the adapter's calls are
    /// costly (the JavaScript executor crosses the wasm boundary once for all of them).
    ///
    /// # Errors
    /// As [`query`](SqlExecutor::query), for the first statement that fails (the ones before
    /// it have run: call it inside a transaction).
    fn batch(&self, statements: &[Statement]) -> Result<Vec<Vec<Row>>> {
        statements
            .iter()
            .map(|s| self.query(&s.sql, &s.params))
            .collect()
    }

    /// How many events one `INSERT` of an append carries (at most [`MAX_PARAMS`] / 8, at least
    /// 1). One (the default) where a prepared single-row statement is cheapest: node:sqlite runs
    /// a prepared single-row `INSERT` 100 times in about three quarters of the time of the same
    /// rows in 12-row statements. More where each statement costs a call into the runtime
    /// (a Durable Object's `sql.exec` builds a cursor object per call).
    fn rows_per_insert(&self) -> usize {
        1
    }

    /// Runs `body` in one transaction: everything it wrote is committed when it answers
    /// `Ok`, and rolled back when it answers `Err` (that error is then returned). Use the
    /// typed [`transaction`] helper.
    ///
    /// # Errors
    /// `body`'s error; [`Error::Storage`] when the transaction cannot begin or commit (nothing
    /// is written then).
    fn transaction_with(&self, body: &mut dyn FnMut() -> Result<()>) -> Result<()>;
}

/// Runs `body` in one transaction of `db` and answers its value (see
/// [`SqlExecutor::transaction_with`]).
///
/// # Errors
/// `body`'s error (everything it wrote is rolled back) or the transaction's.
pub fn transaction<E: SqlExecutor + ?Sized, T>(
    db: &E,
    body: impl FnOnce(&E) -> Result<T>,
) -> Result<T> {
    let mut body = Some(body);
    let mut out = None;
    db.transaction_with(&mut || {
        let f = body
            .take()
            .ok_or_else(|| Error::storage("a transaction body ran twice"))?;
        out = Some(f(db)?);
        Ok(())
    })?;
    out.ok_or_else(|| Error::storage("the SQLite adapter did not run the transaction body"))
}

/// Cell `i` of `row` as an integer (rows come from the store's own schema).
///
/// # Errors
/// [`Error::CorruptData`] naming `what` when the cell is missing or not an integer.
pub fn int(row: &[SqlValue], i: usize, what: &str) -> Result<i64> {
    match row.get(i) {
        Some(SqlValue::Integer(n)) => Ok(*n),
        Some(SqlValue::Real(f)) if f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15 => {
            Ok(*f as i64)
        }
        other => Err(corrupt(what, other)),
    }
}

/// Cell `i` of `row` as text.
///
/// # Errors
/// [`Error::CorruptData`] naming `what` when the cell is missing or not text.
pub fn text(row: &mut [SqlValue], i: usize, what: &str) -> Result<String> {
    match row.get_mut(i) {
        Some(SqlValue::Text(s)) => Ok(std::mem::take(s)),
        other => Err(corrupt(what, other.map(|v| &*v))),
    }
}

fn corrupt(what: &str, found: Option<&SqlValue>) -> Error {
    Error::CorruptData {
        record: what.to_owned(),
        message: format!("unexpected SQL value {found:?}"),
    }
}

/// The first cell of the first row as an integer, 0 when there is no row or it is `NULL`.
///
/// # Errors
/// [`Error::CorruptData`] when the cell is not an integer.
pub fn first_int(rows: &[Row], what: &str) -> Result<i64> {
    match rows.first() {
        None => Ok(0),
        Some(row) if matches!(row.first(), Some(SqlValue::Null)) => Ok(0),
        Some(row) => int(row, 0, what),
    }
}
