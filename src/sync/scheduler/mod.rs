//! When to sync: the scheduler behind `store.sync()`'s `now()`, `start()` and `stop()`, as a
//! pure state machine in the shape of quinn-proto's `Connection` (STYLE.md §10).
//!
//! The [`Scheduler`] never performs I/O and never reads a clock. Its driver (the browser's in
//! `src/wasm/sync/`, a fake clock in the tests) feeds it what happened through `handle_*`
//! methods and commands through [`start`](Scheduler::start), [`stop`](Scheduler::stop) and
//! [`sync_now`](Scheduler::sync_now), then asks what to do:
//! - [`poll_action`](Scheduler::poll_action): run an exchange ([`SyncClient::sync`]), read the
//!   store's status, ask for or give back the leader lock, open or close the wake-up sources
//!   (the server's live stream and the platform's `online` event);
//! - [`poll_timeout`](Scheduler::poll_timeout): when to call
//!   [`handle_timeout`](Scheduler::handle_timeout) next;
//! - [`poll_event`](Scheduler::poll_event): what to tell the app (the status changed, a stream
//!   is held, an exchange's callers may be answered).
//!
//! The rules (docs/sync.md, "Background syncing"):
//! - `start()` asks for the leader lock ([`Action::RequestLeadership`]); one instance per store
//!   holds it. Holding it, the scheduler watches the wake-up sources and syncs at once, then
//!   whenever pending events change (here or in another tab), the live stream announces a head
//!   beyond the checkpoint or another server store, the platform comes back online, and
//!   `poll_interval` after the last exchange.
//! - A failed exchange is retried after a [`Backoff`] delay with jitter; a success resets it.
//!   During a backoff, new pending events wait for the retry; coming back online or a live
//!   notification (the server is evidently there) retry at once.
//! - A [`FailureKind::Fatal`] failure (refused token, another protocol version) stops
//!   background syncing and gives the lock back; nothing pending is touched.
//! - Losing the lock (another tab stole it) ends the background work; the scheduler asks for
//!   the lock again and takes over when it is handed back.
//! - `sync_now()` joins the exchange running now, if any, so concurrent calls share one
//!   exchange and one answer. An exchange's callers are answered ([`Event::Settled`]) once the
//!   store's status read after it has arrived, so the app never sees the answer before the
//!   status that goes with it.
//! - A `now()` caller may give up ([`cancel_exchange`](Scheduler::cancel_exchange), an
//!   `AbortSignal`): when no caller waits any more and background syncing is off, the driver
//!   interrupts the exchange at its next request (what it stored stays, consistent). Its error
//!   then counts as no failure (no backoff, `lastError` unchanged), and a `sync_now()` made
//!   before it ended gets a fresh exchange once it has. With background syncing on, the
//!   exchange is never cancelled.
//! - `stop()` closes the wake-up sources and cancels the timer at once; an exchange in flight
//!   finishes, and the lock is given back after it (no other tab syncs while it runs).
//!
//! ```
//! use std::time::Duration;
//! use eventfold::sync::client::SyncReport;
//! use eventfold::sync::scheduler::{Action, Config, Instant, Scheduler};
//! use eventfold::{Error, Timestamp};
//!
//! let config = Config { poll_interval: Duration::from_secs(30), ..Config::default() };
//! let mut s: Scheduler<Error> = Scheduler::new(config, 7);
//! let t0 = Instant::from_millis(0);
//! assert!(matches!(s.poll_action(), Some(Action::ReadStatus(_))), "the first status");
//! s.start();
//! let Some(Action::RequestLeadership(lease)) = s.poll_action() else { panic!() };
//! s.handle_leadership_gained(lease);
//! assert!(s.status().leader);
//! // Leading: watch the live stream and `online`, and sync at once.
//! assert_eq!(s.poll_action(), Some(Action::Watch));
//! let Some(Action::Exchange(id)) = s.poll_action() else { panic!() };
//! assert_eq!(s.sync_now(), id, "a now() meanwhile joins the running exchange");
//! s.handle_exchange_finished(id, t0, Timestamp(1_700_000_000_000), Ok(&SyncReport::default()));
//! // Next: read the store's status, then a periodic pull in 30 s.
//! assert!(matches!(s.poll_action(), Some(Action::ReadStatus(_))));
//! assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(30)));
//! ```
//!
//! [`SyncClient::sync`]: crate::sync::client::SyncClient::sync

mod backoff;
mod callers;
mod io;
mod status;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;

pub use backoff::{Backoff, Jitter};
pub use callers::{Callers, Ticket};
pub use io::{Action, Config, Event, ExchangeId, Lease, ReadId};
pub use status::{Failure, FailureKind, Instant, Status, StoreStatus};

use crate::core::event::{Position, Timestamp};
use crate::sync::client::SyncReport;
use crate::sync::protocol::StoreId;

/// What woke the scheduler.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Wake {
    /// Pending events changed: waits for a running backoff.
    Pending,
    /// Back online, or the live stream spoke: retries at once, even during a backoff.
    Reachable,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Leadership {
    None,
    Requested(Lease),
    Held(Lease),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Timer {
    at: Instant,
    backoff: bool,
}

/// The sync scheduler (see the module docs). `E` is the error type of failed exchanges.
#[derive(Debug)]
pub struct Scheduler<E> {
    config: Config,
    jitter: Jitter,
    /// `start()` was called and not undone by `stop()` or a fatal failure.
    started: bool,
    leadership: Leadership,
    watching: bool,
    exchange: Option<ExchangeId>,
    /// The running exchange is being cancelled (see [`cancel_exchange`](Self::cancel_exchange)).
    cancelled: bool,
    /// The exchange promised to a `sync_now()` made while a cancelled one still ran.
    queued: Option<ExchangeId>,
    /// The strongest wake-up that came while an exchange ran.
    woken: Option<Wake>,
    timer: Option<Timer>,
    /// Failed exchanges in a row.
    failures: u32,
    /// Finished exchanges waiting for the status read issued after them.
    settling: Vec<(ExchangeId, ReadId)>,
    /// The newest status read applied.
    applied: Option<ReadId>,
    /// The server store the live stream named last.
    live_store: Option<StoreId>,
    status: Status<E>,
    status_changed: bool,
    next_id: u64,
    actions: VecDeque<Action>,
    events: VecDeque<Event>,
}

impl<E: Failure> Scheduler<E> {
    /// A stopped scheduler whose backoff jitter is drawn from a generator seeded with `seed`.
    /// Its first action reads the store's status.
    pub fn new(config: Config, seed: u64) -> Self {
        let mut s = Scheduler {
            config,
            jitter: Jitter::new(seed),
            started: false,
            leadership: Leadership::None,
            watching: false,
            exchange: None,
            cancelled: false,
            queued: None,
            woken: None,
            timer: None,
            failures: 0,
            settling: Vec::new(),
            applied: None,
            live_store: None,
            status: Status::default(),
            status_changed: false,
            next_id: 0,
            actions: VecDeque::new(),
            events: VecDeque::new(),
        };
        s.read_status();
        s
    }

    /// The status now.
    pub fn status(&self) -> &Status<E> {
        &self.status
    }

    /// Whether background syncing is on (`start()` and no `stop()` or fatal failure since).
    pub fn is_started(&self) -> bool {
        self.started
    }

    /// The next thing to do, in order.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called next (`None`: no timer).
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timer.map(|t| t.at)
    }

    /// The next thing to tell the app: a status change first, then the others in order.
    pub fn poll_event(&mut self) -> Option<Event> {
        if std::mem::take(&mut self.status_changed) {
            return Some(Event::StatusChanged);
        }
        self.events.pop_front()
    }

    /// Runs an exchange now, or joins the one running: returns the exchange whose
    /// [`Event::Settled`] answers this call. While a cancelled exchange still runs, it is the
    /// one that begins after it.
    pub fn sync_now(&mut self) -> ExchangeId {
        match self.exchange {
            Some(_) if self.cancelled => match self.queued {
                Some(id) => id,
                None => {
                    let id = ExchangeId(self.next());
                    self.queued = Some(id);
                    id
                }
            },
            Some(id) => id,
            None => self.begin_exchange(),
        }
    }

    /// Every caller of exchange `id` gave up: returns whether the driver may interrupt it,
    /// which is when it runs now for `sync_now()` alone (background syncing is off). Once
    /// cancelled, its failure is no failure (see [`handle_exchange_finished`](Self::handle_exchange_finished)).
    pub fn cancel_exchange(&mut self, id: ExchangeId) -> bool {
        if self.exchange != Some(id) || self.started || self.cancelled {
            return false;
        }
        self.cancelled = true;
        true
    }

    /// Turns background syncing on: asks for the leader lock (or, if this instance still holds
    /// it while a stopped exchange finishes, keeps it and carries on).
    pub fn start(&mut self) {
        if self.started {
            return;
        }
        self.started = true;
        match self.leadership {
            Leadership::None => self.request_leadership(),
            Leadership::Requested(_) => {}
            Leadership::Held(_) => {
                self.watch(true);
                if self.exchange.is_none() {
                    self.begin_exchange();
                }
            }
        }
    }

    /// Turns background syncing off: closes the wake-up sources, cancels the timer, withdraws
    /// the lock request or gives the lock back (after the exchange running now, if any).
    pub fn stop(&mut self) {
        if !self.started {
            return;
        }
        self.started = false;
        self.timer = None;
        self.woken = None;
        self.watch(false);
        match self.leadership {
            Leadership::None => {}
            Leadership::Requested(lease) => {
                self.leadership = Leadership::None;
                self.actions.push_back(Action::ReleaseLeadership(lease));
            }
            Leadership::Held(_) if self.exchange.is_some() => {} // released when it ends
            Leadership::Held(lease) => self.release(lease),
        }
    }

    /// The lock asked for with `lease` is held now.
    pub fn handle_leadership_gained(&mut self, lease: Lease) {
        if self.leadership != Leadership::Requested(lease) || !self.started {
            // Withdrawn (stop) or superseded: give it back.
            self.actions.push_back(Action::ReleaseLeadership(lease));
            return;
        }
        self.leadership = Leadership::Held(lease);
        self.set_leader(true);
        self.watch(true);
        match self.exchange {
            Some(_) => self.woken = Some(Wake::Reachable),
            None => {
                self.begin_exchange();
            }
        }
    }

    /// The lock of `lease` was taken away (stolen by another tab), or its request failed.
    /// A lost lock is asked for again while background syncing is on; a failed request is not
    /// retried (until the next `start()`).
    pub fn handle_leadership_lost(&mut self, lease: Lease) {
        match self.leadership {
            Leadership::Held(l) if l == lease => {
                self.leadership = Leadership::None;
                self.set_leader(false);
                self.watch(false);
                self.timer = None;
                self.woken = None;
                if self.started {
                    self.request_leadership();
                }
            }
            Leadership::Requested(l) if l == lease => {
                self.leadership = Leadership::None;
                self.started = false;
            }
            _ => {}
        }
    }

    /// Pending events changed, in this instance or another one: read the status again, and
    /// sync (unless a backoff runs: the retry will push them).
    pub fn handle_pending_changed(&mut self) {
        self.read_status();
        self.wake(Wake::Pending);
    }

    /// The platform says the network is back: sync at once, even during a backoff.
    pub fn handle_online(&mut self) {
        self.wake(Wake::Reachable);
    }

    /// The live stream announced the server's `head` in `store`: sync if it is beyond the
    /// checkpoint, or if the store is not the one announced before (the server was reset or
    /// replaced: the next exchange re-syncs).
    pub fn handle_live(&mut self, head: Position, store: &StoreId) {
        let other_store = self.live_store.as_ref().is_some_and(|s| s != store);
        if self.live_store.as_ref() != Some(store) {
            self.live_store = Some(store.clone());
        }
        if head > self.status.checkpoint || other_store {
            self.wake(Wake::Reachable);
        }
    }

    /// The timer asked for by [`poll_timeout`](Self::poll_timeout) may have expired.
    pub fn handle_timeout(&mut self, now: Instant) {
        match self.timer {
            Some(t) if t.at <= now => {
                self.timer = None;
                if self.is_leading() && self.exchange.is_none() {
                    self.begin_exchange();
                }
            }
            _ => {}
        }
    }

    /// Exchange `id` ended at `now` (monotonic) / `wall` (Unix ms) with `result`.
    pub fn handle_exchange_finished(
        &mut self,
        id: ExchangeId,
        now: Instant,
        wall: Timestamp,
        result: Result<&SyncReport, E>,
    ) {
        let mut cancelled = false;
        if self.exchange == Some(id) {
            self.exchange = None;
            cancelled = std::mem::take(&mut self.cancelled);
            self.set(|s| &mut s.syncing, false);
        }
        let woken = self.woken.take();
        let retry_at_once = match result {
            // Interrupted for its callers, who all left: neither a success nor a failure.
            Err(_) if cancelled => woken.is_some(),
            Ok(report) => {
                self.failures = 0;
                self.set(|s| &mut s.online, true);
                self.status.last_sync = Some(wall);
                self.status.last_error = None;
                if report.resynced {
                    self.status.resynced_at = Some(wall);
                }
                self.status_changed = true;
                self.events
                    .extend(report.held.iter().cloned().map(Event::Conflict));
                woken.is_some()
            }
            Err(e) => {
                let kind = e.kind();
                self.failures = self.failures.saturating_add(1);
                if kind == FailureKind::Offline {
                    self.set(|s| &mut s.online, false);
                }
                self.status.last_error = Some(e);
                self.status_changed = true;
                if kind == FailureKind::Fatal {
                    self.stop();
                }
                woken == Some(Wake::Reachable)
            }
        };
        let read = self.read_status();
        self.settling.push((id, read));
        if let Some(queued) = self.queued.take() {
            self.run_exchange(queued);
        }
        match self.leadership {
            Leadership::Held(lease) if !self.started => self.release(lease),
            Leadership::Held(_) if self.exchange.is_none() => {
                if retry_at_once {
                    self.begin_exchange();
                } else if self.failures == 0 {
                    self.timer = Some(Timer {
                        at: now + self.config.poll_interval,
                        backoff: false,
                    });
                } else {
                    let delay = self.config.backoff.delay(self.failures, &mut self.jitter);
                    self.timer = Some(Timer {
                        at: now + delay,
                        backoff: true,
                    });
                }
            }
            _ => {}
        }
    }

    /// The store status read `read` answered (`None`: the read failed, e.g. the store closed).
    /// An answer older than one applied already is not applied; every exchange waiting for
    /// this read or an earlier one is settled.
    pub fn handle_status_read(&mut self, read: ReadId, store: Option<StoreStatus>) {
        if let Some(store) = store {
            if self.applied.is_none_or(|a| read > a) {
                self.applied = Some(read);
                self.set(|s| &mut s.pending, store.pending);
                self.set(|s| &mut s.checkpoint, store.checkpoint);
                self.set(|s| &mut s.held, store.held);
            }
        }
        let (done, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.settling)
            .into_iter()
            .partition(|(_, r)| *r <= read);
        self.settling = waiting;
        self.events
            .extend(done.into_iter().map(|(id, _)| Event::Settled(id)));
    }

    /// Reserves the id of a status read the driver performs on its own (after changing
    /// pending events itself, e.g. `resolve()`, to answer with the new status); report it with
    /// [`handle_status_read`](Self::handle_status_read) like any other.
    pub fn reserve_read(&mut self) -> ReadId {
        ReadId(self.next())
    }

    /// Asks for a read of the store's status; returns its id.
    fn read_status(&mut self) -> ReadId {
        let read = self.reserve_read();
        self.actions.push_back(Action::ReadStatus(read));
        read
    }

    fn next(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn is_leading(&self) -> bool {
        self.started && matches!(self.leadership, Leadership::Held(_))
    }

    fn wake(&mut self, why: Wake) {
        if !self.is_leading() {
            return;
        }
        if self.exchange.is_some() {
            self.woken = self.woken.max(Some(why));
            return;
        }
        if why == Wake::Pending && self.timer.is_some_and(|t| t.backoff) {
            return;
        }
        self.begin_exchange();
    }

    fn begin_exchange(&mut self) -> ExchangeId {
        let id = ExchangeId(self.next());
        self.run_exchange(id)
    }

    fn run_exchange(&mut self, id: ExchangeId) -> ExchangeId {
        self.exchange = Some(id);
        self.timer = None;
        self.woken = None;
        self.set(|s| &mut s.syncing, true);
        self.actions.push_back(Action::Exchange(id));
        id
    }

    fn request_leadership(&mut self) {
        let lease = Lease(self.next());
        self.leadership = Leadership::Requested(lease);
        self.actions.push_back(Action::RequestLeadership(lease));
    }

    fn release(&mut self, lease: Lease) {
        self.leadership = Leadership::None;
        self.set_leader(false);
        self.actions.push_back(Action::ReleaseLeadership(lease));
    }

    fn set_leader(&mut self, leader: bool) {
        self.set(|s| &mut s.leader, leader);
    }

    fn watch(&mut self, on: bool) {
        if self.watching != on {
            self.watching = on;
            self.actions
                .push_back(if on { Action::Watch } else { Action::Unwatch });
        }
    }

    /// Sets one status field, noting a change.
    fn set<T: PartialEq>(&mut self, field: fn(&mut Status<E>) -> &mut T, value: T) {
        let slot = field(&mut self.status);
        if *slot != value {
            *slot = value;
            self.status_changed = true;
        }
    }
}
