//! The server side of the protocol, in-process against a `MemoryStore`.

use super::*;
use crate::core::event::{EventId, EventType, NewEvent};
use crate::core::json::Json;
use crate::store::{contract::test_clock, MemoryStore, ReadAllOptions};
use crate::sync::protocol::{Checkpoint, StreamPush};
use futures::executor::block_on;

fn id() -> StoreId {
    StoreId::new("test-store").unwrap()
}

fn ev(n: u32) -> NewEvent {
    let mut b = [0u8; 16];
    b[..4].copy_from_slice(&n.to_be_bytes());
    NewEvent::new(
        EventId::from_bytes(b),
        EventType::new("E").unwrap(),
        Json::parse(format!("{n}")).unwrap(),
    )
}

fn sp(stream: &str, expected: ExpectedVersion, ns: std::ops::Range<u32>) -> StreamPush {
    StreamPush {
        stream: StreamId::new(stream).unwrap(),
        expected_version: expected,
        events: ns.map(ev).collect(),
    }
}

fn push_req(streams: Vec<StreamPush>) -> PushRequest {
    PushRequest::new(streams)
}

fn limits() -> ServeLimits {
    ServeLimits {
        default_pull: 3,
        max_pull: 4,
        max_push_events: 20,
        max_missing: 2,
        ..ServeLimits::default()
    }
}

fn access(read: &[&str], write: &[&str]) -> Access {
    Access {
        read: read.iter().map(|s| s.to_string()).collect(),
        write: write.iter().map(|s| s.to_string()).collect(),
    }
}

async fn everything(s: &MemoryStore) -> Vec<u64> {
    s.read_all(&ReadAllOptions::default())
        .await
        .unwrap()
        .iter()
        .map(|e| e.position.0)
        .collect()
}

#[test]
fn pulls_page_through_the_scope_without_gaps() {
    block_on(async {
        let s = MemoryStore::new(test_clock());
        let a = Access::all();
        for i in 0..5u32 {
            let stream = if i % 2 == 0 { "order-1" } else { "cart-1" };
            let r = push(
                &s,
                &id(),
                &a,
                push_req(vec![sp(stream, ExpectedVersion::Any, i..i + 1)]),
                &limits(),
            )
            .await
            .unwrap();
            assert!(matches!(r.results[0].outcome, PushOutcome::Ok(_)));
        }
        // Default limit 3, scope order- (positions 1, 3, 5).
        let mut req = PullRequest::new(None, vec!["order-".into()]);
        let p1 = pull(&s, &id(), &a, &req, &limits()).await.unwrap();
        assert_eq!(
            p1.events.iter().map(|e| e.position.0).collect::<Vec<_>>(),
            [1, 3, 5]
        );
        assert!(p1.more);
        assert_eq!(p1.checkpoint.position, Position(5));
        req.after = Some(p1.checkpoint);
        let p2 = pull(&s, &id(), &a, &req, &limits()).await.unwrap();
        assert!(p2.events.is_empty() && !p2.more);
        assert_eq!(p2.checkpoint.position, Position(5));
        // Limits are clamped to 1..=max_pull.
        let all = PullRequest {
            limit: Some(100),
            ..PullRequest::new(None, vec![])
        };
        assert_eq!(
            pull(&s, &id(), &a, &all, &limits())
                .await
                .unwrap()
                .events
                .len(),
            4
        );
        let zero = PullRequest {
            limit: Some(0),
            ..all
        };
        assert_eq!(
            pull(&s, &id(), &a, &zero, &limits())
                .await
                .unwrap()
                .events
                .len(),
            1
        );
    });
}

#[test]
fn checkpoints_of_other_stores_are_refused() {
    block_on(async {
        let s = MemoryStore::new(test_clock());
        let a = Access::all();
        let foreign = Checkpoint {
            store: StoreId::new("other").unwrap(),
            position: Position(0),
            mark: None,
        };
        let req = PullRequest::new(Some(foreign), vec![]);
        let err = pull(&s, &id(), &a, &req, &limits()).await.unwrap_err();
        assert_eq!(err.code(), "CHECKPOINT_MISMATCH");
        let beyond = Checkpoint {
            store: id(),
            position: Position(9),
            mark: None,
        };
        let req = PullRequest::new(Some(beyond), vec![]);
        assert_eq!(
            pull(&s, &id(), &a, &req, &limits())
                .await
                .unwrap_err()
                .code(),
            "CHECKPOINT_MISMATCH"
        );
    });
}

#[test]
fn pulls_see_only_readable_streams() {
    block_on(async {
        let s = MemoryStore::new(test_clock());
        let w = Access::all();
        push(
            &s,
            &id(),
            &w,
            push_req(vec![
                sp("order-1", ExpectedVersion::Any, 0..2),
                sp("user-1", ExpectedVersion::Any, 2..4),
            ]),
            &limits(),
        )
        .await
        .unwrap();
        let r = access(&["order-"], &[]);
        let page = pull(&s, &id(), &r, &PullRequest::new(None, vec![]), &limits())
            .await
            .unwrap();
        assert!(page.events.iter().all(|e| e.stream.as_str() == "order-1"));
        assert_eq!(page.events.len(), 2);
        assert_eq!(
            (page.checkpoint.position, page.head),
            (Position(2), Position(2)),
            "a narrow token stays at its last event: the head (4) would tell it others' writes"
        );
        let all = pull(&s, &id(), &w, &PullRequest::new(None, vec![]), &limits())
            .await
            .unwrap();
        assert_eq!(all.events.len(), 3, "limit 3");
        let wide = pull(
            &s,
            &id(),
            &w,
            &PullRequest::new(None, vec!["order-".into()]),
            &limits(),
        )
        .await
        .unwrap();
        assert_eq!(
            (wide.checkpoint.position, wide.head),
            (Position(4), Position(4)),
            "a token reading everything skips to the head"
        );
        let denied = pull(
            &s,
            &id(),
            &r,
            &PullRequest::new(None, vec!["user-".into()]),
            &limits(),
        )
        .await;
        assert_eq!(denied.unwrap_err().code(), "FORBIDDEN");
    });
}

#[test]
fn a_conflict_carries_the_missing_events_and_writes_nothing() {
    block_on(async {
        let s = MemoryStore::new(test_clock());
        let a = Access::all();
        push(
            &s,
            &id(),
            &a,
            push_req(vec![sp(
                "order-1",
                ExpectedVersion::Exact(Version(0)),
                0..4,
            )]),
            &limits(),
        )
        .await
        .unwrap();
        let before = everything(&s).await;
        // The client confirmed version 1 only and pushes two pending events, plus another stream.
        let req = push_req(vec![
            sp("order-1", ExpectedVersion::Exact(Version(1)), 10..12),
            sp("order-2", ExpectedVersion::NoStream, 12..13),
        ]);
        let r = push(&s, &id(), &a, req, &limits()).await.unwrap();
        let PushOutcome::Conflict(c) = &r.results[0].outcome else {
            panic!("{r:?}")
        };
        assert_eq!(c.actual, Version(4));
        assert_eq!(
            c.missing.iter().map(|e| e.version.0).collect::<Vec<_>>(),
            [2, 3]
        );
        assert!(c.more, "max_missing is 2 of 3 missing events");
        assert!(
            matches!(r.results[1].outcome, PushOutcome::Ok(_)),
            "other streams go on"
        );
        assert_eq!(everything(&s).await.len(), before.len() + 1);
        // A writer that may not read the stream learns the version, not the events.
        let blind = access(&[], &["order-"]);
        let r = push(
            &s,
            &id(),
            &blind,
            push_req(vec![sp(
                "order-1",
                ExpectedVersion::Exact(Version(1)),
                10..11,
            )]),
            &limits(),
        )
        .await
        .unwrap();
        let PushOutcome::Conflict(c) = &r.results[0].outcome else {
            panic!("{r:?}")
        };
        assert!(c.missing.is_empty() && c.more);
    });
}

#[test]
fn a_retried_push_is_idempotent_and_reused_ids_are_reported() {
    block_on(async {
        let s = MemoryStore::new(test_clock());
        let a = Access::all();
        let req = || {
            push_req(vec![sp(
                "order-1",
                ExpectedVersion::Exact(Version(0)),
                0..3,
            )])
        };
        let first = push(&s, &id(), &a, req(), &limits()).await.unwrap();
        let again = push(&s, &id(), &a, req(), &limits()).await.unwrap();
        assert_eq!(first, again);
        assert_eq!(everything(&s).await, [1, 2, 3]);
        let mut changed = req();
        changed.streams[0].events[1].data = Json::parse("\"other\"").unwrap();
        let r = push(&s, &id(), &a, changed, &limits()).await.unwrap();
        let PushOutcome::Error(e) = &r.results[0].outcome else {
            panic!("{r:?}")
        };
        assert_eq!(e.code, "EVENT_ID_CONFLICT");
        assert_eq!(everything(&s).await, [1, 2, 3]);
    });
}

#[test]
fn whole_pushes_are_refused_before_anything_is_written() {
    block_on(async {
        let s = MemoryStore::new(test_clock());
        let w = access(&[""], &["order-"]);
        let forbidden = push_req(vec![
            sp("order-1", ExpectedVersion::Any, 0..1),
            sp("user-1", ExpectedVersion::Any, 1..2),
        ]);
        assert_eq!(
            push(&s, &id(), &w, forbidden, &limits())
                .await
                .unwrap_err()
                .code(),
            "FORBIDDEN"
        );
        let too_many = push_req(vec![
            sp("order-1", ExpectedVersion::Any, 0..15),
            sp("order-2", ExpectedVersion::Any, 15..30),
        ]);
        assert_eq!(
            push(&s, &id(), &w, too_many, &limits())
                .await
                .unwrap_err()
                .code(),
            "INVALID_INPUT"
        );
        let mut bad = push_req(vec![
            sp("order-1", ExpectedVersion::Any, 0..1),
            sp("order-2", ExpectedVersion::Any, 1..3),
        ]);
        bad.streams[1].events[1].metadata = Json::parse("[]").unwrap();
        let err = push(&s, &id(), &w, bad, &limits()).await.unwrap_err();
        assert!(err.to_string().contains("streams[1]"), "{err}");
        let empty = push_req(vec![sp("order-1", ExpectedVersion::Any, 0..0)]);
        assert_eq!(
            push(&s, &id(), &w, empty, &limits())
                .await
                .unwrap_err()
                .code(),
            "INVALID_INPUT"
        );
        assert!(everything(&s).await.is_empty());
    });
}

#[test]
fn one_stream_reads_respect_access() {
    block_on(async {
        let s = MemoryStore::new(test_clock());
        push(
            &s,
            &id(),
            &Access::all(),
            push_req(vec![sp("order-1", ExpectedVersion::Any, 0..3)]),
            &limits(),
        )
        .await
        .unwrap();
        let r = access(&["order-"], &[]);
        let opts = ReadStreamOptions {
            from: Some(Version(2)),
            ..Default::default()
        };
        let got = read_stream(&s, &r, StreamId::new("order-1").unwrap(), &opts, &limits())
            .await
            .unwrap();
        assert_eq!((got.version, got.events.len()), (Version(3), 2));
        let err = read_stream(&s, &r, StreamId::new("user-1").unwrap(), &opts, &limits())
            .await
            .unwrap_err();
        assert_eq!(err.code(), "FORBIDDEN");
        assert_eq!(head_info(&s, &id()).await.unwrap().head, Position(3));
    });
}
