//! `GET /v1/live`: server-sent events announcing the store's head.
//!
//! The first event tells the current head; another follows whenever it moves (coalesced: a
//! burst of appends may announce only the last head). Events are
//! `event: head` / `data: {"v":1,"store":"…","head":N}`; a comment line every 15 seconds keeps
//! proxies from closing the connection. The token may come as `?token=` because browsers'
//! `EventSource` cannot send headers. The stream ends when the server shuts down (clients
//! reconnect to another instance or once it is back).
//!
//! What each token is told is the engine's rule ([`LiveScope`], the Fetch handler's too): a
//! token that may not read every stream hears head `0` first, then only of its scope's events,
//! with its scope's newest position (the global head would tell it how much others write).

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::IntoResponse;
use eventfold::sync::protocol::{encode, HeadInfo, PROTOCOL_VERSION};
use eventfold::sync::serve::live::LiveScope;
use eventfold::Error;
use serde::Deserialize;

use crate::error::ApiError;
use crate::AppState;

/// Query of `GET /v1/live`.
#[derive(Deserialize)]
pub struct LiveQuery {
    token: Option<String>,
}

/// `GET /v1/live`.
pub async fn live(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LiveQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let access = state.auth.check(&headers, q.token.as_deref())?;
    if access.read.is_empty() {
        return Err(Error::Forbidden {
            message: "this token may not read any stream".into(),
        }
        .into());
    }
    let store = state.backend.store_id().clone();
    let rx = state.backend.heads();
    let shutdown = state.shutdown.clone();
    let backend = state.backend.clone();
    let scope = LiveScope::new(access);
    let events = futures::stream::unfold((rx, scope), move |(mut rx, mut scope)| {
        let store = store.clone();
        let shutdown = shutdown.clone();
        let backend = backend.clone();
        async move {
            let head = loop {
                if shutdown.is_started() {
                    return None;
                }
                if scope.seen().is_some() {
                    tokio::select! {
                        changed = rx.changed() => changed.ok()?,
                        _ = shutdown.started() => return None,
                    }
                }
                let head = *rx.borrow_and_update();
                let scan = |a, after, head| backend.scope_head(a, after, head);
                match scope.announce(head, scan).await {
                    Ok(Some(head)) => break head,
                    Ok(None) => {}
                    Err(e) => tracing::warn!(error = %e, "live: reading the token's scope failed"),
                }
            };
            let info = HeadInfo {
                v: PROTOCOL_VERSION,
                store,
                head,
            };
            let data = encode(&info)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .unwrap_or_default();
            Some((
                Ok::<_, Infallible>(Event::default().event("head").data(data)),
                (rx, scope),
            ))
        }
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
