//! Given / when / then for deciders: state the past events, the command, and the events (or
//! the error) you expect. Pure and synchronous, for unit tests of business rules.
//!
//! ```
//! use eventfold::core::decider::Decider;
//! use eventfold::core::testkit::given;
//! # struct Counter;
//! # #[derive(Debug, PartialEq)] enum Cmd { Add(u32) }
//! # #[derive(Debug, PartialEq)] enum Ev { Added(u32) }
//! # impl Decider for Counter {
//! #     type State = u32; type Command = Cmd; type Event = Ev; type Error = String;
//! #     fn initial_state() -> u32 { 0 }
//! #     fn evolve(s: u32, e: &Ev) -> u32 { match e { Ev::Added(n) => s + n } }
//! #     fn decide(c: &Cmd, s: &u32) -> Result<Vec<Ev>, String> {
//! #         match c { Cmd::Add(n) if s + n > 10 => Err("too much".into()), Cmd::Add(n) => Ok(vec![Ev::Added(*n)]) }
//! #     }
//! # }
//! given::<Counter>([Ev::Added(4)]).when(Cmd::Add(3)).then_expect([Ev::Added(3)]);
//! given::<Counter>([Ev::Added(9)]).when(Cmd::Add(3)).then_expect_error("too much".to_string());
//! ```

use std::fmt::Debug;

use crate::core::decider::Decider;

/// The past of a given/when/then test.
pub struct Given<D: Decider> {
    state: D::State,
}

/// Starts a test with the events that already happened.
pub fn given<D: Decider>(events: impl IntoIterator<Item = D::Event>) -> Given<D> {
    let events: Vec<D::Event> = events.into_iter().collect();
    Given {
        state: D::fold(events.iter()),
    }
}

impl<D: Decider> Given<D> {
    /// The command under test.
    pub fn when(self, command: D::Command) -> Then<D> {
        let result = D::decide(&command, &self.state);
        Then { result }
    }
}

/// The outcome of a given/when/then test, to assert on.
pub struct Then<D: Decider> {
    result: Result<Vec<D::Event>, D::Error>,
}

impl<D: Decider> Then<D>
where
    D::Event: Debug + PartialEq,
    D::Error: Debug + PartialEq,
{
    /// Asserts the command produced exactly these events.
    ///
    /// # Panics
    /// When the command was rejected or produced other events (this is a test assertion).
    pub fn then_expect(self, events: impl IntoIterator<Item = D::Event>) {
        let expected: Vec<D::Event> = events.into_iter().collect();
        match self.result {
            Ok(actual) => assert_eq!(actual, expected, "the command produced other events"),
            Err(e) => panic!("expected events {expected:?}, but the command was rejected: {e:?}"),
        }
    }

    /// Asserts the command was rejected with this error.
    ///
    /// # Panics
    /// When the command was accepted or rejected otherwise (this is a test assertion).
    pub fn then_expect_error(self, error: D::Error) {
        match self.result {
            Ok(events) => {
                panic!("expected rejection {error:?}, but the command produced {events:?}")
            }
            Err(e) => assert_eq!(e, error, "the command was rejected with another error"),
        }
    }

    /// The raw outcome, for custom assertions.
    pub fn result(self) -> Result<Vec<D::Event>, D::Error> {
        self.result
    }
}
