//! The pending set's rules, without any store.

use super::*;
use crate::core::event::{EventId, EventType};

fn sid(s: &str) -> StreamId {
    StreamId::new(s).unwrap()
}

fn ev(n: u8) -> NewEvent {
    NewEvent::new(
        EventId::from_bytes([n; 16]),
        EventType::new("E").unwrap(),
        Json::parse(format!("{n}")).unwrap(),
    )
}

fn append(
    set: &mut PendingSet,
    s: &str,
    ns: &[u8],
    expected: ExpectedVersion,
    confirmed: u64,
) -> Result<AppendResult> {
    let events = ns.iter().map(|&n| ev(n)).collect();
    set.append(
        &sid(s),
        events,
        expected,
        Version(confirmed),
        None,
        Timestamp(7),
    )
}

#[test]
fn appends_count_versions_after_the_confirmed_version() {
    let mut set = PendingSet::default();
    let r = append(
        &mut set,
        "a",
        &[1, 2],
        ExpectedVersion::Exact(Version(3)),
        3,
    )
    .unwrap();
    assert_eq!((r.version, r.position), (Version(5), Position(0)));
    let r = append(&mut set, "a", &[3], ExpectedVersion::Exact(Version(5)), 3).unwrap();
    assert_eq!(r.version, Version(6));
    assert_eq!(set.streams["a"].base, Version(3));
    let shown = set.recorded(&sid("a"), Version(3));
    assert_eq!(
        shown.iter().map(|e| e.version.0).collect::<Vec<_>>(),
        [4, 5, 6]
    );
    assert!(shown.iter().all(|e| e.position == Position(0)));
    // The confirmed log moved on: pending events show after it.
    assert_eq!(set.recorded(&sid("a"), Version(9))[0].version, Version(10));
}

#[test]
fn a_wrong_expected_version_changes_nothing() {
    let mut set = PendingSet::default();
    append(&mut set, "a", &[1], ExpectedVersion::NoStream, 0).unwrap();
    let before = set.clone();
    let err = append(&mut set, "a", &[2], ExpectedVersion::Exact(Version(0)), 0).unwrap_err();
    assert_eq!(err.code(), "WRONG_EXPECTED_VERSION");
    assert_eq!(set, before);
}

#[test]
fn a_retried_batch_is_idempotent_and_a_partial_one_conflicts() {
    let mut set = PendingSet::default();
    append(&mut set, "a", &[1, 2], ExpectedVersion::NoStream, 0).unwrap();
    let r = append(&mut set, "a", &[1, 2], ExpectedVersion::NoStream, 0).unwrap();
    assert_eq!(r.version, Version(2));
    assert_eq!(set.len(), 2);
    let err = append(&mut set, "a", &[2, 3], ExpectedVersion::Any, 0).unwrap_err();
    assert_eq!(err.code(), "EVENT_ID_CONFLICT");
    assert_eq!(set.len(), 2);
}

fn confirmed(ns: &[u8], from: u64) -> Vec<RecordedEvent> {
    ns.iter()
        .zip(from..)
        .map(|(&n, v)| RecordedEvent {
            id: ev(n).id,
            stream: sid("a"),
            event_type: EventType::new("E").unwrap(),
            data: Json::null(),
            metadata: Json::empty_object(),
            version: Version(v),
            position: Position(v),
            timestamp: Timestamp(0),
        })
        .collect()
}

#[test]
fn reconcile_confirms_by_id_and_detects_conflicts() {
    let mut set = PendingSet::default();
    append(&mut set, "a", &[1, 2, 3], ExpectedVersion::NoStream, 0).unwrap();
    // The server holds our first two events: they are confirmed, the third is ready.
    assert_eq!(
        set.reconcile(&sid("a"), &confirmed(&[1, 2], 1), Version(2)),
        Reconciled::Ready
    );
    assert_eq!(set.streams["a"].base, Version(2));
    assert_eq!(set.len(), 1);
    // Someone else's event came first: a conflict at the server's version.
    assert_eq!(
        set.reconcile(&sid("a"), &confirmed(&[9], 3), Version(4)),
        Reconciled::Conflict { actual: Version(4) }
    );
    assert_eq!(set.len(), 1);
    assert_eq!(set.reconcile(&sid("b"), &[], Version(4)), Reconciled::Clear);
}

#[test]
fn take_batches_groups_by_append_and_keeps_commands() {
    let mut set = PendingSet::default();
    let cmd = Json::parse(r#"{"type":"Add"}"#).unwrap();
    set.append(
        &sid("a"),
        vec![ev(1), ev(2)],
        ExpectedVersion::Any,
        Version(0),
        Some(cmd.clone()),
        Timestamp(1),
    )
    .unwrap();
    append(&mut set, "a", &[3], ExpectedVersion::Any, 0).unwrap();
    let batches = set.take_batches(&sid("a"));
    assert_eq!(batches.len(), 2);
    assert_eq!(
        (batches[0].events.len(), batches[0].command.as_ref()),
        (2, Some(&cmd))
    );
    assert_eq!(
        (batches[1].events.len(), batches[1].command.as_ref()),
        (1, None)
    );
    assert!(set.is_empty());
}

#[test]
fn the_set_round_trips_through_json() {
    let mut set = PendingSet::default();
    append(&mut set, "a", &[1, 2], ExpectedVersion::Any, 4).unwrap();
    let json = Json::from_value(&set).unwrap();
    assert_eq!(json.decode::<PendingSet>().unwrap(), set);
}
