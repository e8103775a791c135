//! One queued append of the group commit (`queue.rs`) and the future its caller awaits; the
//! write transaction (`append.rs`) reads the job and answers it.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use crate::core::append::AppendResult;
use crate::core::event::{NewEvent, StreamId};
use crate::core::expected::ExpectedVersion;
use crate::error::Result;

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
    /// A job and the future that resolves with its answer.
    pub(super) fn new(
        stream: StreamId,
        events: Vec<NewEvent>,
        expected: ExpectedVersion,
    ) -> (Job, Reply) {
        let reply = Rc::new(RefCell::new(ReplySlot::default()));
        let job = Job {
            stream,
            events,
            expected,
            reply: reply.clone(),
        };
        (job, Reply(reply))
    }

    pub(super) fn answer(&self, result: Result<AppendResult>) {
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
pub(super) struct Reply(Rc<RefCell<ReplySlot>>);

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
