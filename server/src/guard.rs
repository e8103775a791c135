//! What every request passes before its handler: the `Host` check of open mode, the JSON
//! content type of writes, and the request log.

use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use eventfold::sync::protocol::ErrorBody;
use eventfold::Error;

use crate::error::ApiError;
use crate::AppState;

pub use eventfold::sync::serve::http::is_rebind_safe_host;

/// Whether a request's `Content-Type` is `application/json` (parameters such as `charset`
/// allowed).
pub fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
}

fn refuse(status: StatusCode, message: &str) -> Response {
    let mut e = ApiError::from(Error::invalid(message));
    e.status = status;
    e.into_response()
}

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

fn check(state: &AppState, request: &Request) -> Option<Response> {
    let headers = request.headers();
    if state.auth.is_open() {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
        if !host.is_some_and(is_rebind_safe_host) {
            return Some(forbidden(
                "open mode (no token file) serves only requests for localhost or an IP address \
                 (Host header), against DNS rebinding; give the server a token file",
            ));
        }
    }
    if request.method() == Method::POST && !is_json(headers) {
        return Some(refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "invalid input: requests with a body must be sent with Content-Type: application/json",
        ));
    }
    None
}

fn forbidden(message: &str) -> Response {
    ApiError {
        status: StatusCode::FORBIDDEN,
        body: ErrorBody::new("FORBIDDEN", message),
    }
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_that_dns_cannot_rebind() {
        for ok in [
            "localhost",
            "LOCALHOST:8787",
            "127.0.0.1",
            "127.0.0.1:80",
            "[::1]",
            "[::1]:8787",
            "10.1.2.3:9",
        ] {
            assert!(is_rebind_safe_host(ok), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:8787",
            "localhost.evil.example",
            "127.0.0.1.nip.io",
            "[::1",
            "[nothost]:1",
            "localhost:http",
            "",
        ] {
            assert!(!is_rebind_safe_host(bad), "{bad}");
        }
    }
}
