//! The hash map of the stores' hot indexes (event id → position, stream → version), with
//! foldhash instead of std's SipHash: hashing the 36-byte ids with SipHash was ~11% of an
//! in-memory append (CPU profile of bench (m) in Node). Neither is HashDoS-resistant in wasm,
//! where std has no random keys either and foldhash's seed (address-based) is fixed; natively
//! foldhash seeds from address-space randomization.

/// A `HashMap` with foldhash's fast hasher. Create it with `FastMap::default()`.
pub type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
