//! Connecting to PostgreSQL and creating the store's schema.

use std::sync::Arc;

use eventfold::store::ChangeNotifier;
use eventfold::sync::protocol::StoreId;
use eventfold::{Error, Position, Result};
use futures::StreamExt;
use tokio_postgres::{AsyncMessage, Client, NoTls};

use super::db_err;
use crate::store::random_store_id;

/// The schema version this build writes and understands.
pub const SCHEMA_VERSION: u32 = 1;

/// Checks a schema name: 1 to 48 lower-case ASCII letters, digits or `_`, not starting with a
/// digit (it is used unquoted-safe in identifiers and channel names).
pub(super) fn check_schema(schema: &str) -> Result<()> {
    let ok = !schema.is_empty()
        && schema.len() <= 48
        && !schema.starts_with(|c: char| c.is_ascii_digit())
        && schema
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "schema {schema:?} must be 1 to 48 of a-z, 0-9 and _"
        )))
    }
}

/// The reading connection: `search_path` set, `LISTEN`ing on `channel` for other instances'
/// appends, which it forwards to `changes`.
pub(super) async fn open_reader(
    url: &str,
    schema: &str,
    channel: &str,
    changes: Arc<ChangeNotifier>,
) -> Result<Client> {
    let reader = open_connection(url, Some(changes)).await?;
    reader
        .batch_execute(&format!("SET search_path TO {schema}; LISTEN {channel}"))
        .await
        .map_err(db_err)?;
    Ok(reader)
}

/// The writing connection, with `search_path` set when `schema` is given (the first one gets
/// it from [`init_schema`]).
pub(super) async fn open_writer(url: &str, schema: Option<&str>) -> Result<Client> {
    let writer = open_connection(url, None).await?;
    if let Some(schema) = schema {
        writer
            .batch_execute(&format!("SET search_path TO {schema}"))
            .await
            .map_err(db_err)?;
    }
    Ok(writer)
}

async fn open_connection(url: &str, changes: Option<Arc<ChangeNotifier>>) -> Result<Client> {
    let (client, mut connection) = tokio_postgres::connect(url, NoTls).await.map_err(db_err)?;
    tokio::spawn(async move {
        let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(n)) => {
                    if let (Some(c), Ok(head)) = (&changes, n.payload().parse::<u64>()) {
                        c.notify(Position(head));
                    }
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
    });
    Ok(client)
}

/// Creates the schema and tables if missing (under a lock, so instances starting together do
/// not race) and returns the store id.
pub(super) async fn init_schema(client: &mut Client, schema: &str) -> Result<StoreId> {
    let tx = client.transaction().await.map_err(db_err)?;
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtext('eventfold:init'))",
        &[],
    )
    .await
    .map_err(db_err)?;
    tx.batch_execute(&format!(
        "CREATE SCHEMA IF NOT EXISTS {schema};
         SET LOCAL search_path TO {schema};
         CREATE TABLE IF NOT EXISTS meta (key text PRIMARY KEY, value text NOT NULL);
         CREATE TABLE IF NOT EXISTS events (
             position  bigint PRIMARY KEY,
             id        text NOT NULL UNIQUE,
             stream    text NOT NULL,
             version   bigint NOT NULL,
             type      text NOT NULL,
             data      text NOT NULL,
             metadata  text NOT NULL,
             timestamp bigint NOT NULL,
             UNIQUE (stream, version)
         );"
    ))
    .await
    .map_err(db_err)?;
    let found: Option<String> = tx
        .query_opt("SELECT value FROM meta WHERE key = 'schema_version'", &[])
        .await
        .map_err(db_err)?
        .map(|r| r.try_get(0))
        .transpose()
        .map_err(db_err)?;
    if let Some(v) = found {
        let found: u32 = v.parse().unwrap_or(u32::MAX);
        if found > SCHEMA_VERSION {
            return Err(Error::SchemaTooNew {
                found,
                supported: SCHEMA_VERSION,
            });
        }
    }
    tx.execute(
        "INSERT INTO meta (key, value) VALUES ('schema_version', $1), ('store_id', $2)
         ON CONFLICT (key) DO NOTHING",
        &[&SCHEMA_VERSION.to_string(), &random_store_id()],
    )
    .await
    .map_err(db_err)?;
    let id: String = tx
        .query_one("SELECT value FROM meta WHERE key = 'store_id'", &[])
        .await
        .map_err(db_err)?
        .try_get(0)
        .map_err(db_err)?;
    tx.commit().await.map_err(db_err)?;
    client
        .batch_execute(&format!("SET search_path TO {schema}"))
        .await
        .map_err(db_err)?;
    StoreId::new(id)
}
