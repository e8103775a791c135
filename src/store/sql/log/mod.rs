//! The log: appends and reads of `eventfold_events`, as free functions over an executor so
//! that a transaction's body can call them.

mod append;
mod read;
mod rows;
mod tip;

pub(crate) use append::{append, is_id_taken, IdCheck};
pub(crate) use read::{read_all, read_stream, stream_version};
#[cfg(target_arch = "wasm32")]
pub(crate) use read::{read_all_plan, read_stream_plan, ReadPlan};
pub(crate) use rows::{to_i64, Payloads};
pub(crate) use tip::{head, TipCache};
