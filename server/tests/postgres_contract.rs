//! The store contract suite on PostgreSQL (one fresh schema per case).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod pg;

use eventfold::{EventStore, Position};

eventfold::contract_tests!(
    native,
    match pg::pg_store() {
        Some(store) => store,
        None => return,
    }
);

#[test]
fn two_stores_on_one_schema_share_the_log_and_the_id() {
    let Some(url) = pg::pg_url() else { return };
    let schema = pg::fresh_schema();
    let clock = eventfold::store::contract::test_clock;
    futures::executor::block_on(async {
        use eventfold_server::store::postgres::PostgresStore;
        use eventfold_server::store::ServerStore;
        let a = PostgresStore::connect(&url, Some(&schema), clock())
            .await
            .unwrap();
        let b = PostgresStore::connect(&url, Some(&schema), clock())
            .await
            .unwrap();
        assert_eq!(a.store_id(), b.store_id());
        let stream = eventfold::StreamId::new("s").unwrap();
        let ev = |n: u8| {
            eventfold::NewEvent::new(
                eventfold::EventId::from_bytes([n; 16]),
                eventfold::EventType::new("T").unwrap(),
                eventfold::Json::parse("{}").unwrap(),
            )
        };
        a.append(&stream, vec![ev(1)], eventfold::ExpectedVersion::NoStream)
            .await
            .unwrap();
        let r = b
            .append(
                &stream,
                vec![ev(2)],
                eventfold::ExpectedVersion::Exact(eventfold::Version(1)),
            )
            .await
            .unwrap();
        assert_eq!(r.position, Position(2));
        // b's append reaches a's notifier through LISTEN/NOTIFY.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while a.changes().head() < Position(2) {
            assert!(
                std::time::Instant::now() < deadline,
                "no notification from the other store"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(a.head().await.unwrap(), Position(2));
    });
}
