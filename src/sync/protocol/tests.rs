//! Round trips of every message (decode(encode(m)) == m, and the exact wire form of each),
//! version checks and the client-side checks of pull answers.

use super::*;
use crate::core::append::AppendResult;
use crate::core::event::{EventId, EventType, NewEvent, Timestamp};
use crate::core::expected::ExpectedVersion;
use crate::core::json::Json;
use std::fmt;

fn store() -> StoreId {
    StoreId::new("s-1").unwrap()
}

fn new_event(n: u8) -> NewEvent {
    NewEvent::new(
        EventId::from_bytes([n; 16]),
        EventType::new("Added").unwrap(),
        Json::parse(format!(r#"{{"n":{n},"s":"ü\"✓"}}"#)).unwrap(),
    )
}

fn recorded(n: u8, position: u64) -> RecordedEvent {
    let e = new_event(n);
    RecordedEvent {
        id: e.id,
        stream: StreamId::new("order-1").unwrap(),
        event_type: e.event_type,
        data: e.data,
        metadata: Json::parse(r#"{"correlationId":"c"}"#).unwrap(),
        version: Version(u64::from(n)),
        position: Position(position),
        timestamp: Timestamp(1_700_000_000_000),
    }
}

fn round_trip<M: Message + PartialEq + fmt::Debug>(m: &M) -> String {
    let bytes = encode(m).unwrap();
    let back: M = decode(&bytes).unwrap();
    assert_eq!(&back, m);
    let text = String::from_utf8(bytes).unwrap();
    assert_eq!(&decode_str::<M>(&text).unwrap(), m);
    text
}

fn checkpoint(position: u64) -> Checkpoint {
    Checkpoint {
        store: store(),
        position: Position(position),
        mark: None,
    }
}

#[test]
fn pull_request() {
    let empty = PullRequest::new(None, vec![]);
    assert_eq!(round_trip(&empty), r#"{"v":1,"scope":[]}"#);
    let full = PullRequest {
        limit: Some(50),
        ..PullRequest::new(Some(checkpoint(7)), vec!["order-".into(), "".into()])
    };
    assert_eq!(
        round_trip(&full),
        r#"{"v":1,"after":{"store":"s-1","position":7},"limit":50,"scope":["order-",""]}"#
    );
    assert_eq!(full.after_position(), Position(7));
    let minimal: PullRequest = decode(br#"{"v":1,"after":null}"#).unwrap();
    assert_eq!(minimal, empty);
}

#[test]
fn pull_response() {
    let r = PullResponse {
        v: PROTOCOL_VERSION,
        events: vec![recorded(1, 3), recorded(2, 5)],
        checkpoint: checkpoint(9),
        more: false,
        head: Position(9),
        encoding: Encoding::Rows,
    };
    let text = round_trip(&r);
    assert!(
        text.contains(r#""data":{"n":1,"s":"ü\"✓"},"metadata":{"correlationId":"c"}"#),
        "payloads travel as raw JSON: {text}"
    );
    r.check(Some(&checkpoint(2))).unwrap();
    round_trip(&PullResponse {
        events: vec![],
        more: true,
        ..r
    });
}

#[test]
fn push_request() {
    let p = PushRequest::new(vec![
        StreamPush {
            stream: StreamId::new("order-1").unwrap(),
            expected_version: ExpectedVersion::Exact(Version(3)),
            events: vec![new_event(1), new_event(2)],
        },
        StreamPush {
            stream: StreamId::new("order-2").unwrap(),
            expected_version: ExpectedVersion::NoStream,
            events: vec![new_event(3)],
        },
    ]);
    let text = round_trip(&p);
    assert!(text.starts_with(
        r#"{"v":1,"streams":[{"stream":"order-1","expectedVersion":3,"events":[{"id":"01010101-0101-0101-0101-010101010101","type":"Added","data":{"n":1"#
    ), "{text}");
    assert!(text.contains(r#""expectedVersion":"no_stream""#));
    assert_eq!(p.event_count(), 3);
}

#[test]
fn push_response() {
    let r = PushResponse {
        v: PROTOCOL_VERSION,
        store: store(),
        results: vec![
            StreamResult {
                stream: StreamId::new("a").unwrap(),
                outcome: PushOutcome::Ok(AppendResult {
                    version: Version(4),
                    position: Position(10),
                }),
            },
            StreamResult {
                stream: StreamId::new("order-1").unwrap(),
                outcome: PushOutcome::Conflict(Conflict {
                    actual: Version(2),
                    missing: vec![recorded(2, 8)],
                    more: false,
                }),
            },
            StreamResult {
                stream: StreamId::new("c").unwrap(),
                outcome: PushOutcome::Error(
                    ErrorBody::new("EVENT_ID_CONFLICT", "event id x: y").with("stream", "c"),
                ),
            },
        ],
    };
    let text = round_trip(&r);
    assert!(
        text.contains(r#"{"stream":"a","ok":{"version":4,"position":10}}"#),
        "{text}"
    );
    assert!(text.contains(r#"{"stream":"order-1","conflict":{"actual":2,"missing":[{"#));
    assert!(text.contains(
        r#"{"stream":"c","error":{"code":"EVENT_ID_CONFLICT","message":"event id x: y","stream":"c"}}"#
    ));
}

#[test]
fn stream_response_and_head_info() {
    round_trip(&StreamResponse {
        v: PROTOCOL_VERSION,
        stream: StreamId::new("order-1").unwrap(),
        version: Version(2),
        events: vec![recorded(1, 1), recorded(2, 2)],
    });
    let h = HeadInfo {
        v: PROTOCOL_VERSION,
        store: store(),
        head: Position(42),
    };
    assert_eq!(round_trip(&h), r#"{"v":1,"store":"s-1","head":42}"#);
}

#[test]
fn other_versions_and_shapes_are_typed_protocol_errors() {
    let cases: [(&[u8], &str); 8] = [
        (br#"{"v":2,"scope":[]}"#, "unsupported protocol version 2"),
        (
            br#"{"v":2,"totally":"different"}"#,
            "unsupported protocol version 2",
        ),
        (br#"{"scope":[]}"#, "missing field `v`"),
        (br#"{"v":1,"scope":"order-"}"#, "malformed pull request"),
        (br#"{"v":1,"limit":-1}"#, "malformed pull request"),
        (
            br#"{"v":1,"after":{"store":"has space","position":1}}"#,
            "store id",
        ),
        (b"{\"v\":1,\"scope\":[\"a\\u0000\"]}", "control character"),
        (b"\xff\xfe", "malformed pull request"),
    ];
    for (bytes, needle) in cases {
        let err = decode::<PullRequest>(bytes).unwrap_err();
        assert_eq!(err.code(), "PROTOCOL_ERROR", "{err}");
        assert!(err.to_string().contains(needle), "{err} lacks {needle:?}");
        if let Ok(text) = std::str::from_utf8(bytes) {
            assert_eq!(decode_str::<PullRequest>(text).unwrap_err(), err);
        }
    }
    let many = format!(
        r#"{{"v":1,"scope":{:?}}}"#,
        vec!["a"; MAX_SCOPE_PREFIXES + 1]
    );
    assert!(decode::<PullRequest>(many.as_bytes()).is_err());
}

#[test]
fn push_results_need_exactly_one_outcome() {
    for bad in [
        r#"{"v":1,"store":"s","results":[{"stream":"a"}]}"#,
        r#"{"v":1,"store":"s","results":[{"stream":"a","ok":{"version":1,"position":1},"error":{"code":"X","message":"m"}}]}"#,
    ] {
        let err = decode::<PushResponse>(bad.as_bytes()).unwrap_err();
        assert_eq!(err.code(), "PROTOCOL_ERROR", "{err}");
        assert_eq!(decode_str::<PushResponse>(bad).unwrap_err(), err);
    }
}

#[test]
fn pull_answers_that_repeat_or_skip_back_are_rejected() {
    let answer = |positions: &[u64], at: u64| PullResponse {
        v: PROTOCOL_VERSION,
        events: positions
            .iter()
            .enumerate()
            .map(|(i, p)| recorded(i as u8 + 1, *p))
            .collect(),
        checkpoint: checkpoint(at),
        more: false,
        head: Position(at),
        encoding: Encoding::Rows,
    };
    let after = checkpoint(4);
    assert!(answer(&[5, 7], 9).check(Some(&after)).is_ok());
    for (positions, at) in [(&[5, 5][..], 9), (&[7, 6], 9), (&[4], 9), (&[5, 7], 6)] {
        let err = answer(positions, at).check(Some(&after)).unwrap_err();
        assert_eq!(err.code(), "PROTOCOL_ERROR", "{positions:?} {at}: {err}");
    }
    let foreign = Checkpoint {
        store: StoreId::new("other").unwrap(),
        position: Position(4),
        mark: None,
    };
    let err = answer(&[5], 9).check(Some(&foreign)).unwrap_err();
    assert_eq!(err.code(), "CHECKPOINT_MISMATCH");
}

#[test]
fn store_ids_are_validated() {
    assert!(StoreId::new("0f8fad5b_A-9").is_ok());
    for bad in ["", "a b", "é", &"x".repeat(MAX_STORE_ID_BYTES + 1)] {
        assert_eq!(StoreId::new(bad).unwrap_err().code(), "PROTOCOL_ERROR");
    }
}
