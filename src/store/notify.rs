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
    resets: u64,
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

    /// How many times the log was reset ([`ResetStore`](crate::store::ResetStore)) since this
    /// notifier was made. Anything derived from positions (a projection's state, a read
    /// model, a subscription's checkpoint) compares it with the count it started from and
    /// starts again from position 0 when it changed.
    pub fn resets(&self) -> u64 {
        self.lock().resets
    }

    /// Records that the log was reset and now ends at `head`: counts the reset, moves the
    /// head (never backwards) and wakes every waiter, whatever position it waits beyond.
    pub fn notify_reset(&self, head: Position) {
        let wakers = {
            let mut s = self.lock();
            s.resets += 1;
            s.head = s.head.max(head);
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

    /// Resolves to `true` once the head is beyond `position` or the log was reset (see
    /// [`resets`](Self::resets)), or `false` when the store closes.
    pub fn wait_beyond(&self, position: Position) -> WaitBeyond<'_> {
        WaitBeyond {
            notifier: self,
            position,
            resets: self.resets(),
        }
    }
}

impl ChangeNotifier {
    /// Calls `on_change` after each move of the head (or reset of the log) from now on, until
    /// it answers `false` or the notifier closes. Moves that come while `on_change` runs, or
    /// before this future is polled again, are seen as one.
    pub async fn follow(&self, mut on_change: impl FnMut() -> bool) {
        let mut seen = self.head();
        while self.wait_beyond(seen).await {
            seen = self.head();
            if !on_change() {
                break;
            }
        }
    }
}

/// Future returned by [`ChangeNotifier::wait_beyond`].
pub struct WaitBeyond<'a> {
    notifier: &'a ChangeNotifier,
    position: Position,
    resets: u64,
}

impl Future for WaitBeyond<'_> {
    type Output = bool;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<bool> {
        let mut s = self.notifier.lock();
        if s.closed {
            return Poll::Ready(false);
        }
        if s.head > self.position || s.resets != self.resets {
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
    fn follow_calls_back_on_each_move_until_told_to_stop_or_closed() {
        let n = Rc::new(ChangeNotifier::new(Position(3)));
        let mut pool = LocalPool::new();
        let calls = Rc::new(Cell::new(0));
        let (n2, c2) = (n.clone(), calls.clone());
        pool.spawner()
            .spawn_local(async move {
                n2.follow(|| {
                    c2.set(c2.get() + 1);
                    c2.get() < 2
                })
                .await
            })
            .unwrap();
        pool.run_until_stalled();
        assert_eq!(calls.get(), 0, "nothing moved yet");
        n.notify(Position(4));
        n.notify(Position(5));
        pool.run_until_stalled();
        assert_eq!(calls.get(), 1, "two moves before it ran: one call");
        n.notify(Position(6));
        pool.run_until_stalled();
        assert_eq!(calls.get(), 2);
        n.notify(Position(7));
        pool.run_until_stalled();
        assert_eq!(calls.get(), 2, "stopped when told");
        // Closing ends a follower too.
        let (n3, c3) = (n.clone(), calls.clone());
        let done = Rc::new(Cell::new(false));
        let d3 = done.clone();
        pool.spawner()
            .spawn_local(async move {
                n3.follow(|| {
                    c3.set(c3.get() + 1);
                    true
                })
                .await;
                d3.set(true);
            })
            .unwrap();
        pool.run_until_stalled();
        n.close();
        pool.run_until_stalled();
        assert!(done.get());
        assert_eq!(calls.get(), 2);
    }

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

    #[test]
    fn a_reset_wakes_every_waiter_and_is_counted() {
        let n = Rc::new(ChangeNotifier::new(Position(3)));
        let mut pool = LocalPool::new();
        let woke = Rc::new(Cell::new(None));
        let (n2, w2) = (n.clone(), woke.clone());
        pool.spawner()
            .spawn_local(async move { w2.set(Some(n2.wait_beyond(Position(50)).await)) })
            .unwrap();
        pool.run_until_stalled();
        assert_eq!((woke.get(), n.resets()), (None, 0));
        n.notify_reset(Position(4));
        pool.run_until_stalled();
        assert_eq!(
            (woke.get(), n.resets(), n.head()),
            (Some(true), 1, Position(4))
        );
        n.notify_reset(Position(2));
        assert_eq!(
            (n.resets(), n.head()),
            (2, Position(4)),
            "the head never goes back"
        );
    }
}
