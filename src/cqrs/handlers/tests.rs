//! Tests of [`super`]: delivery order, checkpoint, retries, time-outs, dead letters.
use super::*;
use crate::core::event::NewEvent;
use crate::cqrs::runtime::VirtualClock;
use crate::store::contract::{sid, test_clock};
use crate::store::MemoryStore;
use futures::executor::block_on;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

#[derive(Clone, Default)]
struct Recorder {
    /// Positions handled successfully, in call order.
    done: Rc<RefCell<Vec<u64>>>,
    /// Calls per position, successful or not.
    calls: Rc<RefCell<HashMap<u64, u32>>>,
    /// Failures still to give per position (u32::MAX: always).
    fail: Rc<RefCell<HashMap<u64, u32>>>,
    /// Positions whose call never settles.
    hang: Rc<RefCell<Vec<u64>>>,
}

impl EventHandler for Recorder {
    fn handle(&self, event: &RecordedEvent) -> LocalBoxFuture<'static, Result<()>> {
        let p = event.position.0;
        *self.calls.borrow_mut().entry(p).or_default() += 1;
        if self.hang.borrow().contains(&p) {
            return Box::pin(std::future::pending());
        }
        if let Some(n) = self.fail.borrow_mut().get_mut(&p) {
            if *n > 0 {
                *n = n.saturating_sub(1);
                return Box::pin(std::future::ready(Err(Error::HandlerFailed {
                    message: format!("boom at {p}"),
                })));
            }
        }
        self.done.borrow_mut().push(p);
        Box::pin(std::future::ready(Ok(())))
    }
}

fn store_with(types: &[&str]) -> MemoryStore {
    let store = MemoryStore::new(test_clock());
    for (i, t) in types.iter().enumerate() {
        let e = NewEvent::new(
            ids::derive(&["test", &i.to_string()]),
            EventType::new(t).unwrap(),
            Json::null(),
        );
        block_on(store.append(&sid(&format!("order-{i}")), vec![e], ExpectedVersion::Any)).unwrap();
    }
    store
}

fn runner(h: &Recorder, types: &[&str], policy: HandlerPolicy) -> HandlerRunner<Recorder> {
    let filter = EventFilter {
        types: Some(types.iter().map(|t| EventType::new(t).unwrap()).collect()),
        ..EventFilter::default()
    };
    HandlerRunner::new("emails", h.clone(), filter, policy).unwrap()
}

fn policy(max_attempts: u32) -> HandlerPolicy {
    HandlerPolicy {
        max_attempts,
        backoff_ms: 100,
        max_backoff_ms: 1000,
        timeout_ms: 500,
        page_size: 2,
    }
}

#[test]
fn delivers_its_types_in_position_order_and_resumes_from_the_checkpoint() {
    let store = store_with(&["A", "B", "A", "A", "C", "A"]);
    let clock = VirtualClock::at(0);
    let h = Recorder::default();
    let r = runner(&h, &["A", "C"], policy(3));
    assert_eq!(block_on(r.pass(&store, &clock)).unwrap(), Pass::CaughtUp);
    assert_eq!(*h.done.borrow(), [1, 3, 4, 5, 6]);
    assert_eq!(
        block_on(r.progress(&store)).unwrap().checkpoint,
        Position(6)
    );

    // A new runner (another tab, a reload) resumes after the checkpoint: nothing twice.
    let again = runner(&h, &["A", "C"], policy(3));
    let e = NewEvent::new(
        ids::derive(&["late"]),
        EventType::new("A").unwrap(),
        Json::null(),
    );
    block_on(store.append(&sid("order-x"), vec![e], ExpectedVersion::Any)).unwrap();
    block_on(again.pass(&store, &clock)).unwrap();
    assert_eq!(*h.done.borrow(), [1, 3, 4, 5, 6, 7]);
    assert!(
        h.calls.borrow().values().all(|n| *n == 1),
        "each event once"
    );
}

#[test]
fn a_failing_event_is_retried_with_backoff_and_holds_back_later_events() {
    let store = store_with(&["A", "A", "A"]);
    let clock = VirtualClock::at(10_000);
    let h = Recorder::default();
    h.fail.borrow_mut().insert(2, 2);
    let r = runner(&h, &["A"], policy(5));
    assert_eq!(
        block_on(r.pass(&store, &clock)).unwrap(),
        Pass::RetryAt(10_100)
    );
    assert_eq!(*h.done.borrow(), [1], "event 3 waits for event 2");
    let p = block_on(r.progress(&store)).unwrap();
    assert_eq!(p.checkpoint, Position(1));
    let failing = p.failing.unwrap();
    assert_eq!((failing.position, failing.attempts), (Position(2), 1));
    assert!(failing.error.contains("boom at 2"));

    // Not due yet: nothing is called.
    assert_eq!(
        block_on(r.pass(&store, &clock)).unwrap(),
        Pass::RetryAt(10_100)
    );
    assert_eq!(h.calls.borrow()[&2], 1);
    clock.advance(100);
    assert_eq!(
        block_on(r.pass(&store, &clock)).unwrap(),
        Pass::RetryAt(10_300),
        "the second wait is twice as long"
    );
    clock.advance(200);
    assert_eq!(block_on(r.pass(&store, &clock)).unwrap(), Pass::CaughtUp);
    assert_eq!(*h.done.borrow(), [1, 2, 3]);
    assert_eq!(h.calls.borrow()[&2], 3);
    assert!(block_on(r.dead_letters(&store)).unwrap().is_empty());
}

#[test]
fn backoff_doubles_up_to_the_cap() {
    let p = policy(9);
    let waits: Vec<u64> = (1..=6).map(|a| p.backoff(a)).collect();
    assert_eq!(waits, [100, 200, 400, 800, 1000, 1000]);
    assert_eq!(HandlerPolicy::default().backoff(100), 60_000);
}

#[test]
fn after_max_attempts_the_event_is_parked_and_can_be_retried_or_skipped() {
    let store = store_with(&["A", "A", "A", "A"]);
    let clock = VirtualClock::at(0);
    let h = Recorder::default();
    h.fail.borrow_mut().insert(2, u32::MAX);
    h.fail.borrow_mut().insert(3, 3);
    let r = runner(&h, &["A"], policy(3));
    let signal = Signal::new();
    // Drive passes until caught up (the virtual clock sleeps instantly).
    let mut passes = 0;
    while let Pass::RetryAt(at) = block_on(r.pass(&store, &clock)).unwrap() {
        clock.advance(u64::try_from(at - clock.now().0).unwrap_or(0));
        passes += 1;
        assert!(passes < 20);
    }
    drop(signal);
    assert_eq!(
        *h.done.borrow(),
        [1, 4],
        "2 and 3 parked, 4 handled after them"
    );
    assert_eq!(h.calls.borrow()[&2], 3);
    assert_eq!(h.calls.borrow()[&3], 3);
    let letters = block_on(r.dead_letters(&store)).unwrap();
    assert_eq!(
        letters.iter().map(|l| l.position.0).collect::<Vec<_>>(),
        [2, 3]
    );
    assert_eq!(letters[0].attempts, 3);
    assert_eq!(letters[0].stream, sid("order-1"));
    assert!(letters[0].error.contains("boom at 2"));

    // Retrying 2 fails again: still parked, one more attempt counted.
    let e = block_on(r.retry_dead_letter(&store, &clock, Position(2))).unwrap_err();
    assert_eq!(e.code(), "HANDLER_FAILED");
    assert_eq!(block_on(r.dead_letters(&store)).unwrap()[0].attempts, 4);
    // Retrying 3 succeeds now (its failures ran out): it leaves the list.
    block_on(r.retry_dead_letter(&store, &clock, Position(3))).unwrap();
    assert_eq!(*h.done.borrow(), [1, 4, 3]);
    // Skipping 2 drops it without handling.
    block_on(r.skip_dead_letter(&store, Position(2))).unwrap();
    assert!(block_on(r.dead_letters(&store)).unwrap().is_empty());
    assert_eq!(
        block_on(r.skip_dead_letter(&store, Position(2)))
            .unwrap_err()
            .code(),
        "INVALID_INPUT"
    );
}

#[test]
fn a_handler_that_never_settles_times_out_and_is_retried_then_parked() {
    let store = store_with(&["A", "A"]);
    let clock = VirtualClock::at(0);
    let h = Recorder::default();
    h.hang.borrow_mut().push(1);
    let r = runner(&h, &["A"], policy(2));
    assert_eq!(
        block_on(r.pass(&store, &clock)).unwrap(),
        Pass::RetryAt(600)
    );
    let failing = block_on(r.progress(&store)).unwrap().failing.unwrap();
    assert!(
        failing.error.contains("did not settle within 500 ms"),
        "{}",
        failing.error
    );
    assert_eq!(clock.now().0, 500, "the time limit elapsed");
    clock.advance(100);
    assert_eq!(block_on(r.pass(&store, &clock)).unwrap(), Pass::CaughtUp);
    assert_eq!(*h.done.borrow(), [2]);
    assert_eq!(h.calls.borrow()[&1], 2);
    assert_eq!(
        block_on(r.dead_letters(&store)).unwrap()[0].position,
        Position(1)
    );
}

#[test]
fn parking_again_after_a_crash_does_not_park_twice() {
    let store = store_with(&["A"]);
    let clock = VirtualClock::at(0);
    let h = Recorder::default();
    h.fail.borrow_mut().insert(1, u32::MAX);
    let r = runner(&h, &["A"], policy(1));
    block_on(r.pass(&store, &clock)).unwrap();
    // A crash before the checkpoint was saved: the progress is lost, the event fails again.
    block_on(store.delete_state("handler:emails")).unwrap();
    block_on(r.pass(&store, &clock)).unwrap();
    assert_eq!(h.calls.borrow()[&1], 2, "at-least-once: delivered again");
    assert_eq!(block_on(r.dead_letters(&store)).unwrap().len(), 1);
    let stream = r.dead_letter_stream().unwrap();
    assert_eq!(
        block_on(store.stream_version(&stream)).unwrap(),
        crate::core::event::Version(1)
    );
}

#[test]
fn run_follows_new_events_until_stopped() {
    let store = Rc::new(store_with(&["A"]));
    let clock = VirtualClock::at(0);
    let h = Recorder::default();
    let r = Rc::new(runner(&h, &["A"], policy(3)));
    let signal = Signal::new();
    let mut pool = futures::executor::LocalPool::new();
    use futures::task::LocalSpawnExt;
    let (s2, r2, sig2, c2) = (store.clone(), r.clone(), signal.clone(), clock.clone());
    pool.spawner()
        .spawn_local(async move { r2.run(&*s2, &c2, &sig2, &|_| {}).await })
        .unwrap();
    pool.run_until_stalled();
    assert_eq!(*h.done.borrow(), [1]);
    let e = NewEvent::new(
        ids::derive(&["n"]),
        EventType::new("A").unwrap(),
        Json::null(),
    );
    block_on(store.append(&sid("order-9"), vec![e], ExpectedVersion::Any)).unwrap();
    pool.run_until_stalled();
    assert_eq!(*h.done.borrow(), [1, 2], "woken by the append");
    signal.stop();
    pool.run_until_stalled();
    assert_eq!(pool.run_until_stalled(), (), "the run ended");
}

#[test]
fn dead_letter_events_as_stored_read_back_and_write_the_same_bytes() {
    let id = "6f1c2b84-5d3e-5a07-9b52-0e61c47d1093";
    let stored = [
        (
            "EventParked",
            format!(
                r#"{{"position":7,"eventId":"{id}","stream":"order-1","type":"OrderPlaced","attempts":5,"error":"handler failed: \"x\""}}"#
            ),
        ),
        (
            "DeadLetterRetried",
            r#"{"position":7,"ok":false,"error":"boom"}"#.to_owned(),
        ),
        (
            "DeadLetterRetried",
            r#"{"position":7,"ok":true,"error":null}"#.to_owned(),
        ),
        ("DeadLetterSkipped", r#"{"position":7}"#.to_owned()),
    ];
    for (event_type, data) in stored {
        let event_type = EventType::new(event_type).unwrap();
        let event = dead::read(&event_type, &Json::parse(data.clone()).unwrap()).unwrap();
        let again = to_event(crate::cqrs::ids::derive(&["d"]), &event).unwrap();
        assert_eq!(
            (&again.event_type, again.data.as_str()),
            (&event_type, data.as_str())
        );
    }
    let bad = [
        ("EventParked", r#"{"position":7}"#),
        ("DeadLetterRetried", r#"{"position":7,"ok":"yes"}"#),
        ("DeadLetterSkipped", r#"{"position":-1}"#),
        ("Other", "{}"),
    ];
    for (event_type, data) in bad {
        let event_type = EventType::new(event_type).unwrap();
        assert!(dead::read(&event_type, &Json::parse(data).unwrap()).is_err());
    }
}

#[test]
fn progress_reads_what_it_saves_and_rejects_what_the_derived_reader_rejected() {
    let failing = Failing {
        position: Position(9),
        event_id: crate::cqrs::ids::derive(&["e"]),
        attempts: 3,
        retry_at: -7,
        error: "handler failed: \"x\"".into(),
    };
    for p in [
        HandlerProgress::default(),
        HandlerProgress {
            checkpoint: Position(8),
            failing: Some(failing),
        },
    ] {
        let json = Json::from_value(&p).unwrap();
        assert_eq!(HandlerProgress::read(&json).unwrap(), p);
    }
    let id = crate::cqrs::ids::derive(&["e"]);
    for text in [
        r#"{"checkpoint":4}"#.to_owned(),
        r#"{"failing":null,"checkpoint":4,"other":[1]}"#.to_owned(),
        r#"{"checkpoint":4,"failing":{"position":5}}"#.to_owned(),
        format!(
            r#"{{"checkpoint":4,"failing":{{"position":5,"eventId":"{id}","attempts":1,"retryAt":2,"error":"e"}}}}"#
        ),
        format!(
            r#"{{"checkpoint":4,"failing":{{"position":5,"eventId":"{id}","attempts":-1,"retryAt":2,"error":"e"}}}}"#
        ),
        r#"{"checkpoint":-4}"#.to_owned(),
        r#"{"failing":null}"#.to_owned(),
        "[]".to_owned(),
        "null".to_owned(),
    ] {
        let json = Json::parse(text.clone()).unwrap();
        let derived: Option<HandlerProgress> = json.decode().ok();
        assert_eq!(HandlerProgress::read(&json).ok(), derived, "{text}");
    }
}
