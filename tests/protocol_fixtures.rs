//! Malformed sync messages kept as fixture files (`tests/fixtures/protocol/<message>.<case>.json`):
//! each must decode to a typed error, never a panic nor a success: `PROTOCOL_ERROR` for a
//! malformed message, `INVALID_INPUT` for a well-formed one carrying a value the store contract
//! refuses (the cases listed in [`VALUE_RULES`]).
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::Path;

use eventfold::sync::protocol::{
    decode, PullRequest, PullResponse, PushRequest, PushResponse, StreamResponse,
};
use eventfold::{Error, Result};

/// Fixtures whose message is well-formed but carries a refused value: `INVALID_INPUT`.
const VALUE_RULES: &[&str] = &[
    "push-request.bad-expected-version.json",
    "push-request.raw-newline-in-string.json",
    "push-request.bad-event-id.json",
    "push-request.empty-event-type.json",
    "push-request.empty-stream-name.json",
];

fn decode_as(kind: &str, bytes: &[u8]) -> Result<()> {
    match kind {
        "pull-request" => decode::<PullRequest>(bytes).map(drop),
        "pull-response" => decode::<PullResponse>(bytes).map(drop),
        "push-request" => decode::<PushRequest>(bytes).map(drop),
        "push-response" => decode::<PushResponse>(bytes).map(drop),
        "stream-response" => decode::<StreamResponse>(bytes).map(drop),
        other => panic!("fixture names unknown message kind {other:?}"),
    }
}

#[test]
fn every_malformed_fixture_is_a_typed_protocol_error() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/protocol");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let kind = name.split('.').next().unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let result = std::panic::catch_unwind(|| decode_as(kind, &bytes));
        match result {
            Ok(Err(err @ (Error::Protocol { .. } | Error::InvalidInput { .. }))) => {
                let expected = if VALUE_RULES.contains(&name.as_str()) {
                    "INVALID_INPUT"
                } else {
                    "PROTOCOL_ERROR"
                };
                assert_eq!(err.code(), expected, "{name}: {err}");
                assert!(!err.to_string().is_empty());
            }
            Ok(other) => panic!("{name}: expected a PROTOCOL_ERROR, got {other:?}"),
            Err(_) => panic!("{name}: the decoder panicked"),
        }
        count += 1;
    }
    assert!(
        count >= 30,
        "only {count} fixtures found in {}",
        dir.display()
    );
}
