//! A deterministic mutation fuzzer for the sync decoders: valid messages and the malformed
//! fixtures, mutated (bytes flipped, JSON tokens inserted, ranges deleted or repeated,
//! truncated), decoded as every message kind. Nothing may panic, and every failure must be a
//! typed `PROTOCOL_ERROR` (or `INVALID_INPUT` for a well-formed message with a refused value); mutants that still decode are served
//! (push and pull) against an in-memory store, which must not panic either, and pull answers
//! that decode must re-encode (rows and columns) to the same events. `EVENTFOLD_FUZZ_ITERS` raises the count (default 20 000 mutants,
//! each decoded 5 ways). `EVENTFOLD_FUZZ_SEED` picks another mutation sequence.
//!
//! The regression corpus `tests/fixtures/fuzz-corpus/` (mutants that decoded as some message,
//! kept from larger runs with `EVENTFOLD_FUZZ_SAVE=1`) is replayed first on every run.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::Path;

use eventfold::sync::access::Access;
use eventfold::sync::protocol::StoreId;
use eventfold::sync::protocol::{
    decode, encode, Encoding, PullRequest, PullResponse, PushRequest, PushResponse, StreamResponse,
};
use eventfold::sync::serve::{self, ServeLimits};
use eventfold::{Error, MemoryStore, Result};
use futures::executor::block_on;

const SEEDS: &[&str] = &[
    r#"{"v":1,"after":{"store":"s-1","position":7},"limit":50,"scope":["order-",""]}"#,
    r#"{"v":1,"streams":[{"stream":"order-1","expectedVersion":3,"events":[{"id":"01010101-0101-0101-0101-010101010101","type":"Added","data":{"n":1,"s":"ü\"✓"},"metadata":{}}]},{"stream":"b","expectedVersion":"no_stream","events":[]}]}"#,
    r#"{"v":1,"events":[{"id":"01010101-0101-0101-0101-010101010101","stream":"order-1","type":"Added","data":[1,{"x":null}],"metadata":{"c":"d"},"version":1,"position":3,"timestamp":1700000000000}],"checkpoint":{"store":"s-1","position":9},"more":false,"head":9}"#,
    r#"{"v":1,"columns":{"streams":["s"],"runs":[0,1,1,2],"types":["T"],"type":[0,0],"ids":"0101010101010101010101010101010102020202020202020202020202020202","timestamps":[5,0],"shapes":[["k"]],"data":[1,1,0,1],"metadata":[1,2],"values":[[1,{},{"a":1}]],"raw":[[true]]},"checkpoint":{"store":"s-1","position":2},"more":false,"head":2}"#,
    r#"{"v":1,"store":"s-1","results":[{"stream":"a","ok":{"version":4,"position":10}},{"stream":"o","conflict":{"actual":2,"missing":[],"more":true}},{"stream":"c","error":{"code":"EVENT_ID_CONFLICT","message":"m","id":"x"}}]}"#,
    r#"{"v":1,"stream":"order-1","version":2,"events":[]}"#,
];

const TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    "\"",
    ":",
    ",",
    "null",
    "true",
    "-1",
    "1e999",
    "18446744073709551616",
    "0.5",
    "\\u0000",
    "\\",
    "\"v\":2",
    "\"v\":1",
    "\u{7f}",
    "\u{feff}",
    "é",
    "\n",
];

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(out.len() + 1);
        match rng.below(6) {
            0 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] ^= 1 << rng.below(8);
            }
            1 => {
                let t = TOKENS[rng.below(TOKENS.len())].as_bytes();
                out.splice(at..at, t.iter().copied());
            }
            2 if at < out.len() => {
                let end = (at + 1 + rng.below(16)).min(out.len());
                out.drain(at..end);
            }
            3 if at < out.len() => {
                let end = (at + 1 + rng.below(32)).min(out.len());
                let copy: Vec<u8> = out[at..end].to_vec();
                out.splice(at..at, copy);
            }
            4 => out.truncate(at),
            _ => {
                let i = rng.below(out.len().max(1));
                if i < out.len() {
                    out[i] = rng.next() as u8;
                }
            }
        }
    }
    out
}

fn check<T>(name: &str, input: &[u8], r: Result<T>) {
    if let Err(e) = r {
        assert!(
            matches!(e, Error::Protocol { .. } | Error::InvalidInput { .. }),
            "{name}: {e:?} for {:?}",
            String::from_utf8_lossy(input)
        );
    }
}

fn decode_all(input: &[u8]) {
    check("pull request", input, decode::<PullRequest>(input));
    check("push request", input, decode::<PushRequest>(input));
    let pulled = decode::<PullResponse>(input);
    if let Ok(page) = &pulled {
        // Whatever decodes re-encodes (as rows and as columns) to the same events.
        for encoding in [Encoding::Rows, Encoding::Columns] {
            let again = PullResponse {
                encoding,
                ..page.clone()
            };
            let back = decode::<PullResponse>(&encode(&again).unwrap()).unwrap();
            assert_eq!(back, again, "{:?}", String::from_utf8_lossy(input));
        }
    }
    check("pull response", input, pulled);
    check("push response", input, decode::<PushResponse>(input));
    check("stream response", input, decode::<StreamResponse>(input));
}

fn decodes_as_something(input: &[u8]) -> bool {
    decode::<PullRequest>(input).is_ok()
        || decode::<PushRequest>(input).is_ok()
        || decode::<PullResponse>(input).is_ok()
        || decode::<PushResponse>(input).is_ok()
        || decode::<StreamResponse>(input).is_ok()
}

#[test]
fn mutated_messages_never_panic_and_fail_as_protocol_errors() {
    let iterations: usize = std::env::var("EVENTFOLD_FUZZ_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let mut corpus: Vec<Vec<u8>> = SEEDS.iter().map(|s| s.as_bytes().to_vec()).collect();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let saved_dir = root.join("fuzz-corpus");
    let mut replayed = 0;
    for dir in [root.join("protocol"), saved_dir.clone()] {
        for entry in std::fs::read_dir(dir).unwrap() {
            corpus.push(std::fs::read(entry.unwrap().path()).unwrap());
            replayed += 1;
        }
    }
    for seed in &corpus {
        decode_all(seed);
    }
    let save = std::env::var("EVENTFOLD_FUZZ_SAVE").is_ok_and(|v| v == "1");
    let mut saved = std::collections::HashSet::new();
    let seed: u64 = std::env::var("EVENTFOLD_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x9e37_79b9_7f4a_7c15);
    let mut rng = Rng(seed.max(1));
    let mut accepted = 0usize;
    let store = MemoryStore::new(eventfold::store::fixed_clock(0));
    let id = StoreId::new("s-1").unwrap();
    let (access, limits) = (Access::all(), ServeLimits::default());
    for _ in 0..iterations {
        let base = &corpus[rng.below(corpus.len())];
        let input = mutate(&mut rng, base);
        // Requests that still decode go through the server's logic against a store.
        if let Ok(req) = decode::<PushRequest>(&input) {
            accepted += 1;
            let _ = block_on(serve::push(&store, &id, &access, req, &limits));
        }
        if let Ok(req) = decode::<PullRequest>(&input) {
            accepted += 1;
            let _ = block_on(serve::pull(&store, &id, &access, &req, &limits));
        }
        decode_all(&input);
        if save && saved.len() < 300 && decodes_as_something(&input) && saved.insert(input.clone())
        {
            use std::hash::BuildHasher;
            let h = std::hash::BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default()
                .hash_one(&input);
            std::fs::write(saved_dir.join(format!("{h:016x}.json")), &input).unwrap();
        }
    }
    eprintln!(
        "fuzzed {iterations} mutants x 5 decoders ({} decodes, seed {seed}), {accepted} still valid requests served by the in-memory server logic; {replayed} corpus files replayed",
        iterations * 5
    );
}
