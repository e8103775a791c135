//! Where the PostgreSQL tests find their server: `EVENTFOLD_TEST_PG`, set by
//! `scripts/with-postgres` (which `npm test` wraps `cargo test` in). Without it the tests skip
//! locally and fail in CI (`CI=true`), where PostgreSQL must run.
#![allow(dead_code, missing_docs, clippy::unwrap_used, clippy::expect_used)]

use eventfold::store::contract::test_clock;
use eventfold_server::store::postgres::PostgresStore;

pub fn pg_url() -> Option<String> {
    match std::env::var("EVENTFOLD_TEST_PG") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI=true but EVENTFOLD_TEST_PG is unset: run the tests through scripts/with-postgres")
        }
        _ => {
            eprintln!("skipped: EVENTFOLD_TEST_PG is unset (run through scripts/with-postgres)");
            None
        }
    }
}

/// A schema name no other test uses.
pub fn fresh_schema() -> String {
    use std::hash::BuildHasher;
    let n = std::collections::hash_map::RandomState::new().hash_one(std::time::SystemTime::now());
    format!("t_{n:016x}")
}

/// A store on a fresh schema, or `None` when PostgreSQL is not available.
pub fn pg_store() -> Option<PostgresStore> {
    let url = pg_url()?;
    Some(
        futures::executor::block_on(PostgresStore::connect(
            &url,
            Some(&fresh_schema()),
            test_clock(),
        ))
        .unwrap(),
    )
}
