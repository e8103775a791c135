//! State records (snapshots, checkpoints) and read-model records with their index entries.

use super::executor::{text, SqlExecutor, SqlValue};
use crate::core::json::Json;
use crate::error::Result;
use crate::store::{Bound, IndexKey, IndexQuery, RecordWrite};

fn json(mut rows: Vec<Vec<SqlValue>>, what: &str) -> Result<Option<Json>> {
    match rows.first_mut() {
        None => Ok(None),
        Some(row) => Ok(Some(Json::parse(text(row, 0, what)?).map_err(|e| {
            crate::error::Error::CorruptData {
                record: what.to_owned(),
                message: e.to_string(),
            }
        })?)),
    }
}

/// The state record under `key`.
pub(crate) fn get_state<E: SqlExecutor>(db: &E, key: &str) -> Result<Option<Json>> {
    let rows = db.query(
        "SELECT value FROM eventfold_state WHERE key = ?",
        &[key.into()],
    )?;
    json(rows, &format!("eventfold_state {key}"))
}

/// Stores (`Some`) or deletes (`None`) the state record under `key`.
pub(crate) fn set_state<E: SqlExecutor>(db: &E, key: &str, value: Option<&Json>) -> Result<()> {
    match value {
        Some(v) => db.execute(
            "INSERT INTO eventfold_state (key, value) VALUES (?, ?) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[key.into(), v.as_str().into()],
        ),
        None => db.execute("DELETE FROM eventfold_state WHERE key = ?", &[key.into()]),
    }
}

/// Record `key` of read model `model`.
pub(crate) fn record<E: SqlExecutor>(db: &E, model: &str, key: &str) -> Result<Option<Json>> {
    let rows = db.query(
        "SELECT value FROM eventfold_records WHERE model = ? AND key = ?",
        &[model.into(), key.into()],
    )?;
    json(rows, &format!("eventfold_records {model}/{key}"))
}

/// Applies one record write and its index entries (inside the caller's transaction).
pub(crate) fn write_record<E: SqlExecutor>(db: &E, model: &str, w: &RecordWrite) -> Result<()> {
    db.execute(
        "DELETE FROM eventfold_entries WHERE model = ? AND key = ?",
        &[model.into(), w.key.as_str().into()],
    )?;
    let Some((value, entries)) = &w.value else {
        return db.execute(
            "DELETE FROM eventfold_records WHERE model = ? AND key = ?",
            &[model.into(), w.key.as_str().into()],
        );
    };
    db.execute(
        "INSERT INTO eventfold_records (model, key, value) VALUES (?, ?, ?) \
         ON CONFLICT (model, key) DO UPDATE SET value = excluded.value",
        &[model.into(), w.key.as_str().into(), value.as_str().into()],
    )?;
    for (index, key) in entries {
        let (kind, num, txt) = key_cells(key);
        db.execute(
            "INSERT INTO eventfold_entries (model, idx, kind, num, txt, key) VALUES (?, ?, ?, ?, ?, ?)",
            &[
                model.into(),
                index.as_str().into(),
                kind,
                num,
                txt,
                w.key.as_str().into(),
            ],
        )?;
    }
    Ok(())
}

/// An index key as the `(kind, num, txt)` cells of an entry.
fn key_cells(key: &IndexKey) -> (SqlValue, SqlValue, SqlValue) {
    match key {
        IndexKey::Number(n) => (SqlValue::Integer(0), SqlValue::Real(*n), SqlValue::Null),
        IndexKey::Text(s) => (SqlValue::Integer(1), SqlValue::Null, s.as_str().into()),
    }
}

/// The SQL condition of one bound, and its parameters.
fn bound_sql(b: &Bound, lower: bool) -> (String, Vec<SqlValue>) {
    let op = match (lower, b.open) {
        (true, true) => ">",
        (true, false) => ">=",
        (false, true) => "<",
        (false, false) => "<=",
    };
    match (&b.key, lower) {
        (IndexKey::Number(n), true) => (
            format!("(e.kind > 0 OR (e.kind = 0 AND e.num {op} ?))"),
            vec![SqlValue::Real(*n)],
        ),
        (IndexKey::Number(n), false) => (
            format!("(e.kind = 0 AND e.num {op} ?)"),
            vec![SqlValue::Real(*n)],
        ),
        (IndexKey::Text(s), true) => (
            format!("(e.kind = 1 AND e.txt {op} ?)"),
            vec![s.as_str().into()],
        ),
        (IndexKey::Text(s), false) => (
            format!("(e.kind = 0 OR (e.kind = 1 AND e.txt {op} ?))"),
            vec![s.as_str().into()],
        ),
    }
}

/// Records of `model` whose `query.index` entry lies in the range, in index-key order (see
/// [`ReadModelStore::query_records`](crate::store::ReadModelStore::query_records)).
pub(crate) fn query_records<E: SqlExecutor>(
    db: &E,
    model: &str,
    query: &IndexQuery,
) -> Result<Vec<(String, Json)>> {
    let mut sql = String::from(
        "SELECT e.key, r.value FROM eventfold_entries AS e JOIN eventfold_records AS r \
         ON r.model = e.model AND r.key = e.key WHERE e.model = ? AND e.idx = ?",
    );
    let mut params: Vec<SqlValue> = vec![model.into(), query.index.as_str().into()];
    for (b, lower) in [(&query.range.lower, true), (&query.range.upper, false)] {
        if let Some(b) = b {
            let (cond, values) = bound_sql(b, lower);
            sql.push_str(" AND ");
            sql.push_str(&cond);
            params.extend(values);
        }
    }
    let dir = if query.reverse { "DESC" } else { "ASC" };
    sql.push_str(&format!(
        " ORDER BY e.kind {dir}, e.num {dir}, e.txt {dir}, e.key {dir} LIMIT ?"
    ));
    params.push(SqlValue::Integer(
        query.limit.map_or(-1, |l| i64::try_from(l).unwrap_or(-1)),
    ));
    let what = format!("eventfold_records {model}");
    db.query(&sql, &params)?
        .into_iter()
        .map(|mut row| {
            let key = text(&mut row, 0, &what)?;
            let value = Json::parse(text(&mut row, 1, &what)?).map_err(|e| {
                crate::error::Error::CorruptData {
                    record: format!("{what}/{key}"),
                    message: e.to_string(),
                }
            })?;
            Ok((key, value))
        })
        .collect()
}

/// Deletes every record of `model`.
pub(crate) fn clear_records<E: SqlExecutor>(db: &E, model: &str) -> Result<()> {
    db.execute(
        "DELETE FROM eventfold_entries WHERE model = ?",
        &[model.into()],
    )?;
    db.execute(
        "DELETE FROM eventfold_records WHERE model = ?",
        &[model.into()],
    )
}
