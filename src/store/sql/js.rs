//! The executor over a JavaScript runtime's SQLite handle, through `sqlExecutor` in
//! `src/wasm/js/bindings.js` (one adapter per runtime: Durable Object, node:sqlite,
//! bun:sqlite).

use js_sys::Array;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::executor::{Row, SqlExecutor, SqlValue, Statement, MAX_PARAMS};
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
    /// The adapter's `rowsPerInsert` (see [`SqlExecutor::rows_per_insert`]).
    rows_per_insert: usize,
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
        let rows_per_insert = js_sys::Reflect::get(&adapter, &JsValue::from_str("rowsPerInsert"))
            .ok()
            .and_then(|v| v.as_f64())
            .filter(|n| n.fract() == 0.0 && *n >= 1.0 && *n <= MAX_PARAMS as f64)
            .map_or(1, |n| n as usize);
        Ok(JsSqlExecutor {
            adapter,
            rows_per_insert,
        })
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

/// The rows `sqlRun` packed (`packRows` in the bindings): `[text, cells]`.
///
/// # Errors
/// [`Error::Storage`] when the two do not agree (a bug in the adapter, never stored data).
fn unpack(packed: JsValue) -> Result<Vec<Vec<Row>>> {
    let packed = Array::from(&packed);
    let text = String::from_utf8(js_sys::Uint8Array::new(&packed.get(0)).to_vec())
        .map_err(|_| Unpacker::malformed())?;
    let cells = js_sys::Float64Array::new(&packed.get(1)).to_vec();
    Unpacker {
        ascii: text.is_ascii(),
        text: &text,
        at: 0,
        cells: &cells,
        next: 0,
    }
    .statements()
}

/// A reader of packed rows (see [`unpack`]).
struct Unpacker<'a> {
    text: &'a str,
    /// Whether `text` is ASCII (UTF-16 lengths are then byte lengths).
    ascii: bool,
    /// The byte offset of the next text cell in `text`.
    at: usize,
    cells: &'a [f64],
    next: usize,
}

impl Unpacker<'_> {
    fn malformed() -> Error {
        Error::storage("the SQLite adapter answered malformed rows")
    }

    fn number(&mut self) -> Result<f64> {
        let n = *self.cells.get(self.next).ok_or_else(Self::malformed)?;
        self.next += 1;
        Ok(n)
    }

    fn count(&mut self) -> Result<usize> {
        let n = self.number()?;
        if n.fract() != 0.0 || n < 0.0 || n > self.cells.len() as f64 {
            return Err(Self::malformed());
        }
        Ok(n as usize)
    }

    /// The next `units` UTF-16 units of `text`.
    fn text(&mut self, units: usize) -> Result<String> {
        let rest = self.text.get(self.at..).ok_or_else(Self::malformed)?;
        let len = if self.ascii {
            units
        } else {
            let mut seen = 0;
            let mut end = 0;
            for c in rest.chars() {
                if seen >= units {
                    break;
                }
                seen += c.len_utf16();
                end += c.len_utf8();
            }
            if seen != units {
                return Err(Self::malformed());
            }
            end
        };
        let s = rest.get(..len).ok_or_else(Self::malformed)?;
        self.at += len;
        Ok(s.to_owned())
    }

    fn value(&mut self) -> Result<SqlValue> {
        let kind = self.number()?;
        let n = self.number()?;
        Ok(match kind as u8 {
            1 => SqlValue::Integer(n as i64),
            2 => SqlValue::Real(n),
            3 => SqlValue::Text(self.text(n as usize)?),
            _ => SqlValue::Null,
        })
    }

    fn statements(mut self) -> Result<Vec<Vec<Row>>> {
        let mut out = Vec::new();
        while self.next < self.cells.len() {
            let rows = self.count()?;
            let mut list = Vec::with_capacity(rows);
            for _ in 0..rows {
                let n = self.count()?;
                let row = (0..n).map(|_| self.value()).collect::<Result<Row>>()?;
                list.push(row);
            }
            out.push(list);
        }
        Ok(out)
    }
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

    /// Runs one `SELECT` of the event columns (`log::rows::SELECT_COLUMNS`) and answers its rows as
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
        Ok(unpack(rows)?.into_iter().next().unwrap_or_default())
    }

    fn execute(&self, sql: &str, params: &[SqlValue]) -> Result<()> {
        self.run(&Params::one(sql, params), false).map(drop)
    }

    fn batch(&self, statements: &[Statement]) -> Result<Vec<Vec<Row>>> {
        let mut params = Params::default();
        for s in statements {
            params.push(&s.sql, &s.params);
        }
        unpack(self.run(&params, true)?)
    }

    fn rows_per_insert(&self) -> usize {
        self.rows_per_insert
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
