//! Appends, with group commit.
//!
//! Each `append` validates its batch, queues it and waits. One flusher task (started by the
//! first append to find the queue idle) takes everything queued and runs it in ONE readwrite
//! transaction, then takes what queued up meanwhile, and so on. Inside the transaction each
//! append keeps its own semantics, in queue order: its expected version is checked against the
//! state the previous appends of the group left, and it gets its own result or error (a failed
//! append writes nothing and the others go on). Nothing is acknowledged before the transaction
//! completes.
//!
//! Fast path: when the expected version matches, the chunk records are put without looking any
//! id up; the unique `ids` index makes a put with a reused id fail, which aborts the
//! transaction. Then (and after any other transaction failure) the group is replayed one
//! append per transaction on the careful path: existing events are looked up by id first and
//! `plan_append` decides between an idempotent retry, an id conflict and a write.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use wasm_bindgen::{JsCast, JsValue};
use web_sys::{
    IdbCursor, IdbCursorDirection, IdbIndex, IdbKeyRange, IdbObjectStore, IdbRequest,
    IdbTransactionMode,
};

use super::codec::{decode_chunk, decode_header, encode_chunk, split_points, stream_key, MAX_SAFE};
use super::request::{join_all, DomError, Request, TxDone};
use super::schema::{IDS_INDEX, STREAM_INDEX};
use super::Inner;
use crate::core::append::{plan_append, validate_batch, AppendPlan, AppendResult};
use crate::core::event::{
    EventId, NewEvent, Position, RecordedEvent, StreamId, Timestamp, Version,
};
use crate::core::expected::ExpectedVersion;
use crate::error::{Error, Result};

#[derive(Default)]
struct ReplySlot {
    result: Option<Result<AppendResult>>,
    waker: Option<Waker>,
}

/// One queued append.
pub(crate) struct Job {
    stream: StreamId,
    events: Vec<NewEvent>,
    expected: ExpectedVersion,
    reply: Rc<RefCell<ReplySlot>>,
}

impl Job {
    fn answer(&self, result: Result<AppendResult>) {
        let waker = {
            let mut slot = self.reply.borrow_mut();
            slot.result = Some(result);
            slot.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// Resolves when the flusher answers the job.
struct Reply(Rc<RefCell<ReplySlot>>);

impl Future for Reply {
    type Output = Result<AppendResult>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut slot = self.0.borrow_mut();
        match slot.result.take() {
            Some(r) => Poll::Ready(r),
            None => {
                slot.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// Queues an append and waits for its transaction.
pub(crate) async fn append(
    inner: &Rc<Inner>,
    stream: StreamId,
    events: Vec<NewEvent>,
    expected: ExpectedVersion,
) -> Result<AppendResult> {
    inner.check_open()?;
    validate_batch(&events, &inner.limits)?;
    let reply = Rc::new(RefCell::new(ReplySlot::default()));
    inner.queue.borrow_mut().push(Job {
        stream,
        events,
        expected,
        reply: reply.clone(),
    });
    if !inner.flushing.replace(true) {
        wasm_bindgen_futures::spawn_local(flush(inner.clone()));
    }
    Reply(reply).await
}

async fn flush(inner: Rc<Inner>) {
    loop {
        let jobs = std::mem::take(&mut *inner.queue.borrow_mut());
        if jobs.is_empty() {
            inner.flushing.set(false);
            return;
        }
        run_group(&inner, jobs).await;
    }
}

async fn run_group(inner: &Inner, jobs: Vec<Job>) {
    match write(inner, &jobs, false).await {
        Ok((results, head)) => {
            if let Some(head) = head {
                inner.published(head);
            }
            for (job, r) in jobs.iter().zip(results) {
                job.answer(r);
            }
        }
        Err(e @ Error::StoreClosed { .. }) => jobs.iter().for_each(|j| j.answer(Err(e.clone()))),
        Err(_) => {
            // A reused id (ConstraintError), quota, or another failure aborted the group's
            // transaction: nothing of it was written. Replay each append alone, carefully.
            for job in &jobs {
                let r = match write(inner, std::slice::from_ref(job), true).await {
                    Ok((mut results, head)) => {
                        if let Some(head) = head {
                            inner.published(head);
                        }
                        results.pop().unwrap_or_else(|| {
                            Err(Error::Storage {
                                message: "the append produced no result".into(),
                            })
                        })
                    }
                    Err(e) => Err(e),
                };
                job.answer(r);
            }
        }
    }
}

type Outcome = (Vec<Result<AppendResult>>, Option<Position>);

/// Runs `jobs` in one readwrite transaction and waits for it to complete. The outer error
/// means the transaction failed and nothing was written; inner errors are per append.
async fn write(inner: &Inner, jobs: &[Job], careful: bool) -> Result<Outcome> {
    let tx = inner.transaction(IdbTransactionMode::Readwrite)?;
    let done = TxDone::new(&tx);
    let run = async {
        let store = tx
            .object_store(super::CHUNKS)
            .map_err(|e| inner.js_error(e))?;
        plan_and_put(inner, &store, jobs, careful).await
    };
    match run.await {
        Ok(outcome) => {
            // Throws only if the transaction already aborted; `done` then reports why.
            #[allow(deprecated)] // web-sys marks IDBTransaction.commit() deprecated; it is standard
            let _ = tx.commit();
            done.await.map_err(|e| inner.dom_error(e))?;
            inner.committed.set(inner.committed.get() + 1);
            Ok(outcome)
        }
        Err(e) => {
            let _ = tx.abort();
            match done.await {
                // The transaction's own error (quota, constraint) says more than the
                // request that noticed the abort.
                Err(d) if d.name != "AbortError" => Err(inner.dom_error(d)),
                _ => Err(e),
            }
        }
    }
}

fn index(inner: &Inner, store: &IdbObjectStore, name: &str) -> Result<IdbIndex> {
    store.index(name).map_err(|e| inner.js_error(e))
}

async fn plan_and_put(
    inner: &Inner,
    store: &IdbObjectStore,
    jobs: &[Job],
    careful: bool,
) -> Result<Outcome> {
    let dom = |e: DomError| inner.dom_error(e);
    let by_stream = index(inner, store, STREAM_INDEX)?;
    // Issue every read first, then await them: they are served in one round.
    let last = Request::from_call(
        store.open_cursor_with_range_and_direction(&JsValue::NULL, IdbCursorDirection::Prev),
    )
    .map_err(dom)?;
    let mut streams: Vec<&StreamId> = Vec::new();
    for job in jobs {
        if !streams.contains(&&job.stream) {
            streams.push(&job.stream);
        }
    }
    let mut version_requests = Vec::with_capacity(streams.len());
    for s in &streams {
        version_requests
            .push(Request::from_call(version_cursor(&by_stream, s.as_str())).map_err(dom)?);
    }
    let last = last.await.map_err(dom)?;
    let (mut head, last_ts) = match last.dyn_ref::<web_sys::IdbCursorWithValue>() {
        Some(cursor) => {
            let value = cursor.value().map_err(|e| inner.js_error(e))?;
            let h = decode_header(&value)?;
            (h.last_position, h.timestamp)
        }
        None => (Position(0), Timestamp(i64::MIN)),
    };
    let mut versions: HashMap<StreamId, Version> = HashMap::with_capacity(streams.len());
    for (s, v) in streams
        .iter()
        .zip(join_all(version_requests).await.map_err(dom)?)
    {
        versions.insert((*s).clone(), version_from_cursor(&v)?);
    }
    let timestamp = Timestamp(js_sys::Date::now() as i64).max(last_ts);
    let mut results = Vec::with_capacity(jobs.len());
    let mut wrote = false;
    for job in jobs {
        let current = versions.get(&job.stream).copied().unwrap_or_default();
        let plan = if careful || !job.expected.matches(current) {
            let existing = lookup(inner, store, &job.events).await?;
            plan_append(&job.stream, &job.events, job.expected, current, &existing)
        } else {
            Ok(AppendPlan::Write {
                first_version: Version(current.0 + 1),
            })
        };
        let first_version = match plan {
            Err(e) => {
                results.push(Err(e));
                continue;
            }
            Ok(AppendPlan::AlreadyAppended(r)) => {
                results.push(Ok(r));
                continue;
            }
            Ok(AppendPlan::Write { first_version }) => first_version,
        };
        let n = job.events.len() as u64;
        if (head.0 + n) as f64 > MAX_SAFE {
            results.push(Err(Error::Storage {
                message: "the log reached the largest position IndexedDB keys can hold".into(),
            }));
            continue;
        }
        let recorded: Vec<RecordedEvent> = job
            .events
            .iter()
            .enumerate()
            .map(|(k, e)| RecordedEvent {
                id: e.id.clone(),
                stream: job.stream.clone(),
                event_type: e.event_type.clone(),
                data: e.data.clone(),
                metadata: e.metadata.clone(),
                version: Version(first_version.0 + k as u64),
                position: Position(head.0 + 1 + k as u64),
                timestamp,
            })
            .collect();
        for range in split_points(&recorded) {
            let record = encode_chunk(&recorded[range])?;
            // No listener: a failed put (a reused id) aborts the whole transaction.
            store.put(&record).map_err(|e| inner.js_error(e))?;
        }
        head = Position(head.0 + n);
        let version = Version(first_version.0 + n - 1);
        versions.insert(job.stream.clone(), version);
        wrote = true;
        results.push(Ok(AppendResult {
            version,
            position: head,
        }));
    }
    Ok((results, wrote.then_some(head)))
}

/// Opens a key cursor on the newest `[stream, version]` key of `stream` in the `stream` index.
pub(crate) fn version_cursor(
    by_stream: &IdbIndex,
    stream: &str,
) -> std::result::Result<IdbRequest, JsValue> {
    let range = IdbKeyRange::bound(&stream_key(stream, 0.0), &stream_key(stream, MAX_SAFE))?;
    by_stream.open_key_cursor_with_range_and_direction(&range, IdbCursorDirection::Prev)
}

/// The stream version a [`version_cursor`] found (0 when the stream has no chunk).
pub(crate) fn version_from_cursor(result: &JsValue) -> Result<Version> {
    let Some(cursor) = result.dyn_ref::<IdbCursor>() else {
        return Ok(Version(0));
    };
    let key = cursor.key().unwrap_or(JsValue::UNDEFINED);
    match js_sys::Array::from(&key).get(1).as_f64() {
        Some(v) if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v <= MAX_SAFE => {
            Ok(Version(v as u64))
        }
        _ => Err(Error::CorruptData {
            record: format!("{}/{}", super::CHUNKS, STREAM_INDEX),
            message: "a stream index key does not end with a version".into(),
        }),
    }
}

/// The recorded events that already carry the ids of `events` (the careful path).
async fn lookup(
    inner: &Inner,
    store: &IdbObjectStore,
    events: &[NewEvent],
) -> Result<Vec<Option<RecordedEvent>>> {
    let dom = |e: DomError| inner.dom_error(e);
    let by_id = index(inner, store, IDS_INDEX)?;
    let mut requests = Vec::with_capacity(events.len());
    for e in events {
        requests.push(
            Request::from_call(by_id.get_key(&JsValue::from_str(e.id.as_str()))).map_err(dom)?,
        );
    }
    let keys = join_all(requests).await.map_err(dom)?;
    let mut chunk_keys: Vec<f64> = keys.iter().filter_map(JsValue::as_f64).collect();
    chunk_keys.sort_by(f64::total_cmp);
    chunk_keys.dedup();
    let mut requests = Vec::with_capacity(chunk_keys.len());
    for k in &chunk_keys {
        requests.push(Request::from_call(store.get(&JsValue::from_f64(*k))).map_err(dom)?);
    }
    let mut found: HashMap<EventId, RecordedEvent> = HashMap::new();
    for value in join_all(requests).await.map_err(dom)? {
        for e in decode_chunk(&value)? {
            found.insert(e.id.clone(), e);
        }
    }
    Ok(events.iter().map(|e| found.get(&e.id).cloned()).collect())
}
