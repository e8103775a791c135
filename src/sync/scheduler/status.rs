//! What the scheduler reports to the app ([`Status`]), what it learns from the store
//! ([`StoreStatus`]), and how it tells a failure it can retry from one that must stop it
//! ([`Failure`]).

use std::ops::Add;
use std::time::Duration;

use serde::Serialize;

use crate::core::event::{Position, Timestamp};
use crate::error::Error;
use crate::sync::client::Held;
pub use crate::sync::client::StoreStatus;

/// A point on the driver's monotonic clock, in whole milliseconds from an origin of the
/// driver's choosing (`performance.now()` in the browser, a counter in tests). The scheduler
/// only compares instants and adds durations to them; it never reads a clock.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(u64);

impl Instant {
    /// The instant `ms` milliseconds after the clock's origin.
    pub fn from_millis(ms: u64) -> Self {
        Instant(ms)
    }

    /// Milliseconds since the clock's origin.
    pub fn as_millis(self) -> u64 {
        self.0
    }

    /// How long after `earlier` this is (zero if it is not after it).
    pub fn saturating_since(self, earlier: Instant) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;

    fn add(self, d: Duration) -> Instant {
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        Instant(self.0.saturating_add(ms))
    }
}

/// What the scheduler shows the app (`sync.status` in JavaScript, its fields in camelCase).
/// `E` is the error type the driver feeds in (see [`Failure`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status<E> {
    /// Events appended locally and not confirmed yet (from the last [`StoreStatus`]).
    pub pending: usize,
    /// The server position pulled up to (from the last [`StoreStatus`]).
    pub checkpoint: Position,
    /// Whether the last exchange reached the server: set by a success, cleared by an
    /// [`FailureKind::Offline`] failure, left alone by other failures. False at first.
    pub online: bool,
    /// Whether an exchange runs now.
    pub syncing: bool,
    /// Whether this instance holds the leader lock (syncs in the background).
    pub leader: bool,
    /// When the last exchange succeeded (wall clock).
    pub last_sync: Option<Timestamp>,
    /// The last exchange's error, cleared by the next success.
    pub last_error: Option<E>,
    /// Streams held by the `manual` strategy (from the last [`StoreStatus`]).
    pub held: Vec<Held>,
    /// When an exchange last finished a re-sync from scratch (wall clock).
    pub resynced_at: Option<Timestamp>,
}

impl<E> Default for Status<E> {
    fn default() -> Self {
        Status {
            pending: 0,
            checkpoint: Position(0),
            online: false,
            syncing: false,
            leader: false,
            last_sync: None,
            last_error: None,
            held: Vec::new(),
            resynced_at: None,
        }
    }
}

/// How a failed exchange affects the schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureKind {
    /// The server could not be reached (`NETWORK`): `online` turns false; retried with backoff.
    Offline,
    /// Retrying cannot help: the token is refused (`UNAUTHORIZED`, `FORBIDDEN`) or the server
    /// speaks another protocol version (docs/sync-protocol.md §11). Background syncing stops;
    /// pending events are kept; `start()` begins again.
    Fatal,
    /// Anything else (a server error, a protocol error in one answer, a store failure):
    /// retried with backoff.
    Retry,
}

/// An exchange's error as the scheduler sees it: kept in [`Status::last_error`] and
/// classified. The browser driver wraps the JavaScript error it hands the app, so
/// `status.lastError` is the very object `now()` rejected with.
pub trait Failure: Clone {
    /// What this failure means for the schedule.
    fn kind(&self) -> FailureKind;
}

impl Failure for Error {
    fn kind(&self) -> FailureKind {
        match self {
            Error::Network { .. } => FailureKind::Offline,
            Error::Unauthorized { .. } | Error::Forbidden { .. } => FailureKind::Fatal,
            Error::Protocol { message }
                if message.contains(crate::sync::protocol::UNSUPPORTED_VERSION) =>
            {
                FailureKind::Fatal
            }
            _ => FailureKind::Retry,
        }
    }
}
