//! What a request is answered: a JSON body with its status, or the live stream.

use crate::error::Error;
use crate::sync::access::Access;
use crate::sync::protocol::ErrorBody;

/// The HTTP status of an error (docs/sync-protocol.md, "Errors").
pub fn status_of(err: &Error) -> u16 {
    match err {
        Error::InvalidInput { .. } | Error::Protocol { .. } => 400,
        Error::Unauthorized { .. } => 401,
        Error::Forbidden { .. } => 403,
        Error::CheckpointMismatch { .. }
        | Error::WrongExpectedVersion { .. }
        | Error::EventIdConflict { .. }
        | Error::SyncConflict { .. } => 409,
        Error::StoreClosed { .. } => 503,
        _ => 500,
    }
}

/// What to answer.
#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    /// A JSON answer (`content-type: application/json`).
    Json {
        /// The status.
        status: u16,
        /// The body.
        body: Vec<u8>,
    },
    /// `GET /v1/live` was authorized for this access: the transport streams `event: head`
    /// server-sent events, the first one at once, each as
    /// [`LiveScope`](crate::sync::serve::live::LiveScope) tells for this access.
    Live(Access),
}

impl Answer {
    /// The answer of an error.
    pub fn error(err: &Error) -> Self {
        Self::error_body(status_of(err), &ErrorBody::from(err))
    }

    pub(super) fn error_body(status: u16, body: &ErrorBody) -> Self {
        Answer::Json {
            status,
            body: serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec()),
        }
    }

    /// A request body over `limit` bytes: 413 with code `INVALID_INPUT` and `limitBytes`.
    pub fn too_large(limit: usize) -> Self {
        Self::error_body(
            413,
            &ErrorBody::new(
                "INVALID_INPUT",
                format!("invalid input: the request body exceeds the limit of {limit} bytes"),
            )
            .with("limitBytes", limit),
        )
    }

    /// The status of this answer.
    pub fn status(&self) -> u16 {
        match self {
            Answer::Json { status, .. } => *status,
            Answer::Live(_) => 200,
        }
    }
}
