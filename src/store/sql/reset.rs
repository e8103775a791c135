//! Dropping part of the log in one transaction (see [`ResetStore`](crate::store::ResetStore)).

use super::executor::{first_int, text, SqlExecutor, SqlValue};
use super::log::{head, to_i64};
use super::records::{get_state, set_state};
use crate::core::event::Position;
use crate::error::Result;
use crate::store::{LogReset, ResetOutcome};

/// The reset itself, inside the caller's transaction.
pub(crate) fn reset_log<E: SqlExecutor>(db: &E, reset: &LogReset<'_>) -> Result<ResetOutcome> {
    // Every rewrite first: one failing changes nothing.
    let mut rewritten = Vec::with_capacity(reset.rewrites.len());
    for (key, rewrite) in &reset.rewrites {
        rewritten.push((*key, rewrite(get_state(db, key)?.as_ref())?));
    }
    let old_head = head(db)?;
    let last_ts = db.query("SELECT MAX(timestamp) FROM eventfold_events", &[])?;
    let last_ts = first_int(&last_ts, "eventfold_events timestamp")?;
    let (mut dropped, mut kept) = (0u64, 0u64);
    for mut row in db.query(
        "SELECT stream, COUNT(*) FROM eventfold_events GROUP BY stream",
        &[],
    )? {
        let stream = text(&mut row, 0, "eventfold_events stream")?;
        let n =
            u64::try_from(first_int(&[row.split_off(1)], "eventfold_events count")?).unwrap_or(0);
        if (reset.drops)(&stream) {
            db.execute(
                "DELETE FROM eventfold_events WHERE stream = ?",
                &[stream.into()],
            )?;
            dropped += n;
        } else {
            kept += n;
        }
    }
    for mut row in db.query("SELECT key FROM eventfold_state", &[])? {
        let key = text(&mut row, 0, "eventfold_state key")?;
        if (reset.forgets)(&key) {
            set_state(db, &key, None)?;
        }
    }
    for (key, value) in rewritten {
        set_state(db, key, value.as_ref())?;
    }
    db.execute("DELETE FROM eventfold_entries", &[])?;
    db.execute("DELETE FROM eventfold_records", &[])?;
    let marker = Position(old_head.0 + 1);
    let prior_ts = db.query(
        "SELECT CAST(value AS INTEGER) FROM eventfold_meta WHERE key = 'reset_ts'",
        &[],
    )?;
    let ts = last_ts.max(first_int(&prior_ts, "eventfold_meta reset_ts")?);
    db.execute(
        "INSERT INTO eventfold_meta (key, value) VALUES ('reset_head', ?), ('reset_ts', ?) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        &[
            SqlValue::Text(to_i64(marker.0, "position")?.to_string()),
            SqlValue::Text(ts.to_string()),
        ],
    )?;
    Ok(ResetOutcome {
        dropped,
        kept,
        head: marker,
    })
}
