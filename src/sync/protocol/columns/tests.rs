//! The columnar pull encoding: exact round trips of every kind of payload, the wire form, and
//! the malformed pages a decoder must refuse.

use super::*;
use crate::core::event::EventId;
use crate::sync::protocol::{
    decode, encode, Checkpoint, Encoding, PullResponse, StoreId, PROTOCOL_VERSION,
};

fn event(
    n: u64,
    stream: &str,
    version: u64,
    position: u64,
    data: &str,
    meta: &str,
) -> RecordedEvent {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&n.to_be_bytes());
    bytes[8..].copy_from_slice(&(n * 0x9e37_79b9).to_le_bytes());
    RecordedEvent {
        id: EventId::from_bytes(bytes),
        stream: StreamId::new(stream).unwrap(),
        event_type: EventType::new(["Placed", "Added", "Removed"][n as usize % 3]).unwrap(),
        data: Json::parse(data).unwrap(),
        metadata: Json::parse(meta).unwrap(),
        version: Version(version),
        position: Position(position),
        timestamp: Timestamp(1_700_000_000_000 + (n as i64 % 4) * 7),
    }
}

fn page(events: Vec<RecordedEvent>) -> PullResponse {
    let last = events.last().map_or(0, |e| e.position.0);
    PullResponse {
        v: PROTOCOL_VERSION,
        events,
        checkpoint: Checkpoint {
            store: StoreId::new("s-1").unwrap(),
            position: Position(last),
            mark: None,
        },
        more: false,
        head: Position(last),
        encoding: Encoding::Columns,
    }
}

/// Encodes as columns, decodes, and checks every event came back identical (texts included).
fn round_trip(events: Vec<RecordedEvent>) -> String {
    let p = page(events);
    let bytes = encode(&p).unwrap();
    let text = String::from_utf8(bytes).unwrap();
    assert!(
        text.contains(r#""columns":{"#) && !text.contains(r#""events""#),
        "{text}"
    );
    let back: PullResponse = decode(text.as_bytes()).unwrap();
    assert_eq!(back, p, "{text}");
    for (a, b) in back.events.iter().zip(&p.events) {
        assert_eq!(a.data.as_str(), b.data.as_str());
        assert_eq!(a.metadata.as_str(), b.metadata.as_str());
    }
    text
}

#[test]
fn every_kind_of_payload_comes_back_byte_for_byte() {
    let payloads = [
        r#"{"sku":"a","qty":1,"price":9.99}"#,
        r#"{"sku":"b","qty":2,"price":19.5}"#,
        r#"{"nested":{"a":[1,{"b":null}]},"s":"ü\"✓\n"}"#,
        r#"{"caf\u00e9":1}"#,
        r#"{ "spaced": true }"#,
        r#"{"dup":1,"dup":2}"#,
        r#"{"":0}"#,
        "{}",
        "[1,2,3]",
        "42",
        r#""text""#,
        "null",
        "-0.0e+5",
    ];
    let mut events = Vec::new();
    for (i, data) in payloads.iter().enumerate() {
        let meta = if i % 2 == 0 {
            "{}"
        } else {
            r#"{"correlationId":"c","n":[1]}"#
        };
        let n = i as u64 + 1;
        events.push(event(n, "order-1", n, n * 2, data, meta));
    }
    let text = round_trip(events);
    // Objects compact enough to be rebuilt are split; the others travel whole.
    assert!(text.contains(r#"["sku","qty","price"]"#), "{text}");
    assert!(
        text.contains(
            r#""raw":[{"caf\u00e9":1},{ "spaced": true },[1,2,3],42,"text",null,-0.0e+5]"#
        ),
        "{text}"
    );
}

#[test]
fn payloads_share_shapes_however_many_there_are() {
    // 40 key sets (past the shapes found by scanning, SCAN_SHAPES), each met twice, some keys
    // escaped: every payload comes back, and each key set is one shape.
    let shape = |k: u64| {
        let keys: Vec<String> = (0..=k % 5).map(|j| format!("\"k{k}\\n{j}\":{j}")).collect();
        format!("{{{}}}", keys.join(","))
    };
    let events: Vec<RecordedEvent> = (0..80)
        .map(|n| event(n, "s", n + 1, n + 1, &shape(n % 40), "{}"))
        .collect();
    let columns = Columns::encode(&events).unwrap();
    assert_eq!(
        columns.shapes.len(),
        41,
        "40 data shapes and the empty metadata"
    );
    assert_eq!(columns.shapes[0], vec!["k0\n0".to_string()]);
    round_trip(events);
}

#[test]
fn runs_follow_streams_versions_and_positions() {
    let d = r#"{"x":1}"#;
    let events = vec![
        event(1, "order-1", 1, 1, d, "{}"),
        event(2, "order-1", 2, 2, d, "{}"),
        event(3, "order-1", 3, 3, d, "{}"),
        event(4, "order-2", 1, 4, d, "{}"),
        event(5, "order-1", 4, 5, d, "{}"),
        event(6, "order-1", 5, 9, d, "{}"),
        event(7, "order-1", 7, 10, d, "{}"),
        event(8, "order-1", u64::MAX, u64::MAX, d, "{}"),
    ];
    let text = round_trip(events);
    assert!(
        text.contains(r#""streams":["order-1","order-2"],"runs":[0,1,1,3,1,1,4,1,0,4,5,1,0,5,9,1,0,7,10,1,0,18446744073709551615,18446744073709551615,1]"#),
        "{text}"
    );
}

#[test]
fn the_wire_form_is_the_documented_one() {
    let a = event(1, "cart-7", 1, 11, r#"{"sku":"p1","qty":2}"#, "{}");
    let b = event(
        2,
        "cart-7",
        2,
        12,
        r#"{"sku":"p2","qty":1}"#,
        r#"{"by":"ann"}"#,
    );
    let text = round_trip(vec![a.clone(), b.clone()]);
    let ids: String = [a.id.as_str(), b.id.as_str()].concat().replace('-', "");
    let expected = format!(
        concat!(
            r#"{{"v":1,"columns":{{"streams":["cart-7"],"runs":[0,1,11,2],"types":["Added","Removed"],"type":[0,1],"#,
            r#""ids":"{ids}","timestamps":[1700000000007,7],"shapes":[["sku","qty"],[],["by"]],"#,
            r#""data":[1,2],"metadata":[2,1,3,1],"values":[["p1","p2"],[2,1],["ann"]],"raw":[]}},"#,
            r#""checkpoint":{{"store":"s-1","position":12}},"more":false,"head":12}}"#
        ),
        ids = ids
    );
    assert_eq!(text, expected);
}

#[test]
fn timestamps_may_go_anywhere_and_ids_are_canonical_lower_case() {
    let mut a = event(1, "s", 1, 1, "1", "{}");
    a.timestamp = Timestamp(i64::MAX);
    let mut b = event(2, "s", 2, 2, "2", "{}");
    b.timestamp = Timestamp(i64::MIN);
    b.id = EventId::parse("ABCDEF01-2345-6789-abcd-EF0123456789").unwrap();
    assert_eq!(b.id.as_str(), "abcdef01-2345-6789-abcd-ef0123456789");
    let mut c = event(3, "s", 3, 3, "3", "{}");
    c.timestamp = Timestamp(-5);
    round_trip(vec![a, b, c]);
    round_trip(vec![]);
}

#[test]
fn columns_are_smaller_than_rows() {
    let events: Vec<_> = (1..=200)
        .map(|n| {
            let data = format!(
                r#"{{"orderId":"order-{}","qty":{},"price":{}.5}}"#,
                n / 10,
                n % 9,
                n * 3
            );
            event(n, &format!("order-{}", n / 10), n % 10 + 1, n, &data, "{}")
        })
        .collect();
    let columns = encode(&page(events.clone())).unwrap().len();
    let rows = encode(&PullResponse {
        encoding: Encoding::Rows,
        ..page(events)
    })
    .unwrap()
    .len();
    assert!(columns * 2 < rows, "columns {columns} bytes, rows {rows}");
}

/// A valid two-event page to break in the tests below.
const GOOD: &str = r#"{"v":1,"columns":{"streams":["s"],"runs":[0,1,1,2],"types":["T"],"type":[0,0],"ids":"0101010101010101010101010101010102020202020202020202020202020202","timestamps":[5,0],"shapes":[["k"]],"data":[1,1,0,1],"metadata":[1,2],"values":[[1,{},{"a":1}]],"raw":[[true]]},"checkpoint":{"store":"s-1","position":2},"more":false,"head":2}"#;

#[test]
fn a_valid_page_decodes() {
    let p: PullResponse = decode(GOOD.as_bytes()).unwrap();
    assert_eq!(p.encoding, Encoding::Columns);
    let texts: Vec<_> = p
        .events
        .iter()
        .map(|e| {
            (
                e.data.as_str(),
                e.metadata.as_str(),
                e.version.0,
                e.position.0,
            )
        })
        .collect();
    assert_eq!(
        texts,
        [
            (r#"{"k":1}"#, r#"{"k":{}}"#, 1, 2 - 1),
            ("[true]", r#"{"k":{"a":1}}"#, 2, 2)
        ]
    );
    assert_eq!(
        p.events[1].id.as_str(),
        "02020202-0202-0202-0202-020202020202"
    );
}

#[test]
fn malformed_pages_are_protocol_errors() {
    let cases = [
        (
            r#""type":[0,0]"#,
            r#""type":[0,1]"#,
            "type index out of range",
        ),
        (
            r#""type":[0,0]"#,
            r#""type":[0]"#,
            "fewer types than events",
        ),
        (
            r#""timestamps":[5,0]"#,
            r#""timestamps":[5]"#,
            "a timestamp missing",
        ),
        (
            r#""runs":[0,1,1,2]"#,
            r#""runs":[0,1,1,3]"#,
            "runs hold more events",
        ),
        (
            r#""runs":[0,1,1,2]"#,
            r#""runs":[0,1,1,1]"#,
            "runs hold fewer events",
        ),
        (
            r#""runs":[0,1,1,2]"#,
            r#""runs":[0,1,1,0,0,1,1,2]"#,
            "an empty run",
        ),
        (
            r#""runs":[0,1,1,2]"#,
            r#""runs":[0,1,1,2,0]"#,
            "runs not in fours",
        ),
        (
            r#""runs":[0,1,1,2]"#,
            r#""runs":[1,1,1,2]"#,
            "a stream index out of range",
        ),
        (
            r#""streams":["s"]"#,
            r#""streams":[""]"#,
            "an empty stream name",
        ),
        (r#""types":["T"]"#, r#""types":[""]"#, "an empty type"),
        (
            r#""runs":[0,1,1,2]"#,
            r#""runs":[0,18446744073709551615,1,2]"#,
            "a version overflowing",
        ),
        (
            "0101010101010101",
            "010101010101010x",
            "an id that is not hex",
        ),
        ("0202020202020202", "02020202020202", "ids too short"),
        (
            r#""data":[1,1,0,1]"#,
            r#""data":[1,1,0,2]"#,
            "more data than events",
        ),
        (
            r#""data":[1,1,0,1]"#,
            r#""data":[1,1]"#,
            "data runs end early",
        ),
        (
            r#""data":[1,1,0,1]"#,
            r#""data":[1,1,0]"#,
            "data runs not in pairs",
        ),
        (
            r#""data":[1,1,0,1]"#,
            r#""data":[1,1,4,1]"#,
            "a shape out of range",
        ),
        (
            r#""data":[1,1,0,1]"#,
            r#""data":[1,1,-1,1]"#,
            "a negative shape",
        ),
        (r#""raw":[[true]]"#, r#""raw":[]"#, "raw values missing"),
        (
            r#""raw":[[true]]"#,
            r#""raw":[[true],1]"#,
            "raw values left over",
        ),
        (
            r#""values":[[1,{},{"a":1}]]"#,
            r#""values":[[1,{},{"a":1},4]]"#,
            "values left over",
        ),
        (
            r#""values":[[1,{},{"a":1}]]"#,
            r#""values":[[1,{}]]"#,
            "values missing",
        ),
        (
            r#""values":[[1,{},{"a":1}]]"#,
            r#""values":[[1,{},{"a":1}],[]]"#,
            "a column too many",
        ),
        (
            r#""shapes":[["k"]]"#,
            r#""shapes":[["k","j"]]"#,
            "a shape with more keys than columns",
        ),
        (
            r#""shapes":[["k"]]"#,
            r#""shapes":[]"#,
            "values for a missing shape",
        ),
        (
            r#""columns":{"#,
            r#""events":[],"columns":{"#,
            "both events and columns",
        ),
    ];
    for (from, to, what) in cases {
        assert!(GOOD.contains(from), "{what}: {from}");
        let bad = GOOD.replacen(from, to, 1);
        let err = decode::<PullResponse>(bad.as_bytes()).unwrap_err();
        assert_eq!(err.code(), "PROTOCOL_ERROR", "{what}: {err}");
    }
    let not_an_object = GOOD
        .replacen(r#""metadata":[1,2]"#, r#""metadata":[1,1,0,1]"#, 1)
        .replacen(r#""raw":[[true]]"#, r#""raw":[[true],7]"#, 1)
        .replacen(r#""values":[[1,{},{"a":1}]]"#, r#""values":[[1,{}]]"#, 1);
    let err = decode::<PullResponse>(not_an_object.as_bytes()).unwrap_err();
    assert!(err.to_string().contains("not an object"), "{err}");
    let neither = GOOD.replacen(r#""columns":"#, r#""other":"#, 1);
    assert_eq!(
        decode::<PullResponse>(neither.as_bytes())
            .unwrap_err()
            .code(),
        "PROTOCOL_ERROR"
    );
}

#[test]
fn the_example_of_the_protocol_spec_decodes_to_its_rows() {
    let spec = include_str!("../../../../docs/sync-protocol.md");
    let section = &spec[spec.find("### 4.1").unwrap()..];
    let mut blocks = section
        .split("```json\n")
        .skip(1)
        .map(|b| &b[..b.find("```").unwrap()]);
    let (columns, rows) = (blocks.next().unwrap(), blocks.next().unwrap());
    let page: PullResponse = decode(columns.as_bytes()).unwrap();
    let rows: Vec<RecordedEvent> = serde_json::from_str(rows).unwrap();
    assert_eq!(page.events, rows);
    // And the server writes exactly that page for those events.
    let compact: String = columns.split_whitespace().collect();
    assert_eq!(String::from_utf8(encode(&page).unwrap()).unwrap(), compact);
}
