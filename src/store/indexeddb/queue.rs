//! Group commit: each `append` validates its batch, queues it and waits. One flusher task
//! (started by the first append to find the queue idle) takes everything queued and runs it
//! in ONE readwrite transaction ([`super::append`]), then takes what queued up meanwhile, and
//! so on. Inside the transaction each append keeps its own semantics, in queue order, and gets
//! its own result or error. Nothing is acknowledged before the transaction completes.

use std::rc::Rc;

use super::append::{write, Mode, Outcome};
use super::job::Job;
use super::Inner;
use crate::core::append::{validate_batch, AppendResult};
use crate::core::event::{NewEvent, StreamId};
use crate::core::expected::ExpectedVersion;
use crate::error::{Error, Result};
use crate::store::Foreground;

/// Queues an append and waits for its transaction.
pub(crate) async fn append(
    inner: &Rc<Inner>,
    stream: StreamId,
    events: Vec<NewEvent>,
    expected: ExpectedVersion,
) -> Result<AppendResult> {
    inner.check_open()?;
    validate_batch(&events, &inner.limits)?;
    let (job, reply) = Job::new(stream, events, expected);
    inner.queue.borrow_mut().push(job);
    if !inner.flushing.replace(true) {
        // Appends count as foreground work from the moment the first is queued.
        let foreground = inner.activity.begin();
        wasm_bindgen_futures::spawn_local(flush(inner.clone(), foreground));
    }
    reply.await
}

async fn flush(inner: Rc<Inner>, foreground: Foreground) {
    loop {
        let jobs = std::mem::take(&mut *inner.queue.borrow_mut());
        if jobs.is_empty() {
            inner.flushing.set(false);
            drop(foreground);
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
        Ok(Outcome {
            results,
            head,
            cache,
            ..
        }) => {
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
                    Ok(Outcome {
                        mut results, head, ..
                    }) => {
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
