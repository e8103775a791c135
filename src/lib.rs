#![doc = include_str!("../README.md")]

pub mod core;
pub mod cqrs;
pub mod engine;
pub mod error;
pub mod store;
#[cfg(feature = "sync")]
pub mod sync;
#[cfg(target_arch = "wasm32")]
mod wasm;

pub use crate::core::event::{
    EventId, EventType, NewEvent, Position, RecordedEvent, StreamId, Timestamp, Version,
};
pub use crate::core::expected::ExpectedVersion;
pub use crate::core::json::Json;
pub use crate::error::{Error, Result};
pub use crate::store::{
    AppendResult, Direction, EventFilter, EventStore, MemoryStore, ReadAllOptions,
    ReadStreamOptions, StoreLimits,
};
