//! Wakes subscribers when the store's head moves. Pure (wakers only, no timers or I/O), shared
//! by every backend; the browser backend also feeds it what other tabs append.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use crate::core::event::Position;

#[derive(Default)]
struct State {
    head: Position,
    closed: bool,
    wakers: Vec<Waker>,
}

/// Tracks the store's head position and wakes the futures waiting for it to move.
#[derive(Default)]
pub struct ChangeNotifier {
    state: Mutex<State>,
}

impl ChangeNotifier {
    /// A notifier whose head starts at `head`.
    pub fn new(head: Position) -> Self {
        ChangeNotifier {
            state: Mutex::new(State {
                head,
                ..State::default()
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The newest head position seen.
    pub fn head(&self) -> Position {
        self.lock().head
    }

    /// Records that events up to `head` exist and wakes every waiter. Older heads are ignored.
    pub fn notify(&self, head: Position) {
        let wakers = {
            let mut s = self.lock();
            if head <= s.head {
                return;
            }
            s.head = head;
            std::mem::take(&mut s.wakers)
        };
        wakers.into_iter().for_each(Waker::wake);
    }

    /// Ends every wait: the store closed.
    pub fn close(&self) {
        let wakers = {
            let mut s = self.lock();
            s.closed = true;
            std::mem::take(&mut s.wakers)
        };
        wakers.into_iter().for_each(Waker::wake);
    }

    /// Whether [`close`](Self::close) was called.
    pub fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// Resolves to `true` once the head is beyond `position`, or `false` when the store closes.
    pub fn wait_beyond(&self, position: Position) -> WaitBeyond<'_> {
        WaitBeyond {
            notifier: self,
            position,
        }
    }
}

/// Future returned by [`ChangeNotifier::wait_beyond`].
pub struct WaitBeyond<'a> {
    notifier: &'a ChangeNotifier,
    position: Position,
}

impl Future for WaitBeyond<'_> {
    type Output = bool;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<bool> {
        let mut s = self.notifier.lock();
        if s.closed {
            return Poll::Ready(false);
        }
        if s.head > self.position {
            return Poll::Ready(true);
        }
        if !s.wakers.iter().any(|w| w.will_wake(cx.waker())) {
            s.wakers.push(cx.waker().clone());
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::LocalPool;
    use futures::task::LocalSpawnExt;
    use std::cell::Cell;
    use std::rc::Rc;

    #[test]
    fn waiters_wake_on_newer_heads_and_on_close() {
        let n = Rc::new(ChangeNotifier::new(Position(3)));
        let mut pool = LocalPool::new();
        let woke = Rc::new(Cell::new(None));
        let (n2, w2) = (n.clone(), woke.clone());
        pool.spawner()
            .spawn_local(async move { w2.set(Some(n2.wait_beyond(Position(5)).await)) })
            .unwrap();
        pool.run_until_stalled();
        n.notify(Position(5));
        pool.run_until_stalled();
        assert_eq!(woke.get(), None, "head 5 is not beyond 5");
        n.notify(Position(4));
        assert_eq!(n.head(), Position(5), "older heads are ignored");
        n.notify(Position(6));
        pool.run_until_stalled();
        assert_eq!(woke.get(), Some(true));

        let (n3, w3) = (n.clone(), woke.clone());
        pool.spawner()
            .spawn_local(async move { w3.set(Some(n3.wait_beyond(Position(100)).await)) })
            .unwrap();
        pool.run_until_stalled();
        n.close();
        pool.run_until_stalled();
        assert_eq!(woke.get(), Some(false));
    }
}
