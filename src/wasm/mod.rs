//! JavaScript bindings: the only place that uses `wasm_bindgen`. Each exported class has its
//! file; conversions and errors are shared. Everything here is thin: convert, call the core,
//! convert back.

mod aggregate;
mod backend;
mod bus;
mod bus_handlers;
mod bus_sagas;
mod bus_types;
mod bus_workers;
mod catchup;
mod convert;
mod engine;
mod error;
mod listeners;
mod model;
mod projection;
mod promise;
mod readall;
mod readmodel;
mod readmodel_follow;
mod readmodel_pending;
mod ready;
mod routed;
mod subscription;
mod sync;
mod sync_types;
pub(crate) mod types;
mod upcast;
