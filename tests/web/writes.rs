//! Writes: group commit, idempotency across reopen (the ConstraintError slow path), and large
//! appends split into chunks.

use super::*;

#[wasm_bindgen_test]
async fn concurrent_appends_share_one_transaction_with_their_own_results() {
    let s = open(&random_name()).await;
    for k in 0..4u32 {
        s.append(
            &sid(&format!("g-{k}")),
            evs(k..k + 1),
            ExpectedVersion::NoStream,
        )
        .await
        .unwrap();
    }
    let before = s.transactions_committed();
    let jobs: Vec<(String, ExpectedVersion)> = (0..16u32)
        .map(|i| {
            let stream = format!("g-{}", i % 4);
            let expected = match i / 4 {
                0 => ExpectedVersion::Exact(Version(1)), // ok: 1 -> 2
                1 => ExpectedVersion::Exact(Version(1)), // wrong: the group's first moved it to 2
                2 => ExpectedVersion::Any,               // ok: 2 -> 3
                _ => ExpectedVersion::NoStream,          // wrong: it exists
            };
            (stream, expected)
        })
        .collect();
    let ids: Vec<StreamId> = jobs.iter().map(|(stream, _)| sid(stream)).collect();
    let futures = jobs
        .iter()
        .zip(&ids)
        .enumerate()
        .map(|(i, ((_, expected), stream))| {
            let n = 100 + i as u32 * 2;
            s.append(stream, evs(n..n + 2), *expected)
        });
    let results = join_all(futures).await;
    assert_eq!(
        s.transactions_committed(),
        before + 1,
        "16 appends of one tick share one transaction"
    );
    let mut next_position = 4;
    for (i, r) in results.iter().enumerate() {
        match i / 4 {
            0 | 2 => {
                next_position += 2;
                let r = r.as_ref().unwrap();
                let version = if i / 4 == 0 { 3 } else { 5 };
                assert_eq!(
                    (r.version.0, r.position.0),
                    (version, next_position),
                    "append {i}"
                );
            }
            _ => {
                let actual = if i / 4 == 1 { 3 } else { 5 };
                assert_eq!(
                    r.as_ref().unwrap_err(),
                    &Error::WrongExpectedVersion {
                        stream: sid(&jobs[i].0),
                        expected: jobs[i].1,
                        actual: Version(actual),
                    },
                    "append {i}"
                );
            }
        }
    }
    let log = log(&s).await;
    assert_eq!(log.len(), 4 + 16, "failed appends wrote nothing");
    let positions: Vec<u64> = log.iter().map(|e| e.position.0).collect();
    assert_eq!(positions, (1..=20).collect::<Vec<_>>());
    for k in 0..4 {
        let stream = s
            .read_stream(&sid(&format!("g-{k}")), &ReadStreamOptions::default())
            .await
            .unwrap();
        let versions: Vec<u64> = stream.iter().map(|e| e.version.0).collect();
        assert_eq!(versions, [1, 2, 3, 4, 5]);
    }
}

#[wasm_bindgen_test]
async fn a_reused_id_in_a_group_fails_alone() {
    let name = random_name();
    let s = open(&name).await;
    let first = s
        .append(&sid("a"), evs(1..3), ExpectedVersion::NoStream)
        .await
        .unwrap();
    let mut changed = ev(2);
    changed.data = Json::parse(r#"{"changed":true}"#).unwrap();
    let results = join_all([
        s.append(&sid("b"), evs(10..11), ExpectedVersion::NoStream),
        s.append(&sid("a"), evs(1..3), ExpectedVersion::NoStream), // a retry: idempotent
        s.append(&sid("c"), vec![changed], ExpectedVersion::Any),  // reused id: conflict
        s.append(&sid("b"), evs(11..12), ExpectedVersion::Exact(Version(1))),
        s.append(&sid("d"), evs(20..21), ExpectedVersion::Any),
        s.append(&sid("d"), evs(20..21), ExpectedVersion::Any), // same id twice in a group
    ])
    .await;
    assert_eq!(results[0].as_ref().unwrap().position, Position(3));
    assert_eq!(results[1].as_ref().unwrap(), &first);
    assert_eq!(results[2].as_ref().unwrap_err().code(), "EVENT_ID_CONFLICT");
    assert_eq!(results[3].as_ref().unwrap().position, Position(4));
    assert_eq!(results[4].as_ref().unwrap().position, Position(5));
    assert_eq!(results[5].as_ref().unwrap(), results[4].as_ref().unwrap());
    let log = log(&s).await;
    let ids: Vec<EventId> = log.iter().map(|e| e.id.clone()).collect();
    assert_eq!(ids, [id(1), id(2), id(10), id(11), id(20)]);
}

// Idempotency across reopen (the ConstraintError slow path).

#[wasm_bindgen_test]
async fn retries_and_conflicts_are_recognised_after_reopen() {
    let name = random_name();
    let s = open(&name).await;
    let original = s
        .append(&sid("a"), evs(1..4), ExpectedVersion::NoStream)
        .await
        .unwrap();
    s.append(&sid("b"), evs(4..5), ExpectedVersion::NoStream)
        .await
        .unwrap();
    s.close();
    drop(s);
    let s = open(&name).await;
    let before = snapshot(&s).await;
    for expected in [
        ExpectedVersion::NoStream,
        ExpectedVersion::Any,
        ExpectedVersion::Exact(Version(0)),
    ] {
        assert_eq!(
            s.append(&sid("a"), evs(1..4), expected).await.unwrap(),
            original
        );
    }
    let mut changed = evs(1..4);
    changed[2].data = Json::parse("[]").unwrap();
    for (stream, events, expected) in [
        ("a", changed, ExpectedVersion::Any),
        ("c", evs(4..5), ExpectedVersion::Any),
        ("a", evs(2..4), ExpectedVersion::Exact(Version(3))),
        ("a", evs(3..6), ExpectedVersion::Any),
    ] {
        let err = s.append(&sid(stream), events, expected).await.unwrap_err();
        assert_eq!(err.code(), "EVENT_ID_CONFLICT", "{err}");
        assert_eq!(snapshot(&s).await, before, "a conflict changed the store");
    }
}

// Large appends are split into chunks.

#[wasm_bindgen_test]
async fn a_large_append_spans_several_records_and_reads_back_whole() {
    let s = open(&random_name()).await;
    let big = "x".repeat(1000);
    let batch: Vec<NewEvent> = (0..300u32)
        .map(|n| NewEvent {
            data: Json::parse(format!(r#"{{"n":{n},"pad":"{big}"}}"#)).unwrap(),
            ..ev(n)
        })
        .collect();
    s.append(&sid("big"), batch.clone(), ExpectedVersion::NoStream)
        .await
        .unwrap();
    s.append(&sid("small"), evs(1000..1001), ExpectedVersion::NoStream)
        .await
        .unwrap();
    let all = log(&s).await;
    assert_eq!(all.len(), 301);
    for (new, got) in batch.iter().zip(&all) {
        assert!(new.same_content(got));
    }
    let mid = s
        .read_stream(
            &sid("big"),
            &ReadStreamOptions {
                from: Some(Version(150)),
                limit: Some(3),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let versions: Vec<u64> = mid.iter().map(|e| e.version.0).collect();
    assert_eq!(versions, [150, 151, 152]);
    let page = s
        .read_all(&ReadAllOptions {
            after: Position(199),
            limit: Some(2),
            ..Default::default()
        })
        .await
        .unwrap();
    let positions: Vec<u64> = page.iter().map(|e| e.position.0).collect();
    assert_eq!(positions, [200, 201]);
    // A retry of the whole split batch is still recognised.
    let again = s
        .append(&sid("big"), batch, ExpectedVersion::NoStream)
        .await
        .unwrap();
    assert_eq!(again.position, Position(300));
    assert_eq!(log(&s).await.len(), 301);
}
