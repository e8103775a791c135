//! Where an event sits: its version in its stream, its position in the global log, and when
//! it was recorded.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A stream version: the number of events in the stream. The first event of a stream has
/// version 1; version 0 means the stream does not exist.
#[derive(
    Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Debug, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Version(pub u64);

/// A position in the global log: 1-based, strictly increasing across the whole store.
/// Position 0 means "before the first event".
#[derive(
    Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Debug, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Position(pub u64);

/// Milliseconds since the Unix epoch (what JavaScript's `Date.now()` returns).
#[derive(
    Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Debug, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
