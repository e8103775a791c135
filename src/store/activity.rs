//! Foreground work on one store connection, which its background maintenance (the IndexedDB
//! store's idle-time compaction) gives way to.
//!
//! Whatever the application waits for holds a [`Foreground`] guard while it runs: an append
//! being written (from the moment it is queued until its transaction completes), a read of the
//! log (the IndexedDB store's reads take one themselves), and a catch-up of a projection or
//! read model across all its pages ([`catch_up`](crate::cqrs::live::catch_up) takes one
//! through [`EventStore::foreground`](super::EventStore::foreground), so a live view's
//! catch-up, follow and rebuild all count). [`Activity`] counts the guards and remembers when
//! the last one dropped; background work asks it whether it may run:
//! [`wait_before_idle`](Activity::wait_before_idle) (may a run start, or a new step?) and
//! [`busy`](Activity::busy) (is foreground work running now or did it just stop?).
//!
//! It is pure: the clock is passed in, so the scheduling rules are tested natively.

use std::cell::Cell;
use std::fmt;
use std::rc::Rc;

/// Milliseconds since some fixed moment (`Date.now()` in the browser).
pub type Millis = f64;

/// The foreground work of one connection: how many [`Foreground`] guards are held and when
/// the last one was dropped.
pub struct Activity {
    clock: Rc<dyn Fn() -> Millis>,
    running: Cell<u32>,
    last_end: Cell<Millis>,
}

impl fmt::Debug for Activity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Activity")
            .field("running", &self.running.get())
            .field("last_end", &self.last_end.get())
            .finish()
    }
}

impl Activity {
    /// Activity read on `clock`. Creating it counts as foreground work that just ended (the
    /// store was just opened), so background work waits a full idle period first.
    pub fn new(clock: Rc<dyn Fn() -> Millis>) -> Rc<Self> {
        let now = clock();
        Rc::new(Activity {
            clock,
            running: Cell::new(0),
            last_end: Cell::new(now),
        })
    }

    /// Marks foreground work until the returned guard drops.
    pub fn begin(self: &Rc<Self>) -> Foreground {
        self.running.set(self.running.get().saturating_add(1));
        Foreground(Some(self.clone()))
    }

    /// How many guards are held now.
    pub fn running(&self) -> u32 {
        self.running.get()
    }

    /// Whether foreground work runs now, or the last of it ended less than `recent` ms ago.
    pub fn busy(&self, recent: Millis) -> bool {
        self.running.get() > 0 || (self.clock)() - self.last_end.get() < recent
    }

    /// How long background work should wait before it may start: 0 once no guard is held and
    /// the last one dropped at least `idle` ms ago; otherwise the time left until then
    /// (`idle` while a guard is held: asked again after that, it waits again if it is still
    /// held).
    pub fn wait_before_idle(&self, idle: Millis) -> Millis {
        if self.running.get() > 0 {
            return idle;
        }
        let quiet = (self.clock)() - self.last_end.get();
        // A clock that went back counts as quiet time starting now.
        if quiet < 0.0 {
            self.last_end.set((self.clock)());
            return idle;
        }
        (idle - quiet).max(0.0)
    }

    fn end(&self) {
        self.running.set(self.running.get().saturating_sub(1));
        self.last_end.set((self.clock)());
    }
}

/// Foreground work in progress (see the module docs); dropping it ends it. An inert guard
/// ([`Foreground::none`]) marks nothing: what stores without background work hand out.
#[must_use = "the work counts as running only while the guard is held"]
#[derive(Debug, Default)]
pub struct Foreground(Option<Rc<Activity>>);

impl Foreground {
    /// A guard that marks nothing.
    pub fn none() -> Self {
        Foreground(None)
    }
}

impl Drop for Foreground {
    fn drop(&mut self) {
        if let Some(activity) = self.0.take() {
            activity.end();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An activity on a clock the test moves.
    fn activity() -> (Rc<Activity>, Rc<Cell<Millis>>) {
        let now = Rc::new(Cell::new(10_000.0));
        let clock = now.clone();
        (Activity::new(Rc::new(move || clock.get())), now)
    }

    #[test]
    fn background_work_waits_a_full_idle_period_after_opening() {
        let (a, now) = activity();
        assert_eq!(a.wait_before_idle(1000.0), 1000.0);
        now.set(10_400.0);
        assert_eq!(a.wait_before_idle(1000.0), 600.0);
        now.set(11_000.0);
        assert_eq!(a.wait_before_idle(1000.0), 0.0);
        assert!(!a.busy(50.0));
    }

    #[test]
    fn a_held_guard_keeps_background_work_waiting_however_long_it_runs() {
        let (a, now) = activity();
        now.set(20_000.0);
        let read = a.begin();
        for t in [20_000.0, 25_000.0, 90_000.0] {
            now.set(t);
            assert_eq!(a.wait_before_idle(1000.0), 1000.0, "at {t}");
            assert!(a.busy(50.0));
        }
        drop(read);
        // The quiet period counts from when the work ended, not from when it began.
        assert_eq!(a.wait_before_idle(1000.0), 1000.0);
        assert!(a.busy(50.0), "just ended");
        now.set(90_060.0);
        assert!(!a.busy(50.0));
        assert_eq!(a.wait_before_idle(1000.0), 940.0);
        now.set(91_000.0);
        assert_eq!(a.wait_before_idle(1000.0), 0.0);
    }

    #[test]
    fn overlapping_guards_count_until_the_last_one_drops() {
        let (a, now) = activity();
        now.set(20_000.0);
        let catch_up = a.begin();
        let page = a.begin();
        assert_eq!(a.running(), 2);
        drop(page);
        now.set(30_000.0);
        assert_eq!(a.running(), 1);
        assert_eq!(
            a.wait_before_idle(1000.0),
            1000.0,
            "the catch-up still runs"
        );
        drop(catch_up);
        assert_eq!(a.running(), 0);
        now.set(31_000.0);
        assert_eq!(a.wait_before_idle(1000.0), 0.0);
    }

    #[test]
    fn an_inert_guard_marks_nothing() {
        let (a, now) = activity();
        now.set(20_000.0);
        let g = Foreground::none();
        assert_eq!(a.wait_before_idle(1000.0), 0.0);
        drop(g);
        assert_eq!(a.wait_before_idle(1000.0), 0.0);
    }

    #[test]
    fn a_clock_that_goes_back_restarts_the_quiet_period() {
        let (a, now) = activity();
        now.set(5_000.0);
        assert_eq!(a.wait_before_idle(1000.0), 1000.0);
        now.set(5_500.0);
        assert_eq!(a.wait_before_idle(1000.0), 500.0);
    }
}
