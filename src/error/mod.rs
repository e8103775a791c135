//! The one error type of eventfold. Every variant has a stable `code()` that JavaScript sees as
//! `error.code`; codes are API and are never renamed. What each code carries into JavaScript,
//! and its TypeScript declaration, come from one table (`table.rs`).

mod table;

pub use table::{ErrorField, ERROR_CODES, TS_DECLARATIONS};

use crate::core::event::{EventId, StreamId, Version};
use crate::core::expected::ExpectedVersion;
use crate::core::invalid::Invalid;

/// A `Result` whose error is eventfold's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in eventfold.
///
/// A failed operation leaves the store exactly as it was: no partial append, nothing lost.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The stream's version did not satisfy the append's expected version. Nothing was written.
    #[error("stream {stream}: expected version {expected}, found {actual}")]
    WrongExpectedVersion {
        /// The stream that was appended to.
        stream: StreamId,
        /// What the caller expected.
        expected: ExpectedVersion,
        /// The stream's version when the append was checked.
        actual: Version,
    },
    /// An event id was already used for other content or at another place. Nothing was written.
    #[error("event id {id}: {reason}")]
    EventIdConflict {
        /// The conflicting id.
        id: EventId,
        /// The stream of the rejected append.
        stream: StreamId,
        /// Why the existing event does not match.
        reason: String,
    },
    /// The caller passed something malformed. Nothing was written.
    #[error("invalid input: {message}")]
    InvalidInput {
        /// What is wrong, naming the field and, in a batch, the event index.
        message: String,
    },
    /// An aggregate's `decide` rejected the command. Nothing was appended.
    #[error("command rejected: {message}")]
    DeciderRejected {
        /// The domain error's message.
        message: String,
    },
    /// An aggregate's or projection's `evolve` failed on an event. For a projection, its state
    /// and checkpoint stay at the event before.
    #[error("evolve failed at position {position}: {message}")]
    EvolveFailed {
        /// Position of the event that could not be applied.
        position: crate::core::event::Position,
        /// What went wrong.
        message: String,
    },
    /// The browser refused to store more data. Nothing was written.
    #[error("storage quota exceeded: {message}")]
    QuotaExceeded {
        /// The browser's message.
        message: String,
    },
    /// The store was closed (by the app, or because another tab upgraded the database).
    #[error("store is closed: {reason}")]
    StoreClosed {
        /// Why the store is closed.
        reason: String,
    },
    /// Stored data could not be decoded. Names the record so it can be inspected.
    #[error("corrupt record {record}: {message}")]
    CorruptData {
        /// The key of the unreadable record.
        record: String,
        /// What is wrong with it.
        message: String,
    },
    /// The database was written by a newer version of eventfold than this one.
    #[error("database schema version {found} is newer than this eventfold supports ({supported})")]
    SchemaTooNew {
        /// The schema version found on disk.
        found: u32,
        /// The newest schema version this build understands.
        supported: u32,
    },
    /// The storage backend failed in a way not covered above.
    #[error("storage error: {message}")]
    Storage {
        /// The backend's message.
        message: String,
    },
    /// The environment lacks something this operation needs (for example IndexedDB in Node).
    #[error("unsupported here: {message}")]
    Unsupported {
        /// What is missing.
        message: String,
    },
    /// The sync server did not accept the credentials (missing, unknown or malformed token).
    #[error("unauthorized: {message}")]
    Unauthorized {
        /// Why the credentials were refused.
        message: String,
    },
    /// The credentials are valid but do not cover this stream or scope. Nothing was written.
    #[error("forbidden: {message}")]
    Forbidden {
        /// What was refused, naming the stream or prefix.
        message: String,
    },
    /// A sync message was malformed, of an unsupported protocol version, or broke the protocol
    /// (for example a pull answer that repeats positions). Nothing from it was stored.
    #[error("protocol error: {message}")]
    Protocol {
        /// What is wrong with the message.
        message: String,
    },
    /// The server's copy of a stream moved on since the client's last confirmed version: the
    /// client's pending events were not written and must be rebased, re-placed or kept.
    #[error("sync conflict on stream {stream}: the server is at version {actual}")]
    SyncConflict {
        /// The stream whose push was refused.
        stream: StreamId,
        /// The server's version of the stream.
        actual: Version,
    },
    /// A pull checkpoint names another store than the server's (the server was replaced or
    /// reset): the client must sync again from the start, keeping its pending events.
    #[error("checkpoint of store {found} does not belong to this server's store {expected}")]
    CheckpointMismatch {
        /// The server's store id.
        expected: String,
        /// The store id the checkpoint carried.
        found: String,
    },
    /// The sync server could not be reached or the connection failed mid-request. Safe to
    /// retry: pushes are idempotent.
    #[error("network error: {message}")]
    Network {
        /// The transport's message.
        message: String,
    },
    /// No handler is registered for this command, query or saga type.
    #[error("no {kind} handler registered for type {message_type:?}")]
    HandlerNotFound {
        /// `command`, `query` or `saga`.
        kind: String,
        /// The type that has no handler.
        message_type: String,
    },
    /// A command, query, event or saga handler threw or rejected (its error is the `cause` in
    /// JavaScript).
    #[error("handler failed: {message}")]
    HandlerFailed {
        /// The handler's error message.
        message: String,
    },
    /// A handler did not settle within its time limit; its outcome is ignored and it is
    /// retried (event handlers) or counted as failed (saga steps).
    #[error("handler did not settle within {ms} ms")]
    HandlerTimeout {
        /// The time limit.
        ms: u64,
    },
}

/// A value the core refused becomes `INVALID_INPUT` with the same message.
impl From<Invalid> for Error {
    fn from(e: Invalid) -> Self {
        Error::InvalidInput {
            message: e.into_message(),
        }
    }
}

impl Error {
    /// Shorthand for [`Error::InvalidInput`].
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::InvalidInput {
            message: message.into(),
        }
    }

    /// Shorthand for [`Error::Protocol`].
    pub fn protocol(message: impl Into<String>) -> Self {
        Error::Protocol {
            message: message.into(),
        }
    }

    /// Shorthand for [`Error::Storage`].
    pub fn storage(message: impl Into<String>) -> Self {
        Error::Storage {
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_and_messages_carry_values() {
        let e = Error::WrongExpectedVersion {
            stream: StreamId::new("order-1").unwrap(),
            expected: ExpectedVersion::Exact(Version(2)),
            actual: Version(5),
        };
        assert_eq!(e.code(), "WRONG_EXPECTED_VERSION");
        assert_eq!(e.to_string(), "stream order-1: expected version 2, found 5");
        assert_eq!(Error::invalid("x").code(), "INVALID_INPUT");
        assert_eq!(Error::protocol("x").code(), "PROTOCOL_ERROR");
        assert_eq!(Error::storage("x").code(), "STORAGE_ERROR");
    }
}
