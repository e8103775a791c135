//! The background follower of a read model: reads pages of events, runs the JavaScript
//! handlers over each (`js/bindings.js`) and commits the page's writes together with the
//! checkpoint, until caught up; then waits for new events.

use std::cell::RefCell;
use std::future::{poll_fn, Future};
use std::rc::Rc;
use std::task::Poll;

use js_sys::{Array, Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::core::event::Position;
use crate::core::json::Json;
use crate::engine::Store;
use crate::error::{Error, Result};
use crate::store::{EventStore, ReadAllOptions, ReadModelStore, RecordWrite, StateStore};
use crate::wasm::convert::string_arg;
use crate::wasm::error::{message_of, to_js};
use crate::wasm::promise::to_promise;
use crate::wasm::readmodel::{index_key, notify, state_key, Definition, Shared};
use crate::wasm::ready::Ready;

#[wasm_bindgen(module = "/src/wasm/js/bindings.js")]
extern "C" {
    #[wasm_bindgen(js_name = applyHandlers)]
    fn apply_handlers(
        handlers: &Object,
        indexes: &Array,
        events: &JsValue,
        load: &Function,
    ) -> Promise;
}

const PAGE: usize = 500;

fn checkpoint_json(def: &Definition, checkpoint: Position) -> Result<Json> {
    Json::parse(format!(
        r#"{{"version":{},"checkpoint":{}}}"#,
        def.version, checkpoint.0
    ))
}

async fn start_checkpoint(store: &Store, def: &Definition) -> Result<Position> {
    struct Saved {
        version: u32,
        checkpoint: Position,
    }
    crate::core::object::object_deserialize!(Saved {
        version: u32 = "version" required,
        checkpoint: Position = "checkpoint" required,
    });
    let saved = store
        .get_state(&state_key(&def.name))
        .await?
        .and_then(|j| j.decode::<Saved>().ok());
    match saved {
        Some(s) if s.version == def.version => Ok(s.checkpoint),
        _ => restart(store, def).await,
    }
}

/// Clears the model's records and checkpoint: it is built again from position 0.
async fn restart(store: &Store, def: &Definition) -> Result<Position> {
    store.clear_records(&def.name).await?;
    let checkpoint = checkpoint_json(def, Position(0))?;
    store
        .commit_records(&def.name, Vec::new(), &state_key(&def.name), checkpoint)
        .await?;
    Ok(Position(0))
}

fn writes_from_js(out: &JsValue) -> Result<Vec<RecordWrite>> {
    let writes = Array::from(&Reflect::get(out, &"writes".into()).unwrap_or(JsValue::UNDEFINED));
    writes
        .iter()
        .map(|w| {
            let w = Array::from(&w);
            let key = string_arg(&w.get(0), "record key")?;
            let json = w.get(1);
            let value = match json.as_string() {
                None => None,
                Some(text) => {
                    let entries = Array::from(&w.get(2))
                        .iter()
                        .map(|e| {
                            let e = Array::from(&e);
                            Ok((
                                string_arg(&e.get(0), "index name")?,
                                index_key(&e.get(1), "an index value")?,
                            ))
                        })
                        .collect::<Result<_>>()?;
                    Some((Json::trusted(text), entries))
                }
            };
            Ok(RecordWrite { key, value })
        })
        .collect()
}

/// What one page did.
enum Step {
    /// Handled up to this position; the keys written (`None`: no event was handled,
    /// only the checkpoint moved past events the model does not handle).
    Advanced(Position, Option<Vec<String>>),
    /// Nothing left to handle.
    CaughtUp,
    /// A handler threw: committed up to this position (these keys written), then stopped.
    Failed(Position, Error, Vec<String>),
}

/// Runs the definition's handlers over `events` against the stored records: the writes of
/// the events handled, how many were handled, and what a throwing handler threw (undefined
/// when none threw).
pub(crate) async fn run_handlers(
    store: &Store,
    def: &Definition,
    events: &[crate::core::event::RecordedEvent],
) -> Result<(Vec<RecordWrite>, usize, JsValue)> {
    let parsed = crate::wasm::convert::recorded_to_js(events)?;
    let loader = {
        let (store, name) = (store.clone(), def.name.clone());
        Closure::<dyn FnMut(String) -> Promise>::new(move |key: String| {
            let (store, name) = (store.clone(), name.clone());
            to_promise(async move {
                let rec = store.record(&name, &key).await.map_err(to_js)?;
                Ok(rec.map_or(JsValue::UNDEFINED, |j| JsValue::from_str(j.as_str())))
            })
        })
    };
    let indexes: Array = def.indexes.iter().map(|i| JsValue::from_str(i)).collect();
    let loader_fn: &Function = loader.as_ref().unchecked_ref();
    let out = JsFuture::from(apply_handlers(&def.handlers, &indexes, &parsed, loader_fn))
        .await
        .map_err(|e| {
            Error::invalid(format!(
                "read model {} failed: {}",
                def.name,
                message_of(&e)
            ))
        })?;
    let applied = Reflect::get(&out, &"applied".into())
        .ok()
        .and_then(|a| a.as_f64())
        .unwrap_or(0.0) as usize;
    let thrown = Reflect::get(&out, &"error".into()).unwrap_or(JsValue::UNDEFINED);
    let writes = writes_from_js(&out)?;
    Ok((writes, applied, thrown))
}

/// Handles one page of events and commits its writes with the checkpoint.
async fn page(store: &Store, def: &Definition, after: Position) -> Result<Step> {
    let head = store.head().await?;
    let options = ReadAllOptions {
        after,
        limit: Some(PAGE),
        filter: def.filter.clone(),
    };
    let events = store.read_all(&options).await?;
    if events.is_empty() {
        if head > after {
            let json = checkpoint_json(def, head)?;
            store
                .commit_records(&def.name, Vec::new(), &state_key(&def.name), json)
                .await?;
            return Ok(Step::Advanced(head, None));
        }
        return Ok(Step::CaughtUp);
    }
    let (writes, applied, thrown) = run_handlers(store, def, &events).await?;
    let checkpoint = match (applied, thrown.is_undefined()) {
        (_, true) if events.len() < PAGE => events.last().map_or(head, |l| l.position.max(head)),
        (_, true) => events.last().map_or(after, |l| l.position),
        (0, false) => after,
        (n, false) => events[n - 1].position,
    };
    // The keys written go to the subscribers once committed.
    let written: Vec<String> = writes.iter().map(|w| w.key.clone()).collect();
    store
        .commit_records(
            &def.name,
            writes,
            &state_key(&def.name),
            checkpoint_json(def, checkpoint)?,
        )
        .await?;
    if !thrown.is_undefined() {
        let e = &events[applied];
        let error = Error::EvolveFailed {
            position: e.position,
            message: format!(
                "read model {} handler threw on event {} ({}) of {}: {}",
                def.name,
                e.id,
                e.event_type,
                e.stream,
                message_of(&thrown)
            ),
        };
        return Ok(Step::Failed(checkpoint, error, written));
    }
    Ok(Step::Advanced(checkpoint, Some(written)))
}

/// What ended a wait for more work.
enum Woken {
    /// The read model was closed.
    Closed,
    /// The log moved past the checkpoint (or was reset).
    Log,
    /// A synced store's pending events changed (what get/query show on top of the records).
    Pending,
}

/// Follows the log: catch up page by page, then wait for new events (or pending events of
/// a synced store), telling the subscribers after each change ([`notify`]).
pub(crate) async fn run(
    routed: Store,
    def: Rc<Definition>,
    shared: Rc<RefCell<Shared>>,
    ready: Ready,
) {
    let store = routed.clone();
    let mut result = start_checkpoint(&store, &def).await;
    let mut resets = store.changes().resets();
    loop {
        let replica = routed.replica();
        let pending_seen = replica
            .as_ref()
            .map_or(Position(0), |r| r.pending_changes().head());
        if store.changes().resets() != resets {
            // The log was reset: the records may hold dropped events (a page committed after
            // the reset deleted them would have written them back). Build again from 0.
            resets = store.changes().resets();
            result = restart(&store, &def).await;
            if result.is_ok() {
                shared.borrow_mut().checkpoint = Position(0);
                notify(&shared, None);
            }
        }
        if let Ok(mut checkpoint) = result {
            shared.borrow_mut().checkpoint = checkpoint;
            result = loop {
                match page(&store, &def, checkpoint).await {
                    Ok(Step::Advanced(next, keys)) => {
                        checkpoint = next;
                        shared.borrow_mut().checkpoint = next;
                        if let Some(keys) = keys {
                            notify(&shared, Some(&keys));
                        }
                    }
                    Ok(Step::CaughtUp) => break Ok(checkpoint),
                    Ok(Step::Failed(last_good, e, keys)) => {
                        shared.borrow_mut().checkpoint = last_good;
                        if !keys.is_empty() {
                            notify(&shared, Some(&keys));
                        }
                        break Err(e);
                    }
                    Err(e) => break Err(e),
                }
            };
        }
        ready.settle(result.as_ref().map(|_| ()).map_err(|e| to_js(e.clone())));
        let Ok(checkpoint) = result else {
            return; // stopped at the last good event; a fixed definition resumes from there
        };
        let woken = {
            let mut wait = std::pin::pin!(store.changes().wait_beyond(checkpoint));
            let mut pending = std::pin::pin!(async {
                match &replica {
                    Some(r) => r.pending_changes().wait_beyond(pending_seen).await,
                    None => std::future::pending::<bool>().await,
                }
            });
            poll_fn(|cx| {
                let mut s = shared.borrow_mut();
                if s.closed {
                    return Poll::Ready(Woken::Closed);
                }
                s.waker = Some(cx.waker().clone());
                drop(s);
                if let Poll::Ready(true) = pending.as_mut().poll(cx) {
                    return Poll::Ready(Woken::Pending);
                }
                match wait.as_mut().poll(cx) {
                    Poll::Ready(true) => Poll::Ready(Woken::Log),
                    Poll::Ready(false) => Poll::Ready(Woken::Closed),
                    Poll::Pending => Poll::Pending,
                }
            })
            .await
        };
        match woken {
            Woken::Closed => return,
            Woken::Log => {}
            Woken::Pending => notify(&shared, None),
        }
    }
}
