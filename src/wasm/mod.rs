//! JavaScript bindings: the only place that uses `wasm_bindgen`. Each exported class has its
//! file; conversions and errors are shared. Everything here is thin: convert, call the core,
//! convert back.

mod aggregate;
mod bus;
mod catchup;
mod convert;
mod engine;
mod error;
mod listeners;
mod model;
mod projection;
mod promise;
mod readmodel;
mod ready;
mod serve;
mod subscription;
mod sync;
pub(crate) mod types;
