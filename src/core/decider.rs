//! The decider pattern: an aggregate is three pure functions.
//!
//! - `initial_state()`: the state of an aggregate with no events;
//! - `evolve(state, event) -> state`: applies one event. It must be **deterministic** and
//!   infallible (no clock, no randomness, no I/O): replaying the same events must always give
//!   the same state, which is what makes snapshots, time travel and rebuilds exact;
//! - `decide(command, state) -> events | error`: the business rules. It only reads the state
//!   and returns the new events, or rejects the command.
//!
//! ```
//! use eventfold::core::decider::Decider;
//!
//! struct Counter;
//! #[derive(Debug, PartialEq)]
//! enum Cmd { Add(u32) }
//! #[derive(Debug, PartialEq)]
//! enum Ev { Added(u32) }
//!
//! impl Decider for Counter {
//!     type State = u32;
//!     type Command = Cmd;
//!     type Event = Ev;
//!     type Error = String;
//!     fn initial_state() -> u32 { 0 }
//!     fn evolve(state: u32, event: &Ev) -> u32 { match event { Ev::Added(n) => state + n } }
//!     fn decide(command: &Cmd, state: &u32) -> Result<Vec<Ev>, String> {
//!         match command {
//!             Cmd::Add(n) if state + n > 10 => Err("too much".into()),
//!             Cmd::Add(n) => Ok(vec![Ev::Added(*n)]),
//!         }
//!     }
//! }
//! assert_eq!(Counter::fold([Ev::Added(2), Ev::Added(3)].iter()), 5);
//! ```

/// An aggregate written as a decider. Rules live in [`decide`](Decider::decide) only.
pub trait Decider {
    /// The aggregate's state.
    type State;
    /// What callers ask for.
    type Command;
    /// What happened.
    type Event;
    /// Why a command is rejected.
    type Error;

    /// The state before any event.
    fn initial_state() -> Self::State;

    /// Applies one event. Deterministic and infallible.
    fn evolve(state: Self::State, event: &Self::Event) -> Self::State;

    /// Decides the events a command produces in `state`, or rejects it.
    ///
    /// # Errors
    /// The domain error rejecting the command.
    fn decide(
        command: &Self::Command,
        state: &Self::State,
    ) -> Result<Vec<Self::Event>, Self::Error>;

    /// Folds events over the initial state.
    fn fold<'a>(events: impl IntoIterator<Item = &'a Self::Event>) -> Self::State
    where
        Self::Event: 'a,
    {
        events
            .into_iter()
            .fold(Self::initial_state(), |s, e| Self::evolve(s, e))
    }
}
