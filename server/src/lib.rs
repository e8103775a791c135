//! `eventfold-server`: the sync server of eventfold (docs/sync-protocol.md).
//!
//! [`app`] builds the axum [`Router`]; `main.rs` parses arguments and serves it. The store lives
//! on its own thread ([`backend`]); SQLite ([`store::sqlite`]) is the embedded default,
//! PostgreSQL ([`store::postgres`]) serves several instances on one database.

pub mod auth;
pub mod backend;
pub mod error;
pub mod guard;
pub mod listen;
pub mod routes;
pub mod store;

use std::sync::Arc;
use std::time::Duration;

use axum::routing::{get, post};
use axum::Router;
use eventfold::store::system_clock;
use eventfold::sync::serve::ServeLimits;
use eventfold::Result;
use tower_http::compression::CompressionLayer;

pub use auth::Auth;
pub use backend::{SharedBackend, StoreThread, SyncBackend};
pub use listen::{ListenOptions, Shutdown, ShutdownTrigger};

/// Default limit on a request body, in bytes (16 MiB).
pub const DEFAULT_MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// What every request handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The store, on its thread.
    pub backend: SharedBackend,
    /// Token checks.
    pub auth: Arc<Auth>,
    /// Largest accepted request body, in bytes; larger ones get 413.
    pub max_body_bytes: usize,
    /// The sync limits (the backend enforces the same ones).
    pub limits: ServeLimits,
    /// Time a client has to send a whole request body once its headers arrived.
    pub body_timeout: Duration,
    /// Ends live streams when the server shuts down.
    pub shutdown: Shutdown,
}

impl AppState {
    /// State with the default body limit and timeout, and no shutdown signal.
    pub fn new(backend: SharedBackend, auth: Auth, limits: ServeLimits) -> Self {
        AppState {
            backend,
            auth: Arc::new(auth),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            limits,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            shutdown: Shutdown::never(),
        }
    }
}

/// Default time to receive a whole request body (30 s).
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// The HTTP API: `POST /v1/pull`, `POST /v1/push`, `GET /v1/streams/{stream}`, `GET /v1/live`,
/// `GET /v1/health`. Responses are gzip-compressed when the client accepts it (except the
/// event stream). Every request passes [`guard::guard`] first (open mode's `Host` check, JSON
/// content type of writes, the request log).
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/v1/pull", post(routes::pull))
        .route("/v1/push", post(routes::push))
        .route("/v1/streams/{stream}", get(routes::read_stream))
        .route("/v1/live", get(routes::live::live))
        .route("/v1/health", get(routes::health))
        .fallback(routes::not_found)
        .method_not_allowed_fallback(routes::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::guard,
        ))
        .layer(CompressionLayer::new())
        .with_state(state)
}

/// Refuses database arguments that would silently lose everything: an empty path and SQLite's
/// in-memory databases.
///
/// # Errors
/// [`eventfold::Error::InvalidInput`] naming the problem.
pub fn check_db_argument(db: &str) -> Result<()> {
    let lower = db.to_ascii_lowercase();
    if db.trim().is_empty() {
        return Err(eventfold::Error::invalid(
            "--db is empty: give a SQLite file path or a postgres:// URL",
        ));
    }
    if lower == ":memory:" || lower.contains("mode=memory") || lower.starts_with("file::memory:") {
        return Err(eventfold::Error::invalid(format!(
            "--db {db}: an in-memory database loses every event when the server stops; give a file path"
        )));
    }
    Ok(())
}

/// Opens the store named by `db` on its own thread: a `postgres://` (or `postgresql://`) URL
/// selects PostgreSQL (schema `public`), anything else is a SQLite file path (created if
/// missing).
///
/// # Errors
/// [`check_db_argument`]'s refusals; whatever opening the store fails with.
pub async fn open_backend(db: &str, limits: ServeLimits) -> Result<SharedBackend> {
    check_db_argument(db)?;
    let db = db.to_owned();
    let store_limits = limits.store;
    if db.starts_with("postgres://") || db.starts_with("postgresql://") {
        let thread = StoreThread::start(
            move || async move {
                Ok(
                    store::postgres::PostgresStore::connect(&db, None, system_clock())
                        .await?
                        .with_limits(store_limits),
                )
            },
            limits,
        )
        .await?;
        return Ok(Arc::new(thread));
    }
    let thread = StoreThread::start(
        move || async move {
            Ok(store::sqlite::SqliteStore::open(&db, system_clock())?.with_limits(store_limits))
        },
        limits,
    )
    .await?;
    Ok(Arc::new(thread))
}
