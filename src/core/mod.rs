//! The pure domain: events and their identities, JSON payloads, expected-version rules and the
//! validation of an append. Nothing here touches a clock, a random source, I/O or JavaScript:
//! timestamps and ids are passed in, so the same code runs natively, in the browser and on the
//! server.

pub mod append;
pub mod decider;
pub mod event;
pub mod expected;
pub mod hash;
pub mod invalid;
pub mod json;
pub(crate) mod object;
pub mod testkit;
pub mod upcast;
