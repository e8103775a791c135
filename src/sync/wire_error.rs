//! Errors on the wire: `{"code", "message", ...fields}`, the body of every failed sync request
//! and of a push's per-stream `error` result.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::core::event::{EventId, StreamId, Version};
use crate::core::expected::ExpectedVersion;
use crate::error::Error;

/// An error as the sync protocol sends it: the stable [`code`](Error::code), the message, and
/// the error's structured fields (`stream`, `expected`, `actual`, `id`, ...) beside them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The stable SCREAMING_SNAKE code.
    pub code: String,
    /// A human-readable message.
    pub message: String,
    /// Structured fields, flattened into the object.
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}

impl ErrorBody {
    /// A body with a code, a message and no fields.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        ErrorBody {
            code: code.into(),
            message: message.into(),
            fields: Map::new(),
        }
    }

    /// Adds a structured field.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.fields.insert(key.to_owned(), value.into());
        self
    }

    fn str_field(&self, key: &str) -> Option<&str> {
        self.fields.get(key).and_then(Value::as_str)
    }

    fn u64_field(&self, key: &str) -> Option<u64> {
        self.fields.get(key).and_then(Value::as_u64)
    }

    /// Turns a received body back into an [`Error`], with its structured fields where the code
    /// is known and they are well-formed; anything else becomes [`Error::Protocol`] naming the
    /// code.
    pub fn into_error(self) -> Error {
        let stream = self.str_field("stream").and_then(|s| StreamId::new(s).ok());
        let message = self.message.clone();
        let known = match self.code.as_str() {
            "WRONG_EXPECTED_VERSION" => {
                let expected = self
                    .fields
                    .get("expected")
                    .and_then(|v| serde_json::from_value::<ExpectedVersion>(v.clone()).ok());
                match (stream, expected, self.u64_field("actual")) {
                    (Some(stream), Some(expected), Some(actual)) => {
                        Some(Error::WrongExpectedVersion {
                            stream,
                            expected,
                            actual: Version(actual),
                        })
                    }
                    _ => None,
                }
            }
            "EVENT_ID_CONFLICT" => {
                let id = self.str_field("id").and_then(|s| EventId::parse(s).ok());
                match (id, stream) {
                    (Some(id), Some(stream)) => Some(Error::EventIdConflict {
                        id,
                        stream,
                        reason: message.clone(),
                    }),
                    _ => None,
                }
            }
            "SYNC_CONFLICT" => match (stream, self.u64_field("actual")) {
                (Some(stream), Some(actual)) => Some(Error::SyncConflict {
                    stream,
                    actual: Version(actual),
                }),
                _ => None,
            },
            "CHECKPOINT_MISMATCH" => match (self.str_field("expected"), self.str_field("found")) {
                (Some(e), Some(f)) => Some(Error::CheckpointMismatch {
                    expected: e.to_owned(),
                    found: f.to_owned(),
                }),
                _ => None,
            },
            "INVALID_INPUT" => Some(Error::InvalidInput {
                message: message.clone(),
            }),
            "UNAUTHORIZED" => Some(Error::Unauthorized {
                message: message.clone(),
            }),
            "FORBIDDEN" => Some(Error::Forbidden {
                message: message.clone(),
            }),
            "PROTOCOL_ERROR" => Some(Error::protocol(message.clone())),
            "STORAGE_ERROR" => Some(Error::storage(message.clone())),
            "STORE_CLOSED" => Some(Error::StoreClosed {
                reason: message.clone(),
            }),
            _ => None,
        };
        known.unwrap_or_else(|| {
            Error::protocol(format!("server answered {}: {}", self.code, self.message))
        })
    }
}

impl From<&Error> for ErrorBody {
    fn from(err: &Error) -> Self {
        let body = ErrorBody::new(err.code(), err.to_string());
        match err {
            Error::WrongExpectedVersion {
                stream,
                expected,
                actual,
            } => body
                .with("stream", stream.as_str())
                .with(
                    "expected",
                    serde_json::to_value(expected).unwrap_or(Value::Null),
                )
                .with("actual", actual.0),
            Error::EventIdConflict { id, stream, .. } => {
                body.with("id", id.as_str()).with("stream", stream.as_str())
            }
            Error::SyncConflict { stream, actual } => body
                .with("stream", stream.as_str())
                .with("actual", actual.0),
            Error::CheckpointMismatch { expected, found } => body
                .with("expected", expected.as_str())
                .with("found", found.as_str()),
            Error::SchemaTooNew { found, supported } => {
                body.with("found", *found).with("supported", *supported)
            }
            _ => body,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_round_trip_through_bodies() {
        let errors = [
            Error::WrongExpectedVersion {
                stream: StreamId::new("order-1").unwrap(),
                expected: ExpectedVersion::Exact(Version(2)),
                actual: Version(5),
            },
            Error::EventIdConflict {
                id: EventId::from_bytes([3; 16]),
                stream: StreamId::new("s").unwrap(),
                reason: "event id 03030303-0303-0303-0303-030303030303: x".into(),
            },
            Error::SyncConflict {
                stream: StreamId::new("s").unwrap(),
                actual: Version(4),
            },
            Error::CheckpointMismatch {
                expected: "a".into(),
                found: "b".into(),
            },
            Error::invalid("invalid input: x"),
            Error::Forbidden {
                message: "forbidden: y".into(),
            },
        ];
        for err in errors {
            let body = ErrorBody::from(&err);
            let json = serde_json::to_string(&body).unwrap();
            let back: ErrorBody = serde_json::from_str(&json).unwrap();
            assert_eq!(back.code, err.code(), "{json}");
            assert_eq!(back.into_error().code(), err.code(), "{json}");
        }
        let wev = ErrorBody::from(&Error::WrongExpectedVersion {
            stream: StreamId::new("o").unwrap(),
            expected: ExpectedVersion::NoStream,
            actual: Version(1),
        });
        assert_eq!(
            serde_json::to_string(&wev).unwrap(),
            r#"{"code":"WRONG_EXPECTED_VERSION","message":"stream o: expected version no_stream, found 1","actual":1,"expected":"no_stream","stream":"o"}"#
        );
        let unknown = ErrorBody::new("TEAPOT", "short and stout").into_error();
        assert_eq!(unknown.code(), "PROTOCOL_ERROR");
        assert!(unknown.to_string().contains("TEAPOT"));
    }
}
