//! Tests of [`super`] and of the runner in [`super::run`]: the order flow (create
//! order, reserve stock, wait for payment, confirm) with compensations, crashes and deadlines.
use super::*;
use crate::core::event::NewEvent;
use crate::core::expected::ExpectedVersion;
use crate::cqrs::bus::CommandContext;
use crate::cqrs::runtime::{LocalBoxFuture, Runtime, VirtualClock};
use crate::cqrs::saga::run::{Blocked, SagaEffects, SagaPolicy, SagaRunner};
use crate::store::contract::{sid, test_clock};
use crate::store::{EventStore, MemoryStore, ReadStreamOptions};
use futures::executor::block_on;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

const STEPS: [&str; 4] = ["create", "reserve", "payment", "confirm"];

fn shape() -> SagaShape {
    let step = |name: &str, kind| StepShape {
        name: name.into(),
        kind,
    };
    SagaShape {
        name: "checkout".into(),
        steps: vec![
            step("create", StepKind::Command { compensate: true }),
            step("reserve", StepKind::Command { compensate: true }),
            step(
                "payment",
                StepKind::Await {
                    event_type: EventType::new("PaymentReceived").unwrap(),
                    timeout_ms: Some(15 * 60_000),
                },
            ),
            step("confirm", StepKind::Command { compensate: false }),
        ],
        compensation_attempts: 3,
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Fault {
    /// The command is rejected (nothing appended).
    Reject,
    /// The command commits, then the tab closes before its outcome is recorded.
    CrashAfterCommit,
    /// The tab closes before the command runs.
    CrashBefore,
    /// The command never settles.
    Hang,
}

/// Faults to inject per (step, compensation?): the fault and how many times.
type Faults = HashMap<(usize, bool), (Fault, u32)>;

/// Commands append one event to `effects-<saga>` stamped with the context, like an aggregate
/// behind the bus, and are counted.
#[derive(Clone)]
struct Effects {
    store: Rc<MemoryStore>,
    calls: Rc<RefCell<Vec<String>>>,
    faults: Rc<RefCell<Faults>>,
}

impl Effects {
    fn new(store: Rc<MemoryStore>) -> Self {
        Effects {
            store,
            calls: Rc::default(),
            faults: Rc::default(),
        }
    }
    fn fault(&self, step: usize, compensate: bool, fault: Fault, times: u32) {
        self.faults
            .borrow_mut()
            .insert((step, compensate), (fault, times));
    }
    fn committed(&self) -> Vec<String> {
        let events = block_on(
            self.store
                .read_all(&crate::store::ReadAllOptions::default()),
        )
        .unwrap();
        events
            .iter()
            .filter(|e| e.stream.as_str().starts_with("effects-"))
            .map(|e| e.event_type.as_str().to_owned())
            .collect()
    }
}

impl SagaEffects for Effects {
    fn dispatch(
        &self,
        saga: &SagaState,
        step: usize,
        compensate: bool,
        ctx: CommandContext,
    ) -> LocalBoxFuture<'static, Result<Json>> {
        let name = format!("{}{}", if compensate { "undo-" } else { "" }, STEPS[step]);
        self.calls.borrow_mut().push(name.clone());
        let fault = {
            let mut faults = self.faults.borrow_mut();
            match faults.get_mut(&(step, compensate)) {
                Some((f, n)) if *n > 0 => {
                    *n -= 1;
                    Some(*f)
                }
                _ => None,
            }
        };
        let (store, stream) = (self.store.clone(), sid(&format!("effects-{}", saga.id)));
        Box::pin(async move {
            match fault {
                Some(Fault::Reject) => {
                    return Err(Error::DeciderRejected {
                        message: format!("{name} refused"),
                    })
                }
                Some(Fault::CrashBefore) => {
                    return Err(Error::StoreClosed {
                        reason: "tab closed".into(),
                    })
                }
                Some(Fault::Hang) => std::future::pending::<()>().await,
                _ => {}
            }
            let event = NewEvent::new(
                ids::derive(&["x"]),
                EventType::new(&name)?,
                Json::from_value(&name)?,
            );
            let events = ctx.stamp(vec![event])?;
            store.append(&stream, events, ExpectedVersion::Any).await?;
            if fault == Some(Fault::CrashAfterCommit) {
                return Err(Error::StoreClosed {
                    reason: "tab closed".into(),
                });
            }
            Ok(Json::from_value(&format!("{name} ok"))?)
        })
    }

    fn matches(&self, saga: &SagaState, _step: usize, event: &RecordedEvent) -> Result<bool> {
        let order: String = event.data.decode()?;
        Ok(order == saga.id)
    }
}

fn runner(effects: &Effects) -> SagaRunner<Effects> {
    let policy = SagaPolicy {
        step_timeout_ms: 1000,
        backoff_ms: 10,
        max_backoff_ms: 100,
    };
    SagaRunner::new(shape(), effects.clone(), policy).unwrap()
}

fn pay(store: &MemoryStore, order: &str) {
    let e = NewEvent::new(
        ids::derive(&["pay", order]),
        EventType::new("PaymentReceived").unwrap(),
        Json::from_value(order).unwrap(),
    );
    block_on(store.append(&sid("payment-1"), vec![e], ExpectedVersion::Any)).unwrap();
}

fn saga_types(store: &MemoryStore, id: &str) -> Vec<String> {
    block_on(store.read_stream(
        &sid(&format!("$saga-checkout-{id}")),
        &ReadStreamOptions::default(),
    ))
    .unwrap()
    .iter()
    .map(|e| e.event_type.as_str().to_owned())
    .collect()
}

#[test]
fn shapes_are_checked() {
    let mut s = shape();
    s.steps[1].name = "create".into();
    assert_eq!(s.check().unwrap_err().code(), "INVALID_INPUT");
    let mut s = shape();
    s.steps.clear();
    assert!(s.check().is_err());
    let mut s = shape();
    s.compensation_attempts = 0;
    assert!(s.check().is_err());
    assert!(shape().stream("").is_err());
}

#[test]
fn the_order_flow_runs_every_step_once_in_order_and_waits_for_payment() {
    let store = Rc::new(MemoryStore::new(test_clock()));
    let fx = Effects::new(store.clone());
    let r = runner(&fx);
    let clock = VirtualClock::at(0);
    assert!(block_on(r.start(&*store, "o1", Json::from_value("o1").unwrap(), None)).unwrap());
    assert!(
        !block_on(r.start(&*store, "o1", Json::null(), None)).unwrap(),
        "started once"
    );
    assert_eq!(
        block_on(r.advance(&*store, &clock, "o1")).unwrap(),
        Blocked::Waiting(Some(15 * 60_000))
    );
    assert_eq!(*fx.calls.borrow(), ["create", "reserve"]);
    // The payment of another order does not count.
    pay(&store, "o2");
    assert!(matches!(
        block_on(r.advance(&*store, &clock, "o1")).unwrap(),
        Blocked::Waiting(_)
    ));
    pay(&store, "o1");
    assert_eq!(
        block_on(r.advance(&*store, &clock, "o1")).unwrap(),
        Blocked::Finished(SagaStatus::Completed)
    );
    assert_eq!(*fx.calls.borrow(), ["create", "reserve", "confirm"]);
    assert_eq!(fx.committed(), ["create", "reserve", "confirm"]);
    let state = block_on(r.load(&*store, "o1")).unwrap().unwrap();
    assert_eq!(state.status, SagaStatus::Completed);
    assert_eq!(
        state.results[1].as_ref().unwrap().as_str(),
        "\"reserve ok\""
    );
    assert!(state.results[2]
        .as_ref()
        .unwrap()
        .as_str()
        .contains("PaymentReceived"));
    // The step's events carry the saga's correlation id and deterministic command ids.
    let effects =
        block_on(store.read_stream(&sid("effects-o1"), &ReadStreamOptions::default())).unwrap();
    let m: serde_json::Map<String, serde_json::Value> = effects[0].metadata.decode().unwrap();
    let stream = shape().stream("o1").unwrap();
    assert_eq!(
        m["commandId"],
        shape().command_id(&stream, 0, false).as_str()
    );
    assert_eq!(m["correlationId"], state.correlation_id.as_str());
    assert_eq!(
        saga_types(&store, "o1"),
        [
            "SagaStarted",
            "StepStarted",
            "StepCompleted",
            "StepStarted",
            "StepCompleted",
            "StepStarted",
            "StepCompleted",
            "StepStarted",
            "StepCompleted",
            "SagaCompleted"
        ]
    );
    assert_eq!(
        block_on(r.advance(&*store, &clock, "o1")).unwrap(),
        Blocked::Finished(SagaStatus::Completed),
        "a finished saga does nothing more"
    );
    assert_eq!(fx.calls.borrow().len(), 3);
}

#[test]
fn a_rejected_step_compensates_the_completed_steps_in_reverse_order() {
    let store = Rc::new(MemoryStore::new(test_clock()));
    let fx = Effects::new(store.clone());
    fx.fault(3, false, Fault::Reject, 1);
    let r = runner(&fx);
    let clock = VirtualClock::at(0);
    block_on(r.start(&*store, "o1", Json::from_value("o1").unwrap(), None)).unwrap();
    pay(&store, "o1");
    assert_eq!(
        block_on(r.advance(&*store, &clock, "o1")).unwrap(),
        Blocked::Finished(SagaStatus::Compensated)
    );
    assert_eq!(
        *fx.calls.borrow(),
        [
            "create",
            "reserve",
            "confirm",
            "undo-reserve",
            "undo-create"
        ]
    );
    let state = block_on(r.load(&*store, "o1")).unwrap().unwrap();
    assert_eq!(state.failure.unwrap().code, "DECIDER_REJECTED");
    assert_eq!(state.compensated, [1, 0]);
}

#[test]
fn a_payment_deadline_fires_after_a_reload_and_compensates() {
    let store = Rc::new(MemoryStore::new(test_clock()));
    let fx = Effects::new(store.clone());
    let clock = VirtualClock::at(1_000);
    block_on(runner(&fx).start(&*store, "o1", Json::from_value("o1").unwrap(), None)).unwrap();
    assert_eq!(
        block_on(runner(&fx).advance(&*store, &clock, "o1")).unwrap(),
        Blocked::Waiting(Some(1_000 + 15 * 60_000))
    );
    clock.advance(15 * 60_000 - 1);
    assert!(matches!(
        block_on(runner(&fx).advance(&*store, &clock, "o1")).unwrap(),
        Blocked::Waiting(_)
    ));
    // A new runner (a reload) finds the deadline in the log.
    clock.advance(1);
    assert_eq!(
        block_on(runner(&fx).advance(&*store, &clock, "o1")).unwrap(),
        Blocked::Finished(SagaStatus::Compensated)
    );
    assert_eq!(
        *fx.calls.borrow(),
        ["create", "reserve", "undo-reserve", "undo-create"]
    );
    let state = block_on(runner(&fx).load(&*store, "o1")).unwrap().unwrap();
    assert_eq!(state.failure.unwrap().code, "HANDLER_TIMEOUT");
}

#[test]
fn a_step_committed_before_the_tab_closed_is_not_run_again() {
    for (step, compensate) in [(0, false), (1, false), (1, true)] {
        let store = Rc::new(MemoryStore::new(test_clock()));
        let fx = Effects::new(store.clone());
        fx.fault(step, compensate, Fault::CrashAfterCommit, 1);
        let clock = VirtualClock::at(0);
        block_on(runner(&fx).start(&*store, "o1", Json::from_value("o1").unwrap(), None)).unwrap();
        if compensate {
            fx.fault(3, false, Fault::Reject, 1);
            pay(&store, "o1");
        }
        let e = block_on(runner(&fx).advance(&*store, &clock, "o1")).unwrap_err();
        assert_eq!(e.code(), "STORE_CLOSED");
        // A new tab resumes the saga: the step in doubt is found in the log.
        if !compensate {
            pay(&store, "o1");
        }
        let done = block_on(runner(&fx).advance(&*store, &clock, "o1")).unwrap();
        let calls = fx.calls.borrow().clone();
        let committed = fx.committed();
        for name in &committed {
            assert_eq!(
                committed.iter().filter(|c| *c == name).count(),
                1,
                "{name} committed once (case {step} {compensate}): {committed:?}"
            );
        }
        if compensate {
            assert_eq!(done, Blocked::Finished(SagaStatus::Compensated));
            assert_eq!(
                calls,
                [
                    "create",
                    "reserve",
                    "confirm",
                    "undo-reserve",
                    "undo-create"
                ]
            );
            assert_eq!(
                committed,
                ["create", "reserve", "undo-reserve", "undo-create"]
            );
        } else {
            assert_eq!(done, Blocked::Finished(SagaStatus::Completed));
            assert_eq!(
                calls,
                ["create", "reserve", "confirm"][..calls.len()].to_vec()
            );
            assert_eq!(committed, ["create", "reserve", "confirm"]);
        }
    }
}

#[test]
fn a_step_started_but_not_run_before_the_tab_closed_runs_once_after() {
    let store = Rc::new(MemoryStore::new(test_clock()));
    let fx = Effects::new(store.clone());
    fx.fault(1, false, Fault::CrashBefore, 1);
    let clock = VirtualClock::at(0);
    block_on(runner(&fx).start(&*store, "o1", Json::from_value("o1").unwrap(), None)).unwrap();
    assert!(block_on(runner(&fx).advance(&*store, &clock, "o1")).is_err());
    pay(&store, "o1");
    block_on(runner(&fx).advance(&*store, &clock, "o1")).unwrap();
    assert_eq!(fx.committed(), ["create", "reserve", "confirm"]);
}

#[test]
fn a_failing_compensation_is_retried_then_parked_until_retried_or_skipped() {
    let store = Rc::new(MemoryStore::new(test_clock()));
    let fx = Effects::new(store.clone());
    fx.fault(3, false, Fault::Reject, 1);
    fx.fault(1, true, Fault::Reject, 5);
    let r = runner(&fx);
    let clock = VirtualClock::at(0);
    block_on(r.start(&*store, "o1", Json::from_value("o1").unwrap(), None)).unwrap();
    pay(&store, "o1");
    assert_eq!(
        block_on(r.advance(&*store, &clock, "o1")).unwrap(),
        Blocked::Parked
    );
    let undo = |fx: &Effects| {
        fx.calls
            .borrow()
            .iter()
            .filter(|c| *c == "undo-reserve")
            .count()
    };
    assert_eq!(undo(&fx), 3, "three attempts");
    assert!(clock.now().0 >= 10 + 20, "with backoff between attempts");
    let state = block_on(r.load(&*store, "o1")).unwrap().unwrap();
    assert_eq!(state.status, SagaStatus::Parked);
    assert_eq!(state.parked_step(&shape()), Some(1));
    let sh = shape();
    let view = state.view(&sh).unwrap();
    assert_eq!(
        (view.id, view.status, view.parked_step),
        ("o1", SagaStatus::Parked, Some("reserve"))
    );
    let done: Vec<&String> = view.results.keys().collect();
    assert_eq!(
        done,
        ["create", "payment", "reserve"],
        "results by step name"
    );
    assert!(view.compensated.is_empty());
    assert_eq!(view.failure.as_ref().unwrap().code, "DECIDER_REJECTED");
    let text = Json::from_value(&view).unwrap();
    assert!(
        text.as_str()
            .starts_with(r#"{"compensated":[],"compensationError":{"code":"DECIDER_REJECTED""#)
            && text
                .as_str()
                .contains(r#""parkedStep":"reserve","results":{"create":"#),
        "camelCase fields in name order: {}",
        text.as_str()
    );
    assert_eq!(
        state.compensation_error.unwrap().code,
        "DECIDER_REJECTED",
        "the parked error is visible"
    );
    assert!(
        !fx.calls.borrow().contains(&"undo-create".to_string()),
        "waits"
    );
    // Parked: advancing does nothing.
    assert_eq!(
        block_on(r.advance(&*store, &clock, "o1")).unwrap(),
        Blocked::Parked
    );
    assert_eq!(undo(&fx), 3);
    // Retry: two more failures are left, then it succeeds on the third attempt.
    block_on(r.retry(&*store, "o1")).unwrap();
    assert_eq!(
        block_on(r.advance(&*store, &clock, "o1")).unwrap(),
        Blocked::Finished(SagaStatus::Compensated)
    );
    assert_eq!(undo(&fx), 6);
    assert_eq!(
        fx.committed()
            .iter()
            .filter(|c| *c == "undo-reserve")
            .count(),
        1
    );
    assert_eq!(
        fx.committed()
            .iter()
            .filter(|c| *c == "undo-create")
            .count(),
        1
    );
    assert_eq!(
        block_on(r.retry(&*store, "o1")).unwrap_err().code(),
        "INVALID_INPUT"
    );
}

#[test]
fn skipping_a_parked_compensation_goes_on_with_the_others() {
    let store = Rc::new(MemoryStore::new(test_clock()));
    let fx = Effects::new(store.clone());
    fx.fault(3, false, Fault::Reject, 1);
    fx.fault(1, true, Fault::Reject, u32::MAX);
    let r = runner(&fx);
    let clock = VirtualClock::at(0);
    block_on(r.start(&*store, "o1", Json::from_value("o1").unwrap(), None)).unwrap();
    pay(&store, "o1");
    assert_eq!(
        block_on(r.advance(&*store, &clock, "o1")).unwrap(),
        Blocked::Parked
    );
    block_on(r.skip(&*store, "o1")).unwrap();
    assert_eq!(
        block_on(r.advance(&*store, &clock, "o1")).unwrap(),
        Blocked::Finished(SagaStatus::Compensated)
    );
    assert_eq!(fx.committed(), ["create", "reserve", "undo-create"]);
    let types = saga_types(&store, "o1");
    assert!(types.contains(&"CompensationSkipped".to_string()));
}

#[test]
fn a_step_that_never_settles_times_out_and_compensates() {
    let store = Rc::new(MemoryStore::new(test_clock()));
    let fx = Effects::new(store.clone());
    fx.fault(1, false, Fault::Hang, 1);
    let r = runner(&fx);
    let clock = VirtualClock::at(0);
    block_on(r.start(&*store, "o1", Json::from_value("o1").unwrap(), None)).unwrap();
    assert_eq!(
        block_on(r.advance(&*store, &clock, "o1")).unwrap(),
        Blocked::Finished(SagaStatus::Compensated)
    );
    assert_eq!(*fx.calls.borrow(), ["create", "reserve", "undo-create"]);
    let state = block_on(r.load(&*store, "o1")).unwrap().unwrap();
    assert_eq!(state.failure.unwrap().code, "HANDLER_TIMEOUT");
}

#[test]
fn the_runner_finds_unfinished_sagas_and_two_runners_never_record_one_step_twice() {
    let store = Rc::new(MemoryStore::new(test_clock()));
    let fx = Effects::new(store.clone());
    let (a, b) = (runner(&fx), runner(&fx));
    let clock = VirtualClock::at(0);
    for id in ["o1", "o2"] {
        block_on(a.start(&*store, id, Json::from_value(id).unwrap(), None)).unwrap();
    }
    assert_eq!(block_on(b.active(&*store)).unwrap(), ["o1", "o2"]);
    pay(&store, "o1");
    block_on(a.advance(&*store, &clock, "o1")).unwrap();
    block_on(b.advance(&*store, &clock, "o1")).unwrap();
    assert_eq!(block_on(b.active(&*store)).unwrap(), ["o2"]);
    assert_eq!(fx.committed(), ["create", "reserve", "confirm"]);
    // A stale state (read before the other runner moved on) cannot be recorded on top.
    let stale = block_on(a.load(&*store, "o2")).unwrap().unwrap();
    block_on(b.advance(&*store, &clock, "o2")).unwrap();
    let version = block_on(store.stream_version(&sid("$saga-checkout-o2"))).unwrap();
    assert!(version > stale.version);
    assert_eq!(stale.next(&shape()), Action::StartStep(0));
    let again = block_on(a.advance(&*store, &clock, "o2")).unwrap();
    assert!(matches!(again, Blocked::Waiting(_)));
    assert_eq!(
        saga_types(&store, "o2")
            .iter()
            .filter(|t| *t == "StepStarted")
            .count(),
        3
    );
    let _ = clock.now();
}
