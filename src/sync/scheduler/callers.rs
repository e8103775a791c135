//! The `now()` callers waiting for each exchange: who is answered when the scheduler settles
//! an exchange ([`Event::Settled`](super::Event::Settled)), with what, and whether an exchange
//! nobody waits for any more may be cancelled. Generic over how a caller is answered (a
//! promise's resolve and reject functions in the browser) and over the outcome.

use std::collections::HashMap;

use super::io::ExchangeId;

/// Names one waiting caller, to take it back when it gives up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ticket(u64);

/// The callers of one exchange and its outcome once it ended.
struct Waiting<W, O> {
    callers: Vec<(Ticket, W)>,
    outcome: Option<O>,
}

impl<W, O> Default for Waiting<W, O> {
    fn default() -> Self {
        Waiting {
            callers: Vec::new(),
            outcome: None,
        }
    }
}

/// The callers waiting for exchanges, by exchange.
pub struct Callers<W, O> {
    exchanges: HashMap<ExchangeId, Waiting<W, O>>,
    next: u64,
}

impl<W, O> Default for Callers<W, O> {
    fn default() -> Self {
        Callers {
            exchanges: HashMap::new(),
            next: 0,
        }
    }
}

impl<W, O> Callers<W, O> {
    /// `caller` waits for exchange `id` (what [`Scheduler::sync_now`](super::Scheduler::sync_now)
    /// answered).
    pub fn wait(&mut self, id: ExchangeId, caller: W) -> Ticket {
        let ticket = Ticket(self.next);
        self.next += 1;
        let waiting = self.exchanges.entry(id).or_default();
        waiting.callers.push((ticket, caller));
        ticket
    }

    /// Exchange `id` ended with `outcome`; its callers get it once the scheduler settles it.
    pub fn finished(&mut self, id: ExchangeId, outcome: O) {
        self.exchanges.entry(id).or_default().outcome = Some(outcome);
    }

    /// Caller `ticket` no longer waits for exchange `id`. Answers whether the exchange is now
    /// unwanted: no caller is left and it has not ended, so the driver may ask the scheduler
    /// to cancel it ([`Scheduler::cancel_exchange`](super::Scheduler::cancel_exchange)).
    pub fn give_up(&mut self, id: ExchangeId, ticket: Ticket) -> bool {
        match self.exchanges.get_mut(&id) {
            Some(waiting) => {
                waiting.callers.retain(|(t, _)| *t != ticket);
                waiting.callers.is_empty() && waiting.outcome.is_none()
            }
            None => false,
        }
    }

    /// Exchange `id` is settled: its callers to answer and its outcome (`None` when it ended
    /// without one, e.g. cancelled before it ran). `None` when nobody waited for it.
    pub fn settle(&mut self, id: ExchangeId) -> Option<(Vec<W>, Option<O>)> {
        let waiting = self.exchanges.remove(&id)?;
        let callers = waiting.callers.into_iter().map(|(_, w)| w).collect();
        Some((callers, waiting.outcome))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callers_of_one_exchange_share_its_outcome() {
        let mut c: Callers<&str, u32> = Callers::default();
        let (one, two) = (ExchangeId(1), ExchangeId(2));
        c.wait(one, "a");
        c.wait(one, "b");
        c.wait(two, "c");
        c.finished(one, 7);
        assert_eq!(c.settle(one), Some((vec!["a", "b"], Some(7))));
        assert_eq!(c.settle(one), None, "answered once");
        assert_eq!(
            c.settle(two),
            Some((vec!["c"], None)),
            "no outcome recorded"
        );
    }

    #[test]
    fn an_exchange_is_unwanted_when_its_last_caller_gives_up_before_it_ends() {
        let mut c: Callers<&str, u32> = Callers::default();
        let id = ExchangeId(1);
        let a = c.wait(id, "a");
        let b = c.wait(id, "b");
        assert!(!c.give_up(id, a), "b still waits");
        assert!(c.give_up(id, b), "nobody waits and it runs on");
        assert!(!c.give_up(ExchangeId(9), a), "unknown exchange");
        let d = c.wait(id, "d");
        c.finished(id, 3);
        assert!(!c.give_up(id, d), "it ended: nothing to cancel");
        assert_eq!(c.settle(id), Some((vec![], Some(3))));
    }
}
