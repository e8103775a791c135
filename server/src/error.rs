//! Errors as HTTP answers: a status and the protocol's `{code, message, ...fields}` body.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use eventfold::sync::protocol::ErrorBody;
use eventfold::Error;

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The JSON body.
    pub body: ErrorBody,
}

/// The HTTP status of an error code (docs/sync-protocol.md, "Errors").
pub fn status_of(err: &Error) -> StatusCode {
    StatusCode::from_u16(eventfold::sync::serve::http::status_of(err))
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

impl From<Error> for ApiError {
    fn from(err: Error) -> Self {
        ApiError {
            status: status_of(&err),
            body: ErrorBody::from(&err),
        }
    }
}

impl ApiError {
    /// A request body over the size limit: 413 with code `INVALID_INPUT`.
    pub fn too_large(limit: usize) -> Self {
        ApiError {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            body: ErrorBody::new(
                "INVALID_INPUT",
                format!("invalid input: the request body exceeds the limit of {limit} bytes"),
            )
            .with("limitBytes", limit),
        }
    }
}

impl ApiError {
    /// A request body not received within `limit`: 408 with code `NETWORK`.
    pub fn body_timeout(limit: std::time::Duration) -> Self {
        ApiError {
            status: StatusCode::REQUEST_TIMEOUT,
            body: ErrorBody::new(
                "NETWORK",
                format!(
                    "network error: the request body did not arrive within {} s",
                    limit.as_secs()
                ),
            )
            .with("timeoutMs", limit.as_millis() as u64),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.body).unwrap_or_else(|_| b"{}".to_vec());
        let mut res = (self.status, body).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        res
    }
}
