//! Errors on the wire: `{"code", "message", ...fields}`, the body of every failed sync request
//! and of a push's per-stream `error` result.

use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::core::event::{EventId, StreamId, Version};
use crate::core::expected::ExpectedVersion;
use crate::core::json::Json;
use crate::error::Error;

/// An error as the sync protocol sends it: the stable [`code`](Error::code), the message, and
/// the error's structured fields (`stream`, `expected`, `actual`, `id`, ...) beside them.
///
/// Fields are kept as raw JSON values sorted by name and decoded only when read, so a client
/// decoding an answer never builds a generic JSON tree (smaller wasm).
#[derive(Clone, Debug, PartialEq)]
pub struct ErrorBody {
    /// The stable SCREAMING_SNAKE code.
    pub code: String,
    /// A human-readable message.
    pub message: String,
    /// Structured fields, flattened into the object on the wire, sorted by name.
    pub fields: Vec<(String, Json)>,
}

impl ErrorBody {
    /// A body with a code, a message and no fields.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        ErrorBody {
            code: code.into(),
            message: message.into(),
            fields: Vec::new(),
        }
    }

    /// Adds (or replaces) a structured field.
    pub fn with(mut self, key: &str, value: impl Serialize) -> Self {
        let Ok(json) = Json::from_value(&value) else {
            return self;
        };
        match self.fields.binary_search_by(|(k, _)| k.as_str().cmp(key)) {
            Ok(i) => self.fields[i].1 = json,
            Err(i) => self.fields.insert(i, (key.to_owned(), json)),
        }
        self
    }

    fn field<T: serde::de::DeserializeOwned>(&self, key: &str) -> Option<T> {
        let (_, json) = self.fields.iter().find(|(k, _)| k == key)?;
        json.decode().ok()
    }

    fn str_field(&self, key: &str) -> Option<String> {
        self.field(key)
    }

    fn u64_field(&self, key: &str) -> Option<u64> {
        self.field(key)
    }

    /// Turns a received body back into an [`Error`], with its structured fields where the code
    /// is known and they are well-formed; anything else becomes [`Error::Protocol`] naming the
    /// code.
    pub fn into_error(self) -> Error {
        let stream = self.str_field("stream").and_then(|s| StreamId::new(s).ok());
        let message = self.message.clone();
        let known = match self.code.as_str() {
            "WRONG_EXPECTED_VERSION" => {
                let expected = self.field::<ExpectedVersion>("expected");
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
                (Some(expected), Some(found)) => {
                    Some(Error::CheckpointMismatch { expected, found })
                }
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

impl Serialize for ErrorBody {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2 + self.fields.len()))?;
        map.serialize_entry("code", &self.code)?;
        map.serialize_entry("message", &self.message)?;
        for (k, v) in &self.fields {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for ErrorBody {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BodyVisitor;
        impl<'de> Visitor<'de> for BodyVisitor {
            type Value = ErrorBody;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an error object {code, message, ...}")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ErrorBody, A::Error> {
                let (mut code, mut message) = (None, None);
                let mut body = ErrorBody::new("", "");
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "code" => code = Some(map.next_value::<String>()?),
                        "message" => message = Some(map.next_value::<String>()?),
                        _ => {
                            let value: Json = map.next_value()?;
                            body = body.with(&key, value);
                        }
                    }
                }
                body.code = code.ok_or_else(|| serde::de::Error::missing_field("code"))?;
                body.message = message.ok_or_else(|| serde::de::Error::missing_field("message"))?;
                Ok(body)
            }
        }
        deserializer.deserialize_map(BodyVisitor)
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
                .with("expected", expected)
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
