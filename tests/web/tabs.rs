//! Several tabs: two connections in one page behave as two tabs (separate connections and
//! BroadcastChannel objects).

use super::*;

#[wasm_bindgen_test]
async fn appends_in_another_tab_reach_subscribers() {
    let name = random_name();
    let (a, b) = (open(&name).await, open(&name).await);
    let mut received = Vec::new();
    let mut sub = Subscription::new(&b, Position(0), EventFilter::default(), 100);
    a.append(&sid("x"), evs(1..3), ExpectedVersion::NoStream)
        .await
        .unwrap();
    received.extend(sub.next_batch().await.unwrap().unwrap());
    {
        let waiting = sub.next_batch();
        let append_later = async {
            tick(5).await;
            a.append(&sid("y"), evs(3..4), ExpectedVersion::NoStream)
                .await
                .unwrap();
        };
        let (batch, ()) = futures::future::join(waiting, append_later).await;
        received.extend(batch.unwrap().unwrap());
    }
    let positions: Vec<u64> = received.iter().map(|e| e.position.0).collect();
    assert_eq!(positions, [1, 2, 3]);
    assert_eq!(b.changes().head(), Position(3), "b learned a's head");
}

#[wasm_bindgen_test]
async fn a_tab_with_an_outdated_view_cannot_overwrite_another_tabs_appends() {
    let name = random_name();
    let (a, b) = (open(&name).await, open(&name).await);
    a.append(&sid("s"), evs(1..2), ExpectedVersion::NoStream)
        .await
        .unwrap();
    b.append(&sid("s"), evs(2..4), ExpectedVersion::Exact(Version(1)))
        .await
        .unwrap();
    // Right away, before b's BroadcastChannel message reaches a: a still believes the log
    // ends at 1 and stream s is at version 1.
    let err = a
        .append(&sid("s"), evs(4..5), ExpectedVersion::Exact(Version(1)))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        Error::WrongExpectedVersion {
            stream: sid("s"),
            expected: ExpectedVersion::Exact(Version(1)),
            actual: Version(3)
        }
    );
    b.append(&sid("t"), evs(5..6), ExpectedVersion::NoStream)
        .await
        .unwrap();
    // Ids b wrote are known to a at once, although a has not caught up yet.
    let again = a
        .append(&sid("t"), evs(5..6), ExpectedVersion::Any)
        .await
        .unwrap();
    assert_eq!((again.version, again.position), (Version(1), Position(4)));
    b.append(&sid("u"), evs(7..8), ExpectedVersion::NoStream)
        .await
        .unwrap();
    let err = a
        .append(&sid("v"), evs(7..8), ExpectedVersion::Any)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "EVENT_ID_CONFLICT", "{err}");
    let r = a
        .append(&sid("s"), evs(6..7), ExpectedVersion::Any)
        .await
        .unwrap();
    assert_eq!((r.version, r.position), (Version(4), Position(6)));
    let positions: Vec<(u64, String, u64)> = log(&b)
        .await
        .iter()
        .map(|e| (e.position.0, e.stream.to_string(), e.version.0))
        .collect();
    assert_eq!(
        positions,
        [
            (1, "s".into(), 1),
            (2, "s".into(), 2),
            (3, "s".into(), 3),
            (4, "t".into(), 1),
            (5, "u".into(), 1),
            (6, "s".into(), 4)
        ]
    );
}

#[wasm_bindgen_test]
async fn two_tabs_racing_on_one_stream_take_each_version_once() {
    let name = random_name();
    let (a, b) = (open(&name).await, open(&name).await);
    let mut wins = 0;
    let mut losses = 0;
    for round in 0..10u32 {
        let expected = ExpectedVersion::Exact(Version(u64::from(round)));
        let n = 1000 + round * 10;
        let (ra, rb) = futures::future::join(
            a.append(&sid("race"), evs(n..n + 1), expected),
            b.append(&sid("race"), evs(n + 1..n + 2), expected),
        )
        .await;
        for r in [ra, rb] {
            match r {
                Ok(r) => {
                    wins += 1;
                    assert_eq!(r.version.0, u64::from(round) + 1);
                }
                Err(Error::WrongExpectedVersion { actual, .. }) => {
                    losses += 1;
                    assert_eq!(actual.0, u64::from(round) + 1);
                }
                Err(e) => panic!("{e}"),
            }
        }
    }
    assert_eq!((wins, losses), (10, 10));
    let stream = a
        .read_stream(&sid("race"), &ReadStreamOptions::default())
        .await
        .unwrap();
    let versions: Vec<u64> = stream.iter().map(|e| e.version.0).collect();
    assert_eq!(versions, (1..=10).collect::<Vec<_>>());
    assert_eq!(log(&b).await, stream);
}
