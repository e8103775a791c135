//! The executor over a JavaScript runtime's SQLite handle, through `sqlExecutor` in
//! `src/wasm/js/bindings.js` (one adapter per runtime: Durable Object, node:sqlite,
//! bun:sqlite).

use js_sys::Array;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::executor::{Row, SqlExecutor, SqlValue, Statement};
use super::log::{self, ReadPlan};
use super::SqlStore;
use crate::core::event::StreamId;
use crate::error::{Error, Result};
use crate::store::{ReadAllOptions, ReadStreamOptions};

#[wasm_bindgen(module = "/src/wasm/js/bindings.js")]
extern "C" {
    /// The adapter object of one handle.
    #[wasm_bindgen(js_name = Object)]
    type Adapter;

    #[wasm_bindgen(catch, js_name = sqlExecutor)]
    fn sql_executor(handle: &JsValue) -> std::result::Result<Adapter, JsValue>;

    /// Runs the statements (`sql`: their distinct texts joined by NUL; `which`: the text of
    /// each; `counts`: how many values each binds) and answers each one's rows as arrays of
    /// cells, or nothing with `rows` false.
    #[wasm_bindgen(catch, js_name = sqlRun)]
    #[allow(clippy::too_many_arguments)]
    fn sql_run(
        adapter: &Adapter,
        sql: &str,
        which: &[u32],
        counts: &[u32],
        text: &str,
        cells: &[f64],
        rows: bool,
    ) -> std::result::Result<JsValue, JsValue>;

    /// Runs one `SELECT` of the event columns and answers its rows as event objects.
    #[wasm_bindgen(catch, js_name = sqlEvents)]
    fn sql_events(
        adapter: &Adapter,
        sql: &str,
        text: &str,
        cells: &[f64],
    ) -> std::result::Result<Array, JsValue>;

    #[wasm_bindgen(method, catch)]
    fn transaction(
        this: &Adapter,
        body: &mut dyn FnMut() -> bool,
    ) -> std::result::Result<(), JsValue>;
}

/// A SQLite handle of the JavaScript runtime as a [`SqlExecutor`].
pub struct JsSqlExecutor {
    adapter: Adapter,
}

/// What SQLite (or the runtime) threw, as an error: a full database is `QUOTA_EXCEEDED`.
fn sql_error(e: JsValue) -> Error {
    let message = e
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| format!("{e:?}"));
    let lower = message.to_ascii_lowercase();
    if lower.contains("database or disk is full")
        || lower.contains("sqlite_full")
        || lower.contains("exceeded allowed database size")
    {
        Error::QuotaExceeded { message }
    } else {
        Error::storage(format!("sqlite: {message}"))
    }
}

impl JsSqlExecutor {
    /// The executor of `handle`: a Durable Object's `ctx.storage` (or `ctx.storage.sql`), a
    /// node:sqlite `DatabaseSync` or a bun:sqlite `Database`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming what was expected when `handle` is none of them.
    pub fn new(handle: &JsValue) -> Result<Self> {
        let adapter = sql_executor(handle).map_err(|e| {
            Error::invalid(
                e.dyn_ref::<js_sys::Error>()
                    .map(|e| String::from(e.message()))
                    .unwrap_or_else(|| "EventStore.sqlite needs a SQLite handle".into()),
            )
        })?;
        Ok(JsSqlExecutor { adapter })
    }
}

/// Parameters as they cross the boundary: every text in one string, and two numbers per
/// value in `cells` (the kind: 0 null, 1 integer, 2 real, 3 text; then the number, or the
/// text's length in UTF-16 units). One string and one array cross, not one value per cell.
/// With the statements' texts: each distinct text once (`sql`, joined by NUL), and which one
/// each statement runs (`which`).
#[derive(Default)]
struct Params {
    sql: String,
    texts: u32,
    which: Vec<u32>,
    counts: Vec<u32>,
    text: String,
    cells: Vec<f64>,
}

impl Params {
    fn push(&mut self, sql: &str, params: &[SqlValue]) {
        // Consecutive statements with the same text (an append's inserts) share it.
        let same = self.texts > 0 && self.sql.rsplit('\0').next() == Some(sql);
        if !same {
            if self.texts > 0 {
                self.sql.push('\0');
            }
            self.sql.push_str(sql);
            self.texts += 1;
        }
        self.which.push(self.texts - 1);
        self.counts.push(params.len() as u32);
        for p in params {
            let (kind, n) = match p {
                SqlValue::Null => (0.0, 0.0),
                SqlValue::Integer(n) => (1.0, *n as f64),
                SqlValue::Real(f) => (2.0, *f),
                SqlValue::Text(s) => {
                    self.text.push_str(s);
                    let units = match s.is_ascii() {
                        true => s.len(),
                        false => s.encode_utf16().count(),
                    };
                    (3.0, units as f64)
                }
            };
            self.cells.extend([kind, n]);
        }
    }

    fn one(sql: &str, params: &[SqlValue]) -> Self {
        let mut out = Params::default();
        out.push(sql, params);
        out
    }
}

fn from_js(v: JsValue) -> SqlValue {
    if let Some(s) = v.as_string() {
        return SqlValue::Text(s);
    }
    if let Some(f) = v.as_f64() {
        return if f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15 {
            SqlValue::Integer(f as i64)
        } else {
            SqlValue::Real(f)
        };
    }
    if v.is_bigint() {
        if let Ok(n) = i64::try_from(js_sys::BigInt::unchecked_from_js(v)) {
            return SqlValue::Integer(n);
        }
    }
    SqlValue::Null
}

fn rows_of(v: JsValue) -> Vec<Row> {
    Array::from(&v)
        .iter()
        .map(|row| {
            row.dyn_into::<Array>()
                .map(|cells| cells.iter().map(from_js).collect())
                .unwrap_or_default()
        })
        .collect()
}

impl JsSqlExecutor {
    fn run(&self, p: &Params, want_rows: bool) -> Result<JsValue> {
        sql_run(
            &self.adapter,
            &p.sql,
            &p.which,
            &p.counts,
            &p.text,
            &p.cells,
            want_rows,
        )
        .map_err(sql_error)
    }

    /// Runs one `SELECT` of the event columns (`log::COLUMNS`) and answers its rows as
    /// JavaScript event objects (`RecordedEvent` shapes), built and parsed in JavaScript.
    ///
    /// # Errors
    /// What SQLite threw, or a row that is not an event (the caller reads it again through
    /// the decoding path, which names the record).
    pub(crate) fn events(&self, sql: &str, params: &[SqlValue]) -> Result<Array> {
        let p = Params::one(sql, params);
        sql_events(&self.adapter, sql, &p.text, &p.cells).map_err(sql_error)
    }
}

impl SqlExecutor for JsSqlExecutor {
    fn query(&self, sql: &str, params: &[SqlValue]) -> Result<Vec<Row>> {
        let rows = self.run(&Params::one(sql, params), true)?;
        Ok(rows_of(Array::from(&rows).get(0)))
    }

    fn execute(&self, sql: &str, params: &[SqlValue]) -> Result<()> {
        self.run(&Params::one(sql, params), false).map(drop)
    }

    fn batch(&self, statements: &[Statement]) -> Result<Vec<Vec<Row>>> {
        let mut params = Params::default();
        for s in statements {
            params.push(&s.sql, &s.params);
        }
        let out = self.run(&params, true)?;
        Ok(Array::from(&out).iter().map(rows_of).collect())
    }

    fn transaction_with(&self, body: &mut dyn FnMut() -> Result<()>) -> Result<()> {
        let mut failure = None;
        let outcome = self.adapter.transaction(&mut || match body() {
            Ok(()) => true,
            Err(e) => {
                failure = Some(e);
                false
            }
        });
        match (failure, outcome) {
            (Some(e), _) => Err(e),
            (None, Err(e)) => Err(sql_error(e)),
            (None, Ok(())) => Ok(()),
        }
    }
}

/// Reads whose events reach JavaScript as objects built there, without decoding them in wasm
/// (the JavaScript counterpart of `read_all` / `read_stream`, as on IndexedDB).
impl SqlStore<JsSqlExecutor> {
    /// The events `options` selects, as `read_all` returns them, as one JavaScript array;
    /// `None` where only the decoding path answers: a filter too long for one statement, or
    /// a row that is not an event (that path names it in a `CORRUPT_DATA` error).
    ///
    /// # Errors
    /// `STORE_CLOSED` when the store was closed.
    pub fn read_all_js(&self, options: &ReadAllOptions) -> Result<Option<Array>> {
        let db = self.db()?;
        Ok(match log::read_all_plan(options) {
            ReadPlan::Nothing => Some(Array::new()),
            ReadPlan::Paged => None,
            ReadPlan::One(s) => db.events(&s.sql, &s.params).ok(),
        })
    }

    /// The events of `stream` that `options` selects, as `read_stream` returns them, as one
    /// JavaScript array; `None` where only the decoding path answers (as
    /// [`read_all_js`](Self::read_all_js)).
    ///
    /// # Errors
    /// `STORE_CLOSED`; storage failures looking up the stream's version.
    pub fn read_stream_js(
        &self,
        stream: &StreamId,
        options: &ReadStreamOptions,
    ) -> Result<Option<Array>> {
        let db = self.db()?;
        Ok(match log::read_stream_plan(db, stream, options)? {
            ReadPlan::Nothing | ReadPlan::Paged => Some(Array::new()),
            ReadPlan::One(s) => db.events(&s.sql, &s.params).ok(),
        })
    }
}
