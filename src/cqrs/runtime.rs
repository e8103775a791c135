//! What background workers (event handlers, sagas) need from their environment and have no
//! right to take themselves in the pure core: the clock and timers. The browser binds them to
//! `Date.now()` and `setTimeout`; tests bind them to a virtual clock.

use std::cell::RefCell;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Poll, Waker};

use crate::core::event::Timestamp;

/// A boxed future that need not be `Send` (JavaScript values never cross threads).
pub type LocalBoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// The clock and timers of a worker.
pub trait Runtime {
    /// Now, in Unix milliseconds.
    fn now(&self) -> Timestamp;
    /// A future that resolves after `ms` milliseconds.
    fn sleep(&self, ms: u64) -> LocalBoxFuture<'static, ()>;
}

/// Runs `f` for at most `ms` milliseconds: `None` when the time ran out first (the future is
/// dropped; a JavaScript promise behind it keeps running, its outcome ignored).
pub async fn timeout<R: Runtime + ?Sized, F: Future>(rt: &R, ms: u64, f: F) -> Option<F::Output> {
    let mut f = std::pin::pin!(f);
    let mut timer = rt.sleep(ms);
    poll_fn(|cx| {
        if let Poll::Ready(v) = f.as_mut().poll(cx) {
            return Poll::Ready(Some(v));
        }
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    })
    .await
}

#[derive(Default)]
struct SignalState {
    stopped: bool,
    kicked: bool,
    wakers: Vec<Waker>,
}

/// Tells a worker loop to stop, or to look again (new work was announced) before its next
/// wait ends. Cloning shares the signal.
#[derive(Clone, Default)]
pub struct Signal(Rc<RefCell<SignalState>>);

impl Signal {
    /// A fresh signal.
    pub fn new() -> Self {
        Signal::default()
    }

    fn wake(&self) {
        let wakers = std::mem::take(&mut self.0.borrow_mut().wakers);
        wakers.into_iter().for_each(Waker::wake);
    }

    /// Asks the worker to stop (for good).
    pub fn stop(&self) {
        self.0.borrow_mut().stopped = true;
        self.wake();
    }

    /// Whether [`stop`](Self::stop) was called.
    pub fn is_stopped(&self) -> bool {
        self.0.borrow().stopped
    }

    /// Asks the worker to look for work now.
    pub fn kick(&self) {
        self.0.borrow_mut().kicked = true;
        self.wake();
    }

    /// Waits for `f` to finish, a kick or a stop, whichever comes first. Returns `false` when
    /// stopped.
    pub async fn wait_for<F: Future>(&self, f: F) -> bool {
        let mut f = std::pin::pin!(f);
        poll_fn(|cx| {
            {
                let mut s = self.0.borrow_mut();
                if s.stopped {
                    return Poll::Ready(false);
                }
                if std::mem::take(&mut s.kicked) {
                    return Poll::Ready(true);
                }
                if !s.wakers.iter().any(|w| w.will_wake(cx.waker())) {
                    s.wakers.push(cx.waker().clone());
                }
            }
            match f.as_mut().poll(cx) {
                Poll::Ready(_) => Poll::Ready(true),
                Poll::Pending => Poll::Pending,
            }
        })
        .await
    }
}

impl Signal {
    /// Runs `f` unless the signal is stopped first: `None` then (`f` is dropped). Callers use a
    /// signal as an abort flag this way (a JavaScript `AbortSignal` stops it).
    pub async fn until_stopped<F: Future>(&self, f: F) -> Option<F::Output> {
        let mut f = std::pin::pin!(f);
        poll_fn(|cx| {
            {
                let mut s = self.0.borrow_mut();
                if s.stopped {
                    return Poll::Ready(None);
                }
                if !s.wakers.iter().any(|w| w.will_wake(cx.waker())) {
                    s.wakers.push(cx.waker().clone());
                }
            }
            f.as_mut().poll(cx).map(Some)
        })
        .await
    }
}

/// Waits for the first of two futures (the other is dropped).
pub async fn first<A: Future, B: Future>(a: A, b: B) {
    let (mut a, mut b) = (std::pin::pin!(a), std::pin::pin!(b));
    poll_fn(|cx| {
        if a.as_mut().poll(cx).is_ready() || b.as_mut().poll(cx).is_ready() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await
}

/// A virtual clock for tests. By default `sleep` returns at once and moves the clock forward,
/// so backoff and time-outs run instantly and deterministically; a [`manual`](Self::manual)
/// clock instead keeps its timers waiting until [`advance`](Self::advance) moves it past them,
/// so work can be caught in flight.
#[derive(Clone, Default)]
pub struct VirtualClock(Rc<RefCell<ClockState>>);

#[derive(Default)]
struct ClockState {
    now: i64,
    manual: bool,
    /// Sleeps waiting on a manual clock: when each ends, and who to wake.
    timers: Vec<(i64, Waker)>,
}

impl VirtualClock {
    /// A clock at `start` milliseconds whose sleeps end at once.
    pub fn at(start: i64) -> Self {
        VirtualClock(Rc::new(RefCell::new(ClockState {
            now: start,
            ..ClockState::default()
        })))
    }

    /// A clock at `start` milliseconds whose sleeps end only once [`advance`](Self::advance)
    /// has moved it past their end.
    pub fn manual(start: i64) -> Self {
        let clock = VirtualClock::at(start);
        clock.0.borrow_mut().manual = true;
        clock
    }

    /// Moves the clock forward (and wakes the sleeps that ended).
    pub fn advance(&self, ms: u64) {
        let due: Vec<Waker> = {
            let mut s = self.0.borrow_mut();
            s.now = s.now.saturating_add(i64::try_from(ms).unwrap_or(i64::MAX));
            let now = s.now;
            let (due, waiting) = std::mem::take(&mut s.timers)
                .into_iter()
                .partition(|(end, _)| *end <= now);
            s.timers = waiting;
            due.into_iter().map(|(_, w)| w).collect()
        };
        due.into_iter().for_each(Waker::wake);
    }
}

impl Runtime for VirtualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.borrow().now)
    }

    /// Automatic clocks move when the sleep is first polled (so a time limit around a future
    /// that is already done costs no time); manual clocks wait for [`VirtualClock::advance`].
    fn sleep(&self, ms: u64) -> LocalBoxFuture<'static, ()> {
        let clock = self.clone();
        let (manual, now) = {
            let s = self.0.borrow();
            (s.manual, s.now)
        };
        if !manual {
            return Box::pin(async move { clock.advance(ms) });
        }
        let end = now.saturating_add(i64::try_from(ms).unwrap_or(i64::MAX));
        Box::pin(poll_fn(move |cx| {
            let mut s = clock.0.borrow_mut();
            if s.now >= end {
                return Poll::Ready(());
            }
            s.timers.push((end, cx.waker().clone()));
            Poll::Pending
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;

    #[test]
    fn timeout_gives_up_on_a_future_that_never_settles() {
        let clock = VirtualClock::at(1000);
        assert_eq!(
            block_on(timeout(&clock, 50, std::future::pending::<u8>())),
            None
        );
        assert_eq!(clock.now(), Timestamp(1050));
        assert_eq!(
            block_on(timeout(&clock, 50, std::future::ready(7))),
            Some(7)
        );
    }

    #[test]
    fn a_manual_clock_keeps_sleeps_waiting_until_it_is_advanced() {
        let clock = VirtualClock::manual(0);
        let mut pool = futures::executor::LocalPool::new();
        let done = Rc::new(RefCell::new(false));
        let (c, d) = (clock.clone(), done.clone());
        futures::task::LocalSpawnExt::spawn_local(&pool.spawner(), async move {
            c.sleep(100).await;
            *d.borrow_mut() = true;
        })
        .unwrap();
        pool.run_until_stalled();
        assert!(!*done.borrow());
        clock.advance(99);
        pool.run_until_stalled();
        assert!(!*done.borrow(), "not yet at its end");
        clock.advance(1);
        pool.run_until_stalled();
        assert!(*done.borrow());
        assert_eq!(clock.now(), Timestamp(100));
        assert_eq!(
            block_on(timeout(&clock, 50, std::future::ready(7))),
            Some(7),
            "a time limit around a finished future waits for nothing"
        );
    }

    #[test]
    fn a_signal_stops_or_kicks_a_wait() {
        let s = Signal::new();
        s.kick();
        assert!(block_on(s.wait_for(std::future::pending::<()>())));
        s.stop();
        assert!(!block_on(s.wait_for(std::future::pending::<()>())));
        assert!(s.is_stopped());
    }
}
