//! The scheduler driven by hand with a fake clock: every input is an event, every output an
//! action, a timer or an app event; nothing runs and no time passes unless a test says so.

use std::time::Duration;

use super::*;
use crate::core::event::{StreamId, Version};
use crate::error::Error;
use crate::sync::client::Held;

const POLL: Duration = Duration::from_secs(30);
const WALL: Timestamp = Timestamp(1_700_000_000_000);

fn at(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

fn scheduler() -> Scheduler<Error> {
    scheduler_seeded(1)
}

fn scheduler_seeded(seed: u64) -> Scheduler<Error> {
    let mut s = Scheduler::new(Config::default(), seed);
    let read = read_of(&drain(&mut s));
    s.handle_status_read(read, Some(store(2, 10)));
    events(&mut s);
    s
}

fn store(pending: usize, checkpoint: u64) -> StoreStatus {
    StoreStatus {
        pending,
        checkpoint: Position(checkpoint),
        held: Vec::new(),
    }
}

fn drain(s: &mut Scheduler<Error>) -> Vec<Action> {
    std::iter::from_fn(|| s.poll_action()).collect()
}

fn events(s: &mut Scheduler<Error>) -> Vec<Event> {
    std::iter::from_fn(|| s.poll_event()).collect()
}

fn exchanges(actions: &[Action]) -> Vec<ExchangeId> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Exchange(id) => Some(*id),
            _ => None,
        })
        .collect()
}

fn exchange_of(actions: &[Action]) -> ExchangeId {
    match exchanges(actions)[..] {
        [id] => id,
        _ => panic!("expected one exchange in {actions:?}"),
    }
}

fn read_of(actions: &[Action]) -> ReadId {
    actions
        .iter()
        .rev()
        .find_map(|a| match a {
            Action::ReadStatus(r) => Some(*r),
            _ => None,
        })
        .unwrap_or_else(|| panic!("expected a status read in {actions:?}"))
}

fn lease_requested(actions: &[Action]) -> Lease {
    actions
        .iter()
        .find_map(|a| match a {
            Action::RequestLeadership(l) => Some(*l),
            _ => None,
        })
        .unwrap_or_else(|| panic!("expected a lock request in {actions:?}"))
}

/// Starts `s`, grants the lock and returns the first exchange it runs.
fn lead(s: &mut Scheduler<Error>) -> ExchangeId {
    lead_with_lease(s).1
}

/// Like [`lead`], also returning the lease held.
fn lead_with_lease(s: &mut Scheduler<Error>) -> (Lease, ExchangeId) {
    s.start();
    let lease = lease_requested(&drain(s));
    s.handle_leadership_gained(lease);
    let actions = drain(s);
    assert_eq!(actions[0], Action::Watch);
    assert!(s.status().leader && s.status().syncing);
    (lease, exchange_of(&actions))
}

fn ok(s: &mut Scheduler<Error>, id: ExchangeId, now: Instant) -> Vec<Action> {
    s.handle_exchange_finished(id, now, WALL, Ok(&SyncReport::default()));
    let actions = drain(s);
    let read = read_of(&actions);
    s.handle_status_read(read, Some(store(0, 10)));
    actions
}

fn failed(s: &mut Scheduler<Error>, id: ExchangeId, now: Instant, e: Error) -> Vec<Action> {
    s.handle_exchange_finished(id, now, WALL, Err(e));
    let actions = drain(s);
    let read = read_of(&actions);
    s.handle_status_read(read, Some(store(2, 10)));
    actions
}

fn offline() -> Error {
    Error::Network {
        message: "fetch failed".into(),
    }
}

fn store_id(id: &str) -> StoreId {
    StoreId::new(id).unwrap()
}

/// Leads, succeeds once at 0, and returns with the periodic timer set.
fn idle_leader() -> Scheduler<Error> {
    let mut s = scheduler();
    let id = lead(&mut s);
    ok(&mut s, id, at(0));
    events(&mut s);
    assert_eq!(s.poll_timeout(), Some(at(0) + POLL));
    s
}

#[test]
fn a_stopped_scheduler_only_reads_the_status() {
    let mut s = Scheduler::<Error>::new(Config::default(), 0);
    let read = read_of(&drain(&mut s));
    s.handle_status_read(read, Some(store(3, 7)));
    assert_eq!(events(&mut s), vec![Event::StatusChanged]);
    assert_eq!(
        (s.status().pending, s.status().checkpoint),
        (3, Position(7))
    );
    s.handle_pending_changed();
    s.handle_online();
    s.handle_live(Position(99), &store_id("s"));
    s.handle_timeout(at(u64::MAX));
    let actions = drain(&mut s);
    assert!(
        matches!(actions[..], [Action::ReadStatus(_)]),
        "{actions:?}"
    );
    assert_eq!(s.poll_timeout(), None);
    assert!(!s.status().leader && !s.status().syncing);
}

#[test]
fn pending_events_kick_a_sync_at_once() {
    let mut s = idle_leader();
    s.handle_pending_changed();
    let actions = drain(&mut s);
    assert!(matches!(actions[0], Action::ReadStatus(_)), "{actions:?}");
    let id = exchange_of(&actions);
    assert_eq!(s.poll_timeout(), None, "no timer while an exchange runs");
    assert!(s.status().syncing);
    ok(&mut s, id, at(1_000));
    assert_eq!(
        s.poll_timeout(),
        Some(at(1_000) + POLL),
        "the poll restarts"
    );
}

#[test]
fn pending_events_during_an_exchange_run_another_right_after() {
    let mut s = scheduler();
    let id = lead(&mut s);
    s.handle_pending_changed();
    s.handle_pending_changed();
    assert!(
        exchanges(&drain(&mut s)).is_empty(),
        "one exchange at a time"
    );
    let next = exchange_of(&ok(&mut s, id, at(10)));
    assert_ne!(next, id);
    let after = ok(&mut s, next, at(20));
    assert!(exchanges(&after).is_empty(), "once is enough");
    assert_eq!(s.poll_timeout(), Some(at(20) + POLL));
}

#[test]
fn periodic_pulls_every_poll_interval() {
    let mut s = Scheduler::<Error>::new(
        Config {
            poll_interval: Duration::from_millis(50),
            ..Config::default()
        },
        0,
    );
    drain(&mut s);
    let mut id = lead(&mut s);
    let mut now = 0;
    for round in 0..5 {
        ok(&mut s, id, at(now));
        let due = at(now + 50);
        assert_eq!(s.poll_timeout(), Some(due), "round {round}");
        s.handle_timeout(at(now + 49));
        assert!(exchanges(&drain(&mut s)).is_empty(), "not before it is due");
        now += 50 + round; // a timer may fire late
        s.handle_timeout(at(now));
        id = exchange_of(&drain(&mut s));
    }
}

#[test]
fn live_notifications_wake_it_for_new_positions_and_for_another_store() {
    let mut s = idle_leader();
    // The checkpoint is 10 (the last status read).
    s.handle_live(Position(10), &store_id("s-1"));
    assert!(drain(&mut s).is_empty(), "nothing new");
    s.handle_live(Position(11), &store_id("s-1"));
    let id = exchange_of(&drain(&mut s));
    ok(&mut s, id, at(5));
    s.handle_live(Position(3), &store_id("s-2"));
    let id = exchange_of(&drain(&mut s));
    ok(&mut s, id, at(6));
    s.handle_live(Position(3), &store_id("s-2"));
    assert!(drain(&mut s).is_empty(), "the same store again");
}

#[test]
fn backoff_grows_with_jitter_within_its_bounds_and_resets_after_success() {
    let backoff = Backoff::default();
    let nominal: Vec<u64> = (1..=9)
        .map(|n| backoff.nominal(n).as_millis() as u64)
        .collect();
    assert_eq!(
        nominal,
        [500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]
    );
    let mut low = [u64::MAX; 9];
    let mut high = [0; 9];
    for seed in 0..200 {
        let mut s = scheduler_seeded(seed);
        let mut id = lead(&mut s);
        let mut now = 0;
        for (i, d) in nominal.iter().enumerate() {
            failed(&mut s, id, at(now), offline());
            let due = s.poll_timeout().expect("a retry is scheduled");
            let delay = due.saturating_since(at(now)).as_millis() as u64;
            assert!(
                (d / 2..=*d).contains(&delay),
                "seed {seed}, failure {}: {delay} ms not in [{}, {d}]",
                i + 1,
                d / 2
            );
            low[i] = low[i].min(delay);
            high[i] = high[i].max(delay);
            s.handle_timeout(due);
            now = due.as_millis();
            id = exchange_of(&drain(&mut s));
        }
        // A success resets the backoff: the next failure waits [250, 500] ms again.
        ok(&mut s, id, at(now));
        assert_eq!(s.poll_timeout(), Some(at(now) + POLL));
        s.handle_timeout(at(now) + POLL);
        now += POLL.as_millis() as u64;
        id = exchange_of(&drain(&mut s));
        failed(&mut s, id, at(now), offline());
        let delay = s.poll_timeout().unwrap().saturating_since(at(now));
        assert!((250..=500).contains(&delay.as_millis()), "{delay:?}");
    }
    // The jitter really spreads the retries over the whole range.
    for (i, d) in nominal.iter().enumerate() {
        assert!(
            low[i] < d / 2 + d / 10,
            "failure {}: lowest {}",
            i + 1,
            low[i]
        );
        assert!(
            high[i] > d - d / 10,
            "failure {}: highest {}",
            i + 1,
            high[i]
        );
    }
}

#[test]
fn the_same_seed_draws_the_same_delays() {
    let delays = |seed| {
        let mut j = Jitter::new(seed);
        (1..20)
            .map(|n| Backoff::default().delay(n, &mut j))
            .collect::<Vec<_>>()
    };
    assert_eq!(delays(42), delays(42));
    assert_ne!(delays(42), delays(43));
}

#[test]
fn during_a_backoff_pending_events_wait_but_online_and_live_retry_at_once() {
    let mut s = scheduler();
    let id = lead(&mut s);
    failed(&mut s, id, at(0), offline());
    assert!(!s.status().online);
    let due = s.poll_timeout().unwrap();
    s.handle_pending_changed();
    assert!(
        exchanges(&drain(&mut s)).is_empty(),
        "the retry will push it"
    );
    assert_eq!(s.poll_timeout(), Some(due));
    s.handle_online();
    let id = exchange_of(&drain(&mut s));
    failed(&mut s, id, at(100), offline());
    assert!(s.poll_timeout().unwrap() >= at(100) + Duration::from_millis(500));
    s.handle_live(Position(11), &store_id("s"));
    let id = exchange_of(&drain(&mut s));
    ok(&mut s, id, at(200));
    assert!(s.status().online);
}

#[test]
fn coming_online_during_a_failing_exchange_retries_at_once() {
    let mut s = scheduler();
    let id = lead(&mut s);
    s.handle_online();
    let again = exchange_of(&failed(&mut s, id, at(0), offline()));
    s.handle_pending_changed();
    let actions = failed(&mut s, again, at(1), offline());
    assert!(exchanges(&actions).is_empty(), "pending events alone wait");
    assert!(s.poll_timeout().is_some());
}

fn fatal_errors() -> Vec<Error> {
    vec![
        Error::Unauthorized {
            message: "unknown token".into(),
        },
        Error::Forbidden {
            message: "scope cart-".into(),
        },
        Error::protocol("unsupported protocol version 2; this peer speaks version 1"),
    ]
}

#[test]
fn failures_are_classified() {
    for e in fatal_errors() {
        assert_eq!(e.kind(), FailureKind::Fatal, "{e}");
    }
    assert_eq!(offline().kind(), FailureKind::Offline);
    for e in [
        Error::protocol("a pull answer repeats position 4"),
        Error::storage("disk full"),
        Error::invalid("x"),
    ] {
        assert_eq!(e.kind(), FailureKind::Retry, "{e}");
    }
}

#[test]
fn fatal_errors_stop_the_loop_and_keep_pending_events() {
    for e in fatal_errors() {
        let mut s = idle_leader();
        s.handle_pending_changed();
        let actions = drain(&mut s);
        s.handle_status_read(read_of(&actions), Some(store(2, 10)));
        let id = exchange_of(&actions);
        s.handle_exchange_finished(id, at(7), WALL, Err(e.clone()));
        let actions = drain(&mut s);
        assert!(actions.contains(&Action::Unwatch), "{actions:?}");
        assert!(
            actions
                .iter()
                .any(|a| matches!(a, Action::ReleaseLeadership(_))),
            "{actions:?}"
        );
        assert!(exchanges(&actions).is_empty());
        s.handle_status_read(read_of(&actions), Some(store(2, 10)));
        let status = s.status();
        assert!(!s.is_started() && !status.leader && !status.syncing);
        assert_eq!(status.last_error.as_ref(), Some(&e));
        assert_eq!(status.pending, 2, "nothing pending dropped");
        assert_eq!(s.poll_timeout(), None, "no retry");
        s.handle_pending_changed();
        s.handle_online();
        s.handle_live(Position(50), &store_id("s"));
        assert!(exchanges(&drain(&mut s)).is_empty(), "stopped");
        // start() begins again.
        let id = lead(&mut s);
        ok(&mut s, id, at(8));
        assert_eq!(s.status().last_error, None);
    }
}

#[test]
fn a_transient_error_keeps_online_and_is_retried() {
    let mut s = idle_leader();
    s.handle_timeout(at(0) + POLL);
    let id = exchange_of(&drain(&mut s));
    failed(&mut s, id, at(30_000), Error::storage("server error"));
    assert!(s.status().online, "the server answered");
    assert!(s.is_started() && s.status().leader);
    assert!(s.poll_timeout().is_some());
}

#[test]
fn concurrent_now_calls_share_one_exchange_and_one_answer() {
    let mut s = scheduler();
    let a = s.sync_now();
    let b = s.sync_now();
    assert_eq!(a, b);
    let actions = drain(&mut s);
    assert_eq!(exchanges(&actions), vec![a]);
    s.handle_exchange_finished(a, at(1), WALL, Ok(&SyncReport::default()));
    let read = read_of(&drain(&mut s));
    assert!(
        !events(&mut s).contains(&Event::Settled(a)),
        "not before the status after it is known"
    );
    assert_eq!(
        s.sync_now(),
        a.max(s.sync_now()),
        "a new call after it ends starts anew"
    );
    let c = exchange_of(&drain(&mut s));
    assert_ne!(c, a);
    s.handle_status_read(read, Some(store(0, 12)));
    let ev = events(&mut s);
    assert_eq!(
        ev.iter().filter(|e| **e == Event::Settled(a)).count(),
        1,
        "{ev:?}"
    );
    assert_eq!(s.status().checkpoint, Position(12));
    assert!(s.status().syncing, "c still runs");
}

#[test]
fn a_status_read_from_before_the_exchange_ended_does_not_settle_it() {
    let mut s = scheduler();
    s.handle_pending_changed();
    let early = read_of(&drain(&mut s));
    let id = s.sync_now();
    drain(&mut s);
    s.handle_exchange_finished(id, at(1), WALL, Ok(&SyncReport::default()));
    let late = read_of(&drain(&mut s));
    // The late read answers first; the early one arrives after it and is stale.
    s.handle_status_read(late, Some(store(0, 20)));
    assert!(events(&mut s).contains(&Event::Settled(id)));
    s.handle_status_read(early, Some(store(5, 10)));
    assert_eq!(
        (s.status().pending, s.status().checkpoint),
        (0, Position(20))
    );
    assert!(events(&mut s).is_empty());
}

#[test]
fn a_failed_status_read_still_settles() {
    let mut s = scheduler();
    let id = s.sync_now();
    drain(&mut s);
    s.handle_exchange_finished(id, at(1), WALL, Err(offline()));
    let read = read_of(&drain(&mut s));
    s.handle_status_read(read, None);
    let ev = events(&mut s);
    assert!(ev.contains(&Event::Settled(id)), "{ev:?}");
    assert_eq!(s.status().pending, 2, "the last known value stays");
}

#[test]
fn status_changes_are_reported_once_per_poll() {
    let mut s = scheduler();
    let id = s.sync_now();
    drain(&mut s);
    let held = Held {
        stream: StreamId::new("cart-1").unwrap(),
        actual: Version(3),
    };
    let report = SyncReport {
        held: vec![held.clone()],
        resynced: true,
        ..SyncReport::default()
    };
    s.handle_exchange_finished(id, at(1), Timestamp(77), Ok(&report));
    let read = read_of(&drain(&mut s));
    let read_back = StoreStatus {
        pending: 1,
        checkpoint: Position(9),
        held: vec![held.clone()],
    };
    s.handle_status_read(read, Some(read_back.clone()));
    assert_eq!(
        events(&mut s),
        vec![
            Event::StatusChanged,
            Event::Conflict(held.clone()),
            Event::Settled(id)
        ]
    );
    let status = s.status();
    assert_eq!(status.last_sync, Some(Timestamp(77)));
    assert_eq!(status.resynced_at, Some(Timestamp(77)));
    assert_eq!(status.held, vec![held]);
    assert!(status.online && !status.syncing && !status.leader);
    // A read that changes nothing tells nobody.
    let read = s.read_status();
    s.handle_status_read(read, Some(read_back));
    assert_eq!(events(&mut s), vec![]);
}

#[test]
fn a_lost_lock_ends_background_work_and_is_asked_for_again() {
    let mut s = scheduler();
    let (held, id) = lead_with_lease(&mut s);
    ok(&mut s, id, at(0));
    s.handle_leadership_lost(Lease(999)); // not ours: ignored
    assert!(s.status().leader);
    s.handle_leadership_lost(held);
    let actions = drain(&mut s);
    assert_eq!(actions[0], Action::Unwatch);
    let again = lease_requested(&actions);
    assert!(!s.status().leader);
    assert_eq!(s.poll_timeout(), None);
    s.handle_pending_changed();
    assert!(exchanges(&drain(&mut s)).is_empty(), "not leading");
    s.handle_leadership_gained(again);
    let actions = drain(&mut s);
    assert_eq!(actions[0], Action::Watch);
    exchange_of(&actions);
    assert!(s.status().leader);
}

#[test]
fn losing_the_lock_mid_exchange_lets_the_exchange_end_without_scheduling() {
    let mut s = scheduler();
    let (lease, id) = lead_with_lease(&mut s);
    s.handle_leadership_lost(lease);
    let again = lease_requested(&drain(&mut s));
    let actions = ok(&mut s, id, at(3));
    assert!(exchanges(&actions).is_empty());
    assert_eq!(s.poll_timeout(), None);
    s.handle_leadership_gained(again);
    exchange_of(&drain(&mut s));
}

/// The Web Lock of one store, shared by several schedulers (tabs): granted to one holder at a
/// time, in request order.
#[derive(Default)]
struct FakeLock {
    holder: Option<(usize, Lease)>,
    queue: VecDeque<(usize, Lease)>,
}

impl FakeLock {
    /// Performs the lock actions of tab `tab`; returns the other actions.
    fn perform(&mut self, tabs: &mut [Scheduler<Error>], tab: usize) -> Vec<Action> {
        let mut other = Vec::new();
        while let Some(a) = tabs[tab].poll_action() {
            match a {
                Action::RequestLeadership(l) => self.queue.push_back((tab, l)),
                Action::ReleaseLeadership(l) => {
                    self.queue.retain(|q| *q != (tab, l));
                    if self.holder == Some((tab, l)) {
                        self.holder = None;
                    }
                }
                a => other.push(a),
            }
        }
        if self.holder.is_none() {
            if let Some((t, l)) = self.queue.pop_front() {
                self.holder = Some((t, l));
                tabs[t].handle_leadership_gained(l);
            }
        }
        other
    }
}

#[test]
fn one_tab_leads_and_hands_over_when_it_stops() {
    let mut tabs = vec![scheduler(), scheduler()];
    let mut lock = FakeLock::default();
    tabs[0].start();
    tabs[1].start();
    lock.perform(&mut tabs, 0);
    lock.perform(&mut tabs, 1);
    assert!(tabs[0].status().leader && !tabs[1].status().leader);
    let first = exchange_of(&lock.perform(&mut tabs, 0));
    assert!(exchanges(&lock.perform(&mut tabs, 1)).is_empty());
    // The follower's pending events only read its status; the leader pushes them.
    tabs[1].handle_pending_changed();
    assert!(exchanges(&lock.perform(&mut tabs, 1)).is_empty());
    tabs[0].handle_pending_changed();
    // The leader stops mid-exchange: it keeps the lock until the exchange ends.
    tabs[0].stop();
    lock.perform(&mut tabs, 0);
    assert!(tabs[0].status().leader && !tabs[1].status().leader);
    tabs[0].handle_exchange_finished(first, at(5), WALL, Ok(&SyncReport::default()));
    lock.perform(&mut tabs, 0);
    assert!(!tabs[0].status().leader);
    assert!(tabs[1].status().leader, "handed over");
    let actions = lock.perform(&mut tabs, 1);
    assert_eq!(actions[0], Action::Watch);
    exchange_of(&actions);
}

#[test]
fn stop_mid_sync_lets_the_exchange_finish_then_releases() {
    let mut s = scheduler();
    let id = lead(&mut s);
    s.handle_pending_changed(); // would ask for another exchange after this one
    drain(&mut s);
    s.stop();
    assert_eq!(drain(&mut s), vec![Action::Unwatch]);
    assert!(s.status().leader && s.status().syncing);
    let asked = s.sync_now();
    assert_eq!(asked, id, "a now() still joins it");
    let actions = ok(&mut s, id, at(4));
    assert!(
        matches!(
            actions[..],
            [Action::ReadStatus(_), Action::ReleaseLeadership(_)]
        ),
        "{actions:?}"
    );
    assert!(events(&mut s).contains(&Event::Settled(id)));
    assert!(!s.status().leader && !s.status().syncing);
    assert_eq!(s.poll_timeout(), None);
    s.handle_pending_changed();
    assert!(exchanges(&drain(&mut s)).is_empty());
    // now() still works when stopped.
    let id = s.sync_now();
    exchange_of(&drain(&mut s));
    ok(&mut s, id, at(5));
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn start_again_before_a_stopped_exchange_ends_keeps_the_lock() {
    let mut s = scheduler();
    let id = lead(&mut s);
    s.stop();
    s.start();
    assert_eq!(drain(&mut s), vec![Action::Unwatch, Action::Watch]);
    ok(&mut s, id, at(9));
    assert!(s.status().leader);
    assert_eq!(s.poll_timeout(), Some(at(9) + POLL));
}

#[test]
fn a_lock_granted_after_stop_is_given_back() {
    let mut s = scheduler();
    s.start();
    let lease = lease_requested(&drain(&mut s));
    s.stop();
    assert_eq!(drain(&mut s), vec![Action::ReleaseLeadership(lease)]);
    s.handle_leadership_gained(lease); // the grant raced the withdrawal
    assert_eq!(drain(&mut s), vec![Action::ReleaseLeadership(lease)]);
    assert!(!s.status().leader);
    // start() again asks with a new lease; the old one is ignored.
    s.start();
    let fresh = lease_requested(&drain(&mut s));
    assert_ne!(fresh, lease);
    s.handle_leadership_gained(lease);
    assert_eq!(drain(&mut s), vec![Action::ReleaseLeadership(lease)]);
    s.handle_leadership_gained(fresh);
    assert!(s.status().leader);
}

#[test]
fn a_failed_lock_request_leaves_background_syncing_off() {
    let mut s = scheduler();
    s.start();
    let lease = lease_requested(&drain(&mut s));
    s.handle_leadership_lost(lease);
    assert!(!s.is_started());
    assert!(drain(&mut s).is_empty());
    lead(&mut s);
}

#[test]
fn leadership_gained_during_a_now_syncs_again_after_it() {
    let mut s = scheduler();
    let id = s.sync_now();
    drain(&mut s);
    s.start();
    let lease = lease_requested(&drain(&mut s));
    s.handle_leadership_gained(lease);
    assert_eq!(drain(&mut s), vec![Action::Watch]);
    exchange_of(&ok(&mut s, id, at(1)));
}

#[test]
fn a_now_whose_callers_all_gave_up_is_cancelled_and_its_error_is_no_failure() {
    let mut s = scheduler();
    let id = s.sync_now();
    drain(&mut s);
    assert!(s.cancel_exchange(id), "only now() wanted it");
    assert!(!s.cancel_exchange(id), "once");
    assert!(!s.cancel_exchange(ExchangeId(id.0 + 100)), "not running");
    let actions = failed(&mut s, id, at(1), offline());
    assert!(exchanges(&actions).is_empty());
    assert!(events(&mut s).contains(&Event::Settled(id)));
    let status = s.status();
    assert!(
        status.last_error.is_none(),
        "an interrupted exchange is no failure"
    );
    assert!(!status.syncing);
    assert_eq!(s.poll_timeout(), None, "no backoff");
    // The next exchange counts failures from zero.
    let next = s.sync_now();
    assert_ne!(next, id);
    exchange_of(&drain(&mut s));
    ok(&mut s, next, at(2));
    assert!(s.status().online);
}

#[test]
fn a_cancelled_exchange_that_succeeded_anyway_counts_as_a_success() {
    let mut s = scheduler();
    let id = s.sync_now();
    drain(&mut s);
    assert!(s.cancel_exchange(id));
    ok(&mut s, id, at(1));
    assert!(s.status().online);
    assert_eq!(s.status().last_sync, Some(WALL));
}

#[test]
fn a_now_during_a_cancelled_exchange_gets_the_next_one() {
    let mut s = scheduler();
    let id = s.sync_now();
    drain(&mut s);
    assert!(s.cancel_exchange(id));
    let next = s.sync_now();
    assert_ne!(next, id, "a cancelled exchange is joined by no one");
    assert_eq!(s.sync_now(), next, "later calls share the queued one");
    assert!(
        exchanges(&drain(&mut s)).is_empty(),
        "one exchange at a time"
    );
    let actions = failed(&mut s, id, at(1), offline());
    assert_eq!(
        exchanges(&actions),
        vec![next],
        "it begins once the cancelled one ended"
    );
    assert!(s.status().syncing);
    assert!(s.cancel_exchange(next), "its callers may give up too");
}

#[test]
fn a_background_exchange_is_never_cancelled() {
    let mut s = scheduler();
    let id = lead(&mut s);
    assert_eq!(s.sync_now(), id);
    assert!(!s.cancel_exchange(id), "background syncing needs it");
    let actions = failed(&mut s, id, at(1), offline());
    assert!(exchanges(&actions).is_empty());
    assert!(s.status().last_error.is_some(), "its failure counts");
    assert!(s.poll_timeout().is_some(), "and is retried");
    // A now() that started before start() is not cancelled once background syncing is on.
    let mut s = scheduler();
    let id = s.sync_now();
    drain(&mut s);
    s.start();
    assert!(!s.cancel_exchange(id));
}
