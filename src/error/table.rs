//! The table of errors: for every [`Error`] variant its stable code, the structured fields a
//! JavaScript `EventfoldError` carries (name, TypeScript type, meaning), and how each field's
//! value is read from the variant. From this one table come [`Error::code`],
//! [`Error::js_fields`] (what `src/wasm/error.rs` sets on the JS error), [`ERROR_CODES`] and
//! [`TS_DECLARATIONS`] (the `EventfoldError` union in the package's `.d.ts`), so a field set at
//! runtime is always declared, and the other way round.

use super::Error;
use crate::core::expected::ExpectedVersion;

/// The value of one structured field of an error, as it crosses into JavaScript.
#[derive(Clone, Debug, PartialEq)]
pub enum ErrorField {
    /// A string.
    Str(String),
    /// A number (versions, positions, counts: all below 2^53).
    Num(f64),
    /// An expected version: a number, or one of `"any"`, `"no_stream"`, `"exists"`.
    Expected(ExpectedVersion),
}

fn s(v: impl ToString) -> ErrorField {
    ErrorField::Str(v.to_string())
}

fn n(v: u64) -> ErrorField {
    ErrorField::Num(v as f64)
}

macro_rules! error_table {
    ($(
        $(#[doc = $doc:literal])+
        $variant:ident $pattern:tt => $code:literal {
            $( $(#[doc = $fdoc:literal])+ $js:literal : $ts:literal = $value:expr ),* $(,)?
        }
    )*) => {
        impl Error {
            /// The stable, SCREAMING_SNAKE code of this error (JavaScript's `error.code`).
            pub fn code(&self) -> &'static str {
                match self {
                    $( Error::$variant { .. } => $code, )*
                }
            }

            /// The structured fields this error carries into JavaScript, beside `name`,
            /// `code` and `message`: exactly the fields [`TS_DECLARATIONS`] declares for its
            /// code, in that order.
            #[allow(unused_variables)]
            pub fn js_fields(&self) -> Vec<(&'static str, ErrorField)> {
                match self {
                    $( Error::$variant $pattern => vec![$( ($js, $value) ),*], )*
                }
            }
        }

        /// Every error code with the names of the fields it carries, in declaration order.
        pub const ERROR_CODES: &[(&str, &[&str])] = &[$( ($code, &[$($js),*]) ),*];

        /// The TypeScript declarations of the errors: `ErrorCode`, one interface per code, and
        /// `EventfoldError`, their union discriminated by `code`.
        pub const TS_DECLARATIONS: &str = concat!(
            "\n/** What every `EventfoldError` has; the fields beyond it depend on `code`. */\n",
            "export interface EventfoldErrorBase extends Error {\n",
            "  name: \"EventfoldError\";\n",
            "  code: ErrorCode;\n",
            "  /** What a handler or decider threw, where the error wraps one. */\n",
            "  cause?: unknown;\n",
            "}\n",
            $(
                "\n/**", $($doc,)+ " */\n",
                "export interface ", stringify!($variant), "Error extends EventfoldErrorBase {\n",
                "  code: \"", $code, "\";\n",
                $( "  /**", $($fdoc,)+ " */\n  ", $js, ": ", $ts, ";\n", )*
                "}\n",
            )*
            "\n/** The error every eventfold call rejects with: narrow it by `code`. */\n",
            "export type EventfoldError =",
            $( "\n  | ", stringify!($variant), "Error", )*
            ";\n",
            "\n/** Every `code` an `EventfoldError` can carry. Codes are API: they are never renamed. */\n",
            "export type ErrorCode =",
            $( "\n  | \"", $code, "\"", )*
            ";\n",
        );
    };
}

error_table! {
    /// The stream's version did not satisfy the append's expected version; nothing was written.
    WrongExpectedVersion { stream, expected, actual } => "WRONG_EXPECTED_VERSION" {
        /// The stream of the append.
        "stream": "string" = s(stream),
        /// What the append expected.
        "expected": "ExpectedVersion" = ErrorField::Expected(*expected),
        /// The stream's version when the append was checked.
        "actual": "number" = n(actual.0),
    }
    /// An event id was already used for other content or at another place; nothing was written.
    EventIdConflict { id, stream, .. } => "EVENT_ID_CONFLICT" {
        /// The event id already used.
        "id": "string" = s(id),
        /// The stream of the refused append.
        "stream": "string" = s(stream),
    }
    /// The caller passed something malformed; nothing was written.
    InvalidInput { .. } => "INVALID_INPUT" {}
    /// An aggregate's `decide` rejected the command (its error is the `cause`); nothing was appended.
    DeciderRejected { .. } => "DECIDER_REJECTED" {}
    /// An `evolve` threw on an event; a projection stays at the event before.
    EvolveFailed { position, .. } => "EVOLVE_FAILED" {
        /// The global position of the event that could not be applied.
        "position": "number" = n(position.0),
    }
    /// The browser refused to store more data; nothing was written.
    QuotaExceeded { .. } => "QUOTA_EXCEEDED" {}
    /// The store was closed (by the app, or because another tab upgraded the database).
    StoreClosed { .. } => "STORE_CLOSED" {}
    /// Stored data could not be decoded.
    CorruptData { record, .. } => "CORRUPT_DATA" {
        /// The key of the unreadable record.
        "record": "string" = s(record),
    }
    /// The database was written by a newer eventfold than this one.
    SchemaTooNew { found, supported } => "SCHEMA_TOO_NEW" {
        /// The schema version found on disk.
        "found": "number" = n(u64::from(*found)),
        /// The newest schema version this build understands.
        "supported": "number" = n(u64::from(*supported)),
    }
    /// The storage backend failed in a way no other code covers.
    Storage { .. } => "STORAGE_ERROR" {}
    /// The environment lacks something the call needs (for example IndexedDB in Node).
    Unsupported { .. } => "UNSUPPORTED" {}
    /// The sync server refused the credentials.
    Unauthorized { .. } => "UNAUTHORIZED" {}
    /// The credentials do not cover this stream or scope; nothing was written.
    Forbidden { .. } => "FORBIDDEN" {}
    /// A sync message was malformed, of another protocol version, or broke the protocol.
    Protocol { .. } => "PROTOCOL_ERROR" {}
    /// The server's copy of a stream moved on; the pending events were not written.
    SyncConflict { stream, actual } => "SYNC_CONFLICT" {
        /// The stream whose push was refused.
        "stream": "string" = s(stream),
        /// The server's version of the stream.
        "actual": "number" = n(actual.0),
    }
    /// A pull checkpoint belongs to another server store (the server was reset or replaced).
    CheckpointMismatch { expected, found } => "CHECKPOINT_MISMATCH" {
        /// The server's store id.
        "expected": "string" = s(expected),
        /// The store id the checkpoint carried.
        "found": "string" = s(found),
    }
    /// The sync server could not be reached; safe to retry.
    Network { .. } => "NETWORK" {}
    /// No handler is registered for this command, query or saga type.
    HandlerNotFound { kind, message_type } => "HANDLER_NOT_FOUND" {
        /// `"command"`, `"query"` or `"saga"`.
        "kind": "\"command\" | \"query\" | \"saga\"" = s(kind),
        /// The type that has no handler.
        "type": "string" = s(message_type),
    }
    /// A command, query, event or saga handler threw (what it threw is the `cause`).
    HandlerFailed { .. } => "HANDLER_FAILED" {}
    /// A handler did not settle within its time limit.
    HandlerTimeout { ms } => "HANDLER_TIMEOUT" {
        /// The time limit in milliseconds.
        "ms": "number" = n(*ms),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::event::{EventId, Position, StreamId, Version};

    /// One error of every variant (the match makes a new variant fail to compile here until
    /// it is added).
    fn one_of_each() -> Vec<Error> {
        let stream = StreamId::new("order-1").unwrap();
        let all = vec![
            Error::WrongExpectedVersion {
                stream: stream.clone(),
                expected: ExpectedVersion::NoStream,
                actual: Version(3),
            },
            Error::EventIdConflict {
                id: EventId::from_bytes([7; 16]),
                stream: stream.clone(),
                reason: "x".into(),
            },
            Error::invalid("x"),
            Error::DeciderRejected {
                message: "x".into(),
            },
            Error::EvolveFailed {
                position: Position(9),
                message: "x".into(),
            },
            Error::QuotaExceeded {
                message: "x".into(),
            },
            Error::StoreClosed { reason: "x".into() },
            Error::CorruptData {
                record: "chunks/1".into(),
                message: "x".into(),
            },
            Error::SchemaTooNew {
                found: 9,
                supported: 2,
            },
            Error::storage("x"),
            Error::Unsupported {
                message: "x".into(),
            },
            Error::Unauthorized {
                message: "x".into(),
            },
            Error::Forbidden {
                message: "x".into(),
            },
            Error::protocol("x"),
            Error::SyncConflict {
                stream,
                actual: Version(4),
            },
            Error::CheckpointMismatch {
                expected: "a".into(),
                found: "b".into(),
            },
            Error::Network {
                message: "x".into(),
            },
            Error::HandlerNotFound {
                kind: "command".into(),
                message_type: "Create".into(),
            },
            Error::HandlerFailed {
                message: "x".into(),
            },
            Error::HandlerTimeout { ms: 5 },
        ];
        for e in &all {
            match e {
                Error::WrongExpectedVersion { .. }
                | Error::EventIdConflict { .. }
                | Error::InvalidInput { .. }
                | Error::DeciderRejected { .. }
                | Error::EvolveFailed { .. }
                | Error::QuotaExceeded { .. }
                | Error::StoreClosed { .. }
                | Error::CorruptData { .. }
                | Error::SchemaTooNew { .. }
                | Error::Storage { .. }
                | Error::Unsupported { .. }
                | Error::Unauthorized { .. }
                | Error::Forbidden { .. }
                | Error::Protocol { .. }
                | Error::SyncConflict { .. }
                | Error::CheckpointMismatch { .. }
                | Error::Network { .. }
                | Error::HandlerNotFound { .. }
                | Error::HandlerFailed { .. }
                | Error::HandlerTimeout { .. } => {}
            }
        }
        all
    }

    #[test]
    fn every_code_is_in_the_table_once_with_the_fields_it_sets() {
        let all = one_of_each();
        assert_eq!(all.len(), ERROR_CODES.len());
        for e in &all {
            let declared = ERROR_CODES
                .iter()
                .filter(|(code, _)| *code == e.code())
                .collect::<Vec<_>>();
            assert_eq!(declared.len(), 1, "{} declared once", e.code());
            let set: Vec<&str> = e.js_fields().iter().map(|(k, _)| *k).collect();
            assert_eq!(
                set,
                declared[0].1,
                "{}: fields set = fields declared",
                e.code()
            );
        }
    }

    #[test]
    fn the_declarations_are_a_union_discriminated_by_code() {
        let ts = TS_DECLARATIONS;
        assert!(ts.contains(
            "export interface WrongExpectedVersionError extends EventfoldErrorBase {\n  code: \"WRONG_EXPECTED_VERSION\";"
        ));
        assert!(ts.contains("  actual: number;\n"));
        assert!(ts.contains(
            "export type EventfoldError =\n  | WrongExpectedVersionError\n  | EventIdConflictError"
        ));
        for (code, fields) in ERROR_CODES {
            assert!(ts.contains(&format!("  code: \"{code}\";")), "{code}");
            assert!(
                ts.contains(&format!("\n  | \"{code}\"")),
                "{code} in ErrorCode"
            );
            for f in *fields {
                assert!(ts.contains(&format!("  {f}: ")), "{code}.{f}");
            }
        }
    }

    #[test]
    fn field_values_come_from_the_variant() {
        let e = Error::SyncConflict {
            stream: StreamId::new("cart-1").unwrap(),
            actual: Version(4),
        };
        assert_eq!(
            e.js_fields(),
            vec![
                ("stream", ErrorField::Str("cart-1".into())),
                ("actual", ErrorField::Num(4.0))
            ]
        );
    }
}
