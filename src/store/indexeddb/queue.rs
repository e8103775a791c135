//! Group commit: each `append` validates its batch, queues it and waits. One flusher task
//! (started by the first append to find the queue idle) takes everything queued and runs it
//! in ONE readwrite transaction ([`super::append`]), then takes what queued up meanwhile, and
//! so on. Inside the transaction each append keeps its own semantics, in queue order, and gets
//! its own result or error. Nothing is acknowledged before the transaction completes.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use super::append::{write, Mode};
use super::Inner;
use crate::core::append::{validate_batch, AppendResult};
use crate::core::event::{NewEvent, StreamId};
use crate::core::expected::ExpectedVersion;
use crate::error::{Error, Result};

#[derive(Default)]
struct ReplySlot {
    result: Option<Result<AppendResult>>,
    waker: Option<Waker>,
}

/// One queued append.
pub(crate) struct Job {
    pub(super) stream: StreamId,
    pub(super) events: Vec<NewEvent>,
    pub(super) expected: ExpectedVersion,
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
            inner.last_append.set(js_sys::Date::now());
            inner.compact_when_idle();
            return;
        }
        run_group(&inner, jobs).await;
    }
}

async fn run_group(inner: &Inner, jobs: Vec<Job>) {
    // Taking the cache invalidates it until a transaction succeeds.
    let cached = inner.cache.borrow_mut().take();
    let mut attempt = match cached {
        Some(cache) => write(inner, &jobs, Mode::Fast(cache)).await,
        None => write(inner, &jobs, Mode::Refresh).await,
    };
    if attempt
        .as_ref()
        .is_err_and(|e| !matches!(e, Error::StoreClosed { .. }))
    {
        attempt = write(inner, &jobs, Mode::Refresh).await;
    }
    match attempt {
        Ok((results, head, cache, _)) => {
            *inner.cache.borrow_mut() = Some(cache);
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
                let r = match write(inner, std::slice::from_ref(job), Mode::Careful).await {
                    Ok((mut results, head, _, _)) => {
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
