//! Event ids: UUIDs in canonical text form.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::text::str_serde;
use crate::core::invalid::{Invalid, Result};

/// An event's id: a UUID in its canonical text form (`8-4-4-4-12` lower-case hex digits),
/// chosen by the client. It is the idempotency key of appends and of sync pushes.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventId(Arc<str>);

impl EventId {
    /// Parses a UUID in text form, kept in canonical lower case (`A0…` and `a0…` are the same
    /// id, as they are the same UUID).
    ///
    /// # Errors
    /// [`Invalid`] if `s` is not a UUID.
    pub fn parse(s: impl AsRef<str>) -> Result<Self> {
        let s = s.as_ref();
        let ok = s.len() == 36
            && s.bytes().enumerate().all(|(i, b)| match i {
                8 | 13 | 18 | 23 => b == b'-',
                _ => b.is_ascii_hexdigit(),
            });
        if ok {
            if s.bytes().any(|b| b.is_ascii_uppercase()) {
                Ok(EventId(s.to_ascii_lowercase().into()))
            } else {
                Ok(EventId(s.into()))
            }
        } else {
            Err(Invalid::new(format!(
                "event id {s:?} is not a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"
            )))
        }
    }

    /// Formats 16 bytes as a UUID string (for ids derived from a hash or a random source).
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        let mut s = String::with_capacity(36);
        for (i, b) in bytes.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                s.push('-');
            }
            s.push_str(&format!("{b:02x}"));
        }
        EventId(s.into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for EventId {
    type Error = Invalid;
    fn try_from(s: String) -> Result<Self> {
        EventId::parse(s)
    }
}
impl From<EventId> for String {
    fn from(s: EventId) -> String {
        s.0.to_string()
    }
}
impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Debug for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EventId({})", &*self.0)
    }
}

str_serde!(EventId, EventId::parse, "an event id (UUID)");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_must_be_uuids() {
        assert!(EventId::parse("0f8fad5b-d9cb-469f-a165-70867728950e").is_ok());
        assert!(EventId::parse("0F8FAD5B-D9CB-469F-A165-70867728950E").is_ok());
        assert!(EventId::parse("0f8fad5bd9cb469fa16570867728950e").is_err());
        assert!(EventId::parse("0f8fad5b-d9cb-469f-a165-70867728950g").is_err());
        assert!(EventId::parse("").is_err());
        let id = EventId::from_bytes([0xab; 16]);
        assert_eq!(id.as_str(), "abababab-abab-abab-abab-abababababab");
        assert!(EventId::parse(id.as_str()).is_ok());
    }
}
