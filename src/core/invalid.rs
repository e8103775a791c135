//! How the pure domain refuses a value: [`Invalid`], a message naming what is wrong.
//!
//! The crate's error type turns it into `INVALID_INPUT` (`From<Invalid> for Error` lives with
//! [`Error`](crate::error::Error)), so `?` works wherever an [`Error`](crate::error::Error) is
//! returned. The core files that the error type itself names (`event`, `expected`, `json`)
//! return this instead of importing the error module, which keeps the two free of an import
//! loop: `error` depends on `core`, never the other way round for these files.

/// A value was refused: empty or over-long names, a malformed UUID or JSON text, an unknown
/// expected-version form. Becomes [`Error::InvalidInput`](crate::error::Error::InvalidInput).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid input: {message}")]
pub struct Invalid {
    message: String,
}

impl Invalid {
    /// A refusal with this message (name the field and what is wrong with it).
    pub fn new(message: impl Into<String>) -> Self {
        Invalid {
            message: message.into(),
        }
    }

    /// What is wrong.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// What is wrong, by value.
    pub fn into_message(self) -> String {
        self.message
    }
}

/// A `Result` whose error is [`Invalid`].
pub type Result<T, E = Invalid> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_as_invalid_input() {
        let e = Invalid::new("stream id must be a non-empty string");
        assert_eq!(e.message(), "stream id must be a non-empty string");
        assert_eq!(
            e.to_string(),
            "invalid input: stream id must be a non-empty string"
        );
    }
}
