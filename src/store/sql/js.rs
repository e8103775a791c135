//! The executor over a JavaScript runtime's SQLite handle, through `sqlExecutor` in
//! `src/wasm/js/bindings.js` (one adapter per runtime: Durable Object, node:sqlite,
//! bun:sqlite).

use js_sys::Array;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::executor::{Row, SqlExecutor, SqlValue};
use crate::error::{Error, Result};

#[wasm_bindgen(module = "/src/wasm/js/bindings.js")]
extern "C" {
    /// The adapter object of one handle.
    #[wasm_bindgen(js_name = Object)]
    type Adapter;

    #[wasm_bindgen(catch, js_name = sqlExecutor)]
    fn sql_executor(handle: &JsValue) -> std::result::Result<Adapter, JsValue>;

    #[wasm_bindgen(method, catch)]
    fn query(this: &Adapter, sql: &str, params: &Array) -> std::result::Result<Array, JsValue>;

    #[wasm_bindgen(method, catch)]
    fn run(this: &Adapter, sql: &str, params: &Array) -> std::result::Result<(), JsValue>;

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

fn to_js(params: &[SqlValue]) -> Array {
    let out = Array::new_with_length(params.len() as u32);
    for (i, p) in params.iter().enumerate() {
        let v = match p {
            SqlValue::Null => JsValue::NULL,
            SqlValue::Integer(n) => JsValue::from_f64(*n as f64),
            SqlValue::Real(f) => JsValue::from_f64(*f),
            SqlValue::Text(s) => JsValue::from_str(s),
        };
        out.set(i as u32, v);
    }
    out
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

impl SqlExecutor for JsSqlExecutor {
    fn query(&self, sql: &str, params: &[SqlValue]) -> Result<Vec<Row>> {
        let rows = self.adapter.query(sql, &to_js(params)).map_err(sql_error)?;
        Ok(rows
            .iter()
            .map(|row| {
                row.dyn_into::<Array>()
                    .map(|cells| cells.iter().map(from_js).collect())
                    .unwrap_or_default()
            })
            .collect())
    }

    fn execute(&self, sql: &str, params: &[SqlValue]) -> Result<()> {
        self.adapter.run(sql, &to_js(params)).map_err(sql_error)
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
