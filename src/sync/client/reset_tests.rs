//! Re-syncing from scratch when the server's store is another one (`CHECKPOINT_MISMATCH`).

use futures::executor::block_on;

use super::tests::{now, server_view, sid, Device, Fault, Link, Server};
use super::*;
use crate::core::event::{EventId, EventType};
use crate::store::{EventStore, ReadAllOptions, ReadModelStore, RecordWrite, StateStore};

fn event(id: u8, kind: &str, data: &str) -> NewEvent {
    NewEvent::new(
        EventId::from_bytes([id; 16]),
        EventType::new(kind).unwrap(),
        Json::parse(data).unwrap(),
    )
}

/// The device's confirmed events of synced streams (not `pref-`), as the server shows them.
fn synced(device: &Device) -> Vec<(EventId, StreamId, Version)> {
    device
        .confirmed()
        .into_iter()
        .filter(|(_, s, _)| !s.as_str().starts_with("pref-"))
        .collect()
}

fn on_server(server: &Server, data: &str) -> usize {
    server
        .log()
        .iter()
        .filter(|e| e.data.as_str() == data)
        .count()
}

#[test]
fn a_replaced_server_is_resynced_from_scratch_keeping_local_streams_and_pending_events() {
    let old = Server::new();
    let mut a = Device::new(1, &["order-", "log-"]);
    a.strategies.push(("log-".into(), Strategy::Append));
    let c = Device::new(3, &[]);
    block_on(async {
        // A local-only stream, synced streams, and derived state of both.
        a.append(&sid("pref-1"), "dark").await.unwrap();
        a.command(&sid("order-1"), "x").await.unwrap();
        a.append(&sid("log-1"), "l0").await.unwrap();
        a.sync(&Link::new(&old)).await.unwrap();
        let inner = a.replica().inner();
        for key in ["projection:totals", "readmodel:orders", "snapshot:order-1"] {
            inner
                .put_state(key, Json::parse("{}").unwrap())
                .await
                .unwrap();
        }
        inner
            .put_state("snapshot:pref-1", Json::parse("{}").unwrap())
            .await
            .unwrap();
        let record = RecordWrite {
            key: "o1".into(),
            value: Some((Json::parse("{}").unwrap(), Vec::new())),
        };
        inner
            .commit_records(
                "orders",
                vec![record],
                "readmodel:orders",
                Json::parse("{}").unwrap(),
            )
            .await
            .unwrap();
        let head_before = inner.head().await.unwrap();

        // Offline: a command (rebase), an append (append strategy), a new stream, and an event
        // the new server will already hold (its push answer was lost there).
        a.command(&sid("order-1"), "y").await.unwrap();
        a.append(&sid("log-1"), "l1").await.unwrap();
        a.append(&sid("order-3"), "z").await.unwrap();
        a.append(&sid("order-5"), "p").await.unwrap();
        let p = a.replica().pending().await.unwrap().streams["order-5"].events[0]
            .event
            .clone();

        // The server is replaced by another store with other content.
        let new = Server::with_id("server-2");
        c.command(&sid("order-1"), "c1").await.unwrap();
        c.command(&sid("order-1"), "c2").await.unwrap();
        c.append(&sid("log-1"), "k").await.unwrap();
        c.sync(&Link::new(&new)).await.unwrap();
        let q = event(9, "Noted", r#""q""#);
        let order5 = sid("order-5");
        new.store
            .append(&order5, vec![q, p], ExpectedVersion::NoStream)
            .await
            .unwrap();

        let report = a.sync(&Link::new(&new)).await.unwrap();
        assert!(report.resynced, "{report:?}");
        assert!(a.replica().pending().await.unwrap().is_empty());
        assert_eq!(
            synced(&a),
            server_view(&new),
            "the confirmed log is the new server's"
        );
        // Every pending event is on the new server exactly once; strategies applied.
        for data in [r#"{"add":"y"}"#, r#""l1""#, r#""z""#, r#""p""#] {
            assert_eq!(on_server(&new, data), 1, "{data}");
        }
        assert_eq!(
            on_server(&new, r#"{"add":"x"}"#),
            0,
            "the dropped log is not pushed"
        );
        let order1 = now(new.store.read_stream(&sid("order-1"), &Default::default())).unwrap();
        assert_eq!(
            order1[2].data.as_str(),
            r#"{"add":"y"}"#,
            "rebased after c1, c2"
        );
        let log1 = now(new.store.read_stream(&sid("log-1"), &Default::default())).unwrap();
        assert_eq!(log1[1].data.as_str(), r#""l1""#, "re-placed after k");

        // The local-only stream is intact, at its position; new positions follow the old head.
        let inner = a.replica().inner();
        let pref = inner
            .read_stream(&sid("pref-1"), &Default::default())
            .await
            .unwrap();
        assert_eq!(
            (pref.len(), pref[0].position.0, pref[0].version.0),
            (1, 1, 1)
        );
        let all = inner.read_all(&ReadAllOptions::default()).await.unwrap();
        assert!(all[1..].iter().all(|e| e.position > head_before));
        // Derived state of the dropped log is gone; the local stream's snapshot stays.
        for key in ["projection:totals", "readmodel:orders", "snapshot:order-1"] {
            assert_eq!(inner.get_state(key).await.unwrap(), None, "{key}");
        }
        assert!(inner.get_state("snapshot:pref-1").await.unwrap().is_some());
        assert_eq!(inner.record("orders", "o1").await.unwrap(), None);

        // Reported once.
        let again = a.sync(&Link::new(&new)).await.unwrap();
        assert!(!again.resynced);
        assert_eq!(synced(&a), server_view(&new));
    });
}

#[test]
fn a_reset_interrupted_after_the_drop_finishes_at_the_next_sync() {
    let old = Server::new();
    let a = Device::new(1, &[]);
    block_on(async {
        a.command(&sid("order-1"), "x").await.unwrap();
        a.sync(&Link::new(&old)).await.unwrap();
        a.command(&sid("order-1"), "y").await.unwrap();
        let new = Server::with_id("server-2");
        let link = Link::new(&new);
        // The first pull meets the mismatch; the pull from scratch is lost.
        link.faults
            .borrow_mut()
            .extend([Fault::DropRequest, Fault::None]);
        let err = a.sync(&link).await.unwrap_err();
        assert_eq!(err.code(), "NETWORK");
        assert!(a.confirmed().is_empty(), "the confirmed log was dropped");
        assert_eq!(a.client.checkpoint().await.unwrap(), None);
        let set = a.replica().pending().await.unwrap();
        assert!(set.streams["order-1"].unbased);
        assert_eq!(set.len(), 1, "pending events are kept");

        let report = a.sync(&link).await.unwrap();
        assert!(
            report.resynced,
            "the next sync reports the reset it finished"
        );
        assert_eq!(a.confirmed(), server_view(&new));
        assert_eq!(on_server(&new, r#"{"add":"y"}"#), 1);
        assert!(a.replica().pending().await.unwrap().is_empty());
    });
}

#[test]
fn the_manual_strategy_holds_a_stream_the_new_server_already_has() {
    let old = Server::new();
    let mut a = Device::new(1, &[]);
    a.strategies.push(("order-".into(), Strategy::Manual));
    let c = Device::new(3, &[]);
    block_on(async {
        a.append(&sid("order-1"), "x").await.unwrap();
        a.sync(&Link::new(&old)).await.unwrap();
        a.append(&sid("order-1"), "y").await.unwrap();
        let new = Server::with_id("server-2");
        c.append(&sid("order-1"), "c").await.unwrap();
        c.sync(&Link::new(&new)).await.unwrap();
        let report = a.sync(&Link::new(&new)).await.unwrap();
        assert!(report.resynced);
        assert_eq!(
            report.held,
            [Held {
                stream: sid("order-1"),
                actual: Version(1)
            }]
        );
        assert_eq!(on_server(&new, r#""y""#), 0, "held, not pushed");
        a.client
            .resolve(&sid("order-1"), Resolution::Append, &a)
            .await
            .unwrap();
        a.sync(&Link::new(&new)).await.unwrap();
        assert_eq!(on_server(&new, r#""y""#), 1);
        assert_eq!(a.confirmed(), server_view(&new));
    });
}
