//! Catch-up of a JavaScript projection on the IndexedDB store without decoding events in wasm:
//! pages come from the JS read path (`readall.rs`), are folded by the JS loop, and only the
//! checkpoint and the persisted state pass through Rust. The same steps as
//! [`ProjectionRunner::catch_up`], which serves every other store.

use js_sys::{Array, Reflect};
use wasm_bindgen::JsValue;

use crate::core::event::Position;
use crate::cqrs::projection::SAVE_EVERY_PAGES;
use crate::cqrs::{ProjectionRunner, ProjectionState};
use crate::engine::Store;
use crate::error::{Error, Result};
use crate::store::{EventStore, ReadAllOptions};
use crate::wasm::error::message_of;
use crate::wasm::model::{fold_events, JsProjection};

/// Events per page of the JavaScript catch-up.
const JS_PAGE: usize = 10_000;

fn field(event: &JsValue, key: &str) -> JsValue {
    Reflect::get(event, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn position(event: &JsValue) -> Position {
    Position(field(event, "position").as_f64().unwrap_or(0.0) as u64)
}

/// Catches `current` up; see [`ProjectionRunner::catch_up`] for the contract.
pub(crate) async fn catch_up(
    store: &Store,
    runner: &ProjectionRunner<JsProjection>,
    mut current: ProjectionState<JsValue>,
    progress: &impl Fn(u64, u64),
) -> (ProjectionState<JsValue>, Result<()>) {
    let projection = runner.projection();
    let total = match store.head().await {
        Ok(head) => head.0.saturating_sub(current.checkpoint.0),
        Err(e) => return (current, Err(e)),
    };
    let start = current.checkpoint;
    // Pages here cost a read transaction each, but no wasm decoding: read more per page.
    let page = match store.reads_js_pages() {
        true => runner.page_size().max(JS_PAGE),
        false => runner.page_size(),
    };
    let mut unsaved = 0;
    loop {
        let read = async {
            let head = store.head().await?;
            let options = ReadAllOptions {
                after: current.checkpoint,
                limit: Some(page),
                filter: runner.filter().clone(),
            };
            let events = match store.read_all_js(&options).await? {
                Some(events) => events.into(),
                None => crate::wasm::convert::recorded_to_js(&store.read_all(&options).await?)?,
            };
            Ok::<_, Error>((head, Array::from(&events)))
        };
        let (head, events) = match read.await {
            Ok(r) => r,
            Err(e) => return (current, Err(e)),
        };
        let n = events.length() as usize;
        let covered = match n {
            0 => current.checkpoint.max(head),
            _ if n == page => position(&events.get(events.length() - 1)),
            _ => position(&events.get(events.length() - 1)).max(head),
        };
        if n == 0 && covered == current.checkpoint {
            let saved = match unsaved {
                0 => Ok(()),
                _ => runner.save(store, &current).await,
            };
            return (current, saved);
        }
        let out = fold_events(&projection.evolve, &current.state, &events);
        let applied = out.get(1).as_f64().map_or(0, |a| a as u32);
        let thrown = out.get(2);
        current.state = out.get(0);
        let error = if thrown.is_undefined() {
            current.checkpoint = covered.max(current.checkpoint);
            None
        } else {
            if applied > 0 {
                current.checkpoint = position(&events.get(applied - 1));
            }
            let e = events.get(applied);
            Some(Error::EvolveFailed {
                position: position(&e),
                message: format!(
                    "evolve threw on event {} ({}) of {}: {}",
                    field(&e, "id").as_string().unwrap_or_default(),
                    field(&e, "type").as_string().unwrap_or_default(),
                    field(&e, "stream").as_string().unwrap_or_default(),
                    message_of(&thrown)
                ),
            })
        };
        unsaved += 1;
        if error.is_some() || n < page || unsaved >= SAVE_EVERY_PAGES {
            if let Err(e) = runner.save(store, &current).await {
                return (current, Err(e));
            }
            unsaved = 0;
        }
        progress(
            current.checkpoint.0.saturating_sub(start.0).min(total),
            total,
        );
        if let Some(e) = error {
            return (current, Err(e));
        }
    }
}
