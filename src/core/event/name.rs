//! Stream ids and event types: validated names.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::text::str_serde;
use crate::core::invalid::{Invalid, Result};

/// Longest stream id or event type accepted, in bytes.
pub const MAX_NAME_BYTES: usize = 512;

fn check_name(kind: &str, s: &str) -> Result<()> {
    if s.is_empty() {
        return Err(Invalid::new(format!("{kind} must be a non-empty string")));
    }
    if s.len() > MAX_NAME_BYTES {
        return Err(Invalid::new(format!(
            "{kind} is {} bytes long; the limit is {MAX_NAME_BYTES}",
            s.len()
        )));
    }
    // Most names are printable ASCII, which holds no control character of either kind: one
    // pass over the bytes (the Unicode scans below are slow in wasm at opt-level z).
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Ok(());
    }
    if s.chars().any(char::is_control) {
        return Err(Invalid::new(format!(
            "{kind} {s:?} contains a control character"
        )));
    }
    if let Some(c) = s.chars().find(|c| is_bidi_control(*c)) {
        return Err(Invalid::new(format!(
            "{kind} {s:?} contains the bidirectional control U+{:04X} (it can make one name \
             display as another)",
            u32::from(c)
        )));
    }
    Ok(())
}

/// Unicode's bidirectional formatting characters (marks, embeddings, overrides, isolates):
/// refused in names, where they can make `order-1` display like another stream.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// The name of a stream, for example `order-42`. Non-empty, at most [`MAX_NAME_BYTES`] bytes,
/// no control characters. An aggregate `order` with id `42` lives in stream `order-42`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamId(Arc<str>);

impl StreamId {
    /// Validates and wraps a stream name.
    ///
    /// # Errors
    /// [`Invalid`] if the name is empty, too long or contains control characters.
    pub fn new(name: impl AsRef<str>) -> Result<Self> {
        let name = name.as_ref();
        check_name("stream id", name)?;
        Ok(StreamId(name.into()))
    }

    /// The stream name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for StreamId {
    type Error = Invalid;
    fn try_from(s: String) -> Result<Self> {
        StreamId::new(s)
    }
}
impl From<StreamId> for String {
    fn from(s: StreamId) -> String {
        s.0.to_string()
    }
}
impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Debug for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StreamId({:?})", &*self.0)
    }
}

/// The type of an event, for example `OrderCreated`. Same rules as [`StreamId`].
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct EventType(Arc<str>);

impl EventType {
    /// Validates and wraps an event type.
    ///
    /// # Errors
    /// [`Invalid`] if the type is empty, too long or contains control characters.
    pub fn new(name: impl AsRef<str>) -> Result<Self> {
        let name = name.as_ref();
        check_name("event type", name)?;
        Ok(EventType(name.into()))
    }

    /// The type name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for EventType {
    type Error = Invalid;
    fn try_from(s: String) -> Result<Self> {
        EventType::new(s)
    }
}
impl From<EventType> for String {
    fn from(s: EventType) -> String {
        s.0.to_string()
    }
}
impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Debug for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EventType({:?})", &*self.0)
    }
}

str_serde!(StreamId, StreamId::new, "a stream id");
str_serde!(EventType, EventType::new, "an event type");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_validated() {
        assert!(StreamId::new("order-1").is_ok());
        assert_eq!(
            crate::error::Error::from(StreamId::new("").unwrap_err()).code(),
            "INVALID_INPUT"
        );
        assert!(StreamId::new("a\nb").is_err());
        assert!(StreamId::new("x".repeat(MAX_NAME_BYTES + 1)).is_err());
        assert!(EventType::new("").is_err());
        assert!(EventType::new("Ünïcødé ✓").is_ok());
    }
}
