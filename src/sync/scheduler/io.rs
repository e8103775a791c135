//! What goes into the scheduler and what comes out: its settings, the ids it hands out, the
//! actions it asks its driver to perform and the events it has for the app.

use std::time::Duration;

use super::Backoff;
use crate::sync::client::Held;

/// The scheduler's settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// How long a leading instance waits after an exchange before pulling again when nothing
    /// else wakes it (`pollIntervalMs`, default 30 s).
    pub poll_interval: Duration,
    /// Retry delays after failures.
    pub backoff: Backoff,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            poll_interval: Duration::from_secs(30),
            backoff: Backoff::default(),
        }
    }
}

/// Names one exchange (one [`SyncClient::sync`](crate::sync::client::SyncClient::sync)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExchangeId(pub u64);

/// Names one request for the leader lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Lease(pub u64);

/// Names one read of the store's status; later reads have larger ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReadId(pub u64);

/// Something the driver must do (from [`Scheduler::poll_action`](super::Scheduler::poll_action)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Run one exchange; report its end with [`Scheduler::handle_exchange_finished`](super::Scheduler::handle_exchange_finished).
    Exchange(ExchangeId),
    /// Read the store's status ([`StoreStatus`](super::StoreStatus)); report it with
    /// [`Scheduler::handle_status_read`](super::Scheduler::handle_status_read).
    ReadStatus(ReadId),
    /// Ask for the leader lock (exclusive per store, across tabs); report with
    /// [`Scheduler::handle_leadership_gained`](super::Scheduler::handle_leadership_gained) / [`Scheduler::handle_leadership_lost`](super::Scheduler::handle_leadership_lost).
    RequestLeadership(Lease),
    /// Give the lock back, or withdraw the request if it is not granted yet. A lease the
    /// driver no longer knows needs nothing.
    ReleaseLeadership(Lease),
    /// Open the wake-up sources: the server's live stream (feed
    /// [`Scheduler::handle_live`](super::Scheduler::handle_live)) and the platform's `online` event
    /// ([`Scheduler::handle_online`](super::Scheduler::handle_online)).
    Watch,
    /// Close them.
    Unwatch,
}

/// Something to tell the app (from [`Scheduler::poll_event`](super::Scheduler::poll_event)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// [`Scheduler::status`](super::Scheduler::status) changed (reported once for the changes made since the last poll).
    StatusChanged,
    /// An exchange left this stream held by the `manual` strategy.
    Conflict(Held),
    /// The exchange's outcome may now be given to the callers of
    /// [`Scheduler::sync_now`](super::Scheduler::sync_now) that got this id (the status read after it has arrived).
    Settled(ExchangeId),
}
