//! The shared store contract suite, run on the in-memory store inside headless Chromium
//! (`wasm-pack test --headless --chrome`): proves the reference store behaves the same when
//! compiled to wasm as natively.
#![cfg(target_arch = "wasm32")]

use eventfold::store::contract::test_clock;
use eventfold::MemoryStore;

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

eventfold::contract_tests!(wasm, async { MemoryStore::new(test_clock()) });
