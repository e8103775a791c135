//! JavaScript bindings: the only place that uses `wasm_bindgen`. Each exported class has its
//! file; conversions and errors are shared. Everything here is thin: convert, call the core,
//! convert back.

mod abort;
mod aggregate;
mod batch;
#[cfg(feature = "bus")]
mod bus;
mod convert;
mod engine;
mod error;
mod live;
mod live_query;
mod model;
mod projection;
mod promise;
mod readmodel;
#[cfg(feature = "sync")]
mod serve;
mod subscription;
#[cfg(feature = "sync")]
mod sync;
pub(crate) mod types;
