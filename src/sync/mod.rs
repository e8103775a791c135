//! Sync between a client's store and a server by exchanging event ranges (DESIGN.md §5,
//! `docs/sync-protocol.md`).
//!
//! - [`protocol`]: the messages and their JSON codec, shared by client and server (sans-IO);
//!   pull answers travel as rows or as columns (`protocol/columns/`).
//! - [`access`]: the stream prefixes a token may read and write.
//! - [`serve`]: the server side of each request over any [`EventStore`](crate::EventStore), so
//!   the real server and in-process tests run the same logic.
//! - [`replica`]: a local store as a synced client sees it (confirmed log + [`pending`] events).
//! - [`client`]: the client's sync state machine over a [`Transport`](client::Transport).
//!   On `CHECKPOINT_MISMATCH` it re-syncs from scratch (`client/reset.rs`).
//! - [`settings`]: the options of a store's sync as an application writes them, read into the
//!   client's and the scheduler's settings.
//! - [`scheduler`]: when to sync (kick on pending events, periodic pulls, live notifications,
//!   backoff with jitter, fatal errors, leader lock, status), a pure state machine its driver
//!   feeds with events and a clock.
//!
//! This module, client and server sides, is the cargo feature `sync` (on by default).
//!
//! A full exchange against an in-memory store, as the server runs it:
//!
//! ```
//! use eventfold::sync::{access::Access, protocol::*, serve};
//! use eventfold::{EventId, EventType, ExpectedVersion, Json, MemoryStore, NewEvent, StreamId, Version};
//! # futures::executor::block_on(async {
//! let server = MemoryStore::new(eventfold::store::fixed_clock(1_700_000_000_000));
//! let id = StoreId::new("demo")?;
//! let (access, limits) = (Access::all(), serve::ServeLimits::default());
//!
//! // The client pushes a pending event made offline on a new stream...
//! let created = NewEvent::new(EventId::from_bytes([1; 16]), EventType::new("OrderCreated")?,
//!     Json::parse(r#"{"customerId":"c1"}"#)?);
//! let push = PushRequest::new(vec![StreamPush { stream: StreamId::new("order-1")?,
//!     expected_version: ExpectedVersion::Exact(Version(0)), events: vec![created] }]);
//! let body = encode(&push)?; // what travels
//! let answer = serve::push(&server, &id, &access, decode(&body)?, &limits).await?;
//! assert!(matches!(answer.results[0].outcome, PushOutcome::Ok(r) if r.version == Version(1)));
//!
//! // ...then pulls from the start and gets it back, confirmed with its global position.
//! let pull = PullRequest::new(None, vec!["order-".into()]);
//! let page = serve::pull(&server, &id, &access, &pull, &limits).await?;
//! page.check(pull.after.as_ref())?;
//! assert_eq!((page.events.len(), page.checkpoint.position.0, page.more), (1, 1, false));
//!
//! // The next pull resumes after the checkpoint: nothing new.
//! let next = PullRequest::new(Some(page.checkpoint.clone()), vec!["order-".into()]);
//! assert!(serve::pull(&server, &id, &access, &next, &limits).await?.events.is_empty());
//! # Ok::<(), eventfold::Error>(()) }).unwrap();
//! ```

pub mod access;
pub mod client;
pub mod pending;
pub mod protocol;
pub mod replica;
pub mod scheduler;
pub mod serve;
pub mod settings;
