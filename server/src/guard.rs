//! What every request passes before its handler: the `Host` check of open mode, the JSON
//! content type of writes, and the request log.

use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use eventfold::sync::serve::http::{precheck, Answer};

use crate::AppState;

/// The middleware: refuses what no handler should see, and logs every request with its
/// status and duration (`warn` for refusals, `error` for server errors).
pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = match check(&state, &request) {
        Some(refusal) => refusal,
        None => next.run(request).await,
    };
    let status = response.status().as_u16();
    let us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    if status >= 500 {
        tracing::error!(%method, %path, status, us, "request failed");
    } else if status >= 400 {
        tracing::warn!(%method, %path, status, us, "request refused");
    } else {
        tracing::info!(%method, %path, status, us, "request");
    }
    response
}

/// The engine's check, the one `createSyncHandler` runs ([`precheck`]): open mode's `Host`
/// check and the JSON content type of writes.
fn check(state: &AppState, request: &Request) -> Option<Response> {
    let headers = request.headers();
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let refusal = precheck(
        state.auth.is_open(),
        request.method().as_str(),
        text(header::HOST),
        text(header::CONTENT_TYPE),
    )?;
    Some(match refusal {
        Answer::Json { status, body } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::FORBIDDEN);
            let mut res = (status, body).into_response();
            res.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            res
        }
        Answer::Live(_) => StatusCode::FORBIDDEN.into_response(),
    })
}
