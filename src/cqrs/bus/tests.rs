//! Tests of [`super`]: registration rules, middleware, context propagation, aggregates behind
//! the bus.
use super::*;
use crate::core::decider::Decider;
use crate::core::event::NewEvent;
use crate::core::json::Json;
use crate::cqrs::aggregate::Aggregate;
use crate::cqrs::aggregate::AggregateConfig;
use crate::cqrs::ids;
use crate::cqrs::model::{DeciderModel, IdSource};
use crate::cqrs::runtime::LocalBoxFuture;
use crate::error::Result;
use crate::store::contract::{sid, test_clock};
use crate::store::{EventStore, MemoryStore, ReadAllOptions, ReadStreamOptions};
use futures::executor::block_on;
use serde_json::{Map, Value};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

fn boxed<T: 'static>(v: Result<T>) -> LocalBoxFuture<'static, Result<T>> {
    Box::pin(std::future::ready(v))
}

fn ctx(name: &str) -> CommandContext {
    CommandContext::new(ids::derive(&[name]))
}

#[test]
fn one_handler_per_command_type_and_unknown_types_are_handler_not_found() {
    let bus: CommandBus<u32, u32> = CommandBus::new();
    let double = Rc::new(|n: u32, _: CommandContext| boxed(Ok(n * 2)));
    bus.register("Double", double.clone()).unwrap();
    let again = bus.register("Double", double.clone()).unwrap_err();
    assert_eq!(again.code(), "INVALID_INPUT");
    assert_eq!(
        bus.register("", double).unwrap_err().code(),
        "INVALID_INPUT"
    );
    assert_eq!(block_on(bus.dispatch("Double", 4, ctx("a"))).unwrap(), 8);
    let e = block_on(bus.dispatch("Nope", 4, ctx("a"))).unwrap_err();
    assert_eq!(e.code(), "HANDLER_NOT_FOUND");
    assert!(e.to_string().contains("\"Nope\""), "{e}");
    assert!(bus.handles("Double") && !bus.handles("Nope"));
}

struct Tag(&'static str, Rc<RefCell<Vec<String>>>);
impl Middleware<u32, u32> for Tag {
    fn handle(
        &self,
        command: u32,
        mut ctx: CommandContext,
        next: Next<u32, u32>,
    ) -> LocalBoxFuture<'static, Result<u32>> {
        let (name, log) = (self.0, self.1.clone());
        log.borrow_mut().push(format!("{name} in"));
        if command == 0 {
            return boxed(Err(Error::invalid(format!(
                "{name}: zero is not a command"
            ))));
        }
        ctx.metadata.insert(name.into(), true.into());
        Box::pin(async move {
            let r = next.run(command + 1, ctx).await;
            log.borrow_mut().push(format!("{name} out"));
            r
        })
    }
}

#[test]
fn middleware_runs_in_order_can_change_the_command_and_context_and_can_stop() {
    let bus: CommandBus<u32, u32> = CommandBus::new();
    let log = Rc::new(RefCell::new(Vec::new()));
    let seen = log.clone();
    bus.register(
        "Echo",
        Rc::new(move |n: u32, ctx: CommandContext| {
            seen.borrow_mut().push(format!(
                "handler {n} {:?}",
                ctx.metadata.keys().collect::<Vec<_>>()
            ));
            boxed(Ok(n))
        }),
    )
    .unwrap();
    bus.use_middleware(Rc::new(Tag("outer", log.clone())));
    bus.use_middleware(Rc::new(Tag("inner", log.clone())));
    assert_eq!(block_on(bus.dispatch("Echo", 1, ctx("m"))).unwrap(), 3);
    assert_eq!(
        *log.borrow(),
        [
            "outer in",
            "inner in",
            "handler 3 [\"inner\", \"outer\"]",
            "inner out",
            "outer out"
        ]
    );
    log.borrow_mut().clear();
    let e = block_on(bus.dispatch("Echo", 0, ctx("m"))).unwrap_err();
    assert_eq!(e.code(), "INVALID_INPUT");
    assert_eq!(*log.borrow(), ["outer in"], "the handler never ran");
}

#[test]
fn contexts_propagate_correlation_and_causation() {
    let first = ctx("first");
    assert_eq!(first.correlation_id, first.command_id.as_str());
    assert_eq!(first.causation_id, None);
    let second = first.child(ids::derive(&["second"]));
    assert_eq!(second.correlation_id, first.correlation_id);
    assert_eq!(
        second.causation_id.as_deref(),
        Some(first.command_id.as_str())
    );
    let m = second.event_metadata();
    assert_eq!(m["commandId"], second.command_id.as_str());
    assert_eq!(m["correlationId"], first.command_id.as_str());
    assert_eq!(m["causationId"], first.command_id.as_str());
}

#[test]
fn commands_a_handler_sends_get_derived_ids_and_its_conversation() {
    let parent = ctx("parent");
    let first = parent.dispatched(1, None);
    assert_eq!(
        first.command_id,
        ids::derive(&[parent.command_id.as_str(), "child", "1"]),
        "the id rule stays: a re-run sends the ids sent before"
    );
    assert_eq!(first, parent.dispatched(1, None));
    assert_ne!(first.command_id, parent.dispatched(2, None).command_id);
    assert_eq!(first.correlation_id, parent.correlation_id);
    assert_eq!(
        first.causation_id.as_deref(),
        Some(parent.command_id.as_str())
    );
    let by_event = parent.dispatched(1, Some("event-7".into()));
    assert_eq!(by_event.causation_id.as_deref(), Some("event-7"));
    assert_eq!(by_event.command_id, first.command_id);
}

#[test]
fn an_event_handler_context_joins_the_event_conversation_with_a_stable_id() {
    let store = MemoryStore::new(test_clock());
    let meta = Json::parse(r#"{"correlationId":"conv-1"}"#).unwrap();
    let e = NewEvent::new(
        ids::derive(&["e"]),
        crate::core::event::EventType::new("Paid").unwrap(),
        Json::null(),
    )
    .with_metadata(meta)
    .unwrap();
    block_on(store.append(
        &sid("order-1"),
        vec![e],
        crate::core::expected::ExpectedVersion::Any,
    ))
    .unwrap();
    let event = block_on(store.read_all(&ReadAllOptions::default())).unwrap()[0].clone();
    let c = CommandContext::handling("emails", &event);
    assert_eq!(c, CommandContext::handling("emails", &event));
    assert_ne!(
        c.command_id,
        CommandContext::handling("sms", &event).command_id
    );
    assert_eq!(c.correlation_id, "conv-1");
    assert_eq!(c.causation_id.as_deref(), Some(event.id.as_str()));
}

#[test]
fn what_a_foreign_handler_threw_keeps_the_codes_the_core_has() {
    let rejected = failure(
        Some("DECIDER_REJECTED"),
        "command rejected: sold out".into(),
    );
    assert_eq!(rejected.code(), "DECIDER_REJECTED");
    assert_eq!(
        rejected.to_string(),
        failure(Some("DECIDER_REJECTED"), "sold out".into()).to_string()
    );
    assert_eq!(
        failure(Some("STORE_CLOSED"), "x".into()).code(),
        "STORE_CLOSED"
    );
    assert_eq!(
        failure(Some("INVALID_INPUT"), "x".into()).code(),
        "INVALID_INPUT"
    );
    let other = failure(Some("QUOTA_EXCEEDED"), "full".into());
    assert_eq!(other.code(), "HANDLER_FAILED");
    assert!(
        other.to_string().contains("QUOTA_EXCEEDED: full"),
        "{other}"
    );
    assert_eq!(failure(None, "boom".into()).code(), "HANDLER_FAILED");
}

#[test]
fn register_all_registers_every_type_or_none() {
    let bus: CommandBus<u32, u32> = CommandBus::new();
    let h = Rc::new(|n: u32, _: CommandContext| boxed(Ok(n)));
    bus.register("B", h.clone()).unwrap();
    let types = |t: &[&str]| t.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    for bad in [types(&["A", "B"]), types(&["A", ""]), types(&["A", "A"])] {
        assert_eq!(
            bus.register_all(&bad, h.clone()).unwrap_err().code(),
            "INVALID_INPUT"
        );
        assert!(!bus.handles("A"), "{bad:?} registered nothing");
    }
    bus.register_all(&types(&["A", "C"]), h).unwrap();
    assert!(bus.handles("A") && bus.handles("C"));
}

#[test]
fn query_bus_routes_by_type() {
    let bus: QueryBus<&'static str, usize> = QueryBus::new();
    bus.register("Len", Rc::new(|q: &'static str| boxed(Ok(q.len()))))
        .unwrap();
    assert_eq!(
        bus.register("Len", Rc::new(|_: &'static str| boxed(Ok(0))))
            .unwrap_err()
            .code(),
        "INVALID_INPUT"
    );
    assert_eq!(block_on(bus.ask("Len", "four")).unwrap(), 4);
    assert_eq!(
        block_on(bus.ask("Count", "x")).unwrap_err().code(),
        "HANDLER_NOT_FOUND"
    );
}

/// A stock counter: reserve refuses to go below zero.
struct Stock;
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", content = "data")]
enum StockEvent {
    Reserved(u32),
}
impl Decider for Stock {
    type State = u32;
    type Command = (String, u32);
    type Event = StockEvent;
    type Error = String;
    fn initial_state() -> u32 {
        0
    }
    fn evolve(s: u32, e: &StockEvent) -> u32 {
        let StockEvent::Reserved(n) = e;
        s + n
    }
    fn decide(c: &(String, u32), s: &u32) -> std::result::Result<Vec<StockEvent>, String> {
        if s + c.1 > 10 {
            return Err("out of stock".into());
        }
        Ok(vec![StockEvent::Reserved(c.1)])
    }
}

fn random_ids() -> IdSource {
    Arc::new(|| ids::derive(&["random", &format!("{:?}", std::time::Instant::now())]))
}

fn stock_bus(store: Rc<MemoryStore>) -> CommandBus<(String, u32), u32> {
    let aggregate = Aggregate::new(
        Stamped(DeciderModel::<Stock>::new(random_ids())),
        AggregateConfig::new("stock"),
    )
    .unwrap();
    let handler = AggregateHandler::new(
        Rc::new(aggregate),
        store,
        Rc::new(|c: &(String, u32)| Ok(c.0.clone())),
        Rc::new(|done: Handled<u32>| match done {
            Handled::Executed(done) => Ok(done.state),
            Handled::Duplicate => Ok(u32::MAX),
        }),
    );
    let bus = CommandBus::new();
    bus.register("Reserve", Rc::new(handler)).unwrap();
    bus
}

#[test]
fn an_aggregate_behind_the_bus_stamps_context_metadata_and_derived_ids() {
    let store = Rc::new(MemoryStore::new(test_clock()));
    let bus = stock_bus(store.clone());
    let parent = ctx("checkout");
    let mut first = parent.child(ids::derive(&["reserve-1"]));
    first.metadata.insert("userId".into(), "u1".into());
    assert_eq!(
        block_on(bus.dispatch("Reserve", ("p1".into(), 3), first.clone())).unwrap(),
        3
    );
    let events =
        block_on(store.read_stream(&sid("stock-p1"), &ReadStreamOptions::default())).unwrap();
    let m: Map<String, Value> = events[0].metadata.decode().unwrap();
    assert_eq!(m["commandId"], first.command_id.as_str());
    assert_eq!(m["correlationId"], parent.command_id.as_str());
    assert_eq!(m["causationId"], parent.command_id.as_str());
    assert_eq!(m["userId"], "u1");
    assert_eq!(events[0].id, ids::event_id(&first.command_id, 0));

    // The same command id again cannot append its events a second time, whether the decider
    // now decides the same events (their ids conflict) or rejects (the state moved on).
    let before = block_on(store.read_all(&ReadAllOptions::default())).unwrap();
    let again = block_on(bus.dispatch("Reserve", ("p1".into(), 3), first.clone())).unwrap();
    assert_eq!(again, u32::MAX, "a duplicate");
    let refused = block_on(bus.dispatch("Reserve", ("p1".into(), 9), first)).unwrap();
    assert_eq!(
        refused,
        u32::MAX,
        "a duplicate, though the decider would reject it now"
    );
    // A rejected command appends nothing.
    let rejected = block_on(bus.dispatch("Reserve", ("p1".into(), 9), ctx("big"))).unwrap_err();
    assert_eq!(rejected.code(), "DECIDER_REJECTED");
    assert_eq!(
        block_on(store.read_all(&ReadAllOptions::default())).unwrap(),
        before
    );
}
