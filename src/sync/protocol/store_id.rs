//! The identity of a server's store, which checkpoints carry.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Longest store id accepted, in bytes.
pub const MAX_STORE_ID_BYTES: usize = 64;

/// The identity of a server's store, chosen when the store is created. Checkpoints carry it so
/// a client notices when it talks to another (or a reset) store. 1 to 64 ASCII letters, digits,
/// `-` or `_`.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct StoreId(String);

impl StoreId {
    /// Validates a store id.
    ///
    /// # Errors
    /// [`Error::Protocol`] if it is empty, too long or has other characters.
    pub fn new(id: impl Into<String>) -> Result<Self> {
        let id = id.into();
        let ok = !id.is_empty()
            && id.len() <= MAX_STORE_ID_BYTES
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(StoreId(id))
        } else {
            Err(Error::protocol(format!(
                "store id {id:?} is not 1 to {MAX_STORE_ID_BYTES} ASCII letters, digits, '-' or '_'"
            )))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for StoreId {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        StoreId::new(s)
    }
}
impl From<StoreId> for String {
    fn from(s: StoreId) -> String {
        s.0
    }
}
impl fmt::Display for StoreId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Debug for StoreId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StoreId({})", self.0)
    }
}
